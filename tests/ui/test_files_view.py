"""The files area over a real cache and FileTransfers, without a server.

Downloads are recorded in the cache as the downloader records them, so the
preview, Open and Save as work from "downloaded" copies offline.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QStandardPaths, Qt, QUrl
from PySide6.QtGui import QColor

from app import compose
from app.file_transfers import FileTransfers
from app.matrix.client import MatrixClient
from app.media import ThumbnailCache
from app.policy import NO_POLICY
from app.store import file_transfers_store, outbox_store
from app.store.file_transfers_store import UploadRow
from app.store.outbox_store import NewItem
from tests.app.preview_samples import image_bytes, pdf_bytes
from tests.ui.builders import BASE_TS, ME
from ui import files_view
from ui.file_icons import type_icon
from ui.files_view import NO_FILES, NO_FILES_HINT, FilesView
from ui.main_window import MainWindow
from ui.models.files import DETAIL_ROLE, ICON_SIZE, PAGE_SIZE, THUMBNAIL_SIZE

SPACE = "!guild:x"
FILES = "!files:x"
BOARD = "!talk:x"
ANA = "@ana:example.org"
BEN = "@ben:example.org"


@pytest.fixture
def area(cache, store, app_session, tmp_path):
    cache.space(SPACE, "Guild")
    cache.board(FILES, "Documents", SPACE, kind="files")
    cache.board(BOARD, "Talk", SPACE)
    cache.member(FILES, ANA, "Ana Lima")
    cache.member(FILES, BEN, "Ben Okoro")
    app_session.files = FileTransfers(None, store, ME, NO_POLICY, app_session.announce)
    app_session.thumbnails = ThumbnailCache(None, tmp_path / "thumbnails")
    return cache


@pytest.fixture
def open_view(qtbot, qasync_loop, app_session):
    def make() -> FilesView:
        view = FilesView(app_session.store)
        view.set_session(app_session)
        app_session.add_changes_listener(view.apply_changes)
        qtbot.addWidget(view)
        view.resize(1100, 600)
        view.show()
        view.set_room(FILES)
        return view

    return make


def downloaded(store, tmp_path, event_id: str, name: str, data: bytes) -> Path:
    """Write data as event_id's complete downloaded copy, as the downloader does."""
    folder = tmp_path / "downloads"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    store.write_blocking(
        file_transfers_store.start_download, event_id, FILES, str(path) + ".part"
    )
    store.write_blocking(
        file_transfers_store.finish_download, event_id, str(path), len(data)
    )
    return path


def names(view: FilesView) -> list[str]:
    model = view.model
    return [model.index(row, 0).data() for row in range(model.rowCount())]


class FakeOpener:
    """An xdg-open first on PATH that records the paths it gets and exits with status."""

    def __init__(self, folder: Path, status: int = 0):
        folder.mkdir(exist_ok=True)
        self.log = folder / "opened.txt"
        self.script = folder / "xdg-open"
        self.script.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{self.log}"\nexit {status}\n'
        )
        self.script.chmod(0o755)

    @property
    def urls(self) -> list[QUrl]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [QUrl.fromLocalFile(line) for line in lines]


def fake_opener(tmp_path, monkeypatch, status: int = 0) -> FakeOpener:
    opener = FakeOpener(tmp_path / f"opener-{status}", status)
    monkeypatch.setenv(
        "PATH", f"{opener.script.parent}{os.pathsep}{os.environ['PATH']}"
    )
    return opener


@pytest.fixture
def opened(tmp_path, monkeypatch):
    return fake_opener(tmp_path, monkeypatch)


# -- The list -----------------------------------------------------------------


