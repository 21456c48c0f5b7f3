"""``commonplace --self-test``: checks a help desk can run on a user's machine.

Each check returns a CheckResult: the system-wide policy, the Qt platform
plugin and fonts, the keyring, the desktop notification service, the cache
folders, and the configured server. ``run_self_test`` prints one line per
check and returns a non-zero exit code when any check failed. A missing
notification service is a warning, because the app works without it.

The Qt check runs in a child process, because Qt aborts the whole process
when its platform plugin cannot be loaded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from app import __version__, paths
from app.logging_setup import redact_url

log = logging.getLogger(__name__)

# The command line option that makes the process run only the Qt probe.
QT_PROBE_OPTION = "--self-test-qt-probe"
QT_PROBE_TIMEOUT = 30.0  # seconds; a cold start of Qt from a slow disk
DBUS_TIMEOUT = 5.0  # seconds per D-Bus call
SERVER_TIMEOUT = 10.0  # seconds for the one request to the server

NOTIFICATIONS_BUS_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``detail`` is what was found, ``action`` the fix."""

    name: str
    status: str  # "OK", "WARNING", "FAILED" or "SKIPPED"
    detail: str
    action: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAILED


OK = "OK"
WARNING = "WARNING"  # something optional is missing; the check does not fail
FAILED = "FAILED"
SKIPPED = "SKIPPED"


def _ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, OK, detail)


def _failed(name: str, detail: str, action: str) -> CheckResult:
    return CheckResult(name, FAILED, detail, action)


def _warning(name: str, detail: str, action: str) -> CheckResult:
    return CheckResult(name, WARNING, detail, action)


# -- Policy ------------------------------------------------------------------


def check_policy() -> CheckResult:
    """Report whether the system-wide policy was read and applied in full.

    It fails when the policy file exists but could not be read, is not
    valid, or has values that were ignored, because the other checks then
    run without the proxy, CA bundle or server that the organisation set.
    """
    from app.policy import FIX_HINT, system_policy

    name = "Policy"
    policy = system_policy()
    if not policy.source:
        return _ok(name, "no policy.")
    if policy.problems:
        problems = " ".join(
            problem.removesuffix(FIX_HINT).strip() for problem in policy.problems
        )
        return _failed(
            name,
            problems,
            f"The other checks ran without the ignored settings. {FIX_HINT}",
        )
    settings = ", ".join(sorted(policy.locked)) or "nothing"
    return _ok(name, f"{policy.source} is applied; it sets {settings}.")


# -- Qt platform -------------------------------------------------------------


