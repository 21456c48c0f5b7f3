"""AppController's start-up, keyring prompt, sign-out and shutdown."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.credentials import KeyringLocked
from app.matrix.errors import InvalidCredentials
from app.sso import LoginFlows
from app.store import Store
from tests.ui.builders import FakeAppSession, Session
from ui.app import (
    CACHE_EXIT_CODE,
    NO_DISPLAY_EXIT_CODE,
    AppController,
    make_application,
    missing_display,
    run_gui,
)
from ui.dialogs import KeyringProblemDialog
from ui.main_window import MainWindow
from ui.sign_in_dialog import SignInDialog


class FakeAccounts:
    """AccountManager's interface with scripted results and no network."""

    def __init__(self, saved=None, load_errors=(), sign_in_error=None):
        self.settings = SimpleNamespace(last_server="example.org")
        self.saved = saved
        self.load_errors = list(load_errors)
        self.sign_in_error = sign_in_error
        self.sign_ins = []
        self.signed_out = []

    def load_session(self):
        if self.load_errors:
            raise self.load_errors.pop(0)
        return self.saved

    async def sign_in(self, server, user, password, *, session_only=False):
        self.sign_ins.append((server, user, session_only))
        if self.sign_in_error is not None:
            raise self.sign_in_error
        return Session(user_id=f"@{user}:example.org", session_only=session_only)

    async def sign_out(self, session):
        self.signed_out.append(session)

    async def login_flows(self, server):
        return LoginFlows(f"https://{server}", password=True)


@pytest.fixture
def controller(qapp, qasync_loop, tmp_path):
    sessions = []

    def make(accounts, open_error: BaseException | None = None) -> AppController:
        """Return a controller whose sessions use tmp_path/cache.sqlite3.

        With open_error, opening a session raises it instead.
        """

        def session_factory(session):
            if open_error is not None:
                raise open_error
            app_session = FakeAppSession(Store(tmp_path / "cache.sqlite3"), session)
            sessions.append(app_session)
            return app_session

        app_controller = AppController(accounts, session_factory)
        app_controller.sessions = sessions
        return app_controller

    yield make
    for window in QApplication.topLevelWidgets():
        if isinstance(
            window, (MainWindow, SignInDialog, KeyringProblemDialog, QMessageBox)
        ):
            window.close()


def _visible(kind, object_name: str | None = None):
    for widget in QApplication.topLevelWidgets():
        if not isinstance(widget, kind) or not widget.isVisible():
            continue
        if object_name is None or widget.objectName() == object_name:
            return widget
    return None


def _button_texts(box: QMessageBox) -> list[str]:
    return [button.text() for button in box.buttons()]


def _click(box: QMessageBox, text: str) -> None:
    for button in box.buttons():
        if button.text() == text:
            button.click()
            return
    raise AssertionError(f"no {text!r} button in {_button_texts(box)}")


def test_saved_session_opens_window_and_syncs(qtbot, controller):
    app_controller = controller(FakeAccounts(saved=Session()))
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )

    assert app_controller.sessions[0].started
    app_controller.window.close()
    qtbot.waitUntil(run.done)
    assert run.result() == 0
    assert app_controller.sessions[0].closed


def test_locked_keyring_offers_retry(qtbot, controller):
    accounts = FakeAccounts(saved=Session(), load_errors=[KeyringLocked()])
    app_controller = controller(accounts)
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(KeyringProblemDialog) is not None)

    _visible(KeyringProblemDialog).retry_button.click()
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )
    assert accounts.signed_out == []
    app_controller.window.close()
    qtbot.waitUntil(run.done)


def test_locked_keyring_session_only_sign_in(qtbot, controller):
    accounts = FakeAccounts(saved=Session(), load_errors=[KeyringLocked()])
    app_controller = controller(accounts)
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(KeyringProblemDialog) is not None)
    _visible(KeyringProblemDialog).session_only_button.click()
    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)

    dialog = _visible(SignInDialog)
    assert not dialog.remember_check.isChecked()
    dialog.user_edit.setText("alex")
    dialog.password_edit.setText("secret")
    dialog.submit()
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )
    assert accounts.sign_ins == [("example.org", "alex", True)]
    app_controller.window.close()
    qtbot.waitUntil(run.done)


