"""Clicking a desktop notification opens its discussion at the new post.

The test owns org.freedesktop.Notifications on a private D-Bus bus, so it
can send ActionInvoked as the notification server does on a click.
"""

import asyncio
import datetime
import time
from urllib.parse import quote

import pytest

from app.notification_rules import ALL_POSTS, MENTIONS_AND_REPLIES, NOTHING
from app.notification_settings import DO_NOT_DISTURB_KEY, SETTINGS_EVENT
from app.notifier import FreedesktopBackend
from app.read_state import ReadState
from app.session import AppSession
from app.store.queries import DIRECT_SPACE_ID
from app.store.read_state_store import space_room_ids, unsent_receipts
from tests.notification_bus import FakeNotificationService, PrivateBus
from tests.other_client import OtherClient
from tests.ui.builders import BASE_TS, ME, Session
from ui.main_window import MainWindow
from ui.notifications import MORNING_HOUR, NotificationsController, next_morning

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


def test_click_on_direct_message_opens_conversation(
    window, spaces, app_session, service, qtbot
):
    room = spaces.direct("!direct-ana:example.org", ANA, "Ana Lima")
    app_session.announce(spaces.commit())
    window.show_home(True)

    message = spaces.discussion(room, "Lunch on Friday?", sender=ANA, ts=BASE_TS)
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(service.calls) == 1, timeout=5_000)
    assert service.calls[0].summary == "Message from Ana Lima"

    with qtbot.waitSignal(window.notifications.activated, timeout=5_000):
        service.click(service.ids[0])

    assert window.space_pane.selected_space() == DIRECT_SPACE_ID
    assert window.discussion_pane.board_label.text() == "Ana Lima"
    assert window.thread_view.current_discussion() == message


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


def test_next_morning_is_tomorrow_at_eight():
    evening = datetime.datetime(2026, 3, 5, 22, 30).astimezone()
    morning = next_morning(evening)
    assert morning.date() == datetime.date(2026, 3, 6)
    assert (morning.hour, morning.minute) == (MORNING_HOUR, 0)


def test_do_not_disturb_holds_back(window, spaces, app_session, service, qtbot):
    root = spaces.discussion(BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    app_session.announce(spaces.commit())
    controller = window.notifications
    controller.hour_action.trigger()
    assert controller.notifier.do_not_disturb()
    assert controller.off_action.isEnabled()
    assert controller.quiet_label.isVisibleTo(window)
    assert controller.quiet_label.text().startswith("Do not disturb until ")

    reply = spaces.reply(BOARD, root, "Try kubectl", sender=ANA, ts=BASE_TS + 10)
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(controller.notifier.collected) == 1, timeout=5_000)
    assert service.calls == []
    assert controller.held_back_action.text() == "&Held back (1)…"

    dialog = controller.show_held_back()
    assert dialog.list.count() == 1
    assert dialog.list.item(0).text() == (
        "Ana Lima replied in Data Guild\nKubernetes tips\nTry kubectl"
    )
    with qtbot.waitSignal(controller.activated, timeout=5_000):
        dialog.list.itemActivated.emit(dialog.list.item(0))
    assert window.thread_view.current_discussion() == root
    assert reply in [n.event_id for n in controller.notifier.collected]

    dialog.mark_read_button.click()
    assert dialog.list.count() == 0
    assert controller.notifier.collected == []
    assert not controller.held_back_action.isEnabled()

    controller.off_action.trigger()
    assert not controller.quiet_label.isVisibleTo(window)
    # Away from the open discussion, whose new posts are seen as they come.
    window.show_home(True)
    spaces.reply(BOARD, root, "Any news?", sender=ANA, ts=BASE_TS + 20)
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(service.calls) == 1, timeout=5_000)
    dialog.close()


@pytest.mark.synapse
def test_do_not_disturb_shared_across_sign_ins(
    qtbot, qasync_loop, tmp_path, synapse, make_user
):
    user = make_user("dnd")
    sessions = [
        AppSession(
            Session(
                homeserver_url=synapse.base_url,
                user_id=user.user_id,
                device_id=user.device_id,
                access_token=user.access_token,
            ),
            store_path=tmp_path / f"cache{number}.sqlite3",
        )
        for number in range(2)
    ]
    windows = []
    for session in sessions[:1]:
        main = MainWindow(session)
        qtbot.addWidget(main)
        windows.append(main)
    first = windows[0].notifications
    assert first.notifier is not None
    before = time.time()
    first.hour_action.trigger()

    other = OtherClient(synapse.base_url, user.access_token, user.user_id)
    try:
        path = f"/user/{user.user_id}/account_data/{SETTINGS_EVENT}"

        def stored() -> dict | None:
            try:
                return other.call("GET", path)
            except RuntimeError:
                return None

        qtbot.waitUntil(lambda: stored() is not None, timeout=10_000)
        until_ms = stored()[DO_NOT_DISTURB_KEY]
    finally:
        other.close()
    assert before + 3590 < until_ms / 1000 < time.time() + 3610

    # Another sign-in reads it when its window opens.
    second_window = MainWindow(sessions[1])
    qtbot.addWidget(second_window)
    second = second_window.notifications
    with qtbot.waitSignal(second.do_not_disturb_changed, timeout=10_000):
        pass
    assert second.notifier.do_not_disturb()
    assert second.notifier.do_not_disturb_until == until_ms / 1000

    for main in (windows[0], second_window):
        main.close()
    for session in sessions:
        closing = asyncio.ensure_future(session.close())
        qtbot.waitUntil(closing.done, timeout=20_000)