def check_qt_platform() -> CheckResult:
    """Start Qt with the platform the desktop app would use, in a child process."""
    name = "Qt platform"
    if _missing_display():
        return _failed(
            name,
            "no display: neither DISPLAY nor WAYLAND_DISPLAY is set, so the "
            "desktop app cannot open a window here.",
            "Run Commonplace from a desktop session, or on a virtual display "
            "with 'xvfb-run -a commonplace'.",
        )
    try:
        completed = subprocess.run(
            [*_own_command(), QT_PROBE_OPTION],
            capture_output=True,
            text=True,
            timeout=QT_PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _failed(
            name,
            f"Qt did not start within {QT_PROBE_TIMEOUT:.0f} seconds.",
            "Check that the display server is running and reachable.",
        )
    except OSError as error:
        return _failed(
            name,
            f"the Qt check could not be started: {error.strerror or error}.",
            "Reinstall Commonplace.",
        )
    probe = _parse_probe_output(completed.stdout)
    if completed.returncode != 0 or probe is None:
        if completed.returncode < 0:
            ending = f"was stopped by signal {-completed.returncode}"
        else:
            ending = f"exited with code {completed.returncode}"
        return _failed(
            name,
            f"Qt could not start (the check's process {ending}): "
            f"{_last_lines(completed.stderr)}",
            "Install the system libraries Qt needs (reinstall the commonplace "
            "package), or run 'QT_DEBUG_PLUGINS=1 commonplace gui' to see "
            "which library is missing.",
        )
    platform = probe.get("platform", "?")
    families = probe.get("font_families", 0)
    if not families or not probe.get("glyphs_differ", False):
        return _failed(
            name,
            f"Qt started with the {platform} platform but found no usable "
            f"fonts ({families} font families), so every character would "
            "show as an empty box.",
            "Install fontconfig-config and a font, for example 'apt-get install "
            "fontconfig-config fonts-dejavu-core'.",
        )
    return _ok(name, f"the {platform} platform starts, with {families} font families.")


def run_qt_probe() -> int:
    """Create a QGuiApplication and print what it found as JSON.

    Runs in the child process that ``check_qt_platform`` starts. It prints
    the platform's name, the number of font families, and whether "A" and
    "B" drawn in the default font give different pixels, which is false when
    every character is drawn as the same empty box.
    """
    from PySide6.QtGui import QFontDatabase, QGuiApplication

    application = QGuiApplication(["commonplace"])
    result = {
        "platform": application.platformName(),
        "font_families": len(QFontDatabase.families()),
        "glyphs_differ": _draw_text("A") != _draw_text("B"),
    }
    print(json.dumps(result), flush=True)
    return 0


def _draw_text(text: str):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter

    image = QImage(48, 48, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setPen(Qt.GlobalColor.black)
    painter.setFont(QGuiApplication.font())
    painter.drawText(8, 36, text)
    painter.end()
    return image


def _missing_display() -> bool:
    """Return whether Qt would find no display, as ui.app.missing_display does."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _own_command() -> list[str]:
    """Return the command that starts this program again."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app.cli"]


def _parse_probe_output(output: str) -> dict | None:
    for line in reversed(output.splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[-count:])[:500] or "no error output."


# -- Keyring -----------------------------------------------------------------


def check_keyring() -> CheckResult:
    """Read a missing entry from the keyring Commonplace would store tokens in."""
    from app.credentials import KeyringLocked, KeyringUnavailable, TokenStore

    store = TokenStore()
    try:
        store.check()
    except KeyringLocked as error:
        return _failed(
            "Keyring",
            # KeyringLocked's reason is always Commonplace's own sentence.
            f"the keyring is locked: {error.reason}.",
            "Unlock it (for example by signing in to the desktop session "
            "again), or sign in for this session only in the desktop app.",
        )
    except KeyringUnavailable as error:
        return _failed(
            "Keyring",
            f"{_plain_keyring_reason(error)}.",
            "Start GNOME Keyring or KWallet in the desktop session (Debian "
            "package gnome-keyring), or sign in for this session only in the "
            "desktop app.",
        )
    return _ok("Keyring", f"{_keyring_display_name(store.backend_name())} works.")


def _plain_keyring_reason(error) -> str:
    """Return the error's reason in plain words.

    Reasons that Commonplace wrote itself have no cause, and a class path in
    them is shortened to the class name. A reason copied from a keyring
    library exception is logged and replaced with a sentence.
    """
    if error.__cause__ is None:
        return _CLASS_PATH_RE.sub(r"\1", error.reason)
    log.warning("Self-test keyring check failed: %s", error.reason)
    return (
        "the keyring service returned an error when a test entry was read "
        "(the log file has the details)"
    )


# A dotted Python class path such as keyrings.alt.file.PlaintextKeyring.
_CLASS_PATH_RE = re.compile(
    r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.){2,}([A-Za-z_][A-Za-z0-9_]*)\b"
)


def _keyring_display_name(backend_path: str) -> str:
    """Return a keyring backend's product name for a class path from keyring."""
    names = {
        "SecretService": "The Secret Service keyring (GNOME Keyring or KWallet)",
        "kwallet": "KWallet",
        "Windows": "Windows Credential Manager",
        "macOS": "The macOS Keychain",
    }
    for part, display_name in names.items():
        if part in backend_path:
            return display_name
    return "The system keyring"


# -- Notifications -----------------------------------------------------------


