"""Search results as one list: a heading row per kind, then that kind's hits."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.store.queries import avatar_urls
from app.store.search import KIND_LABELS, KINDS, Highlighted, SearchHit, search
from ui.models.roles import NO_PARENT

Index = QModelIndex | QPersistentModelIndex

# Roles of this model only; they start well above the shared ones in roles.py.
HIT_ROLE = Qt.ItemDataRole.UserRole + 100  # SearchHit, or None on a heading row
HEADING_ROLE = Qt.ItemDataRole.UserRole + 101  # bool: the row is a group heading
# str or None: the mxc:// avatar of a person hit.
AVATAR_URL_ROLE = Qt.ItemDataRole.UserRole + 102


def plain_text(parts: Highlighted) -> str:
    """Return highlighted text without its marks."""
    return "".join(text for text, _ in parts)


class SearchResultsModel(QAbstractListModel):
    """The result of the last search: headings in KINDS order, each with its hits.

    Heading rows can be neither selected nor activated. notices contains the
    search's plain-language messages, such as an unknown filter or no match.
    """

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self._store = store
        self._rows: list[str | SearchHit] = []
        self._avatars: dict[str, str] = {}
        self.notices: list[str] = []

    def run(self, text: str) -> None:
        """Search the cache for text and show the result; empty text clears it."""
        rows: list[str | SearchHit] = []
        notices: list[str] = []
        if text.strip():
            results = search(self._store.reader(), text)
            notices = list(results.notices)
            for kind in KINDS:
                hits = results.groups.get(kind)
                if hits:
                    rows.append(KIND_LABELS[kind])
                    rows.extend(hits)
        self.beginResetModel()
        self._rows = rows
        people = [
            row.ref
            for row in rows
            if isinstance(row, SearchHit) and row.kind == "person"
        ]
        self._avatars = avatar_urls(self._store.reader(), people)
        self.notices = notices
        self.endResetModel()

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid() or self.is_heading(index.row()):
            return Qt.ItemFlag.ItemNeverHasChildren
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == HEADING_ROLE:
            return isinstance(row, str)
        if isinstance(row, str):
            return row if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            lines = (plain_text(row.title), plain_text(row.snippet), row.detail)
            return "\n".join(line for line in lines if line)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_text(row.title)
        if role == HIT_ROLE:
            return row
        if role == AVATAR_URL_ROLE:
            return self._avatars.get(row.ref) if row.kind == "person" else None
        return None

    def is_heading(self, row: int) -> bool:
        return 0 <= row < len(self._rows) and isinstance(self._rows[row], str)

    def hit(self, row: int) -> SearchHit | None:
        value = self._rows[row] if 0 <= row < len(self._rows) else None
        return value if isinstance(value, SearchHit) else None

    def hit_row(self, start: int, step: int) -> int | None:
        """Return the first hit row from start going by step (1 or -1), or None."""
        row = start
        while 0 <= row < len(self._rows):
            if not self.is_heading(row):
                return row
            row += step
        return None