def test_keyring_quit_ends_without_window(qtbot, controller):
    app_controller = controller(FakeAccounts(load_errors=[KeyringLocked()]))
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(KeyringProblemDialog) is not None)
    _visible(KeyringProblemDialog).quit_button.click()
    qtbot.waitUntil(run.done)
    assert run.result() == 0
    assert app_controller.window is None


def test_given_credentials_sign_in_at_start(qtbot, controller):
    accounts = FakeAccounts()
    app_controller = controller(accounts)
    run = asyncio.ensure_future(app_controller.run("example.org", "demo", "password"))
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )
    assert accounts.sign_ins == [("example.org", "demo", False)]
    app_controller.window.close()
    qtbot.waitUntil(run.done)


def test_failed_start_sign_in_shows_dialog_with_error(qtbot, controller):
    error = InvalidCredentials("The user name or password is wrong.")
    app_controller = controller(FakeAccounts(sign_in_error=error))
    run = asyncio.ensure_future(app_controller.run("example.org", "demo", "wrong"))
    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)

    dialog = _visible(SignInDialog)
    assert dialog.error_label.text() == error.message
    assert dialog.user_edit.text() == "demo"
    dialog.reject()
    qtbot.waitUntil(run.done)
    assert app_controller.window is None


def test_sign_out_deletes_cache_and_asks_again(qtbot, controller, tmp_path):
    accounts = FakeAccounts(saved=Session())
    app_controller = controller(accounts)
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )
    cache_file = app_controller.sessions[0].store.path
    assert cache_file.exists()
    # Downloaded files and thumbnails are content too.
    media = {}
    for name in ("files", "thumbnails"):
        folder = tmp_path / name / "area"
        folder.mkdir(parents=True)
        (folder / "Salaries 2026.xlsx").write_bytes(b"secret")
        media[name] = SimpleNamespace(folder=tmp_path / name)
    app_controller.sessions[0].files = media["files"]
    app_controller.sessions[0].thumbnails = media["thumbnails"]

    app_controller.window.sign_out_requested.emit(True)
    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)
    assert len(accounts.signed_out) == 1
    assert app_controller.sessions[0].closed
    assert not cache_file.exists()
    assert not (tmp_path / "files").exists()
    assert not (tmp_path / "thumbnails").exists()
    assert app_controller.window is None

    _visible(SignInDialog).reject()
    qtbot.waitUntil(run.done)
    assert run.result() == 0


def test_make_application_sets_name_and_style(qapp):
    app = make_application()
    assert app.applicationName() == "Commonplace"
    assert "#spaceList" in app.styleSheet()
    assert not app.windowIcon().isNull()
    app.setStyleSheet("")


def test_unavailable_cache_explains_and_quits(qtbot, controller, tmp_path):
    # SQLite reports a folder at the cache's path with SQLITE_CANTOPEN, the
    # code that a file in an unreadable folder gets, so the cache counts as
    # unavailable, not damaged.
    (tmp_path / "cache.sqlite3").mkdir()
    app_controller = controller(FakeAccounts(saved=Session()))
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(QMessageBox) is not None)

    box = _visible(QMessageBox)
    assert box.objectName() == "cacheUnavailableBox"
    assert "Start a new cache" not in _button_texts(box)
    assert "cannot be opened" in box.text()
    assert "unable to open database file" in box.detailedText()
    _click(box, "Quit")
    qtbot.waitUntil(run.done)
    assert run.result() == CACHE_EXIT_CODE
    assert (tmp_path / "cache.sqlite3").is_dir()
    assert app_controller.window is None


def test_os_error_opening_cache_quits(qtbot, controller):
    error = PermissionError(13, "Permission denied", "/data/cache.sqlite3")
    app_controller = controller(FakeAccounts(saved=Session()), open_error=error)
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(QMessageBox) is not None)

    box = _visible(QMessageBox)
    assert box.objectName() == "cacheUnavailableBox"
    assert "Start a new cache" not in _button_texts(box)
    assert "/data/cache.sqlite3" in box.text()
    assert "Permission denied" in box.text()
    assert "permissions" in box.text()
    _click(box, "Quit")
    qtbot.waitUntil(run.done)
    assert run.result() == CACHE_EXIT_CODE


