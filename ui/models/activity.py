"""The activity stream's items, newest first, paged as the view scrolls.

The model reads PAGE_SIZE items at a time from app.store.activity with
keyset paging. After a sync it adds the items stored since it last looked
and reads again the loaded items that the sync touched, so new items
appear at once and deleted ones leave.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.records import Changes
from app.store.activity import (
    Cursor,
    StreamFilter,
    StreamItem,
    latest_item_id,
    read_new_items,
    read_stream,
    reload_items,
)
from app.text import isolate
from ui.models.roles import ID_ROLE, NO_PARENT
from ui.text_format import board_label, relative_time

Index = QModelIndex | QPersistentModelIndex

# New items inserted one by one after a sync; more make the model read the
# first page again instead.
MAX_NEW_ITEMS = 200

# The StreamItem of a row.
ITEM_ROLE = Qt.ItemDataRole.UserRole + 40
# The row's lead sentence without its title, e.g. "Ann replied to".
LEAD_ROLE = Qt.ItemDataRole.UserRole + 41

# Lead sentences for the actor of a started discussion, question or announcement.
_STARTED = {
    "discussion": "started a discussion",
    "question": "asked a question",
    "announcement": "posted an announcement",
}


def lead_sentence(item: StreamItem, own_user_id: str) -> str:
    """Return what happened, after the actor's name: "replied to", "joined"…"""
    if item.kind in _STARTED:
        return _STARTED[item.kind]
    if item.kind == "reply":
        return "replied to"
    if item.kind == "answer":
        return f"accepted {_whose(item, own_user_id)} answer to"
    if item.kind == "like":
        if item.target_kind == "file":
            return "liked the file"
        post = "reply in" if item.target_kind == "reply" else "discussion"
        return f"liked {_whose(item, own_user_id)} {post}"
    if item.kind == "file":
        return "shared a new version of" if item.target_kind == "version" else "shared"
    if item.kind == "join":
        return "joined"
    if item.kind == "profile":
        their = "your" if item.actor == own_user_id else "their"
        if item.changed == ("avatar",):
            return f"changed {their} profile picture"
        name = isolate(item.subject)
        if "avatar" in item.changed:
            return f"changed {their} name to {name} and {their} picture"
        return f"changed {their} name to {name}"
    return ""


def place_text(item: StreamItem) -> str:
    """Return "Space · Board", without a board name's leading copy of the space's."""
    if not item.room_name:
        return item.space_name
    return f"{item.space_name} · {board_label(item.room_name, item.space_name)}"


def _whose(item: StreamItem, own_user_id: str) -> str:
    """Return "your", "their own" or the possessive of the post author's name."""
    if item.subject_id == item.actor:
        return "your own" if item.actor == own_user_id else "their own"
    if item.subject_id == own_user_id:
        return "your"
    return f"{isolate(item.subject)}’s"


class ActivityListModel(QAbstractListModel):
    """The items of one StreamFilter; set_filter starts again from the newest."""

    def __init__(self, store, user_id: str, parent=None):
        super().__init__(parent)
        self._store = store
        self._user_id = user_id
        self._filter = StreamFilter()
        self._items: list[StreamItem] = []
        self._ids: set[int] = set()
        self._cursor: Cursor | None = None
        self._latest_id = 0
        self._loaded = False
        self._fetching = False

    # -- Qt model interface ------------------------------------------------

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._items)

    def canFetchMore(self, parent: Index = NO_PARENT) -> bool:
        return not parent.isValid() and self._cursor is not None

    def fetchMore(self, parent: Index = NO_PARENT) -> None:
        if parent.isValid() or self._cursor is None or self._fetching:
            return
        self._fetching = True
        try:
            page = read_stream(
                self._store.reader(), self._user_id, self._filter, before=self._cursor
            )
            items = [item for item in page.items if item.id not in self._ids]
            self._cursor = page.cursor
            if items:
                first = len(self._items)
                self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
                self._append(items)
                self.endInsertRows()
        finally:
            self._fetching = False

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == ITEM_ROLE:
            return item
        if role == ID_ROLE:
            return item.event_id
        if role == LEAD_ROLE:
            return lead_sentence(item, self._user_id)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.sentence(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            when = relative_time(item.ts, time.time())
            return f"{self.sentence(item)}\n{place_text(item)}\n{when}".strip()
        return None

    # -- Reading -------------------------------------------------------------

    def actor_label(self, item: StreamItem) -> str:
        """Return "You" for the signed-in user, else the actor's name."""
        return "You" if item.actor == self._user_id else item.actor_name

    def sentence(self, item: StreamItem) -> str:
        """Return the whole item as one plain sentence, for tooltips and screen readers."""
        parts = [isolate(self.actor_label(item)), lead_sentence(item, self._user_id)]
        if item.title:
            parts.append(f"“{isolate(item.title)}”")
        return " ".join(part for part in parts if part)

    def stream_filter(self) -> StreamFilter:
        return self._filter

    def item_at(self, row: int) -> StreamItem | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, item_id: int) -> int | None:
        for row, item in enumerate(self._items):
            if item.id == item_id:
                return row
        return None

    def set_filter(self, stream_filter: StreamFilter) -> None:
        """Show the newest items of stream_filter."""
        self._filter = stream_filter
        self.reload()

    def reload(self) -> None:
        """Read the first page again, dropping what was loaded."""
        conn = self._store.reader()
        self.beginResetModel()
        self._latest_id = latest_item_id(conn)
        page = read_stream(conn, self._user_id, self._filter)
        self._items = []
        self._ids = set()
        self._append(page.items)
        self._cursor = page.cursor
        self._loaded = True
        self.endResetModel()

    def _append(self, items: list[StreamItem]) -> None:
        self._items.extend(items)
        self._ids.update(item.id for item in items)

    def apply_changes(self, changes: Changes) -> None:
        """Add the items stored since the last read; update or drop touched ones."""
        if not self._loaded:
            return
        conn = self._store.reader()
        latest = latest_item_id(conn)
        if latest > self._latest_id:
            new = read_new_items(
                conn, self._user_id, self._filter, self._latest_id, limit=MAX_NEW_ITEMS
            )
            if len(new) >= MAX_NEW_ITEMS:
                # A first sync or a long gap: start again from the newest.
                self.reload()
                return
            self._latest_id = latest
            self._insert_new(new)
        self._refresh_touched(changes)

    def _insert_new(self, items: list[StreamItem]) -> None:
        """Insert items at their place by (ts, id), newest first.

        An item older than the last loaded one is left for fetchMore, unless
        every page is loaded already.
        """
        for item in sorted(items, key=lambda entry: entry.cursor):
            if item.id in self._ids:
                continue
            row = 0
            while row < len(self._items) and self._items[row].cursor > item.cursor:
                row += 1
            if row == len(self._items) and self._cursor is not None:
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            self._items.insert(row, item)
            self._ids.add(item.id)
            self.endInsertRows()

    def _refresh_touched(self, changes: Changes) -> None:
        touched = [
            item.id
            for item in self._items
            if item.room_id in changes.rooms
            or item.discussion_id in changes.discussions
            or item.actor in changes.people
        ]
        if not touched:
            return
        current = reload_items(
            self._store.reader(), self._user_id, self._filter, touched
        )
        for item_id in touched:
            row = self.row_of(item_id)
            if row is None:
                continue
            fresh = current.get(item_id)
            if fresh is None:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self._ids.discard(item_id)
                self.endRemoveRows()
            elif fresh != self._items[row]:
                self._items[row] = fresh
                index = self.index(row)
                self.dataChanged.emit(index, index)
