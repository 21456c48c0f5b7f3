"""The sign-in, profile, settings and keyring dialogs."""

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.credentials import KeyringLocked, KeyringUnavailable
from app.matrix.errors import (
    ConnectionFailed,
    InsecureConnection,
    InvalidCredentials,
    NotMatrixServer,
    ServerNotFound,
    TlsFailure,
)
from app.records import Profile
from tests.ui.builders import Session
from ui.app import make_application
from ui.dialogs import KeyringChoice, KeyringProblemDialog
from ui.profile_dialog import FittingScrollArea, ProfileDialog
from ui.settings_dialog import SettingsDialog
from ui.sign_in_dialog import SignInDialog


def _dialog(qtbot, sign_in, **kwargs) -> SignInDialog:
    dialog = SignInDialog(sign_in, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _fill(dialog, server="example.org", user="alex", password="secret"):
    dialog.server_edit.setText(server)
    dialog.user_edit.setText(user)
    dialog.password_edit.setText(password)


@pytest.mark.parametrize(
    "error",
    [
        InvalidCredentials("The user name or password is wrong."),
        ServerNotFound("No server answers at example.org."),
        NotMatrixServer("example.org is not a Matrix server."),
        TlsFailure("The server's certificate is not trusted."),
        InsecureConnection("Plain http is allowed only for this computer."),
        ConnectionFailed("The server did not answer in time."),
    ],
    ids=lambda error: type(error).__name__,
)
def test_sign_in_error_shows_under_form(qtbot, qasync_loop, error):
    async def sign_in(server, user, password, session_only):
        raise error

    dialog = _dialog(qtbot, sign_in)
    _fill(dialog)
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())

    assert dialog.error_label.text() == error.message
    assert dialog.sign_in_button.isEnabled()
    assert dialog.isVisible()


def test_sign_in_error_keeps_fields_full_height(qtbot, qasync_loop):
    async def sign_in(server, user, password, session_only):
        raise InvalidCredentials(
            "The user name or password is incorrect. Check both and try again."
        )

    # With the application style sheet, a field's minimum height is less
    # than its preferred height, so a squeezed dialog would cut the text.
    make_application()
    dialog = _dialog(qtbot, sign_in)
    qtbot.waitExposed(dialog)
    _fill(dialog)
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    qtbot.wait(10)

    for edit in (dialog.server_edit, dialog.user_edit, dialog.password_edit):
        assert edit.height() >= edit.sizeHint().height()
    label = dialog.error_label
    assert label.height() >= label.heightForWidth(label.width())


def test_sign_in_keyring_error_suggests_session_only(qtbot, qasync_loop):
    async def sign_in(server, user, password, session_only):
        raise KeyringUnavailable("no Secret Service is running")

    dialog = _dialog(qtbot, sign_in)
    _fill(dialog)
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())

    assert "no Secret Service is running" in dialog.error_label.text()
    assert "Keep me signed in on this computer" in dialog.error_label.text()


def test_sign_in_is_busy_then_emits_session(qtbot, qasync_loop):
    release = asyncio.Event()
    calls = []

    async def sign_in(server, user, password, session_only):
        calls.append((server, user, password, session_only))
        await release.wait()
        return Session()

    dialog = _dialog(qtbot, sign_in)
    _fill(dialog)
    dialog.remember_check.setChecked(False)
    dialog.submit()

    assert dialog.is_busy()
    assert not dialog.password_edit.isEnabled()
    assert dialog.sign_in_button.text() == "Signing in…"
    assert dialog.progress.isVisible()
    with qtbot.waitSignal(dialog.signed_in) as signal:
        release.set()
    assert signal.args[0].user_id == Session().user_id
    assert calls == [("example.org", "alex", "secret", True)]
    assert dialog.password_edit.text() == ""


def test_sign_in_cancel_stops_pending_request(qtbot, qasync_loop):
    async def sign_in(server, user, password, session_only):
        await asyncio.sleep(30)

    dialog = _dialog(qtbot, sign_in)
    _fill(dialog)
    dialog.submit()
    dialog.reject()

    assert not dialog.is_busy()
    assert dialog.isVisible()
    assert dialog.error_label.text() == "Sign-in was cancelled."


def test_sign_in_checks_fields_before_request(qtbot, qasync_loop):
    calls = []

    async def sign_in(*args):
        calls.append(args)

    dialog = _dialog(qtbot, sign_in)
    _fill(dialog, password="")
    dialog.submit()
    assert dialog.error_label.text() == "Enter your user name and password."
    _fill(dialog, server="", user="alex")
    dialog.submit()
    assert "full user id" in dialog.error_label.text()
    assert calls == []


def test_sign_in_without_keyring_is_session_only(qtbot, qasync_loop):
    async def sign_in(*args):
        return Session()

    dialog = _dialog(qtbot, sign_in, keyring_available=False)
    assert not dialog.remember_check.isChecked()
    assert not dialog.remember_check.isEnabled()