def check_notifications() -> CheckResult:
    """Look for org.freedesktop.Notifications on the D-Bus session bus."""
    name = "Notifications"
    if not sys.platform.startswith("linux"):
        return CheckResult(
            name,
            SKIPPED,
            f"not checked on {sys.platform}: the system's own notifications are used.",
        )
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        return _warning(
            name,
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no "
            "desktop notifications can be shown.",
            "Run Commonplace inside a desktop session.",
        )
    try:
        server = _notification_server_name()
    except TimeoutError:
        log.warning("Self-test: the D-Bus session bus at %s timed out", address)
        return _warning(
            name,
            f"the D-Bus session bus did not answer within {DBUS_TIMEOUT:.0f} "
            "seconds, so no desktop notifications can be shown.",
            "Run Commonplace inside a desktop session.",
        )
    except (OSError, ValueError) as error:
        log.warning("Self-test: the D-Bus session bus at %s failed: %s", address, error)
        return _warning(
            name,
            "the D-Bus session bus named by DBUS_SESSION_BUS_ADDRESS could not "
            "be used (the address is invalid, or nothing answers there), so no "
            "desktop notifications can be shown.",
            "Run Commonplace inside a desktop session.",
        )
    if server is None:
        return _warning(
            name,
            f"no notification service ({NOTIFICATIONS_BUS_NAME}) is running on "
            "the D-Bus session bus, so new replies cannot be announced.",
            "Start the desktop's notification service (it comes with GNOME and "
            "KDE; on other desktops install one such as dunst).",
        )
    return _ok(name, f"{server} provides {NOTIFICATIONS_BUS_NAME}.")


def _notification_server_name() -> str | None:
    """Return the notification server's name, or None when there is none.

    A service that D-Bus can start on demand counts: asking it for its
    information starts it.
    """
    from jeepney import DBusAddress, new_method_call
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    with open_dbus_connection(bus="SESSION") as connection:
        owned = connection.send_and_get_reply(
            message_bus.NameHasOwner(NOTIFICATIONS_BUS_NAME), timeout=DBUS_TIMEOUT
        ).body[0]
        if not owned:
            activatable = connection.send_and_get_reply(
                message_bus.ListActivatableNames(), timeout=DBUS_TIMEOUT
            ).body[0]
            if NOTIFICATIONS_BUS_NAME not in activatable:
                return None
        address = DBusAddress(
            NOTIFICATIONS_PATH,
            bus_name=NOTIFICATIONS_BUS_NAME,
            interface=NOTIFICATIONS_BUS_NAME,
        )
        reply = connection.send_and_get_reply(
            new_method_call(address, "GetServerInformation"), timeout=DBUS_TIMEOUT
        )
        try:
            server_name, vendor, version, _spec = unwrap_msg(reply)
        except DBusErrorResponse as error:
            raise ValueError(f"{NOTIFICATIONS_BUS_NAME} returned {error}") from error
    return f"{server_name} {version} ({vendor})"


# -- Cache folders -----------------------------------------------------------


def check_cache_folders() -> CheckResult:
    """Write and delete a file in the cache's data folder and the media folder."""
    name = "Cache folder"
    checked: list[str] = []
    for folder_of in (paths.data_dir, paths.cache_dir):
        try:
            folder = folder_of()
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".self-test-"):
                pass
        except OSError as error:
            return _failed(
                name,
                f"cannot write to {error.filename or 'the cache folder'}: "
                f"{error.strerror or error}.",
                "Free disk space or give your user write access to that folder "
                "(or set COMMONPLACE_HOME to a writable folder).",
            )
        checked.append(str(folder))
    return _ok(name, f"{' and '.join(checked)} are writable.")


# -- Server ------------------------------------------------------------------


def configured_server() -> tuple[str | None, str]:
    """Return (server, where it comes from), or (None, "") if none is set.

    The signed-in account's server URL comes first, unless the policy sets
    another server. Otherwise the server an administrator set by policy,
    which may be a URL or a server name.
    """
    from app.account import Settings
    from app.policy import system_policy

    settings = Settings.load()
    policy = system_policy()
    if settings.user_id and settings.homeserver_url:
        if policy.allows_server(settings.homeserver_url, settings.user_id):
            return settings.homeserver_url, f"the server of {settings.user_id}"
        log.info(
            "Self-test: the saved session on %s is not used, because the policy "
            "sets the server %s",
            settings.homeserver_url,
            policy.homeserver,
        )
    if policy.homeserver:
        return policy.homeserver, f"the server set by the policy in {policy.source}"
    return None, ""


