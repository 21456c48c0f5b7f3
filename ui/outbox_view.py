"""The outbox in the status bar and in a window of its own.

OutboxIndicator shows "N waiting to send · N failed" and emits clicked();
OutboxDialog lists every unsent item with Retry and Discard for failed ones.
Both re-read the outbox when the cache announces an outbox change.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.outbox import OutboxItem

ACTION_LABELS = {
    "discussion": "New discussion",
    "reply": "Reply",
    "like": "Like",
    "unlike": "Unlike",
    "edit": "Edit",
    "delete": "Deletion",
    "accept_answer": "Accepted answer",
    # Profile items carry a title such as "Job title: Data engineer".
    "profile": "Profile",
    "avatar": "Profile picture",
}
STATE_LABELS = {"queued": "waiting", "sending": "sending…", "failed": "not sent"}
EMPTY_OUTBOX = "Everything you wrote has been sent."


def indicator_text(waiting: int, failed: int) -> str:
    """Return the indicator's text, or "" when the outbox is empty."""
    parts = []
    if waiting:
        parts.append(f"{waiting:,} waiting to send")
    if failed:
        parts.append(f"{failed:,} failed")
    return " · ".join(parts)


def item_text(item: OutboxItem) -> str:
    """Return one line describing an outbox item, with the reason if it failed."""
    label = ACTION_LABELS.get(item.action, item.action)
    lines = (item.body or "").strip().splitlines()
    summary = item.title or (lines[0] if lines else "")
    if len(summary) > 80:
        summary = summary[:79] + "…"
    text = f"{label} · {STATE_LABELS.get(item.state, item.state)}"
    if summary:
        text += f" · {summary}"
    if item.state == "failed" and item.error:
        text += f"\n⚠ {item.error}"
    return text


class OutboxIndicator(QToolButton):
    """A flat button with the outbox counts, hidden while the outbox is empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("outboxIndicator")
        self.setAutoRaise(True)
        self.setToolTip("Show what is waiting to be sent")
        self.set_counts(0, 0)

    def set_counts(self, waiting: int, failed: int, message: str = "") -> None:
        self.setText(indicator_text(waiting, failed))
        self.setProperty("failed", failed > 0)
        self.setVisible(bool(waiting or failed))
        if message:
            self.setToolTip(message)


class OutboxDialog(QDialog):
    """Lists the unsent items; Retry and Discard act on the selected failed one."""

    def __init__(self, actions, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("outboxDialog")
        self.setWindowTitle("Outbox")
        self._actions = actions
        self._items: list[OutboxItem] = []
        self.list = QListWidget()
        self.list.setObjectName("outboxList")
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self._update_buttons)
        self.empty_label = QLabel(EMPTY_OUTBOX)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.buttons = QDialogButtonBox()
        self.retry_button = self.buttons.addButton(
            "Retry", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.discard_button = self.buttons.addButton(
            "Discard", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.retry_button.clicked.connect(self._retry)
        self.discard_button.clicked.connect(self._discard)
        close.clicked.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.buttons)
        self.resize(560, 380)
        self.reload()

    def reload(self) -> None:
        selected = self.selected_item()
        self._items = self._actions.outbox.list_items()
        self.list.clear()
        for item in self._items:
            entry = QListWidgetItem(item_text(item))
            entry.setData(Qt.ItemDataRole.UserRole, item.id)
            self.list.addItem(entry)
        ids = [item.id for item in self._items]
        if selected is not None and selected.id in ids:
            self.list.setCurrentRow(ids.index(selected.id))
        self.empty_label.setVisible(not self._items)
        self.list.setVisible(bool(self._items))
        self._update_buttons()

    def selected_item(self) -> OutboxItem | None:
        row = self.list.currentRow()
        return self._items[row] if 0 <= row < len(self._items) else None

    def _update_buttons(self) -> None:
        item = self.selected_item()
        failed = item is not None and item.state == "failed"
        self.retry_button.setEnabled(failed)
        # A queued item can be discarded too unless a send has started;
        # Outbox.discard raises ItemConflict then, shown in the status bar.
        self.discard_button.setEnabled(
            item is not None and item.state in ("failed", "queued")
        )

    def _retry(self) -> None:
        item = self.selected_item()
        if item is not None:
            self._actions.retry(item.id)

    def _discard(self) -> None:
        item = self.selected_item()
        if item is not None:
            self._actions.discard(item.id)


def outbox_counts(items: list[OutboxItem]) -> tuple[int, int]:
    """Return (items waiting or sending, failed items)."""
    waiting = sum(item.state in ("queued", "sending") for item in items)
    failed = sum(item.state == "failed" for item in items)
    return waiting, failed
