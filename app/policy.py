"""System-wide policy set by an organisation's IT department.

One reader, ``read_policy``, takes the policy from the operating system's
usual place for it:

- Linux and other systems: the JSON file ``/etc/commonplace/policy.json``.
- Windows: the values under ``HKEY_LOCAL_MACHINE\\Software\\Policies\\Commonplace``
  (REG_SZ for text, REG_DWORD for switches and numbers), as written by the
  ADMX template in ``packaging/policy``.
- macOS: the managed preferences of the domain ``app.commonplace``,
  ``/Library/Managed Preferences/app.commonplace.plist``, as an MDM
  configuration profile installs them.

Every source contains the same keys (``POLICY_KEYS``). A value the user could
otherwise choose is locked while the policy sets it. A policy that cannot be
read, or a value of the wrong type, never stops the program: the reader skips
what is invalid, keeps what is valid, and records a plain sentence in
``Policy.problems`` that the app logs and shows. A file that is not valid JSON
or plist at all gives an empty policy, so the app starts with its defaults.

This module imports neither Qt nor httpx, so the command line and the GUI can
read the policy before anything else.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import plistlib
import re
import ssl
import stat
import sys
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError

from app.logging_setup import redact_url

log = logging.getLogger(__name__)

POLICY_FILE = Path("/etc/commonplace/policy.json")
REGISTRY_KEY = r"Software\Policies\Commonplace"
MANAGED_PREFERENCES_DOMAIN = "app.commonplace"
MANAGED_PREFERENCES_FILE = Path(
    f"/Library/Managed Preferences/{MANAGED_PREFERENCES_DOMAIN}.plist"
)

# The upper bound keeps a typo (an extra zero or two) from meaning "for ever"
# in a way that overflows date arithmetic; 100 years is longer than any cache.
MAX_RETENTION_DAYS = 36500

# A policy is a few lines of text; anything larger is not a policy file, and
# reading it whole would cost memory at every start.
MAX_POLICY_FILE_BYTES = 1024 * 1024
# Far longer than any real server address; it bounds what is stored and shown.
MAX_HOMESERVER_LENGTH = 2048

# Matrix server name grammar (the spec's appendix "Server Name"), as in
# app.matrix.urls, which this module does not import because it loads httpx.
_SERVER_NAME_RE = re.compile(
    r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?\Z"
)

# Windows registry value types (winreg.REG_*), named here so that the reader
# works with an injected stand-in for winreg on any system.
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_DWORD = 4
REG_QWORD = 11

FIX_HINT = "Tell your IT department."

# Shown in the UI beside every value that the policy sets.
POLICY_NOTE = "Set by your organisation"


@dataclass(frozen=True)
class _Key:
    kind: type  # bool, int or str, as JSON and plist values
    description: str  # what a valid value is, for problem messages


POLICY_KEYS: dict[str, _Key] = {
    "homeserver": _Key(
        str, "an https:// server address or a Matrix server name such as example.org"
    ),
    "hide_server_field": _Key(bool, "true or false"),
    "disable_uploads": _Key(bool, "true or false"),
    "disable_external_links": _Key(bool, "true or false"),
    "proxy": _Key(str, "a proxy URL starting with http:// or https://"),
    "ca_bundle": _Key(str, "the absolute path of a PEM certificate file"),
    "retention_days": _Key(
        int, f"a whole number of days from 1 to {MAX_RETENTION_DAYS}"
    ),
    "wipe_cache_on_sign_out": _Key(bool, "true or false"),
}


@dataclass(frozen=True)
class Policy:
    """The policy in force; every field's default means "not set by policy".

    ``locked`` names the keys that the policy sets, so the UI can mark them
    "Set by your organisation". ``source`` names where the policy was read
    (a file or registry path), or is "" when there was none. ``problems``
    are sentences for the user and the log about parts that were ignored.
    """

    homeserver: str | None = None
    hide_server_field: bool = False
    disable_uploads: bool = False
    disable_external_links: bool = False
    proxy: str | None = None
    ca_bundle: Path | None = None
    retention_days: int | None = None
    wipe_cache_on_sign_out: bool = False
    locked: frozenset[str] = frozenset()
    source: str = ""
    problems: tuple[str, ...] = ()

    def is_locked(self, key: str) -> bool:
        """Return whether the policy sets ``key``, so the user cannot change it."""
        if key not in POLICY_KEYS:
            raise KeyError(f"{key!r} is not a policy key")
        return key in self.locked

    @property
    def proxy_address(self) -> str | None:
        """Return the proxy's host and port without its credentials, for display."""
        if not self.proxy:
            return None
        parts = urlsplit(self.proxy)
        return parts.netloc.rpartition("@")[2]

    def allows_server(self, homeserver_url: str, user_id: str = "") -> bool:
        """Return whether a session on ``homeserver_url`` may be used.

        True when the policy fixes no server, or when ``homeserver_url`` is
        the fixed server after normalising (scheme and host case, default
        port, trailing slash). A fixed server name such as ``example.org``
        also allows any base URL for a user id on that server
        (``@ann:example.org``), because discovery may lead elsewhere.
        """
        if not self.homeserver:
            return True
        if normalise_server(homeserver_url) == normalise_server(self.homeserver):
            return True
        if "://" in self.homeserver:
            return False
        # NOTE: the user id comes from the server that the session is on, so a
        # server that claims ids of the fixed server name passes this check.
        server_name = user_id.partition(":")[2]
        return bool(server_name) and server_name.lower() == self.homeserver.lower()

    def network_options(self):
        """Return the app.matrix NetworkOptions for this policy's proxy and CA bundle."""
        # Imported here because app.matrix imports httpx, which the GUI loads
        # only after its window is shown.
        from app.matrix.http import NetworkOptions

        return NetworkOptions(proxy=self.proxy, ca_bundle=self.ca_bundle)


