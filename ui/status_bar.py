"""The sync indicator in the main window's status bar.

It shows what the last SyncStatus said: online with the time of the last
sync, syncing, offline with a countdown to the next attempt, or signed out
with the server's reason and a button to sign in again.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.sync import SyncState, SyncStatus
from ui.text_format import clock_time


def status_text(status: SyncStatus, now: float | None = None) -> str:
    """Return the indicator's text for status, as of now (Unix seconds)."""
    current = now if now is not None else time.time()
    last = status.last_sync_finished
    if status.state == SyncState.ONLINE:
        return f"Online · synced {clock_time(last, current)}" if last else "Online"
    if status.state == SyncState.SYNCING:
        return "Syncing…"
    if status.state == SyncState.OFFLINE:
        text = "Offline"
        if status.retry_in is not None:
            text += f" — retrying in {max(round(status.retry_in), 0)} s"
        if last:
            text += f" (last synced {clock_time(last, current)})"
        return text
    message = status.message or "the session has ended."
    return f"Signed out: {message}"


class StatusIndicator(QWidget):
    """A label for the sync state and a "Sign in again" button when signed out."""

    sign_in_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setObjectName("syncStatus")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.sign_in_button = QPushButton("Sign in again")
        self.sign_in_button.setObjectName("signInAgain")
        self.sign_in_button.clicked.connect(self.sign_in_requested)
        self.sign_in_button.hide()

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.setSpacing(8)
        layout.addWidget(self.label)
        layout.addWidget(self.sign_in_button)

        self._status = SyncStatus(SyncState.SYNCING)
        self._retry_at: float | None = None
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self._refresh)

    def status(self) -> SyncStatus:
        return self._status

    def set_status(self, status: SyncStatus) -> None:
        self._status = status
        if status.state == SyncState.OFFLINE and status.retry_in is not None:
            self._retry_at = time.monotonic() + status.retry_in
            self._tick.start()
        else:
            self._retry_at = None
            self._tick.stop()
        self.sign_in_button.setVisible(status.state == SyncState.SIGNED_OUT)
        self.setProperty("state", status.state.value)
        self.label.setProperty("state", status.state.value)
        self.label.style().unpolish(self.label)
        self.label.style().polish(self.label)
        self._refresh()

    def _refresh(self) -> None:
        status = self._status
        if self._retry_at is not None:
            remaining = max(self._retry_at - time.monotonic(), 0)
            status = SyncStatus(
                status.state, status.last_sync_finished, remaining, status.message
            )
        self.label.setText(status_text(status))
        self.label.setToolTip(self._status.message)