def test_profile_dialog_shows_fields_as_plain_text(qtbot, cache, store):
    cache.profile(
        Profile(
            "@ana:example.org",
            "<i>Ana</i> Lima",
            None,
            title="Data engineer",
            department="Platform",
            location="Lisbon",
            pronouns="she/her",
            skills=("SQL", "dbt", "<b>Airflow</b>"),
            ask_me_about=("Data contracts",),
            bio="Ten years of pipelines.\nAsk me anything.",
        )
    )
    cache.commit()
    dialog = ProfileDialog(store, "@ana:example.org")
    qtbot.addWidget(dialog)
    dialog.show()

    assert dialog.name_label.text() == "<i>Ana</i> Lima"
    texts = [label.text() for label in dialog.findChildren(type(dialog.name_label))]
    for expected in (
        "Lisbon",
        "she/her",
        "SQL",
        "<b>Airflow</b>",
        "Data contracts",
        "Ten years of pipelines.\nAsk me anything.",
        "@ana:example.org",
    ):
        assert expected in texts
    assert dialog.avatar.pixmap() is not None
    assert not dialog.avatar.pixmap().isNull()


def test_profile_dialog_fits_its_details(qtbot, cache, store):
    cache.profile(
        Profile(
            "@ana:example.org",
            "Ana Lima",
            None,
            title="Data engineer",
            department="Platform",
            location="Lisbon",
            skills=("SQL", "dbt", "Airflow", "Data modelling", "Python"),
            ask_me_about=("Data contracts", "Pipeline reviews"),
            bio="Ten years of pipelines, most of them on call. " * 4,
        )
    )
    cache.commit()
    make_application()
    dialog = ProfileDialog(store, "@ana:example.org")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    scroll = dialog.findChild(FittingScrollArea)
    details = scroll.widget()

    # The scroll bar shown before the dialog grew goes away once it has.
    qtbot.waitUntil(lambda: not scroll.verticalScrollBar().isVisible())

    width = scroll.viewport().width()
    narrow = width - scroll.verticalScrollBar().sizeHint().width()
    assert scroll.viewport().height() >= details.heightForWidth(width)
    # At most as tall as the details beside a scroll bar: no empty rows.
    assert scroll.viewport().height() <= details.heightForWidth(narrow)


def test_profile_dialog_without_profile_says_so(qtbot, store):
    dialog = ProfileDialog(store, "@nobody:example.org")
    qtbot.addWidget(dialog)
    assert dialog.name_label.text() == "@nobody:example.org"
    texts = [label.text() for label in dialog.findChildren(type(dialog.name_label))]
    assert any("No profile details" in text for text in texts)


def test_settings_dialog_shows_account_and_signs_out(qtbot, app_session):
    app_session.session.session_only = True
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)
    texts = [label.text() for label in dialog.findChildren(type(dialog.size_label))]

    assert "@me:example.org" in texts
    assert "DEVICEABC" in texts
    assert "https://matrix.example.org" in texts
    assert str(app_session.store.path) in texts
    assert any("this session only" in text for text in texts)
    dialog.delete_cache_check.setChecked(True)
    with qtbot.waitSignal(dialog.sign_out_requested) as signal:
        dialog.sign_out_button.click()
    assert signal.args == [True]


@pytest.mark.parametrize(
    ("button", "choice"),
    [
        ("retry_button", KeyringChoice.RETRY),
        ("session_only_button", KeyringChoice.SESSION_ONLY),
        ("quit_button", KeyringChoice.QUIT),
    ],
)
def test_keyring_dialog_choices(qtbot, button, choice):
    error = KeyringLocked()
    dialog = KeyringProblemDialog(error.message, locked=True)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "locked" in dialog.message_label.text()
    assert "saved sign-in is kept" in dialog.message_label.text()
    with qtbot.waitSignal(dialog.finished) as signal:
        getattr(dialog, button).click()
    assert signal.args == [choice]


def test_profile_dialog_cleans_bio(qtbot, cache, store):
    cache.profile(
        Profile(
            "@ana:example.org",
            "Ana Lima",
            None,
            bio="  \u202eevil\u202c line\u200b one\x07\nline\ttwo  ",
        )
    )
    cache.commit()
    dialog = ProfileDialog(store, "@ana:example.org")
    qtbot.addWidget(dialog)
    bio = dialog.findChild(QLabel, "profileBio")

    assert bio.text() == "evil line one\nline\ttwo"
    assert bio.textFormat() == Qt.TextFormat.PlainText


def test_sign_out_lists_unsent_work_and_asks(
    qtbot, qasync_loop, app_session, cache, monkeypatch
):
    import asyncio

    from ui import settings_dialog

    cache.space("!space:x", "Space")
    cache.board("!board:x", "Board", "!space:x")
    cache.commit()
    asyncio.ensure_future(
        app_session.outbox.queue_discussion("!board:x", "Written on the train", "")
    )
    qtbot.waitUntil(lambda: bool(app_session.outbox.list_items()), timeout=3000)
    confirmations = []

    def decline(parent, unsent, delete_cache):
        confirmations.append((unsent, delete_cache))
        return False

    monkeypatch.setattr(settings_dialog, "confirm_sign_out", decline)
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)
    assert "Written on the train" in dialog.drafts_label.text()
    dialog.delete_cache_check.setChecked(True)
    with qtbot.assertNotEmitted(dialog.sign_out_requested):
        dialog.sign_out_button.click()
    assert confirmations[0][1] is True
    assert "Written on the train" in confirmations[0][0][0]

    monkeypatch.setattr(settings_dialog, "confirm_sign_out", lambda *args: True)
    with qtbot.waitSignal(dialog.sign_out_requested) as signal:
        dialog.sign_out_button.click()
    assert signal.args == [True]