def test_list_shows_latest_version_only(area, open_view):
    first = area.file(FILES, "Plan.pdf", 1000, sender=ANA, ts=BASE_TS)
    area.file(FILES, "Budget.xlsx", 900, sender=BEN, ts=BASE_TS + 5, mimetype=None)
    second = area.file(
        FILES, "Plan.pdf", 1200, sender=ANA, ts=BASE_TS + 10, supersedes=first
    )
    area.file(FILES, "Plan.pdf", 1500, sender=ANA, ts=BASE_TS + 20, supersedes=second)
    area.commit()

    view = open_view()

    assert names(view) == ["Plan.pdf", "Budget.xlsx"]
    assert view.model.index(0, 1).data() == "1.5 KB"
    assert view.model.index(0, 2).data() == "Ana Lima"
    assert view.model.index(0, 0).data(DETAIL_ROLE) == "3 versions"
    assert view.model.index(1, 0).data(DETAIL_ROLE) == ""


def test_history_lists_every_version(area, open_view, qtbot):
    first = area.file(FILES, "Plan v1.pdf", 1000, sender=ANA, ts=BASE_TS)
    second = area.file(
        FILES, "Plan v2.pdf", 1200, sender=ANA, ts=BASE_TS + 10, supersedes=first
    )
    area.commit()
    view = open_view()

    dialog = view.show_history(second)

    assert dialog.event_ids() == [second, first]
    tree = dialog.tree
    assert tree.topLevelItem(0).text(0) == "Latest"
    assert tree.topLevelItem(0).text(1) == "Plan v2.pdf"
    assert tree.topLevelItem(0).text(2) == "Ana Lima"
    assert tree.topLevelItem(1).text(0) == "Version 1"
    assert tree.topLevelItem(1).text(2) == "Ana Lima"
    with qtbot.waitSignal(dialog.open_requested) as opened:
        tree.setCurrentItem(tree.topLevelItem(1))
        dialog.open_button.click()
    assert opened.args == [first]


def test_history_button_only_for_versions(area, open_view):
    first = area.file(FILES, "Plan.pdf", 1000, sender=ANA, ts=BASE_TS)
    area.file(FILES, "Plan.pdf", 1200, sender=ANA, ts=BASE_TS + 1, supersedes=first)
    notes = area.file(FILES, "Notes.pdf", 300, sender=BEN, ts=BASE_TS - 1)
    area.commit()
    view = open_view()

    view.select_file(first)
    assert view.preview.history_button.isVisibleTo(view)
    view.select_file(notes)
    assert not view.preview.history_button.isVisibleTo(view)


def test_old_version_selects_latest(area, open_view):
    first = area.file(FILES, "Plan.pdf", 1000, sender=ANA, ts=BASE_TS)
    latest = area.file(
        FILES, "Plan.pdf", 1200, sender=ANA, ts=BASE_TS + 1, supersedes=first
    )
    area.commit()
    view = open_view()

    assert view.select_file(first)
    assert view.table.currentIndex().row() == 0
    assert view.preview.entry().latest.event_id == latest


def test_empty_area_invites_upload(area, open_view):
    area.commit()

    view = open_view()

    assert view.is_empty()
    assert view.empty_label.isVisible()
    assert view.empty_label.text() == f"{NO_FILES}\n\n{NO_FILES_HINT}"
    assert view.upload_button.isVisible()


def test_policy_hides_upload(area, open_view, app_session):
    area.file(FILES, "Plan.pdf", 1000, sender=ANA)
    area.commit()
    app_session.policy = SimpleNamespace(disable_uploads=True)

    view = open_view()

    assert not view.upload_button.isVisible()
    view.select_file(view.model.entry(0).latest.event_id)
    assert not view.preview.new_version_button.isVisibleTo(view)


def test_pages_beyond_first_load_on_demand(area, open_view):
    for number in range(PAGE_SIZE + 30):
        area.file(FILES, f"File {number:03}.pdf", 10, sender=ANA, ts=BASE_TS + number)
    area.commit()
    view = open_view()
    model = view.model

    assert model.total() == PAGE_SIZE + 30
    # The view may fetch the next page itself once the list is laid out.
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == PAGE_SIZE + 30
    assert names(view)[-1] == "File 000.pdf"


