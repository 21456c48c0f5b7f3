"""The Drafts window: every saved draft, opened in its composer on request.

It emits open_requested(Draft); the main window opens the composer that the
draft belongs to, which restores the draft itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import drafts
from app.store.queries import get_room
from app.text import clean_name
from ui.text_format import clock_time

COMPOSER_LABELS = {
    "discussion": "New discussion in {room}",
    "reply": "Reply in {room}",
    "edit": "Edit in {room}",
}
NO_DRAFTS = "No drafts. Text you start writing is kept here until you send it."


def draft_text(draft: drafts.Draft, room_name: str) -> str:
    """Return two lines describing a draft: where it goes, then its start."""
    where = COMPOSER_LABELS[draft.composer].format(room=room_name or "a board")
    lines = draft.body.strip().splitlines()
    start = draft.title or (lines[0] if lines else "")
    if len(start) > 90:
        start = start[:89] + "…"
    return f"{where} · saved {clock_time(draft.updated_at)}\n{start}"


class DraftsDialog(QDialog):
    open_requested = Signal(object)  # app.drafts.Draft

    def __init__(self, store, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("draftsDialog")
        self.setWindowTitle("Drafts")
        self._store = store
        self._drafts: list[drafts.Draft] = []
        self.list = QListWidget()
        self.list.setObjectName("draftList")
        self.list.itemActivated.connect(self._open_current)
        self.empty_label = QLabel(NO_DRAFTS)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QDialogButtonBox()
        self.open_button = buttons.addButton(
            "Open", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.open_button.clicked.connect(self._open_current)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(buttons)
        self.resize(520, 360)
        self.reload()

    def reload(self) -> None:
        self._drafts = drafts.list_drafts(self._store)
        conn = self._store.reader()
        self.list.clear()
        for draft in self._drafts:
            room = get_room(conn, draft.room_id)
            name = clean_name(room.name if room else None)
            self.list.addItem(QListWidgetItem(draft_text(draft, name)))
        if self._drafts:
            self.list.setCurrentRow(0)
        self.list.setVisible(bool(self._drafts))
        self.empty_label.setVisible(not self._drafts)
        self.open_button.setEnabled(bool(self._drafts))

    def apply_changes(self, changes) -> None:
        """Re-read the drafts when a draft changed while the window is open."""
        if changes.drafts and self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:
        self.reload()
        super().showEvent(event)

    def _open_current(self, *_args) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._drafts):
            self.open_requested.emit(self._drafts[row])