NO_POLICY = Policy()


def read_policy(
    *,
    platform: str | None = None,
    json_path: Path | None = None,
    registry: Any = None,
    plist_path: Path | None = None,
) -> Policy:
    """Read the system-wide policy of this computer; never raises.

    ``platform`` defaults to ``sys.platform``. ``json_path``, ``registry``
    (a module with winreg's interface) and ``plist_path`` replace the real
    sources, for tests and for checking a policy file before deploying it.
    """
    platform = platform or sys.platform
    if platform == "win32":
        policy = _read_registry(registry)
    elif platform == "darwin":
        policy = _read_plist(plist_path or MANAGED_PREFERENCES_FILE)
    else:
        policy = _read_json(json_path or POLICY_FILE)
    for problem in policy.problems:
        log.warning("Policy problem: %s", problem)
    if policy.locked:
        log.info(
            "Policy from %s sets: %s", policy.source, ", ".join(sorted(policy.locked))
        )
    return policy


def normalise_server(server: str) -> str:
    """Return a server name or base URL as a comparable base URL.

    The scheme and host are lower-cased, a default port and a trailing slash
    are dropped, and a server name becomes ``https://name`` (``http://`` for
    loopback, as discovery does). A value that is not a URL is returned
    stripped and lower-cased, so that it equals only itself.
    """
    text = server.strip()
    if "://" not in text:
        try:
            host = urlsplit(f"//{text}").hostname or ""
        except ValueError:
            return text.lower()
        scheme = "http" if _is_loopback(host) else "https"
        text = f"{scheme}://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text.lower()
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"https": 443, "http": 80}.get(scheme):
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cache
def system_policy() -> Policy:
    """Return this computer's policy, read once per process."""
    return read_policy()


def policy_from_values(values: dict[str, Any], source: str) -> Policy:
    """Check raw policy values (JSON or plist types) and return the policy.

    Each value of the wrong type or out of range is skipped with a problem
    sentence. Unknown keys are reported too, because an unknown key is
    usually a misspelt one that the administrator expects to work.
    """
    accepted: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in values.items():
        spec = POLICY_KEYS.get(key)
        if spec is None:
            known = ", ".join(POLICY_KEYS)
            problems.append(
                f"The policy in {source} contains the unknown key {key!r}, which "
                f"was ignored. Known keys: {known}. {FIX_HINT}"
            )
            continue
        if value is None:
            continue
        problem = _check_value(key, spec, value)
        if problem is not None:
            problems.append(
                f"The policy in {source} sets {key} to {_shown(value)}, but it must "
                f"be {spec.description}{problem}. This value was ignored. {FIX_HINT}"
            )
            continue
        accepted[key] = value

    if accepted.get("hide_server_field") and "homeserver" not in accepted:
        problems.append(
            f"The policy in {source} sets hide_server_field without a valid "
            f"homeserver, so the server field is shown. {FIX_HINT}"
        )
        del accepted["hide_server_field"]

    fields: dict[str, Any] = dict(accepted)
    if "homeserver" in fields:
        fields["homeserver"] = fields["homeserver"].strip()
    if "proxy" in fields:
        fields["proxy"] = fields["proxy"].strip()
    if "ca_bundle" in fields:
        fields["ca_bundle"] = Path(fields["ca_bundle"])
    return Policy(
        **fields,
        locked=frozenset(accepted),
        source=source,
        problems=_redacted(problems),
    )