def test_image_row_shows_cached_thumbnail(area, open_view, app_session):
    url = "mxc://example.org/picture"
    area.file(FILES, "Plan.pdf", 1000, sender=ANA, ts=BASE_TS - 1)
    area.file(
        FILES,
        "Diagram.png",
        5000,
        sender=ANA,
        mimetype="image/png",
        msgtype="m.image",
        url=url,
    )
    area.commit()
    thumbnail = app_session.thumbnails.path_for(url, THUMBNAIL_SIZE)
    thumbnail.write_bytes(image_bytes("PNG", 96, 96, "red"))

    view = open_view()
    picture = view.model.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
    pdf_icon = view.model.index(1, 0).data(Qt.ItemDataRole.DecorationRole)

    image = picture.pixmap(32, 32).toImage()
    assert image.pixelColor(16, 16) == QColor("red")
    pdf_image = pdf_icon.pixmap(32, 32).toImage()
    assert pdf_image.pixelColor(16, 16) != QColor("red")


# -- Previews -----------------------------------------------------------------

PREVIEW_CASES = [
    ("photo.png", image_bytes("PNG", 400, 200, "red"), "PNG image", "red"),
    ("photo.jpg", image_bytes("JPEG", 300, 300, "blue"), "JPEG image", "blue"),
    ("report.pdf", pdf_bytes(200, 300), "PDF document", None),
    ("report.pdf", image_bytes("PNG", 120, 120, "green"), "PNG image", "green"),
]


