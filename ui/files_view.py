"""A files area: the list of files, their transfers, and the preview beside them.

Uploading, downloading and offline copies go through the session's
FileTransfers (app.file_transfers); the list and the history come from the
cache (app.store.file_versions). Opening a file downloads it first if
needed and hands the local copy to the desktop's default application.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtCore import (
    QItemSelectionModel,
    QPoint,
    QSize,
    QStandardPaths,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QDesktopServices, QFont, QFontMetrics, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.downloads import DownloadCancelled
from app.errors import CommonplaceError
from app.file_names import safe_file_name
from app.matrix.errors import MatrixError
from app.previews import is_program
from app.records import Changes
from app.store import outbox_store
from app.store.file_transfers_store import list_uploads
from app.store.file_versions import FileVersion, file_history
from app.store.outbox_store import local_id
from app.text import clean_name, format_size
from app.uploads import UploadCancelled
from ui.file_history import FileHistoryDialog
from ui.file_preview import FilePreview, in_thread
from ui.models.files import (
    DETAIL_ROLE,
    ENTRY_ROLE,
    UNNAMED_FILE,
    FileListModel,
    file_name,
)
from ui.models.roles import ID_ROLE
from ui.outbox_actions import failed_item_for
from ui.tasks import TaskRunner
from ui.theme import TEXT_MUTED
from ui.widgets import plain_label

log = logging.getLogger(__name__)

NO_FILES = "No files have been shared here yet."
NO_FILES_HINT = "Drop files here or use Upload file… to share one."
UPLOADS_OFF = "Uploading files is turned off by your organisation."

# How long xdg-open may take to fail before the file counts as opened, in
# seconds. xdg-open returns at once when it hands the file to a desktop
# (gio, kde-open) but may run the viewer itself until it is closed.
OPEN_CHECK_SECONDS = 5.0


# Errors whose ``message`` is a sentence for the user.
USER_ERRORS = (CommonplaceError, MatrixError)


def file_name_of(version: FileVersion) -> str:
    return clean_name(version.name, fallback=UNNAMED_FILE)


def no_application_message(name: str) -> str:
    return (
        f"No application could open {name}. Use Save as… to keep it and open "
        "it yourself."
    )


def desktop_opener() -> str | None:
    """Return the path of xdg-open where it opens files, or None to use QDesktopServices.

    QDesktopServices.openUrl reports success as soon as xdg-open has started,
    so on these systems Commonplace runs xdg-open itself to read its exit status.
    """
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    return shutil.which("xdg-open")


async def run_opener(opener: str, path: Path) -> int | None:
    """Run opener on path; return its exit status, or None if it still runs.

    The status is polled for OPEN_CHECK_SECONDS without blocking the UI. A
    process still running then, or when the caller is cancelled, is waited
    for by a daemon thread, so it never stays behind as a zombie.
    """
    # Popen returns once the program has started, so the UI waits only for the fork.
    process = subprocess.Popen(  # noqa: ASYNC220
        [opener, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # A signal to Commonplace's process group does not reach the viewer.
        start_new_session=True,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + OPEN_CHECK_SECONDS
    try:
        while loop.time() < deadline:
            status = process.poll()
            if status is not None:
                return status
            await asyncio.sleep(0.1)
        return process.poll()
    finally:
        if process.returncode is None:
            threading.Thread(target=process.wait, name="opener", daemon=True).start()


def error_message(error: BaseException) -> str:
    """Return the sentence for the user of a failed transfer."""
    if isinstance(error, USER_ERRORS):
        return error.message
    if isinstance(error, OSError):
        name = Path(error.filename).name if error.filename else "the file"
        reason = error.strerror or str(error)
        return f"{name} could not be read or written: {reason}."
    return str(error) or type(error).__name__


def upload_folder() -> str:
    """Return the folder the upload dialog starts in.

    That is the folder of the last file chosen for upload, else Documents,
    else the home folder, never the folder Commonplace was started from.
    """
    last = FilesView.last_upload_folder
    if last and Path(last).is_dir():
        return last
    documents = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation
    )
    # A folder that does not exist would be typed into the name box.
    if documents and Path(documents).is_dir():
        return documents
    return str(Path.home())


def duplicate_problem(name: str, pending_state: str | None) -> str:
    """Return why a file already queued for upload was not queued again."""
    if pending_state is None:
        return f"{name} was added more than once, so it is uploaded once."
    if pending_state == outbox_store.FAILED:
        return f"{name} is already in the uploads below. Use Retry or Discard there."
    return f"{name} is already waiting to be uploaded here, so it was not added again."


class FileNameDelegate(QStyledItemDelegate):
    """Draws a file's name with its versions and offline marks on a second line."""

    def paint(self, painter, option, index) -> None:
        detail = index.data(DETAIL_ROLE)
        if not detail:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        name = item.text
        item.text = ""
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)

        rect = style.subElementRect(
            QStyle.SubElement.SE_ItemViewItemText, item, widget
        ).adjusted(4, 2, -4, -2)
        painter.save()
        metrics = QFontMetrics(item.font)
        top = rect.adjusted(0, 0, 0, -rect.height() // 2)
        bottom = rect.adjusted(0, rect.height() // 2, 0, 0)

        painter.setFont(item.font)
        # The style sheet gives selected rows a light background, so the
        # text keeps its colours there.
        painter.setPen(item.palette.color(QPalette.ColorRole.Text))
        painter.drawText(
            top,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
            metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, top.width()),
        )

        small = QFont(item.font)
        small.setPointSizeF(item.font.pointSizeF() * 0.88)
        painter.setFont(small)
        painter.setPen(TEXT_MUTED)
        painter.drawText(
            bottom,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            QFontMetrics(small).elidedText(
                detail, Qt.TextElideMode.ElideRight, bottom.width()
            ),
        )
        painter.restore()


class FileTable(QTableView):
    """The file list; Enter and Return open the current file."""

    open_requested = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            index = self.currentIndex()
            if index.isValid():
                self.open_requested.emit(index.data(ID_ROLE))
                return
        super().keyPressEvent(event)


def transfer_text(progress) -> str:
    """Return the line that names a transfer and its state."""
    name = clean_name(progress.name, fallback="file")
    if progress.state == "failed":
        verb = "upload" if progress.kind == "upload" else "download"
        return f"Could not {verb} {name}"
    if progress.state == "queued":
        verb = "upload" if progress.kind == "upload" else "download"
        return f"{name}: waiting to {verb}"
    verb = "Uploading" if progress.kind == "upload" else "Downloading"
    return f"{verb} {name}"


class TransferRow(QWidget):
    """One upload or download: its name, progress and what can be done with it."""

    def __init__(self, progress, view: FilesView):
        super().__init__()
        self.setObjectName("transferRow")
        self.progress = progress
        self.label = plain_label(transfer_text(progress), "transferName")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.error_label = plain_label(progress.error or "", "transferError")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(bool(progress.error))

        self.buttons: dict[str, QPushButton] = {}
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch()
        failed = progress.state == "failed"
        if failed and progress.kind == "upload":
            self._add_button(buttons, "Retry", lambda: view.retry_upload(progress.id))
            # "Discard", as in the reasons a failed upload gives.
            self._add_button(buttons, "Discard", lambda: view.cancel_transfer(progress))
        elif failed:
            self._add_button(buttons, "Try again", lambda: view.open_file(progress.id))
        else:
            self._add_button(buttons, "Cancel", lambda: view.cancel_transfer(progress))
        self.bar.setVisible(not failed)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.label, 1)
        top.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 4, 16, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.error_label)
        self.set_progress(progress)

    def _add_button(self, layout: QHBoxLayout, text: str, slot) -> None:
        button = QPushButton(text)
        button.clicked.connect(slot)
        layout.addWidget(button)
        self.buttons[text] = button

    def key(self) -> tuple:
        """Return the fields whose change needs a new row: kind, id, state, error."""
        progress = self.progress
        return (progress.kind, progress.id, progress.state, progress.error)

    def set_progress(self, progress) -> None:
        self.progress = progress
        total = progress.total_bytes
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(1000 * min(progress.done_bytes, total) / total))
            self.label.setToolTip(
                f"{format_size(progress.done_bytes)} of {format_size(total)}"
            )
        else:
            # Size unknown: a busy indicator.
            self.bar.setRange(0, 0)


