"""What a system-wide policy changes in the windows: locked values and switches."""

import asyncio

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from app.policy import POLICY_NOTE, Policy
from app.records import Profile
from app.store import Store
from tests.ui.builders import ME, FakeAppSession, Session
from ui.app import AppController
from ui.main_window import MainWindow
from ui.settings_dialog import SettingsDialog
from ui.sign_in_dialog import SignInDialog
from ui.thread_view import LINKS_TURNED_OFF_MESSAGE, ThreadView

FIXED = "https://matrix.corp.example"


def policy_with(**values) -> Policy:
    return Policy(**values, locked=frozenset(values), source="/etc/commonplace/x")


def label_texts(widget) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel) if label.isVisible()]


def sign_in_dialog(qtbot, policy, calls):
    async def sign_in(server, user, password, session_only):
        calls.append(server)
        return Session()

    dialog = SignInDialog(sign_in, server="typed.example", policy=policy)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


# -- Sign-in ---------------------------------------------------------------------


def test_sign_in_server_locked(qtbot, qasync_loop):
    calls = []
    dialog = sign_in_dialog(qtbot, policy_with(homeserver=FIXED), calls)

    assert dialog.server_edit.text() == FIXED
    assert dialog.server_edit.isReadOnly()
    assert dialog.server_edit.isVisible()
    assert POLICY_NOTE in label_texts(dialog)
    dialog.user_edit.setText("alex")
    dialog.password_edit.setText("secret")
    with qtbot.waitSignal(dialog.signed_in):
        dialog.submit()
    assert calls == [FIXED]


def test_sign_in_server_hidden(qtbot, qasync_loop):
    calls = []
    policy = policy_with(homeserver=FIXED, hide_server_field=True)
    dialog = sign_in_dialog(qtbot, policy, calls)

    assert not dialog.server_edit.isVisible()
    assert POLICY_NOTE not in label_texts(dialog)
    dialog.user_edit.setText("alex")
    dialog.password_edit.setText("secret")
    with qtbot.waitSignal(dialog.signed_in):
        dialog.submit()
    assert calls == [FIXED]


def test_sign_in_without_policy_is_editable(qtbot, qasync_loop):
    dialog = sign_in_dialog(qtbot, Policy(), [])

    assert dialog.server_edit.text() == "typed.example"
    assert not dialog.server_edit.isReadOnly()
    assert POLICY_NOTE not in label_texts(dialog)


# -- Settings --------------------------------------------------------------------


def test_settings_wipe_locked_on(qtbot, app_session):
    app_session.policy = policy_with(wipe_cache_on_sign_out=True, homeserver=FIXED)
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)
    dialog.show()

    assert dialog.delete_cache_check.isChecked()
    assert not dialog.delete_cache_check.isEnabled()
    assert label_texts(dialog).count(POLICY_NOTE) == 2  # server and sign-out
    with qtbot.waitSignal(dialog.sign_out_requested) as signal:
        dialog.sign_out_button.click()
    assert signal.args == [True]


def test_settings_wipe_locked_off(qtbot, app_session):
    app_session.policy = policy_with(wipe_cache_on_sign_out=False)
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)

    assert not dialog.delete_cache_check.isChecked()
    assert not dialog.delete_cache_check.isEnabled()


def test_settings_lists_policy_values(qtbot, app_session, tmp_path):
    app_session.policy = policy_with(
        proxy="http://office:s3cret@proxy.corp.example:3128",
        ca_bundle=tmp_path / "ca.pem",
        retention_days=30,
        disable_uploads=True,
        disable_external_links=True,
    )
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)
    dialog.show()

    texts = label_texts(dialog)
    assert POLICY_NOTE in texts
    assert "proxy.corp.example:3128" in texts
    assert not any("s3cret" in text for text in texts)
    assert f"Also trusted: {tmp_path / 'ca.pem'}" in texts
    assert "30 days, then remove it" in texts
    assert dict(dialog.policy_rows)["Uploads"] == "Off"
    assert dict(dialog.policy_rows)["Opening links"] == "Off"
    assert not dialog.policy_problems.isVisible()


def test_settings_show_policy_problems(qtbot, app_session):
    problem = "The policy in /etc/commonplace/policy.json was not applied."
    app_session.policy = Policy(
        source="/etc/commonplace/policy.json", problems=(problem,)
    )
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)
    dialog.show()

    assert dialog.policy_problems.isVisible()
    assert problem in dialog.policy_problems.text()


def test_settings_without_policy_has_no_section(qtbot, app_session):
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)
    dialog.show()

    assert POLICY_NOTE not in label_texts(dialog)
    assert dialog.delete_cache_check.isEnabled()


# -- Switches in the main window ---------------------------------------------------


@pytest.fixture
def window(qtbot, qasync_loop, app_session, cache):
    def make(policy):
        cache.space("!guild:x", "Data Guild")
        cache.board("!help:x", "Help", "!guild:x")
        cache.member("!help:x", ME, "Mia Example")
        cache.profile(Profile(ME, "Mia Example", None))
        cache.commit()
        app_session.policy = policy
        main = MainWindow(app_session)
        qtbot.addWidget(main)
        main.show()
        return main

    return make


