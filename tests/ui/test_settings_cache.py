"""Settings ▸ Cache: the size of the downloaded files, and deleting them.

The copies are written into the real downloads folder and recorded in the
cache as the downloader records them, so FileTransfers deletes real files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.downloads import room_folder
from app.file_transfers import FileTransfers
from app.policy import NO_POLICY
from app.store import file_transfers_store
from app.store.file_transfers_store import FILE_KIND
from app.text import format_size
from tests.ui.builders import ME
from ui import settings_dialog
from ui.cache_dialogs import delete_downloads_box
from ui.settings_dialog import SettingsDialog

SPACE = "!guild:x"
FILES = "!files:x"
ANA = "@ana:example.org"


@pytest.fixture
def transfers(cache, store, app_session):
    cache.space(SPACE, "Guild")
    cache.board(FILES, "Documents", SPACE, kind="files")
    cache.member(FILES, ANA, "Ana Lima")
    app_session.files = FileTransfers(None, store, ME, NO_POLICY, app_session.announce)
    return app_session.files


def downloaded(store, transfers, event_id: str, name: str, size: int) -> Path:
    """Write size bytes as event_id's complete copy in the downloads folder."""
    folder = room_folder(transfers.folder, FILES)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"x" * size)
    store.write_blocking(
        file_transfers_store.start_download, event_id, FILES, str(path) + ".part"
    )
    store.write_blocking(
        file_transfers_store.finish_download, event_id, str(path), size
    )
    return path


@pytest.fixture
def two_copies(cache, store, transfers):
    """A copy of plan.pdf (3000 bytes) and of notes.txt (5000 bytes), marked offline."""
    plan = cache.file(FILES, "plan.pdf", 3000, sender=ANA)
    notes = cache.file(FILES, "notes.txt", 5000, sender=ANA)
    cache.commit()
    plan_path = downloaded(store, transfers, plan, "plan.pdf", 3000)
    notes_path = downloaded(store, transfers, notes, "notes.txt", 5000)
    store.write_blocking(file_transfers_store.set_offline_mark, notes, FILE_KIND, True)
    return plan_path, notes_path


def open_dialog(qtbot, app_session) -> SettingsDialog:
    dialog = SettingsDialog(app_session)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_cache_counts_downloaded_files(qtbot, qasync_loop, app_session, two_copies):
    dialog = open_dialog(qtbot, app_session)

    assert dialog.downloads_label.text() == format_size(8000)
    assert dialog.delete_downloads_button.isVisible()


def test_delete_keeps_offline_files(
    qtbot, qasync_loop, app_session, two_copies, monkeypatch
):
    plan_path, notes_path = two_copies
    monkeypatch.setattr(
        settings_dialog, "confirm_delete_downloads", lambda parent: True
    )
    dialog = open_dialog(qtbot, app_session)

    dialog.delete_downloads_button.click()

    qtbot.waitUntil(dialog.downloads_note.isVisible, timeout=5_000)
    assert not plan_path.exists()
    assert notes_path.exists()
    assert dialog.downloads_label.text() == format_size(5000)
    assert dialog.downloads_note.text() == (
        f"Deleted downloaded files: {format_size(3000)} freed. The "
        f"{format_size(5000)} left are files marked available offline or still "
        "downloading."
    )
    assert dialog.delete_downloads_button.isEnabled()
    # The note gets the height of all its lines; it was clipped to one.
    note = dialog.downloads_note
    qtbot.waitUntil(lambda: note.height() >= note.heightForWidth(note.width()))


def test_delete_cancelled_keeps_files(
    qtbot, qasync_loop, app_session, two_copies, monkeypatch
):
    plan_path, notes_path = two_copies
    monkeypatch.setattr(
        settings_dialog, "confirm_delete_downloads", lambda parent: False
    )
    dialog = open_dialog(qtbot, app_session)

    dialog.delete_downloads_button.click()
    qtbot.wait(100)

    assert plan_path.exists()
    assert notes_path.exists()
    assert dialog.downloads_label.text() == format_size(8000)
    assert not dialog.downloads_note.isVisible()


def test_no_transfers_hides_downloads(qtbot, app_session):
    app_session.files = None
    dialog = open_dialog(qtbot, app_session)

    assert not dialog.delete_downloads_button.isVisibleTo(dialog)


def test_delete_box_defaults_to_cancel(qtbot):
    box, delete = delete_downloads_box(None)
    qtbot.addWidget(box)

    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert delete.text() == "Delete"
    assert "Files marked available offline are kept." in box.text()
