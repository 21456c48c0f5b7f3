"""The notifications panel: past notifications from the cache, opened and marked read."""

import asyncio

import pytest
from PySide6.QtGui import QFont

from app.account import Session
from app.notification_rules import NOTHING
from app.notifier import FreedesktopBackend, server_read_positions
from app.read_state import ReadState
from app.session import AppSession
from app.store.read_state_store import unsent_receipts
from tests.notification_bus import FakeNotificationService, PrivateBus
from tests.other_client import OtherClient
from tests.ui.builders import BASE_TS, ME
from ui.main_window import MainWindow
from ui.notifications import NotificationsController
from ui.notifications_panel import UNREAD_MARK, bell_text

SPACE = "!guild:example.org"
BOARD = "!guild-board:example.org"
OTHER_BOARD = "!guild-archive:example.org"
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
    cache.member(BOARD, ANA, "Ana Lima")
    cache.member(BOARD, BEN, "Ben Okafor")
    return cache


@pytest.fixture
def open_window(qtbot, qasync_loop, app_session, service):
    """Return a function that opens the window with its notifications on."""
    opened = []

    def open_with(read_positions=None):
        main = MainWindow(app_session)
        qtbot.addWidget(main)
        main.show()
        main.notifications = NotificationsController(
            main,
            app_session,
            backend=FreedesktopBackend(service.bus_address),
            enabled=True,
            read_positions=read_positions,
        )
        # The first list is read in the background; the signal cannot come
        # before the event loop runs again, which waitSignal does.
        with qtbot.waitSignal(main.notifications.refreshed, timeout=5_000):
            pass
        opened.append(main.notifications.notifier)
        return main

    yield open_with
    for notifier in opened:
        closing = asyncio.ensure_future(notifier.close())
        qtbot.waitUntil(closing.done, timeout=5_000)


def show_panel(controller, qtbot):
    """Open the panel and wait until it shows the list read afresh."""
    with qtbot.waitSignal(controller.refreshed, timeout=5_000):
        panel = controller.show_notifications()
    return panel


def refresh(controller, qtbot):
    with qtbot.waitSignal(controller.refreshed, timeout=5_000):
        controller.refresh()


