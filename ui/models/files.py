"""The files of one files area: the latest version of each file, newest first.

Older versions are hidden (app.store.file_versions defines which links count).
The model reads PAGE_SIZE rows at a time through fetchMore, so scrolling to
the end of a large area reads the next page. Images show the server's
thumbnail once it is cached; every other file shows a type icon. The icon
follows the sender's claimed type until the file is downloaded, and then the
type read from the content, as the preview does.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QIcon, QImage, QPixmap

from app.previews import detect_file_type
from app.store.file_versions import FileEntry, latest_files, latest_version_of
from app.text import clean_name, format_size
from ui.file_icons import claimed_kind, type_icon
from ui.models.roles import ID_ROLE, NO_PARENT
from ui.tasks import TaskRunner
from ui.text_format import clock_time, full_time, person_name

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex

PAGE_SIZE = 200
# Size of the thumbnails the server is asked for, in pixels.
THUMBNAIL_SIZE = 96
ICON_SIZE = 32

COLUMNS = ("Name", "Size", "Shared by", "Date")

# Roles of this model only; far above the shared roles in ui.models.roles.
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 101  # FileEntry of the row
DETAIL_ROLE = Qt.ItemDataRole.UserRole + 102  # str: versions and offline marks

UNNAMED_FILE = "Unnamed file"
# Shown for a file marked available offline that has no downloaded copy yet.
WAITING = "Waiting to download"


def file_name(entry: FileEntry) -> str:
    return clean_name(entry.latest.name, fallback=UNNAMED_FILE)


def versions_label(count: int) -> str:
    return f"{count} versions" if count > 1 else ""


class FileListModel(QAbstractTableModel):
    """The latest versions of one room's files.

    transfers is the session's FileTransfers, or None in a view without a
    session; it supplies the "available offline" and "downloaded" marks.
    """

    def __init__(self, store, parent=None, *, transfers=None, thumbnails=None):
        super().__init__(parent)
        self._store = store
        self._transfers = transfers
        self._thumbnails = thumbnails
        self._room_id: str | None = None
        self._entries: list[FileEntry] = []
        self._total = 0
        self._icons: dict[str, QIcon] = {}
        # Kind read from each downloaded copy's content, by event id; "" while
        # it is being read or when it could not be read.
        self._content_kinds: dict[str, str] = {}
        self._runner = TaskRunner(self)

    def set_services(self, transfers, thumbnails) -> None:
        self._transfers = transfers
        self._thumbnails = thumbnails

    # -- Qt model interface ------------------------------------------------

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: Index = NO_PARENT) -> bool:
        return not parent.isValid() and len(self._entries) < self._total

    def fetchMore(self, parent: Index = NO_PARENT) -> None:
        if parent.isValid() or self._room_id is None:
            return
        page = latest_files(
            self._store.reader(),
            self._room_id,
            limit=PAGE_SIZE,
            offset=len(self._entries),
        )
        known = {entry.latest.event_id for entry in self._entries}
        new = [entry for entry in page.entries if entry.latest.event_id not in known]
        self._total = page.total
        if not new:
            self._total = len(self._entries)
            return
        first = len(self._entries)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._entries.extend(new)
        self.endInsertRows()

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        version = entry.latest
        column = index.column()
        if role == ID_ROLE:
            return version.event_id
        if role == ENTRY_ROLE:
            return entry
        if role == DETAIL_ROLE:
            return self.detail_text(entry)
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                file_name(entry),
                format_size(version.size),
                person_name(version.sender_name, version.sender),
                clock_time(version.ts / 1000),
            )[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                detail = self.detail_text(entry)
                return file_name(entry) + (f"\n{detail}" if detail else "")
            if column == 3:
                return full_time(version.ts)
            return self.data(index, Qt.ItemDataRole.DisplayRole)
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._icon(entry)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- Reading -----------------------------------------------------------

    def room_id(self) -> str | None:
        return self._room_id

    def total(self) -> int:
        """Return the number of files in the area, loaded or not."""
        return self._total

    def set_room(self, room_id: str | None) -> None:
        self._room_id = room_id
        self._icons.clear()
        self._content_kinds.clear()
        self.reload()

    def reload(self) -> None:
        """Read the area again, keeping as many rows as were loaded."""
        entries: list[FileEntry] = []
        total = 0
        if self._room_id is not None:
            wanted = max(PAGE_SIZE, len(self._entries))
            page = latest_files(self._store.reader(), self._room_id, limit=wanted)
            entries, total = page.entries, page.total
        self.beginResetModel()
        self._entries = entries
        self._total = total
        self.endResetModel()

    def refresh_marks(self) -> None:
        """Repaint the offline marks and icons after a transfer changed."""
        if self._entries:
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(len(self._entries) - 1, 0),
                [
                    DETAIL_ROLE,
                    Qt.ItemDataRole.ToolTipRole,
                    Qt.ItemDataRole.DecorationRole,
                ],
            )

    def entry(self, row: int) -> FileEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def row_of(self, event_id: str) -> int | None:
        """Return the row of event_id, or of its latest version, loading pages as needed."""
        target = latest_version_of(self._store.reader(), event_id) or event_id
        while True:
            for row, entry in enumerate(self._entries):
                if entry.latest.event_id == target:
                    return row
            if not self.canFetchMore():
                return None
            self.fetchMore()

    # -- Marks and icons -----------------------------------------------------

    def detail_text(self, entry: FileEntry) -> str:
        parts = []
        label = versions_label(entry.version_count)
        if label:
            parts.append(label)
        if self._transfers is not None:
            event_id = entry.latest.event_id
            downloaded = self._transfers.cached_copy(event_id) is not None
            # is_offline counts a file of a marked area as marked.
            if self._transfers.is_offline(event_id):
                parts.append("Available offline" if downloaded else WAITING)
            elif downloaded:
                parts.append("Downloaded")
        return " · ".join(parts)

    def kind(self, entry: FileEntry) -> str:
        """Return the kind of entry's file: read from its content once downloaded."""
        version = entry.latest
        content_kind = self._content_kind(version.event_id)
        if content_kind:
            return content_kind
        return claimed_kind(version.name, version.mimetype, version.msgtype)

    def _content_kind(self, event_id: str) -> str:
        """Return the kind read from event_id's downloaded copy, or "" if not known yet."""
        if event_id in self._content_kinds:
            return self._content_kinds[event_id]
        if self._transfers is None:
            return ""
        path = self._transfers.cached_copy(event_id)
        if path is None:
            return ""
        self._content_kinds[event_id] = ""
        self._runner.run(
            _read_kind(path),
            lambda kind: self._content_kind_ready(event_id, kind),
            lambda error: log.info("File type not read for its icon: %s", error),
            key=("kind", event_id),
        )
        return ""

    def _content_kind_ready(self, event_id: str, kind: str) -> None:
        self._content_kinds[event_id] = kind
        for row, entry in enumerate(self._entries):
            if entry.latest.event_id == event_id:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def _icon(self, entry: FileEntry) -> QIcon:
        version = entry.latest
        kind = self.kind(entry)
        if kind != "image" or self._thumbnails is None:
            return type_icon(kind, ICON_SIZE)
        cached = self._icons.get(version.url)
        if cached is not None:
            return cached
        path = self._thumbnails.cached(version.url, THUMBNAIL_SIZE)
        if path is not None:
            icon = _square_icon(str(path))
            if icon is not None:
                self._icons[version.url] = icon
                return icon
            self._icons[version.url] = type_icon(kind, ICON_SIZE)
            return self._icons[version.url]
        # Shown until the thumbnail arrives, and for good if it never does.
        self._icons[version.url] = type_icon(kind, ICON_SIZE)
        self._runner.run(
            self._thumbnails.fetch(version.url, THUMBNAIL_SIZE),
            lambda path, url=version.url: self._thumbnail_ready(url, path),
            lambda error: log.info("Thumbnail not fetched: %s", error),
            key=version.url,
        )
        return self._icons[version.url]

    def _thumbnail_ready(self, url: str, path) -> None:
        if path is None:
            return
        icon = _square_icon(str(path))
        if icon is None:
            return
        self._icons[url] = icon
        for row, entry in enumerate(self._entries):
            if entry.latest.url == url:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


async def _read_kind(path) -> str:
    # Imported here because ui.file_preview imports this module.
    from ui.file_preview import in_thread

    file_type = await in_thread(detect_file_type, path)
    return file_type.kind


def _square_icon(path: str) -> QIcon | None:
    image = QImage(path)
    if image.isNull():
        return None
    side = min(image.width(), image.height())
    square = image.copy(
        (image.width() - side) // 2, (image.height() - side) // 2, side, side
    )
    return QIcon(QPixmap.fromImage(square))