@pytest.mark.parametrize(("name", "data", "label", "colour"), PREVIEW_CASES)
def test_preview_of_downloaded_file(
    area, open_view, store, tmp_path, qtbot, name, data, label, colour
):
    event_id = area.file(FILES, name, len(data), sender=ANA, mimetype="application/pdf")
    area.commit()
    downloaded(store, tmp_path, event_id, name, data)
    view = open_view()

    view.select_file(event_id)

    preview = view.preview
    qtbot.waitUntil(lambda: preview.type_text() == label, timeout=15_000)
    image = preview.picture.image()
    assert image is not None
    assert preview.message() == ""
    if colour is not None:
        centre = image.pixelColor(image.width() // 2, image.height() // 2)
        expected = QColor(colour)
        assert abs(centre.red() - expected.red()) < 40
        assert abs(centre.green() - expected.green()) < 40
        assert abs(centre.blue() - expected.blue()) < 40
    else:
        # The PDF's lower half is blue, its upper half white.
        assert image.height() > image.width()
        lower = image.pixelColor(image.width() // 2, image.height() * 3 // 4)
        assert lower == QColor(0, 0, 255)


def test_corrupt_pdf_preview_says_why(area, open_view, store, tmp_path, qtbot):
    data = pdf_bytes()[:90]
    event_id = area.file(FILES, "broken.pdf", len(data), sender=ANA)
    area.commit()
    downloaded(store, tmp_path, event_id, "broken.pdf", data)
    view = open_view()

    view.select_file(event_id)

    preview = view.preview
    qtbot.waitUntil(lambda: "could not be read" in preview.message(), timeout=15_000)
    assert "damaged" in preview.message()
    assert preview.type_text() == "PDF document"
    assert preview.open_button.isVisible()


def test_preview_before_download_names_claimed_type(area, open_view):
    # 50 MB: above the size downloaded for a preview, so nothing is fetched.
    event_id = area.file(FILES, "video.pdf", 50 * 1024 * 1024, sender=ANA)
    area.commit()
    view = open_view()

    view.select_file(event_id)

    assert view.preview.type_text() == "application/pdf (as sent)"
    assert view.preview.message() == "Open or save the file to see a preview."


def test_long_details_are_cut_to_fit(area, open_view, qtbot):
    long_type = "application/vnd.openxmlformats-officedocument.presentationml.slideshow"
    long_name = "quarterly-report-" * 18 + ".pptx"
    event_id = area.file(
        FILES, long_name, 50 * 1024 * 1024, sender=ANA, mimetype=long_type
    )
    area.commit()
    view = open_view()
    view.splitter.setSizes([800, 260])
    view.select_file(event_id)
    qtbot.wait(50)
    preview = view.preview

    for label, full in (
        (preview.name_label, long_name),
        (preview.type_value, f"{long_type} (as sent)"),
    ):
        shown = label.text()
        assert "…" in shown, full
        assert label.fontMetrics().horizontalAdvance(shown) <= label.width(), full
        assert label.toolTip().startswith(full), full
    assert preview.name_label.text().endswith(".pptx")
    assert preview.type_text() == f"{long_type} (as sent)"


def test_row_icon_follows_content_type(area, open_view, store, tmp_path, qtbot):
    # Claimed to be a picture, but the downloaded bytes are a PDF.
    event_id = area.file(FILES, "photo.png", 10, sender=ANA, mimetype="image/png")
    area.commit()
    downloaded(store, tmp_path, event_id, "photo.png", pdf_bytes())
    view = open_view()
    pdf_icon = type_icon("pdf", ICON_SIZE).pixmap(ICON_SIZE).toImage()

    def row_icon():
        icon = view.model.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
        return icon.pixmap(ICON_SIZE).toImage()

    qtbot.waitUntil(lambda: row_icon() == pdf_icon, timeout=5_000)
    assert view.model.kind(view.model.entry(0)) == "pdf"


# -- Open, save, offline --------------------------------------------------------


def test_enter_opens_downloaded_copy(area, open_view, store, tmp_path, qtbot, opened):
    event_id = area.file(FILES, "notes.pdf", 10, sender=ANA)
    area.commit()
    path = downloaded(store, tmp_path, event_id, "notes.pdf", pdf_bytes())
    view = open_view()
    view.select_file(event_id)
    view.table.setFocus()

    qtbot.keyClick(view.table, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: bool(opened.urls), timeout=5_000)
    assert opened.urls == [QUrl.fromLocalFile(str(path))]


def test_program_is_not_opened(area, open_view, store, tmp_path, qtbot, opened):
    event_id = area.file(FILES, "setup.pdf", 10, sender=ANA)
    area.commit()
    downloaded(store, tmp_path, event_id, "setup.pdf", b"#!/bin/sh\nrm -rf ~\n")
    view = open_view()

    view.open_file(event_id)

    qtbot.waitUntil(lambda: "could be a program" in view.message(), timeout=5_000)
    assert opened.urls == []


def test_open_without_application_says_so(
    area, open_view, store, tmp_path, qtbot, monkeypatch
):
    # xdg-open exits with 4 when no application takes the file.
    opener = fake_opener(tmp_path, monkeypatch, status=4)
    event_id = area.file(FILES, "notes.pdf", 10, sender=ANA)
    area.commit()
    path = downloaded(store, tmp_path, event_id, "notes.pdf", pdf_bytes())
    view = open_view()
    statuses = []
    view.status_message.connect(statuses.append)

    view.open_file(event_id)

    qtbot.waitUntil(lambda: view.message() != "", timeout=10_000)
    assert view.message() == (
        "No application could open notes.pdf. Use Save as… to keep it and open "
        "it yourself."
    )
    assert opener.urls == [QUrl.fromLocalFile(str(path))]
    assert statuses == []


def test_open_with_application_reports_opened(
    area, open_view, store, tmp_path, qtbot, opened
):
    event_id = area.file(FILES, "notes.pdf", 10, sender=ANA)
    area.commit()
    downloaded(store, tmp_path, event_id, "notes.pdf", pdf_bytes())
    view = open_view()
    statuses = []
    view.status_message.connect(statuses.append)

    view.open_file(event_id)

    qtbot.waitUntil(lambda: bool(statuses), timeout=10_000)
    assert statuses == ["Opened notes.pdf."]
    assert view.message() == ""


def test_open_viewer_still_running_counts(
    area, open_view, store, tmp_path, qtbot, monkeypatch
):
    """An xdg-open that runs the viewer itself is not waited for, nor killed."""
    monkeypatch.setattr(files_view, "OPEN_CHECK_SECONDS", 0.5)
    folder = tmp_path / "slow"
    folder.mkdir()
    finished = folder / "finished"
    script = folder / "xdg-open"
    script.write_text(f'#!/bin/sh\nsleep 2\ntouch "{finished}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    event_id = area.file(FILES, "notes.pdf", 10, sender=ANA)
    area.commit()
    downloaded(store, tmp_path, event_id, "notes.pdf", pdf_bytes())
    view = open_view()
    statuses = []
    view.status_message.connect(statuses.append)

    view.open_file(event_id)

    qtbot.waitUntil(lambda: bool(statuses), timeout=10_000)
    assert statuses == ["Opened notes.pdf."]
    assert not finished.exists()
    qtbot.waitUntil(finished.exists, timeout=10_000)


def test_save_as_copies_file(area, open_view, store, tmp_path, qtbot, monkeypatch):
    data = pdf_bytes()
    event_id = area.file(FILES, "../../etc/report.pdf", len(data), sender=ANA)
    area.commit()
    downloaded(store, tmp_path, event_id, "report.pdf", data)
    view = open_view()
    offered = []
    target = tmp_path / "saved" / "copy.pdf"
    target.parent.mkdir()

    def choose(name):
        offered.append(name)
        return target

    monkeypatch.setattr(view, "choose_save_path", choose)

    view.save_file(event_id)

    qtbot.waitUntil(target.exists, timeout=5_000)
    assert target.read_bytes() == data
    assert "/" not in offered[0]
    assert offered[0].endswith("report.pdf")


def test_area_offline_marks_rows(area, open_view, app_session, store, tmp_path, qtbot):
    plan = area.file(FILES, "Plan.pdf", 1000, sender=ANA)
    notes = area.file(FILES, "Notes.pdf", 1000, sender=ANA)
    area.commit()
    downloaded(store, tmp_path, notes, "Notes.pdf", pdf_bytes())
    view = open_view()
    plan_row = view.model.row_of(plan)
    notes_row = view.model.row_of(notes)

    view.offline_check.click()

    qtbot.waitUntil(lambda: app_session.files.is_offline(FILES), timeout=5_000)
    # Only a file with a downloaded copy is available offline yet.
    qtbot.waitUntil(
        lambda: view.model.index(notes_row, 0).data(DETAIL_ROLE) == "Available offline",
        timeout=5_000,
    )
    assert view.model.index(plan_row, 0).data(DETAIL_ROLE) == "Waiting to download"
    assert view.offline_check.isChecked()


# -- Layout stability -------------------------------------------------------------


def position_in(view, widget) -> tuple[int, int]:
    point = widget.mapTo(view, widget.rect().topLeft())
    return point.x(), point.y()


def row_position(view: FilesView, row: int) -> tuple[int, int]:
    rect = view.table.visualRect(view.model.index(row, 0))
    point = view.table.viewport().mapTo(view, rect.topLeft())
    return point.x(), point.y()


def test_message_leaves_rows_in_place(area, open_view, tmp_path, qtbot):
    for number in range(3):
        area.file(FILES, f"file{number}.pdf", 1000, sender=ANA, ts=BASE_TS + number)
    area.commit()
    view = open_view()
    qtbot.wait(50)
    before = [row_position(view, row) for row in range(3)]
    folder = tmp_path / "a folder"
    folder.mkdir()

    view.upload_paths([folder])
    qtbot.waitUntil(lambda: "is a folder" in view.message(), timeout=5_000)
    qtbot.wait(50)

    assert [row_position(view, row) for row in range(3)] == before

    view.set_room(FILES)
    qtbot.wait(50)

    assert view.message() == ""
    assert [row_position(view, row) for row in range(3)] == before


def test_detail_buttons_stay_between_files(area, open_view, qtbot):
    first = area.file(FILES, "Plan.pdf", 1000, sender=ANA, ts=BASE_TS)
    area.file(FILES, "Plan.pdf", 1200, sender=ANA, ts=BASE_TS + 1, supersedes=first)
    # 50 MB, so nothing is downloaded for a preview and the message stays.
    notes = area.file(FILES, "Notes.txt", 50 * 1024 * 1024, sender=BEN, ts=BASE_TS)
    area.commit()
    view = open_view()
    preview = view.preview
    controls = {
        "Open": preview.open_button,
        "Save as": preview.save_button,
        "Available offline": preview.offline_check,
        "Upload new version": preview.new_version_button,
    }

    view.select_file(first)
    qtbot.wait(50)
    assert preview.history_button.isVisible()
    before = {name: position_in(view, widget) for name, widget in controls.items()}
    view.select_file(notes)
    qtbot.wait(50)
    assert not preview.history_button.isVisible()
    assert preview.message() != ""
    after = {name: position_in(view, widget) for name, widget in controls.items()}

    for name in controls:
        assert after[name] == before[name], name


def test_offline_click_clears_old_message(area, open_view, tmp_path, qtbot):
    area.file(FILES, "Plan.pdf", 1000, sender=ANA)
    area.commit()
    view = open_view()
    folder = tmp_path / "a folder"
    folder.mkdir()
    view.upload_paths([folder])
    qtbot.waitUntil(lambda: "is a folder" in view.message(), timeout=5_000)

    view.offline_check.click()

    qtbot.waitUntil(view.offline_check.isChecked, timeout=5_000)
    assert view.message() == ""


# -- In the main window -----------------------------------------------------------


def test_files_area_replaces_reading_pane(area, app_session, qtbot, qasync_loop):
    area.file(FILES, "Plan.pdf", 1000, sender=ANA)
    area.commit()
    window = MainWindow(app_session)
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    window.space_pane.select_space(SPACE)
    reading_pane = window.splitter.widget(2)

    window.discussion_pane.choose_board(FILES)
    qtbot.waitUntil(lambda: not reading_pane.isVisible(), timeout=2_000)
    assert window.discussion_pane.files_view.preview.isVisible()
    # Files are shared with Upload file…; New discussion has no place here.
    assert not window.discussion_pane.new_button.isVisible()

    window.discussion_pane.choose_board(BOARD)
    qtbot.waitUntil(reading_pane.isVisible, timeout=2_000)
    assert window.discussion_pane.new_button.isVisible()


# -- Choosing and queueing uploads ---------------------------------------------


@pytest.fixture
def unreachable_server(area, app_session, store, qtbot):
    """FileTransfers whose server refuses connections, so uploads wait in the outbox."""
    # Port 9 (discard) on loopback: nothing listens, so the size limit is
    # unknown and the upload is queued without it.
    client = MatrixClient("http://127.0.0.1:9", "no-token")
    app_session.files = FileTransfers(
        client, store, ME, NO_POLICY, app_session.announce
    )
    yield
    closing = asyncio.ensure_future(client.aclose())
    qtbot.waitUntil(closing.done, timeout=10_000)


def test_same_file_twice_is_queued_once(
    area, unreachable_server, open_view, tmp_path, qtbot
):
    area.commit()
    source = tmp_path / "dup.bin"
    source.write_bytes(b"twice")
    view = open_view()

    view.upload_paths([source, source])
    qtbot.waitUntil(lambda: view.message() != "", timeout=10_000)

    assert view.message() == "dup.bin was added more than once, so it is uploaded once."
    assert [row.label.text() for row in view.transfer_rows()] == [
        "dup.bin: waiting to upload"
    ]

    view.upload_paths([tmp_path / "." / "dup.bin"])
    qtbot.waitUntil(lambda: "already" in view.message(), timeout=10_000)

    assert view.message() == (
        "dup.bin is already waiting to be uploaded here, so it was not added again."
    )
    assert len(view.transfer_rows()) == 1


def test_upload_dialog_starts_outside_working_folder(
    area, unreachable_server, open_view, tmp_path, monkeypatch
):
    area.commit()
    working = tmp_path / "working"
    working.mkdir()
    monkeypatch.chdir(working)
    monkeypatch.setattr(FilesView, "last_upload_folder", None, raising=False)
    chosen = tmp_path / "photos" / "cat.png"
    chosen.parent.mkdir()
    chosen.write_bytes(image_bytes("PNG"))
    folders = []

    def choose(parent, caption, folder=""):
        folders.append(folder)
        return [str(chosen)], ""

    monkeypatch.setattr(files_view.QFileDialog, "getOpenFileNames", choose)
    view = open_view()

    view.choose_upload()
    view.choose_upload()

    documents = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation
    )
    assert folders[0] != str(working)
    assert folders[0] in (documents, str(Path.home()))
    assert folders[1] == str(chosen.parent)


# -- Failed uploads -------------------------------------------------------------


def failed_upload(store, tmp_path, name: str, reason: str) -> str:
    """Queue an upload of a new file called name and mark it failed with reason."""
    source = tmp_path / name
    source.write_bytes(b"draft")
    client_id = compose.new_client_id()
    item = NewItem(
        client_id,
        compose.new_transaction_id(),
        FILES,
        ME,
        outbox_store.FILE,
        "m.room.message",
        {"msgtype": "m.file", "body": name},
        title=name,
        body=name,
    )
    upload = UploadRow(
        client_id, FILES, str(source), name, "text/plain", 5, source.stat().st_mtime_ns
    )
    item_id = store.write_blocking(file_transfers_store.insert_upload, item, upload)
    store.write_blocking(
        lambda conn: conn.execute(
            "UPDATE outbox SET state = 'sending' WHERE id = ?", (item_id,)
        )
    )
    store.write_blocking(outbox_store.mark_failed, item_id, reason, None)
    return client_id


def test_failed_upload_offers_retry_and_discard(
    area, open_view, store, tmp_path, qtbot
):
    area.commit()
    failed_upload(store, tmp_path, "notes.txt", "The server rejected the file.")
    view = open_view()

    rows = view.transfer_rows()
    assert len(rows) == 1
    assert rows[0].label.text() == "Could not upload notes.txt"
    assert rows[0].error_label.text() == "The server rejected the file."
    assert set(rows[0].buttons) == {"Retry", "Discard"}

    rows[0].buttons["Retry"].click()
    qtbot.waitUntil(
        lambda: (
            [row.label.text() for row in view.transfer_rows()]
            == ["notes.txt: waiting to upload"]
        ),
        timeout=5_000,
    )


def test_discarded_upload_leaves_list(area, open_view, store, tmp_path, qtbot):
    area.commit()
    failed_upload(store, tmp_path, "notes.txt", "The server rejected the file.")
    view = open_view()

    view.transfer_rows()[0].buttons["Discard"].click()

    qtbot.waitUntil(lambda: view.transfer_rows() == [], timeout=5_000)
    assert not view.transfer_box.isVisibleTo(view)


def test_open_offline_says_server_unreachable(qtbot, qasync_loop, cache, opened):
    """A real AppSession whose server does not respond: Open explains the failure."""
    from app.session import AppSession
    from tests.ui.builders import Session

    cache.space(SPACE, "Guild")
    cache.board(FILES, "Documents", SPACE, kind="files")
    event_id = cache.file(FILES, "Plan.pdf", 1000, sender=ANA)
    cache.commit()
    cache.store.close()
    # Port 9 (discard) on loopback: nothing listens, so every request fails.
    real = AppSession(
        Session(homeserver_url="http://127.0.0.1:9"), store_path=cache.store.path
    )
    view = FilesView(real.store)
    view.set_session(real)
    qtbot.addWidget(view)
    view.show()
    view.set_room(FILES)

    view.open_file(event_id)

    qtbot.waitUntil(lambda: view.message() != "", timeout=60_000)
    assert view.message().startswith("Open Plan.pdf failed: ")
    assert "127.0.0.1:9 refused the connection" in view.message()
    assert opened.urls == []
    closing = asyncio.ensure_future(real.close())
    qtbot.waitUntil(closing.done, timeout=10_000)


def test_file_offline_box_marks_file(area, open_view, app_session, qtbot):
    event_id = area.file(FILES, "Plan.pdf", 50 * 1024 * 1024, sender=ANA)
    area.commit()
    view = open_view()
    view.select_file(event_id)
    box = view.preview.offline_check
    assert box.isVisible()
    assert not box.isChecked()

    box.click()

    qtbot.waitUntil(lambda: app_session.files.is_offline(event_id), timeout=5_000)
    assert not app_session.files.is_offline(FILES)
    assert box.isChecked()
    # Nothing can download it here, so the file waits for its copy.
    assert view.model.index(0, 0).data(DETAIL_ROLE) == "Waiting to download"
