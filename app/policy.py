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

import json
import logging
import plistlib
import ssl
import sys
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

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

# Windows registry value types (winreg.REG_*), named here so that the reader
# works with an injected stand-in for winreg on any system.
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_DWORD = 4
REG_QWORD = 11

_FIX_HINT = "Tell your IT department."

# Shown in the UI beside every value that the policy sets.
POLICY_NOTE = "Set by your organisation"


@dataclass(frozen=True)
class _Key:
    kind: type  # bool, int or str, as JSON and plist values
    description: str  # what a valid value is, for problem messages


POLICY_KEYS: dict[str, _Key] = {
    "homeserver": _Key(str, "a server address or Matrix server name"),
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
        from urllib.parse import urlsplit

        parts = urlsplit(self.proxy)
        return parts.netloc.rpartition("@")[2]

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
                f"was ignored. Known keys: {known}. {_FIX_HINT}"
            )
            continue
        if value is None:
            continue
        problem = _check_value(key, spec, value)
        if problem is not None:
            problems.append(
                f"The policy in {source} sets {key} to {_shown(value)}, but it must "
                f"be {spec.description}{problem}. This value was ignored. {_FIX_HINT}"
            )
            continue
        accepted[key] = value

    if accepted.get("hide_server_field") and "homeserver" not in accepted:
        problems.append(
            f"The policy in {source} sets hide_server_field without a valid "
            f"homeserver, so the server field is shown. {_FIX_HINT}"
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
        problems=tuple(problems),
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
    if key == "homeserver" and not value.strip():
        return ""
    if key == "proxy":
        return _check_proxy(value.strip())
    if key == "ca_bundle":
        return _check_ca_bundle(value)
    return None


def _check_proxy(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as error:
        return f" ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
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
    text = json.dumps(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- Sources -----------------------------------------------------------------


def _read_json(path: Path) -> Policy:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return NO_POLICY
    except (OSError, UnicodeDecodeError) as error:
        return _unreadable(source, f"it cannot be read ({error})")
    try:
        values = json.loads(text)
    except (ValueError, RecursionError) as error:
        return _unreadable(source, f"it is not valid JSON ({error})")
    if not isinstance(values, dict):
        return _unreadable(source, "it does not contain a JSON object")
    return policy_from_values(values, source)


def _read_plist(path: Path) -> Policy:
    source = str(path)
    try:
        with path.open("rb") as file:
            values = plistlib.load(file)
    except FileNotFoundError:
        return NO_POLICY
    except OSError as error:
        return _unreadable(source, f"it cannot be read ({error})")
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
    except OSError as error:
        return _unreadable(source, f"it cannot be read ({error})")
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
                    f"was ignored. {_FIX_HINT}"
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
        f"started with its default settings. {_FIX_HINT}"
    )
    return Policy(source=source, problems=(problem,))


def _with_problems(policy: Policy, problems: list[str]) -> Policy:
    return replace(policy, problems=tuple(problems) + policy.problems)


__all__ = [
    "MANAGED_PREFERENCES_DOMAIN",
    "MANAGED_PREFERENCES_FILE",
    "MAX_RETENTION_DAYS",
    "NO_POLICY",
    "POLICY_FILE",
    "POLICY_KEYS",
    "POLICY_NOTE",
    "REGISTRY_KEY",
    "Policy",
    "policy_from_values",
    "read_policy",
    "system_policy",
]
