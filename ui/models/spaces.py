"""The list of the user's group spaces, with unread counts and invitations."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.store.queries import (
    DIRECT_SPACE_ID,
    UNGROUPED_SPACE_ID,
    SpaceSummary,
    list_direct_rooms,
    list_spaces,
)
from app.store.space_queries import space_members
from app.text import clean_name
from ui.models.roles import (
    HIGHLIGHT_ROLE,
    ID_ROLE,
    INVITED_ROLE,
    NO_PARENT,
    SUBTITLE_ROLE,
    UNREAD_ROLE,
)
from ui.text_format import space_name

Index = QModelIndex | QPersistentModelIndex

# str or None: the space's picture (an mxc URI). Kept here, far above the
# shared roles of ui.models.roles, because only the space list has it.
AVATAR_URL_ROLE = Qt.ItemDataRole.UserRole + 100


class SpaceListModel(QAbstractListModel):
    """Spaces the user has joined or is invited to, as list_spaces orders them.

    The list is short (one row per space), so the model keeps the summaries of
    all rows and re-reads them all when a write announces that spaces changed.
    """

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self._store = store
        self._spaces: list[SpaceSummary] = list_spaces(store.reader())

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._spaces)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._spaces):
            return None
        space = self._spaces[index.row()]
        ungrouped = space.room_id == UNGROUPED_SPACE_ID
        if role == Qt.ItemDataRole.DisplayRole:
            return space_name(space.name, ungrouped=ungrouped)
        if role == Qt.ItemDataRole.ToolTipRole:
            if space.room_id == DIRECT_SPACE_ID:
                return f"Direct messages with {self._direct_names()}"
            return self._tooltip(space, ungrouped, self._inviter(space))
        if role == ID_ROLE:
            return space.room_id
        if role == UNREAD_ROLE:
            return space.unread_count
        if role == HIGHLIGHT_ROLE:
            return space.highlight_count
        if role == INVITED_ROLE:
            return space.membership == "invite"
        if role == AVATAR_URL_ROLE:
            return space.avatar_url
        if role == SUBTITLE_ROLE:
            if space.room_id == DIRECT_SPACE_ID:
                return self._direct_names()
            return clean_name(space.topic)
        return None

    def inviter_name(self, room_id: str) -> str | None:
        """Return the name of who invited the user to space room_id, if known.

        Synapse puts the inviter's own membership into the invitation's
        stripped state, so the cache lists them as the invited space's only
        joined member. NOTE: a server that sends no such membership, or
        several, leaves the inviter unknown here.
        """
        members = space_members(self._store.reader(), room_id)
        if len(members) != 1:
            return None
        member = members[0]
        return clean_name(member.display_name, fallback=member.user_id)

    def _direct_names(self) -> str:
        """Return the names of the people in direct rooms, as one line."""
        rooms = list_direct_rooms(self._store.reader())
        return ", ".join(clean_name(room.name) for room in rooms)

    def _inviter(self, space: SpaceSummary) -> str | None:
        if space.membership != "invite":
            return None
        return self.inviter_name(space.room_id)

    @staticmethod
    def _tooltip(space: SpaceSummary, ungrouped: bool, inviter: str | None) -> str:
        if ungrouped:
            return "Rooms that belong to none of your spaces"
        lines = [space_name(space.name)]
        if space.membership == "invite" and inviter:
            lines.append(f"{inviter} invited you to this space.")
        elif space.membership == "invite":
            lines.append("You are invited to this space.")
        if space.unread_count:
            lines.append(f"{space.unread_count:,} unread")
        return "\n".join(lines)

    def room_id_at(self, row: int) -> str | None:
        if 0 <= row < len(self._spaces):
            return self._spaces[row].room_id
        return None

    def row_of(self, room_id: str) -> int | None:
        for row, space in enumerate(self._spaces):
            if space.room_id == room_id:
                return row
        return None

    def space(self, room_id: str) -> SpaceSummary | None:
        row = self.row_of(room_id)
        return None if row is None else self._spaces[row]

    def reload(self) -> None:
        """Re-read the spaces, keeping rows (and so the selection) that remain."""
        fresh = list_spaces(self._store.reader())
        old_ids = [space.room_id for space in self._spaces]
        new_ids = [space.room_id for space in fresh]
        if old_ids == new_ids:
            self._spaces = fresh
            if fresh:
                self.dataChanged.emit(self.index(0), self.index(len(fresh) - 1))
            return
        self.beginResetModel()
        self._spaces = fresh
        self.endResetModel()
