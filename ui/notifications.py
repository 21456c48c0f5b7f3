"""Desktop notifications in the desktop app: new items in, clicks back to the window.

NotificationsController runs an app.notifier.Notifier on the session's cache
changes and opens what a clicked notification is about: a single post opens
its discussion scrolled to that post, and a summary of several opens Home.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, Signal

from app.notification_rules import Notification
from app.notifier import Notifier, ReadPositionSource, server_read_positions


class NotificationsController(QObject):
    """Shows notifications for window's session and opens them in window.

    Notifications are on when the session runs a sync loop, since only the
    sync brings other people's posts; enabled overrides that. backend
    replaces the system's notification backend, and read_positions the
    source of what the user has read (the server's unread counts).
    Emits activated(Notification) after a click has opened its item.
    """

    activated = Signal(object)

    def __init__(
        self,
        window,
        app_session,
        *,
        backend=None,
        enabled: bool | None = None,
        read_positions: ReadPositionSource | None = server_read_positions,
    ):
        super().__init__(window)
        self._window = window
        if enabled is None:
            enabled = getattr(app_session, "sync", None) is not None
        self.notifier: Notifier | None = None
        if not enabled:
            return
        self.notifier = Notifier(
            app_session.store,
            app_session.user_id,
            backend,
            read_positions=read_positions,
        )
        self.notifier.on_clicked = self.open_notification
        window.events.cache_changed.connect(self.notifier.changes_arrived)
        window.closed.connect(self._window_closed)

    def open_notification(self, notification: Notification) -> None:
        """Bring the window to the front and show what notification is about."""
        window = self._window
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.raise_()
        window.activateWindow()
        if notification.is_summary:
            window.show_home(True)
        else:
            window.open_activity_item(notification.items[0])
        self.activated.emit(notification)

    def _window_closed(self) -> None:
        if self.notifier is not None:
            notifier, self.notifier = self.notifier, None
            # Not through a TaskRunner: closing the window cancels its tasks.
            asyncio.ensure_future(notifier.close())
