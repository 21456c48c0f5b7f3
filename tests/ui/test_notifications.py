"""Clicking a desktop notification opens its discussion at the new post.

The test owns org.freedesktop.Notifications on a private D-Bus bus, so it
can send ActionInvoked as the notification server does on a click.
"""

import asyncio

import pytest

from app.notifier import FreedesktopBackend
from tests.notification_bus import FakeNotificationService, PrivateBus
from tests.ui.builders import BASE_TS, ME
from ui.main_window import MainWindow
from ui.notifications import NotificationsController

SPACE = "!guild:example.org"
BOARD = "!guild-board:example.org"
OTHER_SPACE = "!platform:example.org"
OTHER_BOARD = "!platform-board:example.org"
ANA = "@ana:example.org"
BEN = "@ben:example.org"


@pytest.fixture
def service():
    with PrivateBus() as bus, FakeNotificationService(bus.address) as fake:
        yield fake


@pytest.fixture
def spaces(cache):
    cache.space(SPACE, "Data Guild")
    cache.board(BOARD, "Questions", SPACE)
    cache.space(OTHER_SPACE, "Platform")
    cache.board(OTHER_BOARD, "Ops", OTHER_SPACE)
    cache.member(BOARD, ANA, "Ana Lima")
    cache.member(BOARD, BEN, "Ben Okafor")
    return cache


@pytest.fixture
def window(qtbot, qasync_loop, app_session, spaces, service):
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    controller = NotificationsController(
        main,
        app_session,
        backend=FreedesktopBackend(service.bus_address),
        enabled=True,
        # The cache builder writes no unread counts, which would read as
        # everything read; the Synapse tests cover the server's counts.
        read_positions=None,
    )
    main.notifications = controller
    notifier = controller.notifier
    yield main
    closing = asyncio.ensure_future(notifier.close())
    qtbot.waitUntil(closing.done, timeout=5_000)


def test_notifications_off_without_sync(qtbot, qasync_loop, app_session):
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    assert main.notifications.notifier is None


def test_click_opens_discussion_at_reply(window, spaces, app_session, service, qtbot):
    root = spaces.discussion(BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    for number in range(1, 30):
        spaces.reply(
            BOARD, root, f"Earlier reply {number}", sender=BEN, ts=BASE_TS + number
        )
    app_session.announce(spaces.commit())
    scrolled = []
    original = window.thread_view.scroll_to_post
    window.thread_view.scroll_to_post = lambda event_id: (
        scrolled.append(event_id) or original(event_id)
    )
    window.show_home(True)

    reply = spaces.reply(
        BOARD, root, "Try kubectl rollout", sender=ANA, ts=BASE_TS + 100
    )
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(service.calls) == 1, timeout=5_000)
    assert service.calls[0].summary == "Ana Lima replied in Data Guild"
    assert service.calls[0].body == "Kubernetes tips\nTry kubectl rollout"
    assert service.calls[0].actions == ["default", "Open"]

    with qtbot.waitSignal(window.notifications.activated, timeout=5_000):
        service.click(service.ids[0])

    assert not window.home_view.isVisible()
    assert window.thread_view.current_discussion() == root
    assert scrolled == [reply]
    assert "Try kubectl rollout" in window.thread_view.marked_text()


def test_click_on_summary_opens_home(window, spaces, app_session, service, qtbot):
    app_session.announce(spaces.commit())
    for number in range(4):
        board = BOARD if number < 3 else OTHER_BOARD
        spaces.discussion(
            board,
            f"Notice {number}",
            kind="announcement",
            sender=ANA,
            ts=BASE_TS + number,
        )
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(service.calls) == 1, timeout=5_000)
    assert service.calls[0].summary == "4 new posts in Data Guild and 1 other space"

    with qtbot.waitSignal(window.notifications.activated, timeout=5_000):
        service.click(service.ids[0])

    assert window.home_view.isVisible()
    assert window.home_entry.isChecked()


def test_click_on_unknown_id_does_nothing(window, spaces, app_session, service, qtbot):
    app_session.announce(spaces.commit())
    with qtbot.assertNotEmitted(window.notifications.activated, wait=300):
        service.click(42)
