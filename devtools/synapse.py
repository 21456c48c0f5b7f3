"""A real Synapse homeserver on 127.0.0.1 for the tests and the demo.

``SynapseServer`` writes a homeserver.yaml made for local use into a data
folder, starts Synapse as a child process in its own process group and polls
``/health`` until it returns 200. A server that is already running from the
same folder is reused, so the demo keeps its data and its port across runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Self

import httpx
import yaml
from signedjson.key import generate_signing_key, write_signing_keys

log = logging.getLogger(__name__)

HOST = "127.0.0.1"

# Size limit for uploads, which /_matrix/client/v1/media/config reports.
MAX_UPLOAD_SIZE = "50M"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

STARTUP_TIMEOUT = 60.0  # seconds; the first start also creates the SQLite schema
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL

# Files inside the data folder.
CONFIG_FILE = "homeserver.yaml"
LOG_CONFIG_FILE = "log.yaml"
LOG_FILE = "homeserver.log"
CONSOLE_FILE = "console.log"  # stdout and stderr, where config errors go
# {"pid": int | None, "port": int, "server_name": str}; pid is None once stopped,
# and the port stays recorded so that the next start can take it again.
STATE_FILE = "server.json"
SHARED_SECRET_FILE = "registration_shared_secret"
MACAROON_SECRET_FILE = "macaroon_secret_key"
SIGNING_KEY_FILE = "signing.key"

# Every rate limiter that Synapse 1.163 reads (synapse/config/ratelimiting.py),
# raised so high that no test or seed run reaches it. A value of 0 would not
# lift a limit: it blocks the action for good.
_NO_LIMIT = {"per_second": 100_000, "burst_count": 1_000_000}
RATE_LIMITS = {
    "rc_message": _NO_LIMIT,
    "rc_registration": _NO_LIMIT,
    "rc_registration_token_validity": _NO_LIMIT,
    "rc_login": {
        "address": _NO_LIMIT,
        "account": _NO_LIMIT,
        "failed_attempts": _NO_LIMIT,
    },
    "rc_admin_redaction": _NO_LIMIT,
    "rc_joins": {"local": _NO_LIMIT, "remote": _NO_LIMIT},
    "rc_joins_per_room": _NO_LIMIT,
    "rc_key_requests": _NO_LIMIT,
    "rc_3pid_validation": _NO_LIMIT,
    "rc_invites": {
        "per_room": _NO_LIMIT,
        "per_user": _NO_LIMIT,
        "per_issuer": _NO_LIMIT,
    },
    "rc_third_party_invite": _NO_LIMIT,
    "rc_media_create": _NO_LIMIT,
    "rc_presence": {"per_user": _NO_LIMIT},
    "rc_delayed_event_mgmt": _NO_LIMIT,
    "rc_room_creation": _NO_LIMIT,
    "rc_reports": _NO_LIMIT,
    "rc_user_directory": _NO_LIMIT,
    "rc_profile": _NO_LIMIT,
}


class SynapseError(RuntimeError):
    """Synapse failed to start, or rejected an account request."""


def unique_localpart(prefix: str) -> str:
    """Return a localpart that no other account on a shared server has.

    Localparts allow only a-z, 0-9 and ``._=-/+``, so the prefix is lowercased.
    """
    return f"{prefix.lower()}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Synapse (Twisted) listens with SO_REUSEADDR, so connections left in
        # TIME_WAIT after it stopped do not keep it from the port. The check
        # must not count them either, or a restart moves to another port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


# Synapse processes started by this Python process, by pid, so that any
# SynapseServer object that reuses one can also reap it when stopping it.
_children: dict[int, subprocess.Popen] = {}


def _pid_is_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, but owned by another user
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Whether the process has exited but its parent has not reaped it yet.

    os.kill(pid, 0) still succeeds for such a process. Linux only: elsewhere this
    returns False.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses.
    return stat[stat.rfind(")") + 2 :].startswith("Z")


class SynapseServer:
    """One Synapse process serving the client-server API on 127.0.0.1.

    Everything it needs lives in ``data_dir``: the config, the signing key, the
    shared secret, the SQLite database, the media store and the logs. When
    ``port`` is None the port recorded by an earlier run is reused if it is
    free, and otherwise a free one is picked.

    ``extra_config`` holds top-level homeserver.yaml keys that replace the
    defaults written here, such as ``oidc_providers`` or ``password_config``.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        server_name: str = "localhost",
        extra_config: dict | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.server_name = server_name
        self.port = port
        self.extra_config = dict(extra_config or {})
        self.pid: int | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise SynapseError("The server has no port yet: call start() first.")
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    # -- lifecycle ---------------------------------------------------------

    def start(self, timeout: float = STARTUP_TIMEOUT) -> Self:
        """Start Synapse, or reuse the one already running from ``data_dir``.

        Returns self. Raises SynapseError with the end of the log when the
        server exits or is not healthy within ``timeout`` seconds.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._reuse_running(timeout):
            log.info("Reusing Synapse (pid %s) at %s", self.pid, self.base_url)
            return self

        if self.port is None:
            self.port = self._recorded_free_port() or free_port()
        self._write_config()
        self._spawn()
        self._wait_until_healthy(timeout)
        log.info("Started Synapse (pid %s) at %s", self.pid, self.base_url)
        return self

    def stop(self) -> None:
        """Stop the server: SIGTERM to its process group, then SIGKILL."""
        state = self._read_state()
        pid = self.pid or state.get("pid")
        if self.port is None:
            self.port = state.get("port")
        if pid and _pid_is_alive(pid):
            self._terminate(pid)
            log.info("Stopped Synapse (pid %s)", pid)
        self.pid = None
        if state:
            self._write_state()

    def is_running(self) -> bool:
        """Return whether the recorded process is alive and ``/health`` returns 200."""
        state = self._read_state()
        pid = self.pid or state.get("pid")
        if not pid or not _pid_is_alive(pid):
            return False
        if self.port is None:
            self.port = state.get("port")
        return self.port is not None and self._is_healthy()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _reuse_running(self, timeout: float) -> bool:
        state = self._read_state()
        pid, port = state.get("pid"), state.get("port")
        if not pid or not port or not _pid_is_alive(pid):
            return False
        if not self._runs_our_config(pid):
            log.info("Ignoring recorded pid %s: it is not this server's Synapse", pid)
            return False
        if self.port is not None and self.port != port:
            raise SynapseError(
                f"Synapse from {self.data_dir} already runs on port {port}, "
                f"not {self.port}: stop it first."
            )
        self.port, self.pid = port, pid
        # Another process may have started it a moment ago.
        self._wait_until_healthy(timeout)
        return True

    def _runs_our_config(self, pid: int) -> bool:
        """Return whether the process runs Synapse with this folder's config.

        A recorded pid can belong to another program after a reboot. Linux
        only: elsewhere this returns True.
        """
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return not Path("/proc/self").exists()
        except OSError:
            return True
        return str(self.data_dir / CONFIG_FILE).encode() in command_line

    def _recorded_free_port(self) -> int | None:
        port = self._read_state().get("port")
        if isinstance(port, int) and _port_is_free(port):
            return port
        return None

    def _spawn(self) -> None:
        command = [
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "--config-path",
            str(self.data_dir / CONFIG_FILE),
        ]
        with open(self.data_dir / CONSOLE_FILE, "ab") as console:
            # A session of its own keeps Synapse running when the demo's
            # terminal sends SIGINT to its foreground process group.
            process = subprocess.Popen(
                command,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _children[process.pid] = process
        self.pid = process.pid
        self._write_state()

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _pid_is_alive(self.pid):
                raise SynapseError(
                    f"Synapse exited during startup (data in {self.data_dir}).\n"
                    f"{self._log_tail()}"
                )
            if self._is_healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise SynapseError(
            f"Synapse was not healthy at {self.base_url}/health within "
            f"{timeout:.0f} s.\n{self._log_tail()}"
        )

    def _is_healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.base_url}/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _terminate(self, pid: int) -> None:
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            if self._wait_for_exit(pid, wait):
                break
        _children.pop(pid, None)

    @staticmethod
    def _wait_for_exit(pid: int, timeout: float) -> bool:
        child = _children.get(pid)
        if child is not None:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _pid_is_alive(pid):
                return True
            time.sleep(0.05)
        return False

    def _log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in (CONSOLE_FILE, LOG_FILE):
            path = self.data_dir / name
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace")
                tail = "\n".join(text.splitlines()[-lines:])
                parts.append(f"--- last lines of {path} ---\n{tail}")
        return "\n".join(parts) or f"(no log in {self.data_dir})"

    # -- files in the data folder -----------------------------------------

    def _read_state(self) -> dict:
        path = self.data_dir / STATE_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self) -> None:
        state = {"pid": self.pid, "port": self.port, "server_name": self.server_name}
        (self.data_dir / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    def _secret(self, name: str) -> Path:
        path = self.data_dir / name
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        return path

    def _signing_key(self) -> Path:
        path = self.data_dir / SIGNING_KEY_FILE
        if not path.exists():
            key_id = "a_" + secrets.token_hex(2)
            with open(path, "w", opener=lambda p, f: os.open(p, f, 0o600)) as file:
                write_signing_keys(file, [generate_signing_key(key_id)])
        return path

    def _write_config(self) -> None:
        data = self.data_dir
        log_config = {
            "version": 1,
            "formatters": {
                "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "filename": str(data / LOG_FILE),
                    "formatter": "plain",
                    "encoding": "utf-8",
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        config = {
            "server_name": self.server_name,
            "public_baseurl": f"{self.base_url}/",
            "pid_file": str(data / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": [HOST],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(data / "homeserver.db")},
            },
            "log_config": str(data / LOG_CONFIG_FILE),
            "media_store_path": str(data / "media_store"),
            "max_upload_size": MAX_UPLOAD_SIZE,
            "enable_authenticated_media": True,
            "url_preview_enabled": False,
            "signing_key_path": str(self._signing_key()),
            "registration_shared_secret_path": str(self._secret(SHARED_SECRET_FILE)),
            "macaroon_secret_key_path": str(self._secret(MACAROON_SECRET_FILE)),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            "enable_metrics": False,
            # Password hashing at the minimum cost: these accounts are local
            # and throwaway, and every login and registration waits for it.
            "bcrypt_rounds": 4,
            # Lets any user publish a space in the public room directory, so
            # the demo's public spaces can be found there.
            "room_list_publication_rules": [{"action": "allow"}],
            "caches": {"sync_response_cache_duration": 0},
            "user_directory": {"enabled": True, "search_all_users": True},
            **RATE_LIMITS,
        }
        config.update(self.extra_config)
        (data / LOG_CONFIG_FILE).write_text(yaml.safe_dump(log_config), "utf-8")
        (data / CONFIG_FILE).write_text(
            yaml.safe_dump(config, sort_keys=False), "utf-8"
        )

    # -- accounts ----------------------------------------------------------

    def register(
        self,
        localpart: str,
        password: str,
        admin: bool = False,
        displayname: str | None = None,
    ) -> str:
        """Create an account and return its user id.

        Uses the shared-secret admin API (/_synapse/admin/v1/register) rather
        than the client /register endpoint: the server keeps open registration
        off, and this API needs no interactive auth flow, can make
        administrators and sets the display name in the same request.
        """
        url = f"{self.base_url}/_synapse/admin/v1/register"
        shared_secret = (self.data_dir / SHARED_SECRET_FILE).read_text("utf-8")
        with httpx.Client(timeout=30.0) as client:
            nonce = client.get(url).raise_for_status().json()["nonce"]
            mac = hmac.new(shared_secret.strip().encode(), digestmod=hashlib.sha1)
            for part in (nonce, localpart, password):
                mac.update(part.encode("utf-8"))
                mac.update(b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            if displayname is not None:
                body["displayname"] = displayname
            response = client.post(url, json=body)
        if response.status_code != 200:
            raise SynapseError(
                f"Registering {localpart!r} failed with HTTP "
                f"{response.status_code}: {response.text}"
            )
        return response.json()["user_id"]

    def login(
        self, localpart: str, password: str, device_id: str | None = None
    ) -> tuple[str, str, str]:
        """Sign in with a password and return (user_id, access_token, device_id)."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        }
        if device_id is not None:
            body["device_id"] = device_id
        response = httpx.post(
            f"{self.base_url}/_matrix/client/v3/login", json=body, timeout=30.0
        )
        if response.status_code != 200:
            raise SynapseError(
                f"Signing in as {localpart!r} failed with HTTP "
                f"{response.status_code}: {response.text}"
            )
        result = response.json()
        return result["user_id"], result["access_token"], result["device_id"]