def _check_value(key: str, spec: _Key, value: Any) -> str | None:
    """Return None when value is valid for key, else "" or a clause saying why."""
    # bool is a subclass of int, so True must not pass as a number of days.
    if spec.kind is int and isinstance(value, bool):
        return ""
    if not isinstance(value, spec.kind):
        return ""
    if key == "retention_days" and not 1 <= value <= MAX_RETENTION_DAYS:
        return ""
    if key == "homeserver":
        return _check_homeserver(value.strip())
    if key == "proxy":
        return _check_proxy(value.strip())
    if key == "ca_bundle":
        return _check_ca_bundle(value)
    return None


def _check_homeserver(value: str) -> str | None:
    """Check a server address as sign-in would: https, or http to loopback."""
    if not value:
        return " (it is empty)"
    if len(value) > MAX_HOMESERVER_LENGTH:
        return f" (it is longer than {MAX_HOMESERVER_LENGTH} characters)"
    if "://" not in value:
        if not _SERVER_NAME_RE.match(value) or ".." in value or value.startswith("."):
            return " (it is neither a URL nor a server name)"
        return _check_port(value.rpartition("]")[2].partition(":")[2] or None)
    problem = _check_url_parts(value, ("http", "https"))
    if problem is not None:
        return problem
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        return " (remove the part after ? or #)"
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        return " (plain http:// is allowed only for this computer; use https://)"
    return None


def _check_proxy(url: str) -> str | None:
    return _check_url_parts(url, ("http", "https"), credentials_allowed=True)


def _check_url_parts(
    url: str, schemes: tuple[str, ...], *, credentials_allowed: bool = False
) -> str | None:
    """Return None for a URL with an allowed scheme, a host and a valid port."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return " (it is not a valid URL)"
    if parts.scheme.lower() not in schemes:
        shown = f"{parts.scheme}://" if "://" in url else "no scheme"
        return f" (it has {shown})"
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        return _check_port(port_text)
    if not parts.hostname:
        return " (it has no host name)"
    if not credentials_allowed and (parts.username or parts.password):
        return " (remove the user name and password)"
    return _check_port(str(port) if port is not None else None)


def _check_port(port_text: str | None) -> str | None:
    if port_text is None:
        return None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return f" (the port {port_text!r} is not a number from 1 to 65535)"
    return None


def _check_ca_bundle(path_text: str) -> str | None:
    path = Path(path_text)
    if not path.is_absolute():
        return " (the path is relative)"
    try:
        ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        return " (the file does not exist)"
    except PermissionError:
        return " (the file cannot be read: permission denied)"
    except (OSError, ssl.SSLError, ValueError) as error:
        return f" (the file contains no usable certificate: {error})"
    return None


def _shown(value: Any) -> str:
    """Return a value for a problem message: JSON, shortened, passwords hidden."""
    if isinstance(value, str):
        value = redact_url(value)
    text = json.dumps(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _redacted(problems: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    # Every problem goes through redact_url again, so that no message built
    # from a raw value can show a URL's password.
    return tuple(redact_url(problem) for problem in problems)


# -- Sources -----------------------------------------------------------------


def _read_json(path: Path) -> Policy:
    source = str(path)
    try:
        data = _read_policy_file(path)
    except FileNotFoundError:
        return NO_POLICY
    except _NotReadable as error:
        return _unreadable(source, error.reason)
    try:
        # utf-8-sig accepts the byte order mark that Windows editors write.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return _unreadable(
            source, f"it is not UTF-8 text (invalid byte at position {error.start})"
        )
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        return _unreadable(
            source,
            f"it is not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno})",
        )
    except (ValueError, RecursionError):
        return _unreadable(source, "it is not valid JSON (it is nested too deeply)")
    if not isinstance(values, dict):
        return _unreadable(source, "it does not contain a JSON object")
    return policy_from_values(values, source)


class _NotReadable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _read_policy_file(path: Path) -> bytes:
    """Return the bytes of a policy file, or raise _NotReadable saying why.

    FileNotFoundError propagates, because a missing file means no policy.
    The file is opened without blocking and must be a regular file of at
    most MAX_POLICY_FILE_BYTES, so a FIFO or a device at the path cannot
    stop the program from starting.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise
    except PermissionError as error:
        raise _NotReadable(
            "it cannot be read: permission denied. The policy file must be "
            "readable by every user (for example mode 644, owned by root)"
        ) from error
    except OSError as error:
        raise _NotReadable(f"it cannot be opened: {error.strerror or error}") from error
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise _NotReadable("it is a folder, not a file")
        if not stat.S_ISREG(status.st_mode):
            raise _NotReadable("it is not a regular file (for example a pipe)")
        if status.st_size > MAX_POLICY_FILE_BYTES:
            raise _NotReadable(
                f"it is larger than {MAX_POLICY_FILE_BYTES // 1024} KiB "
                f"({status.st_size} bytes)"
            )
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(MAX_POLICY_FILE_BYTES + 1)
    except OSError as error:
        raise _NotReadable(f"it cannot be read: {error.strerror or error}") from error
    finally:
        os.close(descriptor)
    if len(data) > MAX_POLICY_FILE_BYTES:
        # The file grew after fstat.
        raise _NotReadable(f"it is larger than {MAX_POLICY_FILE_BYTES // 1024} KiB")
    return data


