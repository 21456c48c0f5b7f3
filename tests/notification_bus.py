"""Desktop notification services for tests, each on a private D-Bus bus.

PrivateBus starts a dbus-daemon of its own. Dunst runs the real dunst
notification daemon on it under Xvfb. NotifyMonitor watches the bus as a
D-Bus monitor and records every Notify call, whoever serves it.
FakeNotificationService owns org.freedesktop.Notifications itself, so that a
test can send ActionInvoked as if the user had clicked.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from devtools.secret_service import PRIVATE_BUS_CONFIG

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
START_TIMEOUT = 10.0  # seconds

# dunst shows notifications for 60 s, so a test can count them while shown.
_DUNST_CONFIG = """[global]
    timeout = 60
    markup = full
[urgency_normal]
    timeout = 60
"""


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class PrivateBus:
    """A dbus-daemon of the test's own; address is its bus address."""

    def __init__(self):
        self.address = ""
        self.root = Path(tempfile.mkdtemp(prefix="cp-notify-"))
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        config = self.root / "bus.conf"
        config.write_text(PRIVATE_BUS_CONFIG.format(socket=self.root / "bus"))
        self._process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--print-address", "--nofork"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.address = self._process.stdout.readline().strip()
        assert self.address, "dbus-daemon printed no address"
        return self

    def __exit__(self, *exc_info) -> None:
        _stop(self._process)
        if self._process is not None and self._process.stdout:
            self._process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def has_owner(self, name: str) -> bool:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus=self.address) as connection:
            reply = connection.send_and_get_reply(message_bus.NameHasOwner(name))
            return bool(reply.body[0])

    def wait_for_owner(self, name: str, process: subprocess.Popen | None = None):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.has_owner(name):
                return
            if process is not None and process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{name} was not owned on {self.address} in time")


class Dunst:
    """dunst serving org.freedesktop.Notifications on bus, under its own Xvfb."""

    def __init__(self, bus: PrivateBus):
        self.bus = bus
        self._xvfb: subprocess.Popen | None = None
        self._dunst: subprocess.Popen | None = None
        self.log = bus.root / "dunst.log"

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("dunst") and shutil.which("Xvfb"))

    def __enter__(self) -> Self:
        read_end, write_end = os.pipe()
        self._xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "800x600x24"]
            + ["-nolisten", "tcp"],
            pass_fds=(write_end,),
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        with os.fdopen(read_end) as display_pipe:
            display = display_pipe.readline().strip()
        assert display, "Xvfb printed no display number"
        config = self.bus.root / "dunstrc"
        config.write_text(_DUNST_CONFIG)
        environment = dict(
            os.environ,
            DISPLAY=f":{display}",
            DBUS_SESSION_BUS_ADDRESS=self.bus.address,
            HOME=str(self.bus.root),
            XDG_CONFIG_HOME=str(self.bus.root / "config"),
        )
        environment.pop("WAYLAND_DISPLAY", None)
        with open(self.log, "wb") as log:
            self._dunst = subprocess.Popen(
                ["dunst", "-config", str(config)],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self.bus.wait_for_owner(BUS_NAME, self._dunst)
        except AssertionError:
            output = self.log.read_text(errors="replace")
            self.__exit__()
            raise AssertionError(f"dunst did not start:\n{output}") from None
        return self

    def __exit__(self, *exc_info) -> None:
        _stop(self._dunst)
        _stop(self._xvfb)

    def displayed(self) -> int:
        """Return how many notifications dunst shows now (dunstctl count displayed)."""
        completed = subprocess.run(
            ["dunstctl", "count", "displayed"],
            env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.bus.address),
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return int(completed.stdout.strip())


@dataclass(frozen=True)
class NotifyCall:
    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: list
    hints: dict
    expire_timeout: int


class NotifyMonitor:
    """Records the Notify calls on a bus, as a D-Bus monitor (BecomeMonitor)."""

    def __init__(self, bus_address: str):
        self.bus_address = bus_address
        self.calls: list[NotifyCall] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        assert self._ready.wait(START_TIMEOUT), "the D-Bus monitor did not start"
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        from jeepney import DBusAddress, MessageType, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        monitoring = DBusAddress(
            "/org/freedesktop/DBus",
            bus_name="org.freedesktop.DBus",
            interface="org.freedesktop.DBus.Monitoring",
        )
        rule = f"type='method_call',interface='{BUS_NAME}',member='Notify'"
        with open_dbus_connection(bus=self.bus_address) as connection:
            connection.send_and_get_reply(
                new_method_call(monitoring, "BecomeMonitor", "asu", ([rule], 0))
            )
            self._ready.set()
            while not self._stop.is_set():
                try:
                    message = connection.receive(timeout=0.1)
                except TimeoutError:
                    continue
                header = message.header
                if header.message_type != MessageType.method_call:
                    continue
                if header.fields.get(3) != "Notify":  # HeaderFields.member
                    continue
                with self._lock:
                    self.calls.append(NotifyCall(*message.body))

    def snapshot(self) -> list[NotifyCall]:
        with self._lock:
            return list(self.calls)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[NotifyCall]:
        """Return the calls once there are count of them; fail after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.snapshot()
            if len(calls) >= count:
                return calls
            time.sleep(0.02)
        raise AssertionError(
            f"{len(self.snapshot())} Notify calls after {timeout} s, expected {count}"
        )


class FakeNotificationService:
    """Owns org.freedesktop.Notifications on bus and records the Notify calls.

    click(notification_id) sends ActionInvoked(id, "default"), as a server
    does when the user clicks the notification.
    """

    def __init__(self, bus_address: str):
        self.bus_address = bus_address
        self.calls: list[NotifyCall] = []
        self.ids: list[int] = []
        self._outgoing: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        assert self._ready.wait(START_TIMEOUT), "the notification service did not start"
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(5)

    def click(self, notification_id: int) -> None:
        self._outgoing.put(("ActionInvoked", "us", (notification_id, "default")))

    def _serve(self) -> None:
        from jeepney import DBusAddress, MessageType, new_method_return, new_signal
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        emitter = DBusAddress(OBJECT_PATH, interface=BUS_NAME)
        with open_dbus_connection(bus=self.bus_address) as connection:
            connection.send_and_get_reply(message_bus.RequestName(BUS_NAME))
            self._ready.set()
            while not self._stop.is_set():
                while not self._outgoing.empty():
                    member, signature, body = self._outgoing.get()
                    connection.send(new_signal(emitter, member, signature, body))
                try:
                    message = connection.receive(timeout=0.05)
                except TimeoutError:
                    continue
                if message.header.message_type != MessageType.method_call:
                    continue
                member = message.header.fields.get(3)
                if member == "GetCapabilities":
                    reply = new_method_return(message, "as", (["actions", "body"],))
                elif member == "GetServerInformation":
                    reply = new_method_return(
                        message, "ssss", ("fake-notifier", "tests", "1.0", "1.2")
                    )
                elif member == "Notify":
                    self.calls.append(NotifyCall(*message.body))
                    self.ids.append(len(self.ids) + 1)
                    reply = new_method_return(message, "u", (self.ids[-1],))
                else:
                    continue
                connection.send(reply)
