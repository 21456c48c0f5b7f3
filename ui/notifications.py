"""Desktop notifications in the desktop app: new items in, clicks back to the window.

NotificationsController runs an app.notifier.Notifier on the session's cache
changes and opens what a clicked notification is about: a single post opens
its discussion scrolled to that post, and a summary of several opens Home.
Its Notifications menu opens the notifications panel (NotificationsPanel),
which the bell in the status bar opens too. The menu also turns
do-not-disturb on for an hour or until the next morning, sets the level of
the space chosen in the sidebar, and lists what do-not-disturb held back
(HeldBackDialog).
"""

from __future__ import annotations

import asyncio
import datetime
import logging

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from app.notification_list import (
    MAX_LISTED,
    MAX_MARK_PAGES,
    MAX_MARKED,
    ListedNotification,
    read_notifications,
    unread_count,
)
from app.notification_rules import (
    ALL_POSTS,
    DEFAULT_LEVEL,
    MENTIONS_AND_REPLIES,
    NOTHING,
    Notification,
)
from app.notification_settings import (
    PUSH_RULES_EVENT,
    SETTINGS_EVENT,
    do_not_disturb_from_content,
    levels_from_push_rules,
    load_do_not_disturb,
    load_space_levels,
    save_do_not_disturb,
    set_space_level,
)
from app.notifier import Notifier, ReadPositionSource, server_read_positions
from app.store.queries import list_spaces
from ui.notifications_panel import NotificationBell, NotificationsPanel
from ui.tasks import TaskRunner
from ui.widgets import plain_label

log = logging.getLogger(__name__)

# How often the status bar checks whether do-not-disturb has ended (ms).
QUIET_CHECK_MS = 30_000

# "Until tomorrow" ends do-not-disturb at this local hour of the next day.
MORNING_HOUR = 8
HOUR_SECONDS = 3600
STATUS_MESSAGE_MS = 15_000
# Milliseconds to wait after a cache change before reading the list again,
# so that a burst of sync batches costs one read.
REFRESH_DELAY_MS = 200

LEVEL_LABELS = (
    (ALL_POSTS, "&All new posts"),
    (MENTIONS_AND_REPLIES, "&Mentions, replies and followed discussions"),
    (NOTHING, "&Nothing"),
)


def next_morning(now: datetime.datetime) -> datetime.datetime:
    """Return MORNING_HOUR o'clock local time on the day after now."""
    tomorrow = (now + datetime.timedelta(days=1)).date()
    return datetime.datetime.combine(tomorrow, datetime.time(MORNING_HOUR)).astimezone()