def check_server() -> CheckResult:
    """Send GET /_matrix/client/versions to the configured server, once."""
    name = "Server"
    try:
        server, source = configured_server()
    except OSError as error:
        return _failed(
            name,
            "the settings could not be read from "
            f"{error.filename or 'the settings folder'}: {error.strerror or error}.",
            "Give your user access to that folder, or set COMMONPLACE_HOME to a "
            "writable folder.",
        )
    if server is None:
        from app.policy import system_policy

        policy_text = (
            "the policy sets no usable server (see the Policy line)"
            if system_policy().problems
            else "no policy sets a server"
        )
        return _failed(
            name,
            f"no server configured: nobody is signed in and {policy_text}.",
            "Sign in with 'commonplace login --server URL --user NAME' or in "
            "the desktop app.",
        )
    try:
        url, versions = asyncio.run(_fetch_versions(server))
    except Exception as error:  # noqa: BLE001 - every failure is the check's result
        from app.matrix import MatrixError

        shown = redact_url(server)
        if isinstance(error, MatrixError):
            # Its message already ends with the next step to take.
            return _failed(
                name, f"{shown} ({source}) did not answer: {error.message}", ""
            )
        log.exception("Self-test request to %s failed", server)
        return _failed(
            name,
            f"{shown} ({source}) did not answer because of an unexpected error.",
            "Check the network connection and the server address, and send the "
            "log file to your help desk.",
        )
    newest = versions[-1] if versions else "no version"
    return _ok(name, f"{url} ({source}) answers, Matrix {newest}.")


async def _fetch_versions(server: str) -> tuple[str, list[str]]:
    """Return the server's base URL and its Matrix versions, with one request.

    A server name (as a policy may give) is first resolved through
    ``.well-known``. The policy's proxy and CA bundle apply, as in the app.
    """
    from app.matrix import MatrixClient, NotMatrixServer, discover_homeserver
    from app.policy import system_policy

    network = system_policy().network_options()
    url = server
    if "://" not in server:
        url = await discover_homeserver(server, network=network)
    async with MatrixClient(url, network=network) as client:
        body = await client.request(
            "GET",
            "/_matrix/client/versions",
            authenticated=False,
            timeout=SERVER_TIMEOUT,
            max_attempts=1,
        )
    versions = body.get("versions")
    if not isinstance(versions, list) or not versions:
        raise NotMatrixServer(
            f"{url} returned no list of Matrix versions, so it is not a Matrix server."
        )
    return url, [str(version) for version in versions]


# -- Report ------------------------------------------------------------------

CHECKS: tuple[Callable[[], CheckResult], ...] = (
    check_policy,
    check_qt_platform,
    check_keyring,
    check_notifications,
    check_cache_folders,
    check_server,
)


def run_checks() -> list[CheckResult]:
    """Run every check; a check that raises counts as failed."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception:  # noqa: BLE001 - reported, logged, the test goes on
            log.exception("Self-test check %s failed", check.__name__)
            results.append(
                _failed(
                    check.__name__.removeprefix("check_")
                    .replace("_", " ")
                    .capitalize(),
                    "the check itself failed because of an unexpected error "
                    "(the log file has the details).",
                    "Run 'commonplace --self-test -v' and send its output to "
                    "your help desk.",
                )
            )
    return results


def format_report(results: list[CheckResult]) -> str:
    """Return the report: a title, one line per check and a summary line."""
    lines = [f"Commonplace {__version__} self-test"]
    for result in results:
        line = f"{result.status:<7} {result.name}: {result.detail}"
        if result.action:
            line += f" {result.action}"
        lines.append(line)
    failures = sum(result.failed for result in results)
    warnings = sum(result.status == WARNING for result in results)
    if failures:
        lines.append(f"{failures} of {len(results)} checks failed.")
    elif warnings:
        lines.append(f"All checks passed; {warnings} with a warning.")
    else:
        lines.append("All checks passed.")
    return "\n".join(lines)


def run_self_test(exit_code_on_failure: int, *, verbose: bool = False) -> int:
    """Print the report and return 0, or ``exit_code_on_failure`` if a check failed.

    Logs go to the log file as usual. When its folder cannot be written, the
    cache folder check reports it, and logs go to standard error with
    ``verbose`` or nowhere.
    """
    from app.logging_setup import configure_logging

    level = logging.DEBUG if verbose else logging.INFO
    try:
        configure_logging(level, console=verbose)
    except OSError:
        if verbose:
            configure_logging(level, log_file=False, console=True)
        else:
            logging.getLogger().addHandler(logging.NullHandler())
    results = run_checks()
    print(format_report(results), flush=True)
    for result in results:
        log.info("Self-test %s: %s %s", result.name, result.status, result.detail)
    return exit_code_on_failure if any(result.failed for result in results) else 0
