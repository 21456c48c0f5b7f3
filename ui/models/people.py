"""List models of the People window: the directory and "find an expert".

Both read the cache on the UI thread through app.store.people_directory,
whose queries stay well under the time of a frame on 20,000 people (see
BENCHMARKS.md). The directory reads PAGE_SIZE people at a time as the view
scrolls; the expert list is one ranked page.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.store.people_directory import (
    DirectoryEntry,
    Expert,
    directory,
    find_experts,
)
from app.text import clean_name, isolate
from ui.models.roles import (
    ID_ROLE,
    NO_PARENT,
    PERSON_ROLE,
    REASON_ROLE,
    ROLE_LINE_ROLE,
)
from ui.text_format import person_name

Index = QModelIndex | QPersistentModelIndex

PAGE_SIZE = 50
EXPERT_LIMIT = 30


def role_line(title: str | None, department: str | None) -> str:
    """Return "title · department", each part isolated from the other's direction."""
    parts = (clean_name(title), clean_name(department))
    return " · ".join(isolate(part) for part in parts if part)


class _PeopleModel(QAbstractListModel):
    def __init__(self, store, own_user_id: str | None, parent=None):
        super().__init__(parent)
        self._store = store
        self._own_user_id = own_user_id
        self._rows: list[DirectoryEntry | Expert] = []

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        person = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return person_name(person.display_name, person.user_id)
        if role == ID_ROLE:
            return person.user_id
        if role == PERSON_ROLE:
            return person
        if role == ROLE_LINE_ROLE:
            return role_line(person.title, person.department)
        if role == REASON_ROLE:
            return getattr(person, "reason", None)
        if role == Qt.ItemDataRole.ToolTipRole:
            return person.user_id
        return None

    def user_id_at(self, row: int) -> str | None:
        return self._rows[row].user_id if 0 <= row < len(self._rows) else None

    def row_of(self, user_id: str) -> int | None:
        for row, person in enumerate(self._rows):
            if person.user_id == user_id:
                return row
        return None


class DirectoryModel(_PeopleModel):
    """People matching a search and filters, a page at a time."""

    def __init__(self, store, own_user_id: str | None, parent=None):
        super().__init__(store, own_user_id, parent)
        self._text = ""
        self._department: str | None = None
        self._space_id: str | None = None
        self._more = False

    def search(
        self, text: str, department: str | None = None, space_id: str | None = None
    ) -> None:
        self._text, self._department, self._space_id = text, department, space_id
        self.reload()

    def reload(self) -> None:
        """Read the first pages again, as many as are shown now."""
        self.beginResetModel()
        count = max(len(self._rows), PAGE_SIZE)
        self._rows = self._page(0, count)
        self._more = len(self._rows) == count
        self.endResetModel()

    def canFetchMore(self, parent: Index = NO_PARENT) -> bool:
        return not parent.isValid() and self._more

    def fetchMore(self, parent: Index = NO_PARENT) -> None:
        if parent.isValid() or not self._more:
            return
        page = self._page(len(self._rows), PAGE_SIZE)
        self._more = len(page) == PAGE_SIZE
        if page:
            start = len(self._rows)
            self.beginInsertRows(NO_PARENT, start, start + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()

    def _page(self, offset: int, limit: int) -> list[DirectoryEntry]:
        return directory(
            self._store.reader(),
            self._text,
            department=self._department,
            space_id=self._space_id,
            limit=limit,
            offset=offset,
            exclude=self._own_user_id,
        )


class ExpertModel(_PeopleModel):
    """People ranked for a topic, each with the reason for their place."""

    def __init__(self, store, own_user_id: str | None, parent=None):
        super().__init__(store, own_user_id, parent)
        self._topic = ""

    def search(self, topic: str) -> None:
        self._topic = topic
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = (
            find_experts(
                self._store.reader(),
                self._topic,
                limit=EXPERT_LIMIT,
                exclude=self._own_user_id,
            )
            if self._topic.strip()
            else []
        )
        self.endResetModel()