@pytest.mark.synapse
def test_settings_from_another_sign_in_arrive_live(
    qtbot, qasync_loop, tmp_path, synapse, make_user
):
    user = make_user("live-settings")
    session = AppSession(
        Session(
            homeserver_url=synapse.base_url,
            user_id=user.user_id,
            device_id=user.device_id,
            access_token=user.access_token,
        ),
        store_path=tmp_path / "cache.sqlite3",
    )
    laptop = OtherClient(synapse.base_url, user.access_token, user.user_id)
    space, _board = laptop.create_space_with_board("Data Guild")
    main = MainWindow(session)
    qtbot.addWidget(main)
    controller = main.notifications

    def sync() -> None:
        done = asyncio.ensure_future(session.sync.sync_once())
        qtbot.waitUntil(done.done, timeout=20_000)
        done.result()

    sync()
    assert not controller.notifier.do_not_disturb()
    assert controller.notifier.levels.get(space, MENTIONS_AND_REPLIES) == (
        MENTIONS_AND_REPLIES
    )
    try:
        # The other sign-in turns do-not-disturb on and mutes the space,
        # while this window stays open.
        until_ms = int((time.time() + 3600) * 1000)
        laptop.call(
            "PUT",
            f"/user/{user.user_id}/account_data/{SETTINGS_EVENT}",
            json={DO_NOT_DISTURB_KEY: until_ms},
        )
        for room_id in space_room_ids(session.store.reader(), space):
            laptop.call(
                "PUT",
                f"/pushrules/global/override/{quote(room_id, safe='')}",
                json={
                    "conditions": [
                        {"kind": "event_match", "key": "room_id", "pattern": room_id}
                    ],
                    "actions": [],
                },
            )
        with qtbot.waitSignal(controller.do_not_disturb_changed, timeout=10_000):
            sync()
    finally:
        laptop.close()

    assert controller.notifier.do_not_disturb_until == until_ms / 1000
    assert controller.notifier.levels.get(space) == NOTHING
    assert controller.quiet_label.isVisibleTo(main)
    main.close()
    closing = asyncio.ensure_future(session.close())
    qtbot.waitUntil(closing.done, timeout=20_000)


def test_mark_held_back_read_queues_receipts(
    window, spaces, app_session, service, qtbot
):
    # The real read state over the test's cache: receipts are queued there,
    # and nothing sends them without a server.
    app_session.read_state = ReadState(None, app_session.store)

    def queued() -> set[str]:
        return {
            target.event_id for target in unsent_receipts(app_session.store.reader())
        }

    root = spaces.discussion(BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    app_session.announce(spaces.commit())
    controller = window.notifications
    controller.hour_action.trigger()
    spaces.reply(BOARD, root, "Try kubectl", sender=ANA, ts=BASE_TS + 10)
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(controller.notifier.collected) == 1, timeout=5_000)
    assert queued() == set()

    dialog = controller.show_held_back()
    dialog.mark_read_button.click()

    # The cache builder's raw events carry no thread relation, so only the
    # root's receipt is queued here; a synced thread also gets the reply's.
    qtbot.waitUntil(lambda: root in queued(), timeout=5_000)
    assert controller.notifier.collected == []
    dialog.close()


def test_space_level_menu_mutes_space(window, spaces, app_session, service, qtbot):
    root = spaces.discussion(BOARD, "Kubernetes tips", sender=BEN, ts=BASE_TS)
    app_session.announce(spaces.commit())
    controller = window.notifications
    assert window.space_pane.select_space(SPACE)
    controller.menu.aboutToShow.emit()
    assert controller.space_menu.isEnabled()
    assert controller.level_actions[MENTIONS_AND_REPLIES].isChecked()

    controller.level_actions[NOTHING].trigger()
    assert controller.notifier.levels == {SPACE: NOTHING}
    spaces.reply(BOARD, root, f"{ME} please look", sender=ANA, ts=BASE_TS + 10)
    app_session.announce(spaces.commit())
    checked = asyncio.ensure_future(controller.notifier.wait_for_checks())
    qtbot.waitUntil(checked.done, timeout=5_000)
    assert service.calls == []
    assert controller.notifier.collected == []

    # All new posts: a reply in a discussion the user never joined notifies.
    controller.level_actions[ALL_POSTS].trigger()
    spaces.reply(BOARD, root, "Another idea", sender=ANA, ts=BASE_TS + 20)
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(service.calls) == 1, timeout=5_000)
    assert service.calls[0].summary == "Ana Lima replied in Data Guild"
    controller.menu.aboutToShow.emit()
    assert controller.level_actions[ALL_POSTS].isChecked()


def test_open_discussion_in_active_window_quiet(
    window, spaces, app_session, service, qtbot
):
    root = spaces.discussion(BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    other = spaces.discussion(BOARD, "Other topic", sender=ME, ts=BASE_TS + 1)
    app_session.announce(spaces.commit())
    window.open_discussion(BOARD, root)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)

    spaces.reply(BOARD, root, "Seen as it arrives", sender=ANA, ts=BASE_TS + 10)
    spaces.reply(BOARD, other, "Not on screen", sender=ANA, ts=BASE_TS + 11)
    app_session.announce(spaces.commit())

    qtbot.waitUntil(lambda: len(service.calls) == 1, timeout=5_000)
    checked = asyncio.ensure_future(window.notifications.notifier.wait_for_checks())
    qtbot.waitUntil(checked.done, timeout=5_000)
    assert [call.body for call in service.calls] == ["Other topic\nNot on screen"]
