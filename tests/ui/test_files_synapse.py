"""The files area against a real Synapse: drop to upload, a new version, open.

The session is the real AppSession, so uploads go through the outbox worker
and come back through the sync loop, and Open downloads from the server.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from devtools.synapse import MAX_UPLOAD_BYTES
from tests.app.outbox_support import make_board, open_session, register
from tests.app.preview_samples import pdf_bytes
from tests.ui.test_files_view import fake_opener
from ui.files_view import FilesView
from ui.models.files import DETAIL_ROLE

pytestmark = pytest.mark.synapse


@pytest.fixture
def opened(tmp_path, monkeypatch):
    return fake_opener(tmp_path, monkeypatch)


@pytest.fixture
def session(qtbot, qasync_loop, synapse, tmp_path):
    """A signed-in AppSession that has synced once, with a files area to use."""
    owner = register(synapse, "owner")
    me = register(synapse, "sharer")
    _space, board = make_board(synapse, owner, me)
    app = open_session(me, tmp_path / "cache.sqlite3")
    synced = asyncio.ensure_future(app.sync.sync_once())
    qtbot.waitUntil(synced.done, timeout=30_000)
    synced.result()
    yield app, board
    closing = asyncio.ensure_future(app.close())
    qtbot.waitUntil(closing.done, timeout=30_000)


def open_view(qtbot, app, room_id) -> FilesView:
    view = FilesView(app.store)
    view.set_session(app)
    app.add_changes_listener(view.apply_changes)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    view.set_room(room_id)
    return view


def drop(view: FilesView, *paths) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    view.dropEvent(event)


def names(view: FilesView) -> list[str]:
    model = view.model
    return [model.index(row, 0).data() for row in range(model.rowCount())]


def test_dropped_file_uploads_and_opens(session, qtbot, tmp_path, opened):
    app, board = session
    data = pdf_bytes()
    report = tmp_path / "Quarterly report.pdf"
    report.write_bytes(data)
    view = open_view(qtbot, app, board)
    assert view.is_empty()

    drop(view, report)

    # Queued before the worker runs, so the row waits.
    qtbot.waitUntil(lambda: len(view.transfer_rows()) == 1, timeout=10_000)
    row = view.transfer_rows()[0]
    assert row.label.text() == "Quarterly report.pdf: waiting to upload"
    assert "Cancel" in row.buttons

    app.start()
    qtbot.waitUntil(lambda: names(view) == ["Quarterly report.pdf"], timeout=60_000)
    qtbot.waitUntil(lambda: view.transfer_rows() == [], timeout=10_000)

    event_id = view.model.entry(0).latest.event_id
    view.open_file(event_id)
    qtbot.waitUntil(lambda: bool(opened.urls), timeout=30_000)
    path = opened.urls[0].toLocalFile()
    with open(path, "rb") as file:
        assert file.read() == data
    qtbot.waitUntil(
        lambda: view.model.index(0, 0).data(DETAIL_ROLE) == "Downloaded",
        timeout=10_000,
    )


def test_new_version_replaces_row(session, qtbot, tmp_path):
    app, board = session
    first = tmp_path / "Plan.pdf"
    first.write_bytes(pdf_bytes(200, 300))
    view = open_view(qtbot, app, board)
    app.start()
    view.upload_paths([first])
    qtbot.waitUntil(lambda: names(view) == ["Plan.pdf"], timeout=60_000)
    original = view.model.entry(0).latest.event_id

    second = tmp_path / "second" / "Plan.pdf"
    second.parent.mkdir()
    second.write_bytes(pdf_bytes(300, 200))
    view.upload_paths([second], supersedes=original)

    qtbot.waitUntil(
        lambda: view.model.rowCount() == 1 and view.model.entry(0).version_count == 2,
        timeout=60_000,
    )
    assert view.model.entry(0).latest.event_id != original
    assert view.model.index(0, 0).data(DETAIL_ROLE) == "2 versions"


def test_too_large_file_is_refused_first(session, qtbot, tmp_path):
    app, board = session
    big = tmp_path / "video.mp4"
    # A sparse file: its size is one byte over the limit, with no data written.
    with open(big, "wb") as file:
        file.truncate(MAX_UPLOAD_BYTES + 1)
    view = open_view(qtbot, app, board)

    view.upload_paths([big])

    qtbot.waitUntil(lambda: view.message() != "", timeout=30_000)
    assert view.message().startswith("video.mp4 is ")
    assert "this server accepts files up to" in view.message()
    assert view.transfer_rows() == []
    assert os.path.getsize(big) == MAX_UPLOAD_BYTES + 1
