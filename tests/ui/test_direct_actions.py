"""Starting direct conversations from the UI, and the Direct messages entry."""

import asyncio

import pytest
from PySide6.QtWidgets import QWidget

from app.matrix import MatrixClient
from app.matrix import http as matrix_http
from app.records import DirectRooms, Profile
from app.store.queries import DIRECT_SPACE_ID, UNGROUPED_SPACE_ID
from app.store.writes import apply_sync, save_profiles
from devtools.synapse import free_port
from tests.ui.builders import ME, FakeAppSession, Session
from ui.direct_actions import OFFLINE_MESSAGE, DirectActions
from ui.main_window import MainWindow
from ui.models.roles import ID_ROLE, SUBTITLE_ROLE

BOB = "@bob:example.org"
DIRECT_ROOM = "!direct:example.org"
PLAIN_ROOM = "!plain:example.org"


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    async def no_sleep(seconds):
        return None

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


@pytest.fixture
def close_clients(qtbot):
    clients = []
    yield clients
    for client in clients:
        task = asyncio.ensure_future(client.aclose())
        qtbot.waitUntil(task.done, timeout=5_000)


def make_window(qtbot, app_session) -> MainWindow:
    window = MainWindow(app_session)
    qtbot.addWidget(window)
    window.show()
    return window


def sidebar(window):
    model = window.space_pane.model
    return {
        model.index(row).data(ID_ROLE): model.index(row).data()
        for row in range(model.rowCount())
    }


@pytest.fixture
def owner(qtbot) -> QWidget:
    """A parent for DirectActions that qtbot deletes, so no runner outlives a test."""
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def offline_session(store, close_clients) -> FakeAppSession:
    session = FakeAppSession(store)
    session.client = MatrixClient(f"http://127.0.0.1:{free_port()}", "token")
    close_clients.append(session.client)
    return session


@pytest.mark.synapse
def test_room_ready_shows_direct_entry(
    qtbot, qasync_loop, store, synapse, make_user, close_clients
):
    me = make_user("me", displayname="Mia Me")
    bob = make_user("bob", displayname="Bob Builder")
    store.write_blocking(save_profiles, [Profile(bob.user_id, "Bob Builder", None)], 1)
    session = FakeAppSession(
        store, Session(homeserver_url=synapse.base_url, user_id=me.user_id)
    )
    session.client = MatrixClient(synapse.base_url, me.access_token)
    close_clients.append(session.client)
    window = make_window(qtbot, session)
    actions = DirectActions(session, window)
    actions.room_ready.connect(window.open_direct_room)

    with qtbot.waitSignal(actions.room_ready, timeout=20_000) as ready:
        actions.message(bob.user_id)

    room_id = ready.args[0]
    assert room_id.startswith("!")
    assert sidebar(window) == {DIRECT_SPACE_ID: "Direct messages"}
    assert window.space_pane.selected_space() == DIRECT_SPACE_ID
    pane = window.discussion_pane
    assert pane.title_label.text() == "Direct messages"
    assert pane.board_label.text() == "Bob Builder"
    assert pane.board_for_new_discussion() == room_id
    index = window.space_pane.model.index(0)
    assert index.data(SUBTITLE_ROLE) == "Bob Builder"


def test_offline_message_says_so(qtbot, qasync_loop, store, owner, close_clients):
    session = offline_session(store, close_clients)
    actions = DirectActions(session, owner)
    messages = []
    actions.failed.connect(messages.append)

    with qtbot.waitSignal(actions.failed, timeout=20_000):
        actions.message(BOB)

    assert messages == [OFFLINE_MESSAGE]
    assert not actions.is_opening(BOB)


def test_second_request_while_opening_is_ignored(
    qtbot, qasync_loop, store, owner, close_clients
):
    session = offline_session(store, close_clients)
    actions = DirectActions(session, owner)
    messages = []
    actions.failed.connect(messages.append)

    with qtbot.waitSignal(actions.failed, timeout=20_000):
        actions.message(BOB)
        actions.message(BOB)
        assert actions.is_opening(BOB)
    qtbot.wait(200)

    assert messages == [OFFLINE_MESSAGE]


def test_own_user_id_is_refused(qtbot, qasync_loop, store, owner, close_clients):
    session = offline_session(store, close_clients)
    actions = DirectActions(session, owner)

    with qtbot.waitSignal(actions.failed, timeout=5_000) as failed:
        actions.message(ME)

    assert "your own account" in failed.args[0]


def test_cached_direct_room_listed_apart(qtbot, qasync_loop, cache, store, app_session):
    cache.board(DIRECT_ROOM, None, None)
    cache.board(PLAIN_ROOM, "Plain room", None)
    cache.discussion(DIRECT_ROOM, "Lunch on Friday?", sender=BOB)
    cache.profile(Profile(BOB, "Bob Builder", None))
    cache.commit()
    direct = DirectRooms({BOB: (DIRECT_ROOM,)})
    store.write_blocking(apply_sync, [], None, [], direct)
    window = make_window(qtbot, app_session)

    assert sidebar(window) == {
        DIRECT_SPACE_ID: "Direct messages",
        UNGROUPED_SPACE_ID: "Other rooms",
    }
    window.space_pane.select_space(UNGROUPED_SPACE_ID)
    assert window.discussion_pane.board_label.text() == "Plain room"
    assert window.open_direct_room(DIRECT_ROOM)
    pane = window.discussion_pane
    assert pane.board_label.text() == "Bob Builder"
    assert pane.discussions.index(0).data() == "Lunch on Friday?"


def test_unknown_room_is_not_opened(qtbot, qasync_loop, cache, app_session):
    cache.board(PLAIN_ROOM, "Plain room", None)
    cache.commit()
    window = make_window(qtbot, app_session)

    assert not window.open_direct_room("!missing:example.org")
    assert "not in the cache" in window.statusBar().currentMessage()


@pytest.mark.synapse
def test_message_button_on_a_profile_opens_the_conversation(
    qtbot, qasync_loop, store, synapse, make_user, close_clients
):
    me = make_user("me", displayname="Mia Me")
    bob = make_user("bob", displayname="Bob Builder")
    store.write_blocking(save_profiles, [Profile(bob.user_id, "Bob Builder", None)], 1)
    session = FakeAppSession(
        store, Session(homeserver_url=synapse.base_url, user_id=me.user_id)
    )
    session.client = MatrixClient(synapse.base_url, me.access_token)
    close_clients.append(session.client)
    window = make_window(qtbot, session)
    profile = window.show_profile(bob.user_id)

    with qtbot.waitSignal(window.direct_actions.room_ready, timeout=20_000):
        profile.action_button.click()

    assert window.space_pane.selected_space() == DIRECT_SPACE_ID
    assert window.discussion_pane.board_label.text() == "Bob Builder"


def test_message_button_offline_explains_in_the_status_bar(
    qtbot, qasync_loop, store, close_clients
):
    session = offline_session(store, close_clients)
    window = make_window(qtbot, session)
    profile = window.show_profile(BOB)

    with qtbot.waitSignal(window.direct_actions.failed, timeout=20_000):
        profile.action_button.click()

    assert window.statusBar().currentMessage() == OFFLINE_MESSAGE
