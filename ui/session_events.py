"""Qt signals for an AppSession's cache changes, sync status and outbox status.

AppSession calls plain listeners on the event loop's thread, which under
qasync is the UI thread, so the signals are emitted directly.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class SessionEvents(QObject):
    """Re-emits an AppSession's listener calls as Qt signals."""

    cache_changed = Signal(object)  # app.records.Changes
    status_changed = Signal(object)  # app.sync.SyncStatus
    outbox_status_changed = Signal(object)  # app.outbox.OutboxStatus
    account_data_arrived = Signal(list)  # the sync's global account data events

    def __init__(self, session, parent: QObject | None = None):
        super().__init__(parent)
        self._connected = True
        session.add_changes_listener(self._changed)
        session.add_status_listener(self._status)
        session.add_outbox_status_listener(self._outbox_status)
        # Sessions made for tests without a sync have no account data.
        add_account_data_listener = getattr(session, "add_account_data_listener", None)
        if add_account_data_listener is not None:
            add_account_data_listener(self._account_data)

    def disconnect_session(self) -> None:
        """Stop re-emitting; AppSession has no way to remove a listener."""
        self._connected = False

    def _changed(self, changes) -> None:
        if self._connected:
            self.cache_changed.emit(changes)

    def _outbox_status(self, status) -> None:
        if self._connected:
            self.outbox_status_changed.emit(status)

    def _account_data(self, events: list) -> None:
        if self._connected:
            self.account_data_arrived.emit(events)

    def _status(self, status) -> None:
        if self._connected:
            self.status_changed.emit(status)