def _read_plist(path: Path) -> Policy:
    source = str(path)
    try:
        data = _read_policy_file(path)
    except FileNotFoundError:
        return NO_POLICY
    except _NotReadable as error:
        return _unreadable(source, error.reason)
    try:
        values = plistlib.loads(data)
    # plistlib lets the XML parser's ExpatError through, and a damaged binary
    # plist can end in any of the lookup errors.
    except (
        plistlib.InvalidFileException,
        ExpatError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
    ) as error:
        return _unreadable(source, f"it is not a valid property list ({error})")
    if not isinstance(values, dict):
        return _unreadable(source, "it does not contain a dictionary")
    # Configuration profiles add keys of their own to managed preferences.
    values = {
        key: value for key, value in values.items() if not key.startswith("Payload")
    }
    return policy_from_values(values, source)


def _read_registry(registry: Any) -> Policy:
    if registry is None:
        import winreg as registry  # type: ignore[import-not-found, no-redef]

    source = f"HKEY_LOCAL_MACHINE\\{REGISTRY_KEY}"
    try:
        key = registry.OpenKey(registry.HKEY_LOCAL_MACHINE, REGISTRY_KEY)
    except FileNotFoundError:
        return NO_POLICY
    except PermissionError:
        return _unreadable(source, "it cannot be read: permission denied")
    except OSError as error:
        return _unreadable(source, f"it cannot be read: {error.strerror or error}")
    values: dict[str, Any] = {}
    problems: list[str] = []
    try:
        index = 0
        while True:
            try:
                name, data, value_type = registry.EnumValue(key, index)
            except OSError:
                # EnumValue raises OSError (ERROR_NO_MORE_ITEMS) after the last value.
                break
            index += 1
            converted = _registry_value(name, data, value_type)
            if isinstance(converted, _WrongRegistryType):
                problems.append(
                    f"The policy in {source} stores {name} as registry type "
                    f"{value_type}, but it must be {converted.expected}. This value "
                    f"was ignored. {FIX_HINT}"
                )
                continue
            values[name] = converted
    finally:
        registry.CloseKey(key)
    policy = policy_from_values(values, source)
    if problems:
        policy = _with_problems(policy, problems)
    return policy


@dataclass(frozen=True)
class _WrongRegistryType:
    expected: str


def _registry_value(name: str, data: Any, value_type: int) -> Any:
    """Convert a registry value to the JSON type of its key.

    Switches are REG_DWORD 0 or 1, as ADMX boolean policies write them;
    numbers are REG_DWORD or REG_QWORD; text is REG_SZ or REG_EXPAND_SZ.
    Unknown names pass through unchanged, to be reported as unknown keys.
    """
    spec = POLICY_KEYS.get(name)
    if spec is None:
        return data
    if spec.kind is str:
        if value_type in (REG_SZ, REG_EXPAND_SZ):
            return data
        return _WrongRegistryType("REG_SZ (text)")
    if value_type not in (REG_DWORD, REG_QWORD):
        return _WrongRegistryType("REG_DWORD (a number)")
    if spec.kind is bool:
        # Any other number is passed on as an int, which the check rejects.
        return {0: False, 1: True}.get(data, data)
    return data


def _unreadable(source: str, reason: str) -> Policy:
    problem = (
        f"The policy in {source} was not applied because {reason}. Commonplace "
        f"started with its default settings. {FIX_HINT}"
    )
    return Policy(source=source, problems=_redacted([problem]))


def _with_problems(policy: Policy, problems: list[str]) -> Policy:
    return replace(policy, problems=_redacted(problems) + policy.problems)


__all__ = [
    "FIX_HINT",
    "MANAGED_PREFERENCES_DOMAIN",
    "MANAGED_PREFERENCES_FILE",
    "MAX_HOMESERVER_LENGTH",
    "MAX_POLICY_FILE_BYTES",
    "MAX_RETENTION_DAYS",
    "NO_POLICY",
    "POLICY_FILE",
    "POLICY_KEYS",
    "POLICY_NOTE",
    "REGISTRY_KEY",
    "Policy",
    "normalise_server",
    "policy_from_values",
    "read_policy",
    "system_policy",
]
