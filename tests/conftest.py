"""Fixtures for the whole suite: an isolated profile, Synapse and a Secret Service.

Every test gets its own ``COMMONPLACE_HOME`` and a keyring that fails, so no
test reads or writes the user's own folders or keyring. Qt runs offscreen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend

from devtools.synapse import SynapseServer, unique_localpart

os.environ["QT_QPA_PLATFORM"] = "offscreen"

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def isolated_profile(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point COMMONPLACE_HOME at an empty folder and make the keyring fail."""
    home = tmp_path_factory.mktemp("commonplace-home")
    monkeypatch.setenv("COMMONPLACE_HOME", str(home))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield home
    keyring.set_keyring(previous)


# -- Synapse ---------------------------------------------------------------


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """One Synapse for the whole session, on a free port.

    Tests share its accounts and rooms, so they make their own users with
    ``unique_localpart``. A test that stops the server uses
    ``restartable_synapse`` instead.
    """
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def restartable_synapse(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SynapseServer]:
    """A Synapse of the test's own, which it may stop and start again.

    ``start()`` after ``stop()`` serves the same port and data.
    """
    server = SynapseServer(tmp_path_factory.mktemp("synapse-restartable"))
    server.start()
    yield server
    server.stop()


@dataclass(frozen=True)
class MatrixUser:
    user_id: str
    localpart: str
    password: str
    access_token: str
    device_id: str


@pytest.fixture
def make_user(synapse: SynapseServer) -> Callable[..., MatrixUser]:
    """Return a factory that registers a new user on ``synapse`` and signs in."""

    def make(prefix: str = "user", displayname: str | None = None) -> MatrixUser:
        localpart = unique_localpart(prefix)
        synapse.register(localpart, TEST_PASSWORD, displayname=displayname)
        user_id, token, device_id = synapse.login(localpart, TEST_PASSWORD)
        return MatrixUser(user_id, localpart, TEST_PASSWORD, token, device_id)

    return make


# -- Secret Service ----------------------------------------------------------

SECRETS_BUS_NAME = "org.freedesktop.secrets"
DAEMON_TIMEOUT = 10.0  # seconds

# A session bus with no service directories, so nothing is started by D-Bus
# activation: the only Secret Service on it is the one the fixture starts.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC
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


@dataclass(frozen=True)
class SecretService:
    bus_address: str
    keyring: KeyringBackend


def _wait_for_bus_name(name: str, daemon: subprocess.Popen, log: Path) -> None:
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    deadline = time.monotonic() + DAEMON_TIMEOUT
    with open_dbus_connection(bus="SESSION") as connection:
        while time.monotonic() < deadline:
            reply = connection.send_and_get_reply(message_bus.NameHasOwner(name))
            if reply.body[0]:
                return
            if daemon.poll() is not None:
                break
            time.sleep(0.05)
    output = log.read_text(errors="replace") if log.exists() else ""
    raise RuntimeError(
        f"{name} was not owned on the test bus within {DAEMON_TIMEOUT:.0f} s "
        f"(gnome-keyring-daemon exit code {daemon.poll()}).\n{output}"
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def secret_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    """A real gnome-keyring Secret Service on a private D-Bus session bus.

    keyring uses it for the test. The keyring files, the bus socket and the
    daemon's control socket live in a temporary folder that is removed after.
    """
    if shutil.which("gnome-keyring-daemon") is None:
        pytest.skip("gnome-keyring-daemon is not installed (./dev setup installs it)")

    # Unix socket paths are limited to about 100 bytes, too short for
    # pytest's tmp_path, so the sockets get a short folder in /tmp.
    root = Path(tempfile.mkdtemp(prefix="cp-keyring-"))
    (root / "bus.conf").write_text(_BUS_CONFIG.format(socket=root / "bus"))
    (root / "run").mkdir(mode=0o700)
    # The daemons write to their own copies of the log files' descriptors,
    # so these can be closed as soon as the daemons have started.
    with open(root / "dbus.log", "wb") as bus_log:
        bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={root / 'bus.conf'}"]
            + ["--print-address", "--nofork"],
            stdout=subprocess.PIPE,
            stderr=bus_log,
            text=True,
        )
    address = bus.stdout.readline().strip()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)

    daemon_log_path = root / "gnome-keyring.log"
    env = dict(
        os.environ,
        HOME=str(root / "home"),
        XDG_DATA_HOME=str(root / "home" / "data"),
        XDG_RUNTIME_DIR=str(root / "run"),
    )
    # --unlock reads the password of the login keyring from stdin and creates
    # that keyring unlocked, so no prompt is ever shown.
    with open(daemon_log_path, "wb") as daemon_log:
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets"]
            + ["--foreground"],
            stdin=subprocess.PIPE,
            stdout=daemon_log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    daemon.stdin.write(b"test keyring password")
    daemon.stdin.close()

    previous = keyring.get_keyring()
    try:
        _wait_for_bus_name(SECRETS_BUS_NAME, daemon, daemon_log_path)
        from keyring.backends import SecretService as secret_service_backend

        backend = secret_service_backend.Keyring()
        keyring.set_keyring(backend)
        yield SecretService(address, backend)
    finally:
        keyring.set_keyring(previous)
        _stop(daemon)
        _stop(bus)
        bus.stdout.close()
        shutil.rmtree(root, ignore_errors=True)
