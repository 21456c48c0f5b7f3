"""``commonplace --self-test`` run as a separate process, as a help desk runs it.

Each test starts the command with its own environment: the test Synapse, a
private D-Bus with a real gnome-keyring, and, where a test needs one, a
notification service that this file serves on that bus.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.account import Settings
from app.cli import EXIT_SELF_TEST_FAILED

REPOSITORY = Path(__file__).parents[2]
NOTIFICATIONS = "org.freedesktop.Notifications"


def run_self_test(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--self-test"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def report_line(result: subprocess.CompletedProcess, check: str) -> str:
    """Return the report's line for ``check``, failing the test if it is missing."""
    for line in result.stdout.splitlines():
        if line[8:].startswith(f"{check}:"):
            return line
    raise AssertionError(f"No line for {check} in:\n{result.stdout}{result.stderr}")


def base_environment(home: Path) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
    }
    environment["COMMONPLACE_HOME"] = str(home)
    environment["QT_QPA_PLATFORM"] = "offscreen"
    return environment


def sign_in(environment: dict[str, str], server_url: str, user) -> None:
    """Sign in with the command line, so the token goes to the test's keyring."""
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "login", "--server", server_url]
        + ["--user", user.localpart, "--password-stdin"],
        cwd=REPOSITORY,
        env=environment,
        input=user.password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NotificationService:
    """org.freedesktop.Notifications on a D-Bus bus that replies to GetServerInformation."""

    def __init__(self, bus_address: str):
        self.bus_address = bus_address
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> NotificationService:
        self._thread.start()
        assert self._ready.wait(10), "the notification service did not start"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _serve(self) -> None:
        from jeepney import MessageType, new_method_return
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus=self.bus_address) as connection:
            connection.send_and_get_reply(message_bus.RequestName(NOTIFICATIONS))
            self._ready.set()
            while not self._stop.is_set():
                try:
                    message = connection.receive(timeout=0.1)
                except TimeoutError:
                    continue
                header = message.header
                if header.message_type != MessageType.method_call:
                    continue
                member = header.fields.get(3)  # HeaderFields.member
                if member == "GetServerInformation":
                    reply = new_method_return(
                        message,
                        "ssss",
                        ("test-notifier", "Commonplace tests", "1.0", "1.2"),
                    )
                    connection.send(reply)


@pytest.fixture
def keyring_environment(secret_service, isolated_profile) -> Iterator[dict[str, str]]:
    """An environment whose session bus has the test's gnome-keyring and nothing else."""
    environment = base_environment(isolated_profile)
    environment["DBUS_SESSION_BUS_ADDRESS"] = secret_service.bus_address
    yield environment


@pytest.mark.synapse
@pytest.mark.keyring
def test_self_test_passes_when_all_works(synapse, make_user, keyring_environment):
    user = make_user("self-test")
    sign_in(keyring_environment, synapse.base_url, user)

    bus = keyring_environment["DBUS_SESSION_BUS_ADDRESS"]
    with NotificationService(bus):
        result = run_self_test(keyring_environment)

    assert result.returncode == 0, result.stdout + result.stderr
    assert report_line(result, "Server").startswith("OK ")
    assert synapse.base_url in report_line(result, "Server")
    assert report_line(result, "Keyring").startswith("OK ")
    keyring_line = report_line(result, "Keyring")
    assert "Secret Service keyring" in keyring_line
    assert "keyring.backends" not in keyring_line
    assert report_line(result, "Notifications").startswith("OK ")
    assert "test-notifier" in report_line(result, "Notifications")
    assert report_line(result, "Qt platform").startswith("OK ")
    assert "offscreen" in report_line(result, "Qt platform")
    assert report_line(result, "Cache folder").startswith("OK ")
    assert report_line(result, "Policy").startswith("OK ")
    assert result.stdout.rstrip().endswith("All checks passed.")


@pytest.mark.synapse
@pytest.mark.keyring
def test_missing_notifications_only_warn(synapse, make_user, keyring_environment):
    user = make_user("self-test-quiet")
    sign_in(keyring_environment, synapse.base_url, user)

    result = run_self_test(keyring_environment)

    line = report_line(result, "Notifications")
    assert line.startswith("WARNING ")
    assert NOTIFICATIONS in line
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 with a warning" in result.stdout


@pytest.mark.keyring
def test_private_keyring_is_ok(keyring_environment):
    result = run_self_test(keyring_environment)

    assert report_line(result, "Keyring").startswith("OK ")


@pytest.mark.keyring
def test_missing_notification_service_is_named(keyring_environment):
    result = run_self_test(keyring_environment)

    line = report_line(result, "Notifications")
    assert line.startswith("WARNING ")
    assert NOTIFICATIONS in line
    assert "dunst" in line