def test_damaged_cache_offers_new_cache(qtbot, controller, tmp_path):
    (tmp_path / "cache.sqlite3").write_bytes(b"not a database " * 100)
    app_controller = controller(FakeAccounts(saved=Session()))
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(QMessageBox) is not None)

    box = _visible(QMessageBox)
    assert box.objectName() == "newCacheBox"
    assert "damaged" in box.text()
    _click(box, "Start a new cache")
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )
    app_controller.window.close()
    qtbot.waitUntil(run.done)
    assert run.result() == 0


def test_damaged_cache_quit_leaves_file(qtbot, controller, tmp_path):
    damaged = b"not a database " * 100
    (tmp_path / "cache.sqlite3").write_bytes(damaged)
    app_controller = controller(FakeAccounts(saved=Session()))
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(QMessageBox) is not None)

    _click(_visible(QMessageBox), "Quit")
    qtbot.waitUntil(run.done)
    assert run.result() == 0
    assert (tmp_path / "cache.sqlite3").read_bytes() == damaged


def test_new_cache_not_deleted_quits(qtbot, controller, tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("app.store.store.delete_cache_files", refuse)
    (tmp_path / "cache.sqlite3").write_bytes(b"not a database " * 100)
    app_controller = controller(FakeAccounts(saved=Session()))
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(lambda: _visible(QMessageBox, "newCacheBox") is not None)

    _click(_visible(QMessageBox, "newCacheBox"), "Start a new cache")
    qtbot.waitUntil(lambda: _visible(QMessageBox, "cacheUnavailableBox") is not None)
    box = _visible(QMessageBox, "cacheUnavailableBox")
    assert "Permission denied" in box.text()
    _click(box, "Quit")
    qtbot.waitUntil(run.done)
    assert run.result() == CACHE_EXIT_CODE
    assert app_controller.window is None


def test_sign_out_cache_not_deleted_warns(qtbot, controller, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("app.store.store.delete_cache_files", refuse)
    app_controller = controller(FakeAccounts(saved=Session()))
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )

    app_controller.window.sign_out_requested.emit(True)
    qtbot.waitUntil(lambda: _visible(QMessageBox, "cacheNotDeletedBox") is not None)
    box = _visible(QMessageBox, "cacheNotDeletedBox")
    assert "could not be deleted" in box.text()
    assert "Permission denied" in box.text()
    box.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)
    _visible(SignInDialog).reject()
    qtbot.waitUntil(run.done)
    assert run.result() == 0


def test_cache_exit_code_matches_command_line():
    from app.cli import EXIT_CACHE

    assert CACHE_EXIT_CODE == EXIT_CACHE


@pytest.mark.parametrize(
    ("platform", "environment", "missing"),
    [
        ("linux", {}, True),
        ("linux", {"DISPLAY": ":0"}, False),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, False),
        ("linux", {"QT_QPA_PLATFORM": "offscreen"}, False),
        ("darwin", {}, False),
        ("win32", {}, False),
    ],
)
def test_missing_display_cases(monkeypatch, platform, environment, missing):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)

    assert missing_display() is missing


def test_run_gui_without_display_says_what_to_do(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")

    def no_application():
        raise AssertionError("QApplication made without a display")

    monkeypatch.setattr("ui.app.make_application", no_application)

    assert run_gui() == NO_DISPLAY_EXIT_CODE
    error = capsys.readouterr().err
    assert "No display found" in error
    assert "xvfb-run -a commonplace" in error
    assert "commonplace --help" in error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland")
def test_command_without_display_exits_cleanly(tmp_path):
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    environment["COMMONPLACE_HOME"] = str(tmp_path)
    command = [sys.executable, "-c", "import sys, app.cli; sys.exit(app.cli.main([]))"]

    result = subprocess.run(
        command,
        check=False,
        cwd=Path(__file__).parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == NO_DISPLAY_EXIT_CODE
    assert "No display found" in result.stderr
    assert "xcb" not in result.stderr


def test_no_display_exit_code_matches_command_line():
    from app.cli import EXIT_NO_DISPLAY

    assert NO_DISPLAY_EXIT_CODE == EXIT_NO_DISPLAY
