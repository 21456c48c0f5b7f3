"""Editing one's own profile: the dialog queues edits in the real outbox."""

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage

from app.profile_edit import is_local_avatar, own_profile
from app.records import Profile
from app.text import isolate
from tests.ui.builders import ME
from ui.avatar_crop import avatar_bytes
from ui.main_window import MainWindow
from ui.profile_editor import split_list


@pytest.fixture
def window(qtbot, qasync_loop, app_session, cache):
    cache.space("!guild:x", "Data Guild")
    cache.board("!help:x", "Help", "!guild:x")
    cache.member("!help:x", ME, "Mia Example")
    cache.profile(
        Profile(ME, "Mia Example", None, title="Engineer", department="Platform")
    )
    cache.commit()
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    return main


def _editor(qtbot, window):
    profile = window.show_profile(ME)
    profile.action_button.click()
    editor = window._profile_editor
    qtbot.waitExposed(editor)
    return editor


def test_split_list_commas():
    assert split_list("SQL, Python,  dbt ,, SQL") == ("SQL", "Python", "dbt")
    assert split_list("C; C++") == ("C; C++",)
    assert split_list("機械学習、統計") == ("機械学習", "統計")
    assert split_list("  ") == ()


def test_editor_shows_cached_profile(qtbot, window):
    editor = _editor(qtbot, window)

    assert editor.name_edit.text() == "Mia Example"
    assert editor.title_edit.text() == "Engineer"
    assert editor.department_box.currentText() == "Platform"
    assert not editor.remove_button.isEnabled()


def test_editor_save_queues_edits(qtbot, window, app_session):
    editor = _editor(qtbot, window)
    editor.title_edit.setText("Staff engineer")
    editor.skills_edit.setText("SQL, <b>HTML</b>, مرحبا, 🚀")
    editor.bio_edit.setPlainText("Line one\nLine two")

    editor.save_button.click()

    assert not editor.isVisible()
    fields, _avatar, pending = own_profile(app_session.store.reader(), ME)
    assert pending
    assert fields.title == "Staff engineer"
    assert fields.skills == ("SQL", "<b>HTML</b>", "مرحبا", "🚀")
    assert fields.bio == "Line one\nLine two"
    profile = window._profiles[ME]
    assert (
        profile.role_label.text()
        == f"{isolate('Staff engineer')}, {isolate('Platform')}"
    )


def test_editor_rejected_field_stays_open(qtbot, window, app_session):
    editor = _editor(qtbot, window)
    editor.name_edit.setText("   ")
    editor.title_edit.setText("Changed")

    editor.save_button.click()

    assert editor.isVisible()
    assert editor.error_label.isVisible()
    assert editor.error_label.text()
    assert editor.focusWidget() is editor.name_edit
    assert app_session.outbox.list_items() == []


def test_editor_new_picture_shown_pending(qtbot, window, app_session):
    image = QImage(600, 600, QImage.Format.Format_ARGB32)
    image.fill(QColor("orange"))
    editor = _editor(qtbot, window)

    editor.set_picture(*avatar_bytes(image, QRectF(0, 0, 600, 600)))
    assert editor.remove_button.isEnabled()
    editor.save_button.click()

    _fields, avatar, pending = own_profile(app_session.store.reader(), ME)
    assert pending
    assert is_local_avatar(avatar)
    shown = window._profiles[ME].avatar.pixmap().toImage()
    centre = shown.pixelColor(shown.width() // 2, shown.height() // 2)
    assert centre == QColor("orange")