def test_no_session_bus_fails_keyring_and_notifications(isolated_profile):
    result = run_self_test(base_environment(isolated_profile))

    assert report_line(result, "Keyring").startswith("FAILED ")
    assert "gnome-keyring" in report_line(result, "Keyring")
    notifications = report_line(result, "Notifications")
    assert notifications.startswith("WARNING ")
    assert "DBUS_SESSION_BUS_ADDRESS" in notifications
    assert result.returncode == EXIT_SELF_TEST_FAILED


def test_invalid_bus_address_is_plain(isolated_profile):
    environment = base_environment(isolated_profile)
    environment["DBUS_SESSION_BUS_ADDRESS"] = "garbage;;"

    result = run_self_test(environment)

    notifications = report_line(result, "Notifications")
    assert notifications.startswith("WARNING ")
    assert "could not be used" in notifications
    assert "unpack" not in notifications


def test_dead_server_port_fails_naming_host(isolated_profile):
    port = free_port()
    settings = Settings(
        homeserver_url=f"http://127.0.0.1:{port}",
        user_id="@ann:example.org",
        device_id="SELFTEST",
    )
    settings.save()

    result = run_self_test(base_environment(isolated_profile))

    line = report_line(result, "Server")
    assert line.startswith("FAILED ")
    assert f"127.0.0.1:{port}" in line
    assert "@ann:example.org" in line
    assert "refused the connection" in line
    # The error's own advice ends the line, with no second advice after it.
    assert line.endswith("try again later.")
    assert result.returncode == EXIT_SELF_TEST_FAILED


def test_no_server_configured_fails(isolated_profile):
    result = run_self_test(base_environment(isolated_profile))

    line = report_line(result, "Server")
    assert line.startswith("FAILED ")
    assert "no server configured" in line
    assert "commonplace login" in line


def test_signed_out_account_counts_as_no_server(isolated_profile):
    # Signing out keeps the server address but clears the user id.
    Settings(homeserver_url="http://127.0.0.1:9").save()

    result = run_self_test(base_environment(isolated_profile))

    assert "no server configured" in report_line(result, "Server")


def test_missing_display_fails_qt_check(isolated_profile):
    environment = base_environment(isolated_profile)
    del environment["QT_QPA_PLATFORM"]

    result = run_self_test(environment)

    line = report_line(result, "Qt platform")
    assert line.startswith("FAILED ")
    assert "DISPLAY" in line
    assert "xvfb-run -a commonplace" in line


def test_broken_platform_plugin_fails_qt_check(isolated_profile):
    environment = base_environment(isolated_profile)
    environment["QT_QPA_PLATFORM"] = "no-such-platform"

    result = run_self_test(environment)

    line = report_line(result, "Qt platform")
    assert line.startswith("FAILED ")
    assert "no-such-platform" in line
    assert "QT_DEBUG_PLUGINS=1" in line


def test_unwritable_cache_folder_fails(tmp_path):
    # A file where the profile folder should be cannot hold folders, even for root.
    home = tmp_path / "home-is-a-file"
    home.write_text("")

    result = run_self_test(base_environment(home))

    line = report_line(result, "Cache folder")
    assert line.startswith("FAILED ")
    assert str(home) in line
    assert result.returncode == EXIT_SELF_TEST_FAILED


# The policy file lives in /etc, which tests must not write, so these tests
# run the check in this process with the policy reader replaced.


@pytest.mark.synapse
def test_policy_server_is_checked_without_account(synapse, monkeypatch):
    import app.policy
    from app.self_test import check_server

    policy = app.policy.policy_from_values(
        {"homeserver": synapse.base_url}, "/etc/commonplace/policy.json"
    )
    monkeypatch.setattr(app.policy, "system_policy", lambda: policy)

    result = check_server()

    assert result.status == "OK", result.detail
    assert "policy" in result.detail
    assert synapse.base_url in result.detail


@pytest.mark.synapse
def test_policy_server_name_is_discovered(synapse, monkeypatch):
    import app.policy
    from app.self_test import check_server

    # A bare loopback name is reached over http, so it finds the test server.
    server_name = synapse.base_url.removeprefix("http://")
    policy = app.policy.policy_from_values(
        {"homeserver": server_name}, "/etc/commonplace/policy.json"
    )
    monkeypatch.setattr(app.policy, "system_policy", lambda: policy)

    result = check_server()

    assert result.status == "OK", result.detail
    assert synapse.base_url in result.detail


