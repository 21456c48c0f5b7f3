"""AppController's start-up, keyring prompt, sign-out and shutdown."""

import asyncio
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QApplication

from app.credentials import KeyringLocked
from app.matrix.errors import InvalidCredentials
from app.store import Store
from tests.ui.builders import FakeAppSession, Session
from ui.app import AppController, make_application
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


@pytest.fixture
def controller(qapp, qasync_loop, tmp_path):
    sessions = []

    def make(accounts) -> AppController:
        def session_factory(session):
            app_session = FakeAppSession(Store(tmp_path / "cache.sqlite3"), session)
            sessions.append(app_session)
            return app_session

        app_controller = AppController(accounts, session_factory)
        app_controller.sessions = sessions
        return app_controller

    yield make
    for window in QApplication.topLevelWidgets():
        if isinstance(window, (MainWindow, SignInDialog, KeyringProblemDialog)):
            window.close()


def _visible(kind):
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible():
            return widget
    return None


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

    app_controller.window.sign_out_requested.emit(True)
    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)
    assert len(accounts.signed_out) == 1
    assert app_controller.sessions[0].closed
    assert not cache_file.exists()
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