def test_links_turned_off_show_message(qtbot, window, monkeypatch):
    opened = []
    monkeypatch.setattr(
        "ui.thread_view.QDesktopServices.openUrl", lambda url: opened.append(url)
    )
    main = window(policy_with(disable_external_links=True))

    main.thread_view.browser.anchorClicked.emit(QUrl("https://example.org/page"))

    assert opened == []
    assert main.statusBar().currentMessage() == LINKS_TURNED_OFF_MESSAGE


def test_links_open_without_policy(qtbot, store, monkeypatch):
    opened = []
    monkeypatch.setattr(
        "ui.thread_view.QDesktopServices.openUrl", lambda url: opened.append(url)
    )
    view = ThreadView(store, None)
    qtbot.addWidget(view)

    view.browser.anchorClicked.emit(QUrl("https://example.org/page"))

    assert [url.toString() for url in opened] == ["https://example.org/page"]


def test_uploads_off_hide_picture_button(qtbot, window):
    main = window(policy_with(disable_uploads=True))

    editor = main.show_profile_editor()
    qtbot.waitExposed(editor)

    assert not editor.choose_button.isVisible()
    assert editor.remove_button.isVisible()
    assert editor.use_picture(__file__) is False


def test_uploads_on_show_picture_button(qtbot, window):
    main = window(Policy())

    editor = main.show_profile_editor()
    qtbot.waitExposed(editor)

    assert editor.choose_button.isVisible()


# -- The controller ----------------------------------------------------------------


class FakeAccounts:
    def __init__(self, saved):
        self.saved = saved
        self.signed_out = []

    def load_session(self):
        return self.saved

    async def sign_out(self, session):
        self.signed_out.append(session)


def _visible(kind, object_name=None):
    for widget in QApplication.topLevelWidgets():
        if not isinstance(widget, kind) or not widget.isVisible():
            continue
        if object_name is None or widget.objectName() == object_name:
            return widget
    return None


@pytest.fixture
def controller(qapp, qasync_loop, tmp_path):
    def make(policy, accounts):
        def session_factory(session):
            app_session = FakeAppSession(Store(tmp_path / "cache.sqlite3"), session)
            app_session.policy = policy
            return app_session

        return AppController(accounts, session_factory, policy=policy)

    yield make
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, (MainWindow, SignInDialog, QMessageBox)):
            widget.close()


def test_policy_wipes_cache_on_sign_out(qtbot, controller, tmp_path):
    app_controller = controller(
        policy_with(wipe_cache_on_sign_out=True), FakeAccounts(Session())
    )
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )
    cache_file = tmp_path / "cache.sqlite3"
    assert cache_file.exists()

    app_controller.window.sign_out_requested.emit(False)
    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)

    assert not cache_file.exists()
    _visible(SignInDialog).reject()
    qtbot.waitUntil(run.done)


def test_policy_keeps_cache_on_sign_out(qtbot, controller, tmp_path):
    app_controller = controller(
        policy_with(wipe_cache_on_sign_out=False), FakeAccounts(Session())
    )
    run = asyncio.ensure_future(app_controller.run())
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )

    app_controller.window.sign_out_requested.emit(True)
    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)

    assert (tmp_path / "cache.sqlite3").exists()
    _visible(SignInDialog).reject()
    qtbot.waitUntil(run.done)


def test_policy_problems_shown_at_start(qtbot, controller):
    problem = "The policy in /etc/commonplace/policy.json is not valid JSON."
    policy = Policy(source="/etc/commonplace/policy.json", problems=(problem,))
    app_controller = controller(policy, FakeAccounts(Session()))
    run = asyncio.ensure_future(app_controller.run())

    qtbot.waitUntil(lambda: _visible(QMessageBox, "policyProblemBox") is not None)
    box = _visible(QMessageBox, "policyProblemBox")
    assert "could not be applied" in box.text()
    assert problem in box.detailedText()
    box.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(
        lambda: app_controller.window is not None and app_controller.window.isVisible()
    )
    app_controller.window.close()
    qtbot.waitUntil(run.done)


def test_session_on_other_server_asks_sign_in(qtbot, controller, tmp_path):
    from app.account import AccountManager, Settings
    from app.credentials import MemoryTokenStore
    from app.matrix.errors import ServerNotFound

    settings_file = tmp_path / "settings.json"
    Settings(
        homeserver_url="http://127.0.0.1:18300",
        user_id="@ann:localhost",
        device_id="OLD",
    ).save(settings_file)
    settings_before = settings_file.read_bytes()
    policy = policy_with(homeserver="http://127.0.0.1:9")
    accounts = AccountManager(
        token_store=MemoryTokenStore(), settings_file=settings_file, policy=policy
    )

    async def no_login_flows(server):
        # The dialog asks for the fixed server's login flows when it opens;
        # failing at once keeps the test off the network.
        raise ServerNotFound(f"{server} is not looked up in this test.")

    accounts.login_flows = no_login_flows
    app_controller = controller(policy, accounts)
    run = asyncio.ensure_future(app_controller.run())

    qtbot.waitUntil(lambda: _visible(SignInDialog) is not None)
    dialog = _visible(SignInDialog)

    assert app_controller.window is None
    error = dialog.error_label.text()
    assert "now requires the server http://127.0.0.1:9" in error
    assert settings_file.read_bytes() == settings_before
    dialog.reject()
    qtbot.waitUntil(run.done)