def test_no_fonts_fails_qt_check(isolated_profile, tmp_path):
    # A fontconfig configuration whose only font folder is empty, as on a
    # machine with no font package installed.
    (tmp_path / "fonts").mkdir()
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<fontconfig>\n'
        f"  <dir>{tmp_path / 'fonts'}</dir>\n"
        f"  <cachedir>{tmp_path / 'font-cache'}</cachedir>\n"
        "</fontconfig>\n"
    )
    environment = base_environment(isolated_profile)
    environment["FONTCONFIG_FILE"] = str(config)

    result = run_self_test(environment)

    line = report_line(result, "Qt platform")
    assert line.startswith("FAILED ")
    assert "empty box" in line
    assert "fonts-dejavu-core" in line
    assert result.returncode == EXIT_SELF_TEST_FAILED


# -- Policy check, in this process ---------------------------------------------


def policy_check(monkeypatch, policy):
    import app.policy
    from app.self_test import check_policy

    monkeypatch.setattr(app.policy, "system_policy", lambda: policy)
    return check_policy()


def test_policy_check_without_policy(monkeypatch):
    from app.policy import NO_POLICY

    result = policy_check(monkeypatch, NO_POLICY)

    assert result.status == "OK"
    assert result.detail == "no policy."


def test_policy_check_names_applied_file(monkeypatch, tmp_path):
    from app.policy import read_policy

    path = tmp_path / "policy.json"
    path.write_text('{"retention_days": 30}', encoding="utf-8")

    result = policy_check(monkeypatch, read_policy(platform="linux", json_path=path))

    assert result.status == "OK"
    assert str(path) in result.detail
    assert "retention_days" in result.detail


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"homeserver": "http://127.0.0.1:18100",}', "not valid JSON"),
        ('{"proxy": "http://alice:s3cret-pw@127.0.0.1:31x28"}', "proxy"),
        ('{"ca_bundle": "relative.pem"}', "ca_bundle"),
    ],
)
def test_policy_check_fails_on_problems(monkeypatch, tmp_path, text, reason):
    from app.policy import read_policy

    path = tmp_path / "policy.json"
    path.write_text(text, encoding="utf-8")

    result = policy_check(monkeypatch, read_policy(platform="linux", json_path=path))

    assert result.status == "FAILED"
    assert str(path) in result.detail
    assert reason in result.detail
    assert "s3cret-pw" not in result.detail
    line = f"{result.detail} {result.action}"
    assert line.count("Tell your IT department") == 1


def test_policy_check_fails_when_unreadable(monkeypatch, tmp_path):
    from app.policy import read_policy

    path = tmp_path / "policy.json"
    path.write_text('{"retention_days": 30}', encoding="utf-8")
    real_open = os.open

    def denied(name, *args, **kwargs):
        if Path(name) == path:
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    policy = read_policy(platform="linux", json_path=path)
    monkeypatch.undo()

    result = policy_check(monkeypatch, policy)

    assert result.status == "FAILED"
    assert str(path) in result.detail
    assert "permission denied" in result.detail


@pytest.mark.synapse
def test_dropped_proxy_fails_before_server(synapse, monkeypatch, capsys):
    import app.policy
    import app.self_test
    from app.logging_setup import configure_logging

    policy = app.policy.policy_from_values(
        {"homeserver": synapse.base_url, "proxy": "http://127.0.0.1:31x28"},
        "/etc/commonplace/policy.json",
    )
    monkeypatch.setattr(app.policy, "system_policy", lambda: policy)
    checks = (app.self_test.check_policy, app.self_test.check_server)
    monkeypatch.setattr(app.self_test, "CHECKS", checks)

    try:
        code = app.self_test.run_self_test(EXIT_SELF_TEST_FAILED)
    finally:
        configure_logging(log_file=False, console=False)

    lines = capsys.readouterr().out.splitlines()
    assert code == EXIT_SELF_TEST_FAILED
    assert lines[1].startswith("FAILED  Policy: ")
    assert "proxy" in lines[1]
    assert lines[2].startswith("OK      Server: ")


def test_session_on_other_server_is_not_checked(monkeypatch):
    import app.policy
    from app.self_test import configured_server

    Settings(
        homeserver_url="http://127.0.0.1:18300",
        user_id="@ann:localhost",
        device_id="OLD",
    ).save()
    policy = app.policy.policy_from_values(
        {"homeserver": "http://127.0.0.1:9"}, "/etc/commonplace/policy.json"
    )
    monkeypatch.setattr(app.policy, "system_policy", lambda: policy)

    server, source = configured_server()

    assert server == "http://127.0.0.1:9"
    assert "policy" in source


def test_rejected_keyring_named_without_class_path(isolated_profile):
    environment = base_environment(isolated_profile)
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

    result = run_self_test(environment)

    line = report_line(result, "Keyring")
    assert line.startswith("FAILED ")
    assert "Keyring does not keep secrets" in line
    assert "keyring.backends" not in line
