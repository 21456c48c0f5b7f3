"""The files of one files area, newest first, read-only."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from app.store.queries import list_files
from app.text import clean_name, format_size
from ui.models.roles import ID_ROLE, NO_PARENT
from ui.text_format import clock_time, full_time, person_name

Index = QModelIndex | QPersistentModelIndex

# NOTE: list_files reads at most this many rows and has no offset, so a
# files area with more files shows only the newest ones.
MAX_FILES = 200

COLUMNS = ("Name", "Size", "Shared by", "Date")


class FileListModel(QAbstractTableModel):
    def __init__(self, store, parent=None):
        super().__init__(parent)
        self._store = store
        self._room_id: str | None = None
        self._rows: list[tuple[str, str, str, str, int]] = []

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        event_id, name, size, sender, ts = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (name, size, sender, clock_time(ts / 1000))[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return (name, size, sender, full_time(ts))[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ID_ROLE:
            return event_id
        return None

    def set_room(self, room_id: str | None) -> None:
        self._room_id = room_id
        self.reload()

    def reload(self) -> None:
        rows = []
        if self._room_id is not None:
            for row in list_files(self._store.reader(), self._room_id, limit=MAX_FILES):
                rows.append(
                    (
                        row["event_id"],
                        clean_name(row["name"], fallback="Unnamed file"),
                        format_size(row["size"]),
                        person_name(row["sender_name"], row["sender"]),
                        row["ts"],
                    )
                )
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()