class FilesView(QWidget):
    """A files area; emits status_message(text) for the status bar.

    pin_requested(room id, event id, pinned) asks to pin a file to the space
    home or unpin it. Moderators get those menu entries: ``moderation`` has
    can_moderate(room_id), is_pinned(room_id, event_id) and own_user_id(),
    as for the thread view. remove_requested(room id, event ids, own) asks
    to delete every version of a file: the user's own (Delete file…) or,
    for a moderator, someone else's (Remove file…).
    """

    status_message = Signal(str)
    pin_requested = Signal(str, str, bool)
    remove_requested = Signal(str, list, bool)

    # The folder of the last file chosen for upload, shared by every files
    # area until Commonplace quits.
    last_upload_folder: str | None = None

    def __init__(self, store, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("filesView")
        self.setAcceptDrops(True)
        self._store = store
        self.moderation = None
        self._transfers = None
        self._outbox = None
        self._uploads_allowed = True
        self._room_id: str | None = None
        self._runner = TaskRunner(self)
        self._history: FileHistoryDialog | None = None

        self.model = FileListModel(store, self)
        self.table = FileTable()
        self.table.setObjectName("fileList")
        self.table.setModel(self.model)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.setIconSize(QSize(32, 32))
        self.table.setItemDelegateForColumn(0, FileNameDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Cut long names in the middle, so that the extension stays visible.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(
            lambda index: self.open_file(index.data(ID_ROLE))
        )
        self.table.open_requested.connect(self.open_file)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.model.modelReset.connect(self._model_reset)
        self._selected_id: str | None = None

        self.upload_button = QPushButton("Upload file…")
        self.upload_button.setObjectName("uploadFile")
        self.upload_button.clicked.connect(lambda: self.choose_upload())
        self.offline_check = QCheckBox("Available offline")
        self.offline_check.setToolTip(
            "Keep a copy of every file in this area on this computer, also of "
            "files shared later."
        )
        self.offline_check.clicked.connect(self._area_offline_clicked)
        self.message_label = plain_label("", "banner")
        self.message_label.setWordWrap(True)
        self.message_label.hide()

        self.empty_label = plain_label(f"{NO_FILES}\n\n{NO_FILES_HINT}", "emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._list_stack = QStackedWidget()
        self._list_stack.addWidget(self.table)
        self._list_stack.addWidget(self.empty_label)

        self.transfer_box = QWidget()
        self.transfer_box.setObjectName("transferBox")
        self._transfer_layout = QVBoxLayout(self.transfer_box)
        self._transfer_layout.setContentsMargins(0, 4, 0, 4)
        self._transfer_layout.setSpacing(0)
        self.transfer_box.hide()

        self.preview = FilePreview()
        self.preview.open_requested.connect(self.open_file)
        self.preview.save_requested.connect(self.save_file)
        self.preview.history_requested.connect(self.show_history)
        self.preview.offline_toggled.connect(self.set_offline)
        self.preview.new_version_requested.connect(
            lambda event_id: self.choose_upload(supersedes=event_id)
        )

        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(16, 0, 16, 8)
        toolbar.setSpacing(12)
        toolbar.addWidget(self.upload_button)
        toolbar.addWidget(self.offline_check)
        toolbar.addStretch()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(0)
        left_layout.addLayout(toolbar)
        left_layout.addWidget(self._list_stack, 1)
        # Below the list, so that a message shown or cleared shortens the
        # list from the bottom and never moves a row under the pointer.
        message_row = QHBoxLayout()
        message_row.setContentsMargins(16, 8, 16, 8)
        message_row.addWidget(self.message_label)
        left_layout.addLayout(message_row)
        left_layout.addWidget(self.transfer_box)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("filesSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.preview)
        left.setMinimumWidth(280)
        self.preview.setMinimumWidth(240)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # -- Setup -------------------------------------------------------------

    def set_session(self, app_session) -> None:
        """Connect to the session's transfers, thumbnails, outbox and policy."""
        self._transfers = getattr(app_session, "files", None)
        self._outbox = getattr(app_session, "outbox", None)
        thumbnails = getattr(app_session, "thumbnails", None)
        policy = getattr(app_session, "policy", None)
        self._uploads_allowed = not getattr(policy, "disable_uploads", False)
        self.model.set_services(self._transfers, thumbnails)
        self.preview.set_services(
            self._transfers, thumbnails, uploads_allowed=self._uploads_allowed
        )
        can_upload = self._uploads_allowed and self._transfers is not None
        self.upload_button.setVisible(can_upload)
        self.offline_check.setVisible(self._transfers is not None)
        self.empty_label.setText(
            f"{NO_FILES}\n\n{NO_FILES_HINT}" if can_upload else NO_FILES
        )

    def set_room(self, room_id: str | None) -> None:
        self._room_id = room_id
        self._selected_id = None
        self._show_message("")
        self.model.set_room(room_id)
        self._update_offline_check()
        self._update_transfers()

    def room_id(self) -> str | None:
        return self._room_id

    def reload(self) -> None:
        self.model.reload()

    def apply_changes(self, changes: Changes) -> None:
        if self._room_id is None:
            return
        if self._room_id in changes.rooms:
            self.model.reload()
        if self._room_id in changes.transfers:
            self.model.refresh_marks()
            self._update_offline_check()
            self.preview.update_offline_mark()
            self._update_transfers()

    # -- The list ------------------------------------------------------------

    def is_empty(self) -> bool:
        return self.model.rowCount() == 0

    def message(self) -> str:
        return self.message_label.text() if self.message_label.isVisible() else ""

    def _model_reset(self) -> None:
        empty = self.model.rowCount() == 0
        self._list_stack.setCurrentWidget(self.empty_label if empty else self.table)
        # An empty area has nothing to preview, so the list takes the width.
        self.preview.setVisible(not empty)
        if self._selected_id is not None and self.select_file(self._selected_id):
            return
        self._selected_id = None
        self.preview.show_file(None)

    def select_file(self, event_id: str) -> bool:
        """Select event_id, or the latest version of it; False if it is not listed."""
        row = self.model.row_of(event_id)
        if row is None:
            return False
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)
        return True

    def _current_changed(self, current, _previous) -> None:
        entry = current.data(ENTRY_ROLE) if current.isValid() else None
        previous_id = self._selected_id
        self._selected_id = entry.latest.event_id if entry is not None else None
        shown = self.preview.entry()
        if (
            entry is not None
            and shown is not None
            and previous_id == self._selected_id
            and shown == entry
        ):
            return
        self.preview.show_file(entry)

    def _entry_of(self, event_id: str):
        row = self.model.row_of(event_id)
        return self.model.entry(row) if row is not None else None

    def _show_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        entry = index.data(ENTRY_ROLE)
        event_id = entry.latest.event_id
        menu = QMenu(self.table)
        menu.addAction("Open", lambda: self.open_file(event_id))
        menu.addAction("Save as…", lambda: self.save_file(event_id))
        if entry.version_count > 1:
            menu.addAction("Version history…", lambda: self.show_history(event_id))
        if (
            self._uploads_allowed
            and self._transfers is not None
            and self._transfers.may_add_version(event_id)
        ):
            menu.addAction(
                "Upload new version…", lambda: self.choose_upload(supersedes=event_id)
            )
        if self._transfers is not None:
            offline = menu.addAction("Available offline")
            offline.setCheckable(True)
            offline.setChecked(self._transfers.is_offline(event_id))
            offline.toggled.connect(lambda checked: self.set_offline(event_id, checked))
        self._add_pin_action(menu, event_id)
        self._add_remove_action(menu, event_id)
        menu.popup(self.table.viewport().mapToGlobal(position))

    def _add_pin_action(self, menu: QMenu, event_id: str) -> None:
        room_id = self._room_id
        moderation = self.moderation
        if room_id is None or moderation is None:
            return
        if not moderation.can_moderate(room_id):
            return
        pinned = moderation.is_pinned(room_id, event_id)
        menu.addSeparator()
        menu.addAction(
            "Unpin from space home" if pinned else "Pin to space home",
            lambda: self.pin_requested.emit(room_id, event_id, not pinned),
        )

    def _add_remove_action(self, menu: QMenu, event_id: str) -> None:
        """Offer Delete file… for the user's own file, or Remove file… to moderators."""
        room_id = self._room_id
        moderation = self.moderation
        if room_id is None or moderation is None:
            return
        versions = file_history(self._store.reader(), event_id)
        if not versions:
            return
        event_ids = [version.event_id for version in versions]
        own_user_id = moderation.own_user_id()
        own = all(version.sender == own_user_id for version in versions)
        if not own and not moderation.can_moderate(room_id):
            return
        menu.addSeparator()
        menu.addAction(
            "Delete file…" if own else "Remove file…",
            lambda: self.remove_requested.emit(room_id, event_ids, own),
        )

    def show_history(self, event_id: str) -> FileHistoryDialog | None:
        versions = file_history(self._store.reader(), event_id)
        if not versions:
            self._show_message("This file is no longer in the cache.")
            return None
        if self._history is not None:
            self._history.close()
        dialog = FileHistoryDialog(versions, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open_requested.connect(self.open_file)
        dialog.save_requested.connect(self.save_file)
        dialog.destroyed.connect(lambda: setattr(self, "_history", None))
        self._history = dialog
        dialog.show()
        return dialog

    # -- Messages --------------------------------------------------------------

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _failed(self, what: str, error: BaseException, name: str = "") -> None:
        """Show why an action failed; name is the file it was for, if any."""
        if isinstance(error, (DownloadCancelled, UploadCancelled)):
            # The user stopped it with Cancel, so there is nothing to explain.
            log.info("%s cancelled: %s", what, error)
            return
        message = error_message(error)
        if not isinstance(error, (*USER_ERRORS, OSError)):
            log.error("%s failed", what, exc_info=error)
        else:
            log.warning("%s failed: %s", what, message)
        if name:
            message = f"{what} {name} failed: {message}"
        self._show_message(message)

    def _display_name(self, event_id: str) -> str:
        versions = file_history(self._store.reader(), event_id)
        return file_name_of(versions[0]) if versions else "the file"

    # -- Uploads ---------------------------------------------------------------

    def choose_upload(self, supersedes: str | None = None) -> None:
        """Ask for files to upload, or for one file as a new version of supersedes."""
        folder = upload_folder()
        if supersedes is not None:
            entry = self._entry_of(supersedes)
            title = f"Upload a new version of {file_name(entry)}" if entry else None
            path, _ = QFileDialog.getOpenFileName(
                self, title or "Upload new version", folder
            )
            paths = [path] if path else []
        else:
            paths, _ = QFileDialog.getOpenFileNames(self, "Upload files", folder)
        if paths:
            FilesView.last_upload_folder = str(Path(paths[0]).parent)
            self.upload_paths([Path(path) for path in paths], supersedes=supersedes)

    def upload_paths(self, paths: list[Path], *, supersedes: str | None = None) -> None:
        """Queue the files for upload, and show why any of them was not queued."""
        if self._room_id is None or self._transfers is None:
            return
        if not self._uploads_allowed:
            self._show_message(UPLOADS_OFF)
            return
        self._show_message("")
        self._runner.run(
            self._upload(self._room_id, paths, supersedes),
            self._uploads_queued,
            lambda error: self._failed("Upload", error),
        )

    async def _upload(
        self, room_id: str, paths: list[Path], supersedes: str | None
    ) -> list[str]:
        """Queue each file; return a sentence for each one that was not queued.

        FileTransfers.upload checks the server's size limit before queueing.
        """
        problems = []
        # The state of each unsent upload of this area, by its source's real path.
        pending = {
            os.path.realpath(item.upload.source_path): item.state
            for item in list_uploads(self._store.reader(), room_id)
        }
        added: set[str] = set()
        for path in paths:
            if path.is_dir():
                name = clean_name(path.name, fallback="The folder")
                problems.append(
                    f"{name} is a folder: upload the files in it one by one."
                )
                continue
            real_path = os.path.realpath(path.expanduser())
            name = clean_name(path.name, fallback="The file")
            if real_path in added:
                # A file already waiting was reported at its first occurrence.
                if real_path not in pending:
                    problems.append(duplicate_problem(name, None))
                continue
            added.add(real_path)
            if real_path in pending:
                problems.append(duplicate_problem(name, pending[real_path]))
                continue
            try:
                await self._transfers.upload(room_id, path, supersedes=supersedes)
            except USER_ERRORS as error:
                log.info("Upload of a file not queued: %s", error.message)
                problems.append(error.message)
        return problems

    def _uploads_queued(self, problems: list[str]) -> None:
        self._show_message("\n".join(problems))
        self._update_transfers()

    def retry_upload(self, client_id: str) -> None:
        if self._outbox is None:
            return
        item = failed_item_for(self._outbox, local_id(client_id))
        if item is None:
            self._show_message("This upload is no longer waiting for a retry.")
            return
        self._runner.run(
            self._outbox.retry(item.id),
            lambda _result: self._update_transfers(),
            lambda error: self._failed("Retry", error),
        )

    def cancel_transfer(self, progress) -> None:
        if progress.kind == "upload":
            work = self._transfers.cancel_upload(progress.id)
        else:
            work = self._transfers.cancel_download(progress.id)
        self._runner.run(
            work,
            lambda _result: self._update_transfers(),
            lambda error: self._failed("Cancel", error),
        )

    def _update_transfers(self) -> None:
        """Show the area's transfers, updating rows in place while they run."""
        progress = []
        if self._transfers is not None and self._room_id is not None:
            progress = self._transfers.progress(self._room_id)
        rows = {row.key(): row for row in self.transfer_rows()}
        wanted = [(item.kind, item.id, item.state, item.error) for item in progress]
        if list(rows) == wanted:
            for item in progress:
                rows[(item.kind, item.id, item.state, item.error)].set_progress(item)
            return
        while self._transfer_layout.count():
            widget = self._transfer_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for item in progress:
            self._transfer_layout.addWidget(TransferRow(item, self))
        self.transfer_box.setVisible(bool(progress))

    def transfer_rows(self) -> list[TransferRow]:
        """Return the rows of the transfers shown, in order."""
        rows = []
        for number in range(self._transfer_layout.count()):
            widget = self._transfer_layout.itemAt(number).widget()
            if isinstance(widget, TransferRow):
                rows.append(widget)
        return rows

    # -- Drag and drop -------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if self._can_drop(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if not self._can_drop(event):
            event.ignore()
            return
        paths = [
            Path(url.toLocalFile())
            for url in event.mimeData().urls()
            if url.isLocalFile()
        ]
        event.acceptProposedAction()
        self.upload_paths(paths)

    def _can_drop(self, event) -> bool:
        data = event.mimeData()
        return (
            self._room_id is not None
            and self._transfers is not None
            and self._uploads_allowed
            and data.hasUrls()
            and any(url.isLocalFile() for url in data.urls())
        )

    # -- Downloads, opening and saving ---------------------------------------

    async def _local_copy(self, event_id: str) -> Path:
        cached = self._transfers.cached_copy(event_id)
        if cached is not None and Path(cached).exists():
            return Path(cached)
        return Path(await self._transfers.download(event_id))

    def open_file(self, event_id: str) -> None:
        """Download event_id if needed and open it with the default application."""
        if self._transfers is None or not event_id:
            return
        self._show_message("")
        self._runner.run(
            self._local_copy(event_id),
            lambda path: self._open_path(event_id, path),
            lambda error: self._failed("Open", error, self._display_name(event_id)),
            key=("open", event_id),
        )
        self._update_transfers()

    def _open_path(self, event_id: str, path: Path) -> None:
        self._update_transfers()
        versions = file_history(self._store.reader(), event_id)
        sent_name = versions[0].name if versions else path.name
        name = self._display_name(event_id)
        try:
            risky = is_program(path, sent_name) or is_program(path, path.name)
        except OSError as error:
            self._show_message(error_message(error))
            return
        if risky:
            self._show_message(
                f"{name} could be a program or a shortcut, so Commonplace does not "
                "open it. Use Save as… to keep a copy, and check it first."
            )
            return
        opener = desktop_opener()
        if opener is None:
            if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
                self.status_message.emit(f"Opened {name}.")
            else:
                self._show_message(no_application_message(name))
            return
        self._runner.run(
            run_opener(opener, path),
            lambda status: self._opener_finished(name, status),
            lambda error: self._opener_failed(name, error),
            key=("opener", event_id),
        )

    def _opener_finished(self, name: str, status: int | None) -> None:
        if status:
            # xdg-open exits with 3 when no tool for the desktop is installed
            # and with 4 when no application took the file.
            log.warning("xdg-open exited with status %s", status)
            self._show_message(no_application_message(name))
            return
        self.status_message.emit(f"Opened {name}.")

    def _opener_failed(self, name: str, error: BaseException) -> None:
        log.warning("xdg-open could not be started: %s", error)
        self._show_message(no_application_message(name))

    def choose_save_path(self, name: str) -> Path | None:
        """Ask where to save a copy of a file called name; None when cancelled."""
        folder = Path.home() / "Downloads"
        if not folder.is_dir():
            folder = Path.home()
        target, _ = QFileDialog.getSaveFileName(self, "Save a copy", str(folder / name))
        return Path(target) if target else None

    def save_file(self, event_id: str) -> None:
        if self._transfers is None:
            return
        versions = file_history(self._store.reader(), event_id)
        if not versions:
            self._show_message("This file is no longer in the cache.")
            return
        target = self.choose_save_path(safe_file_name(versions[0].name))
        if target is None:
            return
        self._show_message("")
        self._runner.run(
            self._save(event_id, target),
            lambda path: self.status_message.emit(f"Saved {path.name}."),
            lambda error: self._failed("Save", error, self._display_name(event_id)),
        )

    async def _save(self, event_id: str, target: Path) -> Path:
        source = await self._local_copy(event_id)
        self._update_transfers()
        await in_thread(shutil.copyfile, source, target)
        return target

    # -- Offline copies ----------------------------------------------------------

    def _update_offline_check(self) -> None:
        marked = False
        if self._transfers is not None and self._room_id is not None:
            marked = self._transfers.is_offline(self._room_id)
        self.offline_check.setChecked(bool(marked))

    def _area_offline_clicked(self, checked: bool) -> None:
        if self._room_id is not None:
            self.set_offline(self._room_id, checked)

    def set_offline(self, target: str, available: bool) -> None:
        """Mark a file (event id) or this area (room id) as available offline."""
        if self._transfers is None:
            return
        # A new action replaces the message of the last, as Open and uploads do.
        self._show_message("")
        self._runner.run(
            self._transfers.set_offline(target, available),
            lambda _result: self._offline_changed(),
            lambda error: self._offline_failed(error),
        )

    def _offline_changed(self) -> None:
        self.model.refresh_marks()
        self._update_offline_check()
        self.preview.update_offline_mark()

    def _offline_failed(self, error: BaseException) -> None:
        self._update_offline_check()
        self.preview.update_offline_mark()
        self._failed("Available offline", error)
