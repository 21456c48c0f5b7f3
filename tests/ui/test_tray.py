"""The tray icon: its painted count, tooltip and menu.

Qt's offscreen platform has no system tray, so the controller is made with
available=True where a test needs the icon; the icon is never seen there.
"""

import asyncio

import pytest
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QSystemTrayIcon

from app.notifier import FreedesktopBackend
from tests.notification_bus import FakeNotificationService, PrivateBus
from tests.ui.builders import BASE_TS, ME
from ui.main_window import MainWindow
from ui.notifications import NotificationsController
from ui.tray import (
    BADGE_COLOR,
    ICON_SIZE,
    TrayController,
    badge_pixmap,
    badge_text,
    tray_tooltip,
)

SPACE = "!guild:example.org"
BOARD = "!guild-board:example.org"
ANA = "@ana:example.org"


def plain_icon() -> QIcon:
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(QColor("#1565c0"))
    return QIcon(pixmap)


def is_badge_red(color: QColor) -> bool:
    return (
        abs(color.red() - BADGE_COLOR.red()) < 10
        and abs(color.green() - BADGE_COLOR.green()) < 10
        and abs(color.blue() - BADGE_COLOR.blue()) < 10
    )


def test_badge_painted_top_right():
    image = badge_pixmap(plain_icon(), 3).toImage()

    # Left of the badge: the circle's left edge, away from the digit.
    assert is_badge_red(image.pixelColor(ICON_SIZE - 36, 18))
    assert image.pixelColor(4, ICON_SIZE - 4) == QColor("#1565c0")


def test_badge_absent_without_unread():
    image = badge_pixmap(plain_icon(), 0).toImage()

    assert image.pixelColor(ICON_SIZE - 36, 18) == QColor("#1565c0")


def test_badge_text_caps_at_99():
    assert badge_text(7) == "7"
    assert badge_text(99) == "99"
    assert badge_text(100) == "99+"


def test_large_badge_painted_within_icon():
    image = badge_pixmap(plain_icon(), 250).toImage()

    assert image.width() == ICON_SIZE
    assert is_badge_red(image.pixelColor(ICON_SIZE - 4, 18))


def test_tray_tooltip_counts():
    assert tray_tooltip(0) == "Commonplace: no unread notifications"
    assert tray_tooltip(1) == "Commonplace: 1 unread notification"
    assert tray_tooltip(12) == "Commonplace: 12 unread notifications"


@pytest.fixture
def service():
    with PrivateBus() as bus, FakeNotificationService(bus.address) as fake:
        yield fake


@pytest.fixture
def window(qtbot, qasync_loop, app_session, cache, service):
    cache.space(SPACE, "Data Guild")
    cache.board(BOARD, "Questions", SPACE)
    cache.member(BOARD, ANA, "Ana Lima")
    app_session.announce(cache.commit())
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.notifications = NotificationsController(
        main,
        app_session,
        backend=FreedesktopBackend(service.bus_address),
        enabled=True,
        read_positions=None,
    )
    notifier = main.notifications.notifier
    yield main
    closing = asyncio.ensure_future(notifier.close())
    qtbot.waitUntil(closing.done, timeout=5_000)


def test_no_tray_when_unavailable(window):
    assert not QSystemTrayIcon.isSystemTrayAvailable()

    assert window.tray.tray is None
    assert TrayController(window, window.notifications).tray is None


def test_no_tray_without_notifications(qtbot, qasync_loop, app_session):
    main = MainWindow(app_session)
    qtbot.addWidget(main)

    tray = TrayController(main, main.notifications, available=True)

    assert tray.tray is None


def test_tray_shows_unread_count(window, cache, app_session, qtbot):
    tray = TrayController(window, window.notifications, available=True)
    assert tray.tray.toolTip() == "Commonplace: no unread notifications"
    before = tray.tray.icon().pixmap(ICON_SIZE).toImage()

    root = cache.discussion(BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    cache.reply(BOARD, root, "Try kubectl", sender=ANA, ts=BASE_TS + 10)
    app_session.announce(cache.commit())

    qtbot.waitUntil(
        lambda: tray.tray.toolTip() == "Commonplace: 1 unread notification",
        timeout=5_000,
    )
    assert tray.tray.icon().pixmap(ICON_SIZE).toImage() != before


def test_tray_click_raises_window(window):
    tray = TrayController(window, window.notifications, available=True)
    window.showMinimized()

    tray.tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)

    assert window.isVisible()
    assert not window.isMinimized()


def test_tray_menu_toggles_do_not_disturb(window):
    tray = TrayController(window, window.notifications, available=True)
    labels = [action.text() for action in tray.menu.actions() if action.text()]
    assert labels == ["&Open Commonplace", "Do not &disturb", "&Quit"]
    notifier = window.notifications.notifier

    tray.do_not_disturb_action.trigger()
    assert notifier.do_not_disturb()
    assert tray.do_not_disturb_action.isChecked()

    tray.do_not_disturb_action.trigger()
    assert not notifier.do_not_disturb()
    assert not tray.do_not_disturb_action.isChecked()

    # Turned on from the Notifications menu, it shows checked here too.
    window.notifications.hour_action.trigger()
    assert tray.do_not_disturb_action.isChecked()


def test_tray_quit_closes_window(window):
    window.show()
    tray = TrayController(window, window.notifications, available=True)

    tray.quit_action.trigger()

    assert not window.isVisible()
