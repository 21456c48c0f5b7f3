"""The system tray icon: the unread notification count, and a small menu.

Where the desktop has a system tray, TrayController shows the app's icon
there with the unread count painted on it and in its tooltip. A click raises
the window. Its menu opens the window, turns do-not-disturb on for an hour
or off, and quits. Without a tray (Qt's offscreen platform, some desktops)
nothing is created.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ui.notifications import HOUR_SECONDS

APP_NAME = "Commonplace"
# Side of the painted icon in pixels. The tray scales it to its own size.
ICON_SIZE = 64
# Counts above this are painted as "99+", which still fits the badge.
MAX_BADGE_COUNT = 99
BADGE_COLOR = QColor("#c62828")
BADGE_TEXT_COLOR = QColor("#ffffff")


def badge_text(count: int) -> str:
    """Return the text painted on the badge: the count, capped at "99+"."""
    if count > MAX_BADGE_COUNT:
        return f"{MAX_BADGE_COUNT}+"
    return str(count)


def tray_tooltip(count: int) -> str:
    """Return the tray icon's tooltip for an unread count."""
    if count == 0:
        return f"{APP_NAME}: no unread notifications"
    noun = "notification" if count == 1 else "notifications"
    return f"{APP_NAME}: {count} unread {noun}"


def badge_pixmap(icon: QIcon, count: int, size: int = ICON_SIZE) -> QPixmap:
    """Paint icon at size pixels with count in a red circle at its top right.

    A count of 0 paints the icon alone.
    """
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        icon.paint(painter, 0, 0, size, size)
        if count > 0:
            text = badge_text(count)
            # The badge covers the top-right 60% of the icon, wider for "99+".
            height = size * 0.6
            width = (
                height
                if len(text) == 1
                else min(size, height * (0.4 + 0.3 * len(text)))
            )
            badge = QRectF(size - width, 0, width, height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(BADGE_COLOR)
            painter.drawRoundedRect(badge, height / 2, height / 2)
            font = QFont()
            font.setBold(True)
            font.setPixelSize(int(height * 0.7))
            painter.setFont(font)
            painter.setPen(BADGE_TEXT_COLOR)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()
    return pixmap


class TrayController(QObject):
    """Shows window's tray icon with notifications' unread count.

    available overrides QSystemTrayIcon.isSystemTrayAvailable(). tray is None
    when there is no tray or the notifications are off.
    """

    def __init__(self, window, notifications, *, available: bool | None = None):
        super().__init__(window)
        self._window = window
        self._notifications = notifications
        self.tray: QSystemTrayIcon | None = None
        self.menu: QMenu | None = None
        if available is None:
            available = QSystemTrayIcon.isSystemTrayAvailable()
        if not available or notifications.notifier is None:
            return
        self._icon = window.windowIcon()
        self.tray = QSystemTrayIcon(self)
        self.tray.activated.connect(self._activated)
        self._build_menu()
        self.tray.setContextMenu(self.menu)
        notifications.unread_changed.connect(self.set_unread)
        notifications.do_not_disturb_changed.connect(self._update_menu)
        window.closed.connect(self.tray.hide)
        self.set_unread(notifications.unread)
        self.tray.show()

    def _build_menu(self) -> None:
        self.menu = QMenu()
        self.open_action = QAction(f"&Open {APP_NAME}", self)
        self.open_action.triggered.connect(self.raise_window)
        self.do_not_disturb_action = QAction("Do not &disturb", self, checkable=True)
        self.do_not_disturb_action.setToolTip(
            "Hold notifications back for an hour. Clear it to turn do not disturb off."
        )
        self.do_not_disturb_action.triggered.connect(self._do_not_disturb_chosen)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.triggered.connect(self._window.close)
        self.menu.addAction(self.open_action)
        self.menu.addAction(self.do_not_disturb_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.menu.aboutToShow.connect(self._update_menu)
        self._update_menu()

    def _update_menu(self) -> None:
        notifier = self._notifications.notifier
        self.do_not_disturb_action.setChecked(
            notifier is not None and notifier.do_not_disturb()
        )

    def _do_not_disturb_chosen(self, checked: bool) -> None:
        if checked:
            self._notifications.do_not_disturb_for(HOUR_SECONDS)
        else:
            self._notifications.set_do_not_disturb(None)

    def set_unread(self, count: int) -> None:
        """Paint count on the tray icon and put it in the tooltip."""
        if self.tray is None:
            return
        self.tray.setIcon(QIcon(badge_pixmap(self._icon, count)))
        self.tray.setToolTip(tray_tooltip(count))

    def raise_window(self) -> None:
        window = self._window
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.raise_()
        window.activateWindow()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.raise_window()
