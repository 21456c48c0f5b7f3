"""The boards and files areas of one space, as choices above the discussions."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.store.queries import DIRECT_SPACE_ID, RoomSummary, get_space, list_space_rooms
from ui.models.roles import ENCRYPTED_ROLE, ID_ROLE, KIND_ROLE, NO_PARENT, ROOM_IDS_ROLE
from ui.text_format import board_label, board_name

Index = QModelIndex | QPersistentModelIndex

ALL_BOARDS_ID = "*"


@dataclass(frozen=True, slots=True)
class BoardEntry:
    entry_id: str  # a room id, or ALL_BOARDS_ID
    label: str  # the name shown in the chooser, without the space's name
    kind: str  # "board" or "files"
    room_ids: tuple[str, ...]
    joined: bool
    encrypted: bool
    topic: str | None
    name: str  # the room's full name, for tooltips and sentences


class BoardListModel(QAbstractListModel):
    """One row per joined board and files area, and "All boards" if there are two.

    Rooms of the space that the user has not joined are listed last and
    disabled, so the space does not look emptier than it is. Linked rooms
    that the cache has no record of are left out.
    """

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self._store = store
        self._space_id: str | None = None
        self._entries: list[BoardEntry] = []

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if not self._entries[index.row()].joined:
            return Qt.ItemFlag.ItemNeverHasChildren
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.label
        if role == Qt.ItemDataRole.ToolTipRole:
            if not entry.joined:
                return f"{entry.name}\nYou have not joined this room."
            return entry.name
        if role == ID_ROLE:
            return entry.entry_id
        if role == KIND_ROLE:
            return entry.kind
        if role == ROOM_IDS_ROLE:
            return list(entry.room_ids)
        if role == ENCRYPTED_ROLE:
            return entry.encrypted
        return None

    def entry(self, row: int) -> BoardEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def row_of(self, entry_id: str) -> int | None:
        for row, entry in enumerate(self._entries):
            if entry.entry_id == entry_id:
                return row
        return None

    def board_count(self) -> int:
        return sum(1 for entry in self._entries if entry.kind == "board")

    def set_space(self, space_id: str | None) -> None:
        self._space_id = space_id
        self.reload()

    def reload(self) -> None:
        rooms, space_name = [], None
        if self._space_id is not None:
            conn = self._store.reader()
            rooms = list_space_rooms(conn, self._space_id)
            space = get_space(conn, self._space_id)
            space_name = space.name if space is not None else None
        all_label = (
            "All conversations" if self._space_id == DIRECT_SPACE_ID else "All boards"
        )
        entries = _entries_for(rooms, space_name, all_label)
        if [e.entry_id for e in entries] == [e.entry_id for e in self._entries]:
            self._entries = entries
            if entries:
                self.dataChanged.emit(self.index(0), self.index(len(entries) - 1))
            return
        self.beginResetModel()
        self._entries = entries
        self.endResetModel()


def _entries_for(
    rooms: list[RoomSummary], space_name: str | None, all_label: str = "All boards"
) -> list[BoardEntry]:
    joined = [room for room in rooms if room.membership == "join"]
    # A linked room that the cache has never seen (it may not exist, or its
    # server may be out of reach) has nothing to show, so it is left out.
    others = [
        room
        for room in rooms
        if room.membership != "join" and (room.membership or room.name)
    ]
    boards = [room for room in joined if room.kind == "board"]
    files = [room for room in joined if room.kind == "files"]

    entries: list[BoardEntry] = []
    if len(boards) > 1:
        readable = tuple(room.room_id for room in boards if not room.encrypted)
        entries.append(
            BoardEntry(
                ALL_BOARDS_ID,
                all_label,
                "board",
                readable,
                True,
                not readable,
                None,
                all_label,
            )
        )
    for room in boards + files + others:
        name = board_name(room.name)
        label = board_label(name, space_name)
        if room.kind == "files":
            label = "Files" if label.casefold() == "files" else f"Files: {label}"
        entries.append(
            BoardEntry(
                room.room_id,
                label,
                room.kind,
                (room.room_id,),
                room.membership == "join",
                room.encrypted,
                room.topic,
                name,
            )
        )
    return entries
