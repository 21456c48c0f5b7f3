"""The notifications panel and the bell button that opens it.

NotificationsPanel lists app.notification_list's entries, newest first, drawn
like Home's items; unread ones are tinted, with an accent bar. It emits requests only, because the
controller in ui.notifications loads the entries, opens them and marks them
read.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.notification_list import ListedNotification, unread_count
from ui import theme
from ui.activity_delegate import ActivityDelegate
from ui.models.activity import ITEM_ROLE, LEAD_ROLE, lead_sentence
from ui.widgets import plain_label

UNREAD_MARK = "● "
EMPTY_TEXT = (
    "No notifications yet. Mentions, replies to your posts, new posts in "
    "discussions you follow and new announcements are listed here."
)
EMPTY_UNREAD_TEXT = "Everything is read."


def bell_text(unread: int, more: bool = False) -> str:
    """Return the bell button's text for an unread count; more adds "+"."""
    if not unread:
        return "🔔"
    return f"🔔 {unread}+" if more else f"🔔 {unread}"


def entry_text(entry: ListedNotification) -> str:
    """Return a row's plain text: the notification's title, then its body."""
    notification = entry.notification
    text = notification.title
    if notification.body:
        text += "\n" + notification.body
    return text if entry.read else UNREAD_MARK + text


class NotificationBell(QToolButton):
    """A flat status bar button with the unread notification count."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("notificationBell")
        self.setAutoRaise(True)
        self.set_unread(0)

    def set_unread(self, unread: int, more: bool = False) -> None:
        self.setText(bell_text(unread, more))
        if unread:
            tip = (
                f"{unread}{' or more' if more else ''} unread "
                f"{'notification' if unread == 1 else 'notifications'}"
            )
        else:
            tip = "No unread notifications"
        self.setToolTip(f"{tip}: show notifications")
        self.setAccessibleName(tip)


class NotificationDelegate(ActivityDelegate):
    """A notification drawn like a Home item, tinted while it is unread."""

    def paint(self, painter, option, index) -> None:
        entry = index.data(Qt.ItemDataRole.UserRole)
        unread = entry is not None and not entry.read
        if unread:
            painter.fillRect(option.rect, theme.ACCENT_SOFT)
        super().paint(painter, option, index)
        if unread:
            painter.fillRect(
                QRect(option.rect.left(), option.rect.top(), 3, option.rect.height()),
                theme.ACCENT,
            )


class NotificationsPanel(QDialog):
    """The list of notifications, newest first.

    Emits notification_chosen(Notification) on a double click, Enter or
    Open, mark_read_requested(list[ListedNotification]) from Mark read on
    the selected rows, and mark_all_read_requested() from Mark all read.
    """

    notification_chosen = Signal(object)
    mark_read_requested = Signal(list)
    mark_all_read_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("notificationsPanel")
        self.setWindowTitle("Notifications")
        self.resize(600, 560)
        self._entries: list[ListedNotification] = []

        self.unread_only = QCheckBox("&Unread only")
        self.unread_only.toggled.connect(self._fill)
        self.list = QListWidget()
        self.list.setObjectName("notificationsList")
        self.list.setItemDelegate(NotificationDelegate(parent=self.list))
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemActivated.connect(self._activated)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.empty_label = plain_label(EMPTY_TEXT, "emptyState")
        self.empty_label.setWordWrap(True)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = buttons.addButton(
            "&Open", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.open_button.clicked.connect(self._open_selected)
        self.mark_read_button = buttons.addButton(
            "&Mark read", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.mark_read_button.clicked.connect(self._mark_selected_read)
        self.mark_all_read_button = buttons.addButton(
            "Mark &all read", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.mark_all_read_button.clicked.connect(self.mark_all_read_requested)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.unread_only)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self._fill()

    def set_entries(self, entries: list[ListedNotification]) -> None:
        """Show entries, keeping the selection of the posts still listed."""
        self._entries = list(entries)
        self._fill()

    def entries(self) -> list[ListedNotification]:
        """Return the rows shown, top first."""
        return [
            self.list.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.list.count())
        ]

    def selected_entries(self) -> list[ListedNotification]:
        return [
            item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()
        ]

    def _fill(self) -> None:
        selected = {entry.item.event_id for entry in self.selected_entries()}
        visible = [
            entry
            for entry in self._entries
            if not (self.unread_only.isChecked() and entry.read)
        ]
        self.list.clear()
        for entry in visible:
            # Plain text only: a QListWidgetItem never renders markup.
            row = QListWidgetItem(entry_text(entry))
            row.setData(Qt.ItemDataRole.UserRole, entry)
            row.setData(ITEM_ROLE, entry.item)
            row.setData(LEAD_ROLE, lead_sentence(entry.item, ""))
            if not entry.read:
                font = row.font()
                font.setBold(True)
                row.setFont(font)
                row.setToolTip("Unread")
            self.list.addItem(row)
            if entry.item.event_id in selected:
                row.setSelected(True)
        if self._entries:
            self.empty_label.setText(EMPTY_UNREAD_TEXT)
        else:
            self.empty_label.setText(EMPTY_TEXT)
        self.empty_label.setVisible(not visible)
        self.list.setVisible(bool(visible))
        self.mark_all_read_button.setEnabled(unread_count(self._entries) > 0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.selected_entries()
        self.open_button.setEnabled(len(selected) == 1)
        self.mark_read_button.setEnabled(any(not entry.read for entry in selected))

    def _activated(self, row: QListWidgetItem) -> None:
        entry: ListedNotification = row.data(Qt.ItemDataRole.UserRole)
        self.notification_chosen.emit(entry.notification)

    def _open_selected(self) -> None:
        selected = self.selected_entries()
        if len(selected) == 1:
            self.notification_chosen.emit(selected[0].notification)

    def _mark_selected_read(self) -> None:
        unread = [entry for entry in self.selected_entries() if not entry.read]
        if unread:
            self.mark_read_requested.emit(unread)

    def _context_menu(self, position) -> None:
        row = self.list.itemAt(position)
        if row is None:
            return
        if not row.isSelected():
            self.list.setCurrentItem(row)
        menu = self.context_menu()
        menu.exec(self.list.viewport().mapToGlobal(position))

    def context_menu(self) -> QMenu:
        """Return the menu of the selected rows: Open and Mark read."""
        menu = QMenu(self)
        open_action = QAction("&Open", menu)
        open_action.setEnabled(self.open_button.isEnabled())
        open_action.triggered.connect(self._open_selected)
        read_action = QAction("&Mark read", menu)
        read_action.setEnabled(self.mark_read_button.isEnabled())
        read_action.triggered.connect(self._mark_selected_read)
        menu.addAction(open_action)
        menu.addAction(read_action)
        return menu