class NotificationsController(QObject):
    """Shows notifications for window's session and opens them in window.

    Notifications are on when the session runs a sync loop, since only the
    sync brings other people's posts; enabled overrides that. backend
    replaces the system's notification backend, and read_positions the
    source of what the user has read (the server's unread counts).
    Emits activated(Notification) after a click has opened its item, and
    unread_changed(int) when the count of unread notifications changes.
    """

    activated = Signal(object)
    unread_changed = Signal(int)
    # The list was read again and shown.
    refreshed = Signal()
    do_not_disturb_changed = Signal()
    levels_changed = Signal()

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
        self._session = app_session
        self._tasks = TaskRunner(self)
        self._dialog: HeldBackDialog | None = None
        self.panel: NotificationsPanel | None = None
        self.bell: NotificationBell | None = None
        self.entries: list[ListedNotification] = []
        self.unread = 0
        self._read_positions = read_positions
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        if enabled is None:
            enabled = getattr(app_session, "sync", None) is not None
        self.notifier: Notifier | None = None
        self.menu: QMenu | None = None
        if not enabled:
            return
        self.notifier = Notifier(
            app_session.store,
            app_session.user_id,
            backend,
            read_positions=read_positions,
        )
        self.notifier.on_clicked = self.open_notification
        self.notifier.in_view = self._in_view
        self.notifier.on_collected = lambda notifications: self._update_menu()
        window.events.cache_changed.connect(self.notifier.changes_arrived)
        window.events.cache_changed.connect(self._cache_changed)
        window.events.account_data_arrived.connect(self._account_data_arrived)
        window.closed.connect(self._window_closed)
        self._build_menu()
        # Says while do-not-disturb is on, so held-back silence is not a surprise.
        self.quiet_label = plain_label("", "quietLabel")
        self.quiet_label.hide()
        window.statusBar().addPermanentWidget(self.quiet_label)
        self.do_not_disturb_changed.connect(self._update_quiet_label)
        self._quiet_timer = QTimer(self, interval=QUIET_CHECK_MS)
        self._quiet_timer.timeout.connect(self._update_quiet_label)
        self._quiet_timer.start()
        self.bell = NotificationBell()
        self.bell.clicked.connect(self.show_notifications)
        window.statusBar().addPermanentWidget(self.bell)
        self.levels_changed.connect(self._refresh_timer.start)
        self._load_settings()
        self.refresh()

    # -- Menu ------------------------------------------------------------------

    def _build_menu(self) -> None:
        self.menu = self._window.menuBar().addMenu("&Notifications")

        self.show_action = QAction("Show &notifications…", self)
        self.show_action.triggered.connect(self.show_notifications)
        self.menu.addAction(self.show_action)
        self.menu.addSeparator()

        self.hour_action = QAction("Do not disturb for &1 hour", self)
        self.hour_action.triggered.connect(
            lambda: self.do_not_disturb_for(HOUR_SECONDS)
        )
        self.tomorrow_action = QAction(
            f"Do not disturb until &tomorrow {MORNING_HOUR}:00", self
        )
        self.tomorrow_action.triggered.connect(self.do_not_disturb_until_tomorrow)
        self.off_action = QAction("Turn do not disturb &off", self)
        self.off_action.triggered.connect(lambda: self.set_do_not_disturb(None))
        self.held_back_action = QAction("&Held back…", self)
        self.held_back_action.triggered.connect(self.show_held_back)

        for action in (self.hour_action, self.tomorrow_action, self.off_action):
            self.menu.addAction(action)
        self.menu.addSeparator()

        self.space_menu = self.menu.addMenu("In this &space")
        self.level_actions: dict[str, QAction] = {}
        levels = QActionGroup(self)
        for level, label in LEVEL_LABELS:
            action = QAction(label, self, checkable=True)
            action.triggered.connect(
                lambda _checked=False, chosen=level: self.set_space_level(
                    self._current_space(), chosen
                )
            )
            levels.addAction(action)
            self.space_menu.addAction(action)
            self.level_actions[level] = action

        self.menu.addSeparator()
        self.menu.addAction(self.held_back_action)
        self.menu.aboutToShow.connect(self._update_menu)
        self._update_menu()

    def _update_menu(self) -> None:
        if self.notifier is None or self.menu is None:
            return
        self.off_action.setEnabled(self.notifier.do_not_disturb())
        space_id = self._current_space()
        self.space_menu.setEnabled(space_id is not None)
        level = self.notifier.levels.get(space_id or "", DEFAULT_LEVEL)
        self.level_actions[level].setChecked(True)
        count = len(self.notifier.collected)
        self.held_back_action.setText(f"&Held back ({count})…")
        self.held_back_action.setEnabled(count > 0)
        if self._dialog is not None:
            self._dialog.set_notifications(self.notifier.collected)

    # -- Do not disturb -------------------------------------------------------

    def _update_quiet_label(self) -> None:
        notifier = self.notifier
        if notifier is None or not notifier.do_not_disturb():
            self.quiet_label.hide()
            self._update_menu()
            return
        end = datetime.datetime.fromtimestamp(notifier.do_not_disturb_until)
        self.quiet_label.setText(f"Do not disturb until {end:%H:%M}")
        self.quiet_label.setToolTip(
            f"Notifications are held back until {end:%A %H:%M}; "
            "see Notifications ▸ Held back."
        )
        self.quiet_label.show()

    def do_not_disturb_for(self, seconds: float) -> None:
        self.set_do_not_disturb(datetime.datetime.now().timestamp() + seconds)

    def do_not_disturb_until_tomorrow(self) -> None:
        self.set_do_not_disturb(next_morning(datetime.datetime.now()).timestamp())

    def set_do_not_disturb(self, until: float | None) -> None:
        """Hold notifications back until until (seconds since the epoch; None: off).

        Applies at once here and is saved in the account data for the
        user's other sign-ins.
        """
        if self.notifier is None:
            return
        self.notifier.set_do_not_disturb(until)
        self._update_menu()
        self.do_not_disturb_changed.emit()
        if until is None:
            message = "Do not disturb is off."
        else:
            end = datetime.datetime.fromtimestamp(until)
            message = f"Do not disturb is on until {end:%A %H:%M}."
        self._window.statusBar().showMessage(message, STATUS_MESSAGE_MS)
        client = getattr(self._session, "client", None)
        if client is None:
            return
        self._tasks.run(
            save_do_not_disturb(client, self._session.user_id, until),
            on_failure=self._save_failed,
            key="save-do-not-disturb",
        )

    def _save_failed(self, error: BaseException) -> None:
        self._window.statusBar().showMessage(
            f"Do not disturb applies on this computer only: saving it on the "
            f"server failed ({error}). Choose it again once you are online.",
            STATUS_MESSAGE_MS,
        )

    def _load_settings(self) -> None:
        """Read do-not-disturb and the spaces' levels from the server."""
        client = getattr(self._session, "client", None)
        if client is None:
            return
        self._tasks.run(
            load_do_not_disturb(client, self._session.user_id),
            on_success=self._loaded,
            on_failure=lambda error: self._load_failed("do-not-disturb", error),
            key="load-do-not-disturb",
        )
        spaces = [
            space.room_id
            for space in list_spaces(self._session.store.reader())
            if space.membership == "join" and space.room_id.startswith("!")
        ]
        self._tasks.run(
            load_space_levels(client, self._session.store.reader(), spaces),
            on_success=self._levels_loaded,
            on_failure=lambda error: self._load_failed("space levels", error),
            key="load-space-levels",
        )

    def _account_data_arrived(self, events: list) -> None:
        """Apply settings that another sign-in changed, as the sync brings them."""
        for event in events:
            if event.get("type") == SETTINGS_EVENT:
                self._loaded(do_not_disturb_from_content(event.get("content")))
            elif event.get("type") == PUSH_RULES_EVENT:
                self._push_rules_changed(event.get("content"))

    def _push_rules_changed(self, rules: object) -> None:
        if self.notifier is None or not isinstance(rules, dict):
            return
        conn = self._session.store.reader()
        spaces = [
            space.room_id
            for space in list_spaces(conn)
            if space.membership == "join" and space.room_id.startswith("!")
        ]
        levels = levels_from_push_rules(rules, conn, spaces)
        changed = False
        for space_id in spaces:
            level = levels.get(space_id, DEFAULT_LEVEL)
            if self.notifier.levels.get(space_id, DEFAULT_LEVEL) != level:
                self.notifier.set_level(space_id, level)
                changed = True
        if changed:
            self._update_menu()
            self.levels_changed.emit()

    def _load_failed(self, setting: str, error: BaseException) -> None:
        # Offline: the setting stays as it is here until chosen again.
        log.warning("Reading the %s setting failed: %s", setting, error)

    def _levels_loaded(self, levels: dict[str, str]) -> None:
        if self.notifier is None:
            return
        for space_id, level in levels.items():
            self.notifier.set_level(space_id, level)
        self._update_menu()
        self.levels_changed.emit()

    # -- Space levels ---------------------------------------------------------

    def _current_space(self) -> str | None:
        """Return the space chosen in the sidebar, None for a pseudo-space."""
        space_id = self._window.space_pane.selected_space()
        if space_id is None or not space_id.startswith("!"):
            return None
        return space_id

    def set_space_level(self, space_id: str | None, level: str) -> None:
        """Choose which posts of a space notify, here and in the push rules."""
        if self.notifier is None or space_id is None:
            return
        self.notifier.set_level(space_id, level)
        self._update_menu()
        self.levels_changed.emit()
        client = getattr(self._session, "client", None)
        if client is None:
            return
        self._tasks.run(
            set_space_level(client, self._session.store.reader(), space_id, level),
            on_failure=self._level_save_failed,
            key=("space-level", space_id),
        )

    def _level_save_failed(self, error: BaseException) -> None:
        self._window.statusBar().showMessage(
            f"The space's notification level applies on this computer only: "
            f"saving it on the server failed ({error}). Choose it again once "
            f"you are online.",
            STATUS_MESSAGE_MS,
        )

    def _loaded(self, until: float | None) -> None:
        if self.notifier is None:
            return
        self.notifier.set_do_not_disturb(until)
        self._update_menu()
        self.do_not_disturb_changed.emit()

    # -- Opening ------------------------------------------------------------------

    def _in_view(self, notification: Notification) -> bool:
        """Return True when notification's discussion is open in the active window."""
        window = self._window
        return (
            not notification.is_summary
            and window.isActiveWindow()
            and not window.home_view.isVisible()
            and window.thread_view.current_discussion() == notification.discussion_id
        )

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

    def show_held_back(self) -> HeldBackDialog:
        """Open the list of notifications that do-not-disturb held back."""
        if self._dialog is None:
            self._dialog = HeldBackDialog(self._window)
            self._dialog.notification_chosen.connect(self.open_notification)
            self._dialog.mark_read_requested.connect(self._mark_held_back_read)
        if self.notifier is not None:
            self._dialog.set_notifications(self.notifier.collected)
        self._dialog.show()
        self._dialog.raise_()
        return self._dialog

    def _mark_held_back_read(self) -> None:
        """Mark the held-back posts' discussions read, here and on the server."""
        if self.notifier is None:
            return
        read_state = getattr(self._session, "read_state", None)
        if read_state is not None:
            discussions = {
                item.discussion_id
                for notification in self.notifier.collected
                for item in notification.items
                if item.discussion_id
            }
            for discussion_id in sorted(discussions):
                read_state.discussion_opened(discussion_id)
        self.notifier.mark_collected_read()
        self._update_menu()

    # -- Panel ------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the notifications list again in the background, then show it.

        The list takes tens of milliseconds on a large cache, so it is read
        on the store's reader thread; refreshed() follows when it is shown.
        """
        if self.notifier is None:
            return
        self._tasks.run(
            self._session.store.read(
                read_notifications,
                self._session.user_id,
                levels=dict(self.notifier.levels),
                read_positions=self._read_positions,
            ),
            self._show_entries,
            lambda error: log.warning("Notifications list not read: %s", error),
            key="list",
        )

    def _show_entries(self, entries) -> None:
        self.entries = entries
        self._drop_read_held_back(entries)
        unread = unread_count(self.entries)
        if self.panel is not None:
            self.panel.set_entries(self.entries)
        if self.bell is not None:
            # A full list may hide more unread notifications further back.
            self.bell.set_unread(unread, more=len(entries) >= MAX_LISTED)
        if unread != self.unread:
            self.unread = unread
            self.unread_changed.emit(unread)
        self.refreshed.emit()

    def _drop_read_held_back(self, entries) -> None:
        """Forget held-back notifications of posts read since, here or elsewhere."""
        notifier = self.notifier
        if notifier is None or not notifier.collected:
            return
        read = {entry.item.event_id for entry in entries if entry.read}
        kept = [
            notification
            for notification in notifier.collected
            if notification.items[0].event_id not in read
        ]
        if len(kept) != len(notifier.collected):
            notifier.collected[:] = kept
            self._update_menu()

    def _cache_changed(self, changes) -> None:
        if changes.rooms or changes.discussions:
            self._refresh_timer.start()

    def show_notifications(self) -> NotificationsPanel:
        """Open the notifications panel, newest first."""
        if self.panel is None:
            self.panel = NotificationsPanel(self._window)
            self.panel.notification_chosen.connect(self.open_notification)
            self.panel.mark_read_requested.connect(self.mark_read)
            self.panel.mark_all_read_requested.connect(self.mark_all_read)
        # The list read last is shown at once; the fresh one replaces it.
        self.panel.set_entries(self.entries)
        self.refresh()
        self.panel.show()
        self.panel.raise_()
        self.panel.activateWindow()
        return self.panel

    def mark_read(self, entries: list[ListedNotification]) -> None:
        """Mark the discussions of entries read, here and through receipts.

        A receipt covers a discussion up to its newest post, so marking one
        post read also marks the later posts of its discussion read.
        """
        discussions = {
            entry.item.discussion_id for entry in entries if entry.item.discussion_id
        }
        read_state = getattr(self._session, "read_state", None)
        if read_state is None or not discussions:
            return
        for discussion_id in sorted(discussions):
            self._tasks.run(
                read_state.mark_discussion_read(discussion_id),
                on_success=lambda _queued: self._refresh_timer.start(),
                on_failure=self._mark_read_failed,
                key=("mark-read", discussion_id),
            )

    def mark_all_read(self) -> None:
        """Mark every unread notification read, and forget the held-back ones.

        The list shows the newest MAX_LISTED only, so the unread ones are
        looked up again, further back, on the store's reader thread.
        """
        self.mark_read([entry for entry in self.entries if not entry.read])
        if self.notifier is not None:
            self._tasks.run(
                self._session.store.read(
                    read_notifications,
                    self._session.user_id,
                    levels=dict(self.notifier.levels),
                    read_positions=self._read_positions,
                    limit=MAX_MARKED,
                    max_pages=MAX_MARK_PAGES,
                ),
                lambda entries: self.mark_read(
                    [entry for entry in entries if not entry.read]
                ),
                self._mark_read_failed,
                key="mark-all",
            )
        if self.notifier is not None and self.notifier.collected:
            self.notifier.mark_collected_read()
            self._update_menu()

    def _mark_read_failed(self, error: BaseException) -> None:
        log.error("Marking notifications read failed: %r", error)
        self._window.statusBar().showMessage(
            f"Marking notifications read failed ({error}). Try again.",
            STATUS_MESSAGE_MS,
        )

    def _window_closed(self) -> None:
        # The cache may close with the window, so the list is not read again.
        self._refresh_timer.stop()
        if self.notifier is not None:
            notifier, self.notifier = self.notifier, None
            # Not through self._tasks: closing the window cancels those.
            asyncio.ensure_future(notifier.close())


class HeldBackDialog(QDialog):
    """Notifications held back by do-not-disturb, oldest first.

    Emits notification_chosen(Notification) on a double click or Enter, and
    mark_read_requested() from "Mark all read".
    """

    notification_chosen = Signal(object)
    mark_read_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Held back notifications")
        self.resize(480, 360)
        self.list = QListWidget()
        self.list.setObjectName("heldBackList")
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._activated)
        self.empty_label = plain_label(
            "Nothing was held back. While do not disturb is on, new mentions "
            "and replies are listed here instead of shown.",
            "emptyState",
        )
        self.empty_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.mark_read_button = buttons.addButton(
            "Mark all read", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.mark_read_button.clicked.connect(self.mark_read_requested)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def set_notifications(self, notifications: list[Notification]) -> None:
        self.list.clear()
        for notification in notifications:
            # Plain text only: a QListWidgetItem never renders markup.
            text = notification.title
            if notification.body:
                text += "\n" + notification.body
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, notification)
            self.list.addItem(item)
        self.empty_label.setVisible(not notifications)
        self.list.setVisible(bool(notifications))
        self.mark_read_button.setEnabled(bool(notifications))

    def _activated(self, item: QListWidgetItem) -> None:
        self.notification_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
