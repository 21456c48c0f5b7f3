"""The discussions of one or more boards, newest activity first, paged.

The model holds event ids in list order and a summary for each loaded row.
It loads PAGE_SIZE rows at a time through fetchMore, so a board with ten
thousand discussions costs one small indexed query to open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from app.records import Changes
from app.store.answers import accepted_answers
from app.store.outbox_queries import resolve_id
from app.store.outbox_store import is_local_id
from app.store.queries import DiscussionSummary, list_discussions
from app.store.read_state_store import new_discussions, thread_unread_counts
from ui.models.roles import (
    ANSWERED_ROLE,
    AUTHOR_ROLE,
    HIGHLIGHT_ROLE,
    ID_ROLE,
    KIND_ROLE,
    LAST_ACTIVITY_ROLE,
    NEW_ROLE,
    NO_PARENT,
    REDACTED_ROLE,
    REPLY_COUNT_ROLE,
    SEND_ERROR_ROLE,
    SEND_STATE_ROLE,
    UNREAD_ROLE,
)
from ui.text_format import discussion_title, person_name, reply_count_label

Index = QModelIndex | QPersistentModelIndex

PAGE_SIZE = 50


class DiscussionListModel(QAbstractListModel):
    """Emits id_changed(old id, new id) when a sent discussion takes its event id.

    The row keeps its place and its persistent indexes, so the selection stays
    on the discussion instead of moving to a neighbour.
    """

    id_changed = Signal(str, str)

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self._store = store
        self._room_ids: list[str] = []
        self._ids: list[str] = []
        self._summaries: dict[str, DiscussionSummary] = {}
        self._answered: set[str] = set()  # questions with an accepted answer
        # The server's (notification, highlight) counts of threads with unread replies.
        self._unread: dict[str, tuple[int, int]] = {}
        # Discussions whose first post is unread, by the server's counts.
        self._new: set[str] = set()
        self._user_id = ""
        self._has_more = False
        self._notifying = 0

    def set_user_id(self, user_id: str) -> None:
        """Name the signed-in user, whose own discussions are never new."""
        self._user_id = user_id

    @contextmanager
    def _notifying_views(self) -> Iterator[None]:
        """Mark the emission of a change signal, during which fetchMore waits.

        Views and QAbstractItemModelTester call fetchMore from their handlers
        of rowsInserted or modelReset; inserting rows there would nest one
        change inside another. The view asks again after the change ends.
        """
        self._notifying += 1
        try:
            yield
        finally:
            self._notifying -= 1

    # -- Qt model interface ------------------------------------------------

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def canFetchMore(self, parent: Index = NO_PARENT) -> bool:
        return not parent.isValid() and self._has_more

    def fetchMore(self, parent: Index = NO_PARENT) -> None:
        if parent.isValid() or not self._has_more or self._notifying:
            return
        page = self._read_page()
        if not page:
            return
        first = len(self._ids)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._append(page)
        with self._notifying_views():
            self.endInsertRows()

    def _read_page(self) -> list[DiscussionSummary]:
        page = list_discussions(
            self._store.reader(),
            self._room_ids,
            limit=PAGE_SIZE,
            offset=len(self._ids),
        )
        self._has_more = len(page) == PAGE_SIZE
        # A discussion that moved up since the last page was read is already
        # listed; skipping it keeps every id on one row.
        return [summary for summary in page if summary.event_id not in self._summaries]

    def _append(self, page: list[DiscussionSummary]) -> None:
        for summary in page:
            self._ids.append(summary.event_id)
            self._summaries[summary.event_id] = summary
        self._answered |= self._read_answered(page)
        self._unread.update(self._read_unread(page))
        self._new = self._read_new()

    def _read_unread(
        self, summaries: list[DiscussionSummary]
    ) -> dict[str, tuple[int, int]]:
        ids = [summary.event_id for summary in summaries]
        return thread_unread_counts(self._store.reader(), ids)

    def _read_new(self) -> set[str]:
        return new_discussions(self._store.reader(), self._room_ids, self._user_id)

    def _read_answered(self, summaries: list[DiscussionSummary]) -> set[str]:
        questions = [s.event_id for s in summaries if s.kind == "question"]
        return set(accepted_answers(self._store.reader(), questions))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        summary = self._summaries[self._ids[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return discussion_title(summary.title, redacted=summary.redacted)
        if role == Qt.ItemDataRole.ToolTipRole:
            unread = self._unread.get(summary.event_id, (0, 0))[0]
            return self._tooltip(summary, unread, summary.event_id in self._new)
        if role == ID_ROLE:
            return summary.event_id
        if role == AUTHOR_ROLE:
            return person_name(summary.sender_name, summary.sender)
        if role == REPLY_COUNT_ROLE:
            return summary.reply_count
        if role == LAST_ACTIVITY_ROLE:
            return summary.last_activity_ts
        if role == KIND_ROLE:
            return summary.kind
        if role == REDACTED_ROLE:
            return summary.redacted
        if role == SEND_STATE_ROLE:
            return summary.send_state
        if role == SEND_ERROR_ROLE:
            return summary.send_error
        if role == UNREAD_ROLE:
            return self._unread.get(summary.event_id, (0, 0))[0]
        if role == HIGHLIGHT_ROLE:
            return self._unread.get(summary.event_id, (0, 0))[1]
        if role == NEW_ROLE:
            return summary.event_id in self._new
        if role == ANSWERED_ROLE:
            if summary.kind != "question":
                return None
            return summary.event_id in self._answered
        return None

    @staticmethod
    def _tooltip(summary: DiscussionSummary, unread: int, new: bool) -> str:
        title = discussion_title(summary.title, redacted=summary.redacted)
        author = person_name(summary.sender_name, summary.sender)
        replies = reply_count_label(summary.reply_count)
        text = f"{title}\nStarted by {author} · {replies}"
        if new:
            text += " · new"
        if unread:
            text += f" · {unread:,} unread"
        if summary.send_state == "pending":
            text += "\nSending…"
        elif summary.send_state == "failed":
            text += f"\nNot sent: {summary.send_error or 'the server rejected it.'}"
        return text

    # -- Loading -------------------------------------------------------------

    def set_rooms(self, room_ids: list[str]) -> None:
        """Show the discussions of these rooms, starting again from the first page."""
        self.beginResetModel()
        self._room_ids = list(room_ids)
        self._ids = []
        self._summaries = {}
        self._answered = set()
        self._unread = {}
        self._new = set()
        self._has_more = False
        if self._room_ids:
            self._append(self._read_page())
        with self._notifying_views():
            self.endResetModel()

    def room_ids(self) -> list[str]:
        return list(self._room_ids)

    def event_id_at(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, event_id: str) -> int | None:
        try:
            return self._ids.index(event_id)
        except ValueError:
            return None

    def apply_changes(self, changes: Changes) -> None:
        """Re-read the loaded rows if a write touched one of the shown rooms."""
        if not self._room_ids:
            return
        touched = changes.rooms.intersection(self._room_ids)
        if changes.outbox and any(s.send_state for s in self._summaries.values()):
            # A retry or a send changes the state of an outbox row.
            touched = True
        if not touched and not changes.discussions.intersection(self._summaries):
            return
        self.refresh(extra=len(changes.discussions))

    def refresh(self, extra: int = 0) -> None:
        """Re-read as many rows as are loaded, moving rows instead of resetting.

        Rows that stay keep their persistent indexes, so the selection and the
        scroll position survive a new reply moving a discussion to the top.
        """
        # New discussions push older ones down; reading extra rows keeps the
        # loaded ones from falling off the end.
        limit = max(len(self._ids), PAGE_SIZE) + extra
        fresh = list_discussions(self._store.reader(), self._room_ids, limit=limit)
        self._has_more = len(fresh) == limit
        new_ids = [summary.event_id for summary in fresh]
        # Views read rows while they are being inserted, so every summary must
        # be there first; the ones of removed rows are dropped afterwards.
        self._summaries.update((summary.event_id, summary) for summary in fresh)
        self._answered = self._read_answered(fresh)
        self._unread = self._read_unread(fresh)
        self._new = self._read_new()
        renamed = self._rename_sent_rows(new_ids)
        self._move_rows_to(new_ids)
        self._summaries = {summary.event_id: summary for summary in fresh}
        if self._ids:
            with self._notifying_views():
                self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1))
        for old_id, new_id in renamed:
            self.id_changed.emit(old_id, new_id)

    def _rename_sent_rows(self, new_ids: list[str]) -> list[tuple[str, str]]:
        """Give the rows of sent discussions their event ids, in place.

        A discussion still in the outbox is listed under its local id until
        the send returns its event id. Renaming the row, instead of removing
        it and inserting another, keeps the views' current index on it.
        Returns the (local id, event id) pairs that were renamed.
        """
        new_id_set = set(new_ids)
        listed = set(self._ids)
        renamed = []
        for row, old_id in enumerate(self._ids):
            if old_id in new_id_set or not is_local_id(old_id):
                continue
            new_id = resolve_id(self._store.reader(), old_id)
            if new_id == old_id or new_id not in new_id_set or new_id in listed:
                continue
            self._ids[row] = new_id
            listed.add(new_id)
            renamed.append((old_id, new_id))
        return renamed

    def _move_rows_to(self, new_ids: list[str]) -> None:
        new_id_set = set(new_ids)

        # 1. Remove rows whose ids are gone, last first so rows stay valid.
        for row in range(len(self._ids) - 1, -1, -1):
            if self._ids[row] not in new_id_set:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._ids[row]
                with self._notifying_views():
                    self.endRemoveRows()

        # 2. Put the remaining rows in their new relative order.
        remaining = set(self._ids)
        reordered = [event_id for event_id in new_ids if event_id in remaining]
        if reordered != self._ids:
            self._reorder(reordered)

        # 3. Insert new ids at their final rows, top first: every row above
        #    the insertion point is then already in its final place.
        for row, event_id in enumerate(new_ids):
            if row < len(self._ids) and self._ids[row] == event_id:
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            self._ids.insert(row, event_id)
            with self._notifying_views():
                self.endInsertRows()

    def _reorder(self, reordered: list[str]) -> None:
        with self._notifying_views():
            self.layoutAboutToBeChanged.emit()
        old_ids = self._ids
        new_rows = {event_id: row for row, event_id in enumerate(reordered)}
        persistent = self.persistentIndexList()
        self._ids = reordered
        for old in persistent:
            row = new_rows.get(old_ids[old.row()]) if old.isValid() else None
            self.changePersistentIndex(
                old, self.index(row) if row is not None else QModelIndex()
            )
        with self._notifying_views():
            self.layoutChanged.emit()
