"""A private Secret Service: gnome-keyring on a D-Bus session bus of its own.

Tests and benchmarks use it so that keyring stores tokens in a real Secret
Service without touching the user's own keyring or session bus.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

SECRETS_BUS_NAME = "org.freedesktop.secrets"
DAEMON_TIMEOUT = 10.0  # seconds

# A private session bus with no service directories, so D-Bus activation
# starts nothing: the only services on it are those a test starts. The
# notification tests use it too.
PRIVATE_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretServiceError(RuntimeError):
    pass


class SecretServiceDaemon:
    """Starts dbus-daemon and an unlocked gnome-keyring; use as a context manager.

    ``environment`` holds the variables a child process needs to reach it.
    While running, this process's DBUS_SESSION_BUS_ADDRESS points at it too.
    """

    def __init__(self, password: str = "test keyring password"):
        self.password = password
        self.bus_address = ""
        self._root: Path | None = None
        self._bus: subprocess.Popen | None = None
        self._daemon: subprocess.Popen | None = None
        self._previous_address: str | None = None

    @property
    def environment(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.bus_address}

    @staticmethod
    def available() -> bool:
        return bool(
            shutil.which("gnome-keyring-daemon") and shutil.which("dbus-daemon")
        )

    def start(self) -> SecretServiceDaemon:
        if not self.available():
            raise SecretServiceError(
                "gnome-keyring-daemon or dbus-daemon is not installed; run ./dev setup."
            )
        # Unix socket paths are limited to about 100 bytes, so the sockets get
        # a short folder in /tmp.
        root = self._root = Path(tempfile.mkdtemp(prefix="cp-keyring-"))
        (root / "bus.conf").write_text(PRIVATE_BUS_CONFIG.format(socket=root / "bus"))
        (root / "run").mkdir(mode=0o700)
        with open(root / "dbus.log", "wb") as bus_log:
            self._bus = subprocess.Popen(
                ["dbus-daemon", f"--config-file={root / 'bus.conf'}"]
                + ["--print-address", "--nofork"],
                stdout=subprocess.PIPE,
                stderr=bus_log,
                text=True,
            )
        self.bus_address = self._bus.stdout.readline().strip()
        self._previous_address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address

        environment = dict(
            os.environ,
            HOME=str(root / "home"),
            XDG_DATA_HOME=str(root / "home" / "data"),
            XDG_RUNTIME_DIR=str(root / "run"),
        )
        # --unlock reads the login keyring's password from stdin and creates
        # that keyring unlocked, so no prompt is ever shown.
        with open(root / "gnome-keyring.log", "wb") as daemon_log:
            self._daemon = subprocess.Popen(
                ["gnome-keyring-daemon", "--unlock", "--components=secrets"]
                + ["--foreground"],
                stdin=subprocess.PIPE,
                stdout=daemon_log,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        self._daemon.stdin.write(self.password.encode())
        self._daemon.stdin.close()
        try:
            self._wait_for_bus_name(SECRETS_BUS_NAME)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_bus_name(self, name: str) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        deadline = time.monotonic() + DAEMON_TIMEOUT
        with open_dbus_connection(bus="SESSION") as connection:
            while time.monotonic() < deadline:
                reply = connection.send_and_get_reply(message_bus.NameHasOwner(name))
                if reply.body[0]:
                    return
                if self._daemon.poll() is not None:
                    break
                time.sleep(0.05)
        log_path = self._root / "gnome-keyring.log"
        output = log_path.read_text(errors="replace") if log_path.exists() else ""
        raise SecretServiceError(
            f"{name} was not owned on the private bus within {DAEMON_TIMEOUT:.0f} s "
            f"(gnome-keyring-daemon exit code {self._daemon.poll()}).\n{output}"
        )

    def stop(self) -> None:
        for process in (self._daemon, self._bus):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._bus is not None and self._bus.stdout:
            self._bus.stdout.close()
        if self._previous_address is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = self._previous_address
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._daemon = self._bus = self._root = None

    def __enter__(self) -> SecretServiceDaemon:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