def add_history(spaces) -> dict[str, str]:
    """Write posts of which three notify the user; return their ids by name."""
    mine = spaces.discussion(BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    reply = spaces.reply(BOARD, mine, "Try kubectl", sender=ANA, ts=BASE_TS + 10)
    # Neither a new discussion by someone else nor a like notifies by default.
    other = spaces.discussion(BOARD, "Lunch plans", sender=BEN, ts=BASE_TS + 20)
    spaces.reaction(BOARD, mine, "👍", sender=BEN)
    notice = spaces.discussion(
        BOARD, "Office closed", kind="announcement", sender=ANA, ts=BASE_TS + 30
    )
    mention = spaces.reply(
        BOARD, other, f"{ME} can you bring plates?", sender=BEN, ts=BASE_TS + 40
    )
    # The user's own reply never notifies.
    spaces.reply(BOARD, mine, "Thanks", sender=ME, ts=BASE_TS + 5)
    spaces.commit()
    return {
        "mine": mine,
        "reply": reply,
        "other": other,
        "notice": notice,
        "mention": mention,
    }


def test_panel_lists_cached_notifications(spaces, open_window, qtbot):
    add_history(spaces)
    # The posts were cached before the window opened, as after a restart.
    window = open_window()
    controller = window.notifications

    panel = show_panel(controller, qtbot)

    texts = [panel.list.item(row).text() for row in range(panel.list.count())]
    assert texts == [
        UNREAD_MARK + "Ben Okafor mentioned you in Data Guild\n"
        f"Lunch plans\n{ME} can you bring plates?",
        UNREAD_MARK + "Ana Lima posted an announcement in Data Guild\n"
        "Office closed\nBody of Office closed.",
        UNREAD_MARK + "Ana Lima replied in Data Guild\nKubernetes tips\nTry kubectl",
    ]
    assert panel.list.item(0).font().weight() == QFont.Weight.Bold
    assert controller.unread == 3
    assert window.notifications.bell.text() == bell_text(3)


def test_panel_row_opens_discussion_at_reply(spaces, open_window, qtbot):
    ids = add_history(spaces)
    window = open_window()
    controller = window.notifications
    window.show_home(True)
    panel = show_panel(controller, qtbot)

    with qtbot.waitSignal(controller.activated, timeout=5_000):
        panel.list.itemActivated.emit(panel.list.item(2))

    assert not window.home_view.isVisible()
    assert window.thread_view.current_discussion() == ids["mine"]
    assert "Try kubectl" in window.thread_view.marked_text()


def test_panel_lists_new_posts_as_they_arrive(spaces, app_session, open_window, qtbot):
    ids = add_history(spaces)
    window = open_window()
    controller = window.notifications
    panel = show_panel(controller, qtbot)

    spaces.reply(BOARD, ids["mine"], "Or helm", sender=BEN, ts=BASE_TS + 50)
    app_session.announce(spaces.commit())

    qtbot.waitUntil(lambda: panel.list.count() == 4, timeout=5_000)
    assert panel.list.item(0).text().startswith(UNREAD_MARK + "Ben Okafor replied")
    assert controller.unread == 4


def test_mark_read_queues_receipt(spaces, app_session, open_window, qtbot):
    ids = add_history(spaces)
    app_session.read_state = ReadState(None, app_session.store)
    window = open_window()
    controller = window.notifications
    panel = show_panel(controller, qtbot)
    assert [entry.item.event_id for entry in panel.entries()][1] == ids["notice"]

    panel.list.item(1).setSelected(True)
    assert panel.mark_read_button.isEnabled()
    with qtbot.waitSignal(controller.unread_changed, timeout=5_000) as changed:
        panel.mark_read_button.click()

    assert changed.args == [2]
    queued = {target.event_id for target in unsent_receipts(app_session.store.reader())}
    assert ids["notice"] in queued
    row = panel.list.item(1)
    assert not row.text().startswith(UNREAD_MARK)
    assert row.font().weight() != QFont.Weight.Bold
    assert panel.list.item(0).text().startswith(UNREAD_MARK)
    assert window.notifications.bell.text() == bell_text(2)


def test_context_menu_marks_read(spaces, app_session, open_window, qtbot):
    ids = add_history(spaces)
    app_session.read_state = ReadState(None, app_session.store)
    window = open_window()
    controller = window.notifications
    panel = show_panel(controller, qtbot)
    panel.list.setCurrentItem(panel.list.item(1))

    menu = panel.context_menu()
    labels = [action.text() for action in menu.actions()]
    assert labels == ["&Open", "&Mark read"]
    with qtbot.waitSignal(controller.unread_changed, timeout=5_000):
        menu.actions()[1].trigger()

    assert ids["notice"] in {
        target.event_id for target in unsent_receipts(app_session.store.reader())
    }


def test_mark_all_read_queues_receipts(spaces, app_session, open_window, qtbot):
    ids = add_history(spaces)
    app_session.read_state = ReadState(None, app_session.store)
    window = open_window()
    controller = window.notifications
    panel = show_panel(controller, qtbot)

    panel.mark_all_read_button.click()

    # The cache builder's raw events carry no thread relation, so each
    # discussion gets only its root's receipt here. The room keeps one
    # main-timeline receipt, at the newest root: the announcement.
    qtbot.waitUntil(lambda: controller.unread == 2, timeout=5_000)
    queued = {target.event_id for target in unsent_receipts(app_session.store.reader())}
    assert queued == {ids["notice"]}
    panel.unread_only.setChecked(True)
    assert [entry.item.event_id for entry in panel.entries()] == [
        ids["mention"],
        ids["reply"],
    ]


def test_server_counts_decide_read(spaces, open_window, qtbot):
    ids = add_history(spaces)
    # Two unread posts in the board's main timeline, none in its threads.
    spaces.board(BOARD, "Questions", SPACE, unread=2)
    spaces.commit()
    window = open_window(read_positions=server_read_positions)
    panel = show_panel(window.notifications, qtbot)

    read = {entry.item.event_id: entry.read for entry in panel.entries()}
    assert read == {ids["mention"]: True, ids["notice"]: False, ids["reply"]: True}
    assert window.notifications.unread == 1


def test_muted_space_leaves_panel(spaces, open_window, qtbot):
    add_history(spaces)
    window = open_window()
    controller = window.notifications
    panel = show_panel(controller, qtbot)
    assert panel.list.count() == 3

    controller.set_space_level(SPACE, NOTHING)

    qtbot.waitUntil(lambda: panel.list.count() == 0, timeout=5_000)
    assert panel.empty_label.isVisibleTo(panel)
    assert controller.unread == 0


def test_held_back_posts_listed_in_panel(
    spaces, app_session, open_window, service, qtbot
):
    ids = add_history(spaces)
    window = open_window()
    controller = window.notifications
    controller.hour_action.trigger()

    reply = spaces.reply(BOARD, ids["mine"], "Or helm", sender=BEN, ts=BASE_TS + 50)
    app_session.announce(spaces.commit())
    qtbot.waitUntil(lambda: len(controller.notifier.collected) == 1, timeout=5_000)
    assert service.calls == []

    panel = show_panel(controller, qtbot)
    assert panel.entries()[0].item.event_id == reply
    panel.mark_all_read_button.click()
    assert controller.notifier.collected == []
    assert not controller.held_back_action.isEnabled()


def test_bell_opens_panel(spaces, open_window):
    add_history(spaces)
    window = open_window()
    bell = window.notifications.bell
    assert bell.toolTip() == "3 unread notifications: show notifications"

    bell.click()

    assert window.notifications.panel.isVisible()
    window.notifications.panel.close()


def test_menu_opens_panel(spaces, open_window):
    window = open_window()
    controller = window.notifications

    controller.show_action.trigger()

    assert controller.panel.isVisible()
    assert controller.panel.empty_label.isVisibleTo(controller.panel)
    assert not controller.panel.mark_all_read_button.isEnabled()
    controller.panel.close()


@pytest.mark.synapse
def test_mark_read_reaches_other_sign_ins(
    qtbot, qasync_loop, tmp_path, synapse, make_user
):
    author = make_user("panelauthor", displayname="Ann Author")
    reader = make_user("panelreader", displayname="Rita Reader")
    author_client = OtherClient(synapse.base_url, author.access_token, author.user_id)
    reader_client = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    try:
        space, board = author_client.create_space_with_board(
            "Reading room", invite=[reader.user_id]
        )
        reader_client.join(space)
        reader_client.join(board)
        root = reader_client.discussion(board, "Backups")
        reply = author_client.reply(board, root, "Nightly at two")
    finally:
        author_client.close()
        reader_client.close()

    def sign_in(name: str) -> tuple[AppSession, MainWindow]:
        session = AppSession(
            Session(
                synapse.base_url, reader.user_id, reader.device_id, reader.access_token
            ),
            store_path=tmp_path / f"{name}.sqlite3",
        )
        main = MainWindow(session)
        qtbot.addWidget(main)
        session.start()
        return session, main

    def entries(main) -> dict[str, bool]:
        refresh(main.notifications, qtbot)
        return {entry.item.event_id: entry.read for entry in main.notifications.entries}

    first_session, first = sign_in("first")
    second_session = None
    try:
        qtbot.waitUntil(lambda: entries(first) == {reply: False}, timeout=20_000)
        panel = show_panel(first.notifications, qtbot)
        panel.mark_all_read_button.click()
        # Read at once from the queued receipt, then by the server's counts.
        qtbot.waitUntil(lambda: entries(first) == {reply: True}, timeout=20_000)

        second_session, second = sign_in("second")
        qtbot.waitUntil(lambda: entries(second) == {reply: True}, timeout=20_000)
        assert second.notifications.unread == 0
        panel.close()
    finally:
        for session in (first_session, second_session):
            if session is not None:
                closing = asyncio.ensure_future(session.close())
                qtbot.waitUntil(closing.done, timeout=20_000)


def test_follow_button_lists_followed_replies(spaces, app_session, open_window, qtbot):
    ids = add_history(spaces)
    other = ids["other"]
    window = open_window()
    controller = window.notifications
    window.show_home(False)
    window.thread_view.show_discussion(other)
    button = window.thread_view.follow_button
    assert button.isVisibleTo(window.thread_view)
    assert button.text() == "Follow"
    assert not button.isChecked()

    # A reply in a discussion the user does not follow is not listed.
    spaces.reply(BOARD, other, "Bring forks", sender=ANA, ts=BASE_TS + 50)
    app_session.announce(spaces.commit())
    checked = asyncio.ensure_future(controller.notifier.wait_for_checks())
    qtbot.waitUntil(checked.done, timeout=5_000)
    refresh(controller, qtbot)
    assert len(controller.entries) == 3

    button.click()

    assert button.text() == "Following"
    qtbot.waitUntil(lambda: len(controller.entries) == 4, timeout=5_000)
    assert controller.entries[0].notification.title == "Ana Lima replied in Data Guild"
    assert controller.entries[0].item.excerpt == "Bring forks"


def test_unfollow_own_discussion_silences_replies(spaces, open_window, qtbot):
    ids = add_history(spaces)
    window = open_window()
    controller = window.notifications
    window.show_home(False)
    window.thread_view.show_discussion(ids["mine"])
    button = window.thread_view.follow_button
    assert button.text() == "Following"
    assert ids["reply"] in {entry.item.event_id for entry in controller.entries}

    button.click()

    assert button.text() == "Follow"
    qtbot.waitUntil(
        lambda: ids["reply"] not in {e.item.event_id for e in controller.entries},
        timeout=5_000,
    )
    # Read back from the cache when the discussion is shown again.
    window.thread_view.show_discussion(ids["mine"])
    assert not button.isChecked()


def test_follow_button_disabled_while_unsent(spaces, app_session, open_window, qtbot):
    spaces.commit()
    window = open_window()
    queued = asyncio.ensure_future(
        app_session.outbox.queue_discussion(BOARD, "Draft plan", "Body")
    )
    qtbot.waitUntil(queued.done, timeout=5_000)
    window.show_home(False)

    window.thread_view.show_discussion(queued.result())

    button = window.thread_view.follow_button
    assert not button.isEnabled()
    assert button.text() == "Following"


def test_mark_all_read_reaches_past_the_listed_hundred(
    spaces, app_session, open_window, qtbot
):
    # Five older notices in a second board, then a hundred newer ones.
    spaces.board(OTHER_BOARD, "Archive", SPACE)
    older = [
        spaces.discussion(
            OTHER_BOARD,
            f"Old {number}",
            kind="announcement",
            sender=ANA,
            ts=BASE_TS + number,
        )
        for number in range(5)
    ]
    for number in range(100):
        spaces.discussion(
            BOARD,
            f"New {number}",
            kind="announcement",
            sender=ANA,
            ts=BASE_TS + 100 + number,
        )
    spaces.commit()
    app_session.read_state = ReadState(None, app_session.store)
    window = open_window()
    controller = window.notifications
    panel = show_panel(controller, qtbot)
    assert controller.bell.text() == bell_text(100, more=True)
    marked: set[str] = set()
    original = controller.mark_read

    def recording(entries):
        marked.update(entry.item.discussion_id for entry in entries)
        original(entries)

    controller.mark_read = recording

    panel.mark_all_read_button.click()

    qtbot.waitUntil(lambda: set(older) <= marked, timeout=5_000)
