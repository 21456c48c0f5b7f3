"""Read state in the window against a real Synapse: badges, opening, mark all read."""

import pytest

from app.account import Session
from app.session import AppSession
from tests.conftest import TEST_PASSWORD
from tests.other_client import OtherClient
from ui.main_window import MainWindow
from ui.models.roles import ID_ROLE, UNREAD_ROLE
from ui.space_pane import MARK_ALL_READ

pytestmark = pytest.mark.synapse


@pytest.fixture
def author(synapse, make_user):
    user = make_user("author", displayname="Ann Author")
    client = OtherClient(synapse.base_url, user.access_token, user.user_id)
    yield client
    client.close()


@pytest.fixture
def reader(make_user):
    return make_user("reader", displayname="Rita Reader")


@pytest.fixture
def board(synapse, author, reader):
    space, board = author.create_space_with_board(
        "Reading room", invite=[reader.user_id]
    )
    other = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    other.join(space)
    other.join(board)
    other.close()
    return space, board


@pytest.fixture
def window(qtbot, qasync_loop, synapse, reader, tmp_path):
    session = Session(
        synapse.base_url, reader.user_id, reader.device_id, reader.access_token
    )
    app_session = AppSession(session, store_path=tmp_path / "cache.sqlite3")
    window = MainWindow(app_session)
    qtbot.addWidget(window)
    window.show()
    app_session.start()
    yield window
    task = qasync_loop.create_task(app_session.close())
    qtbot.waitUntil(task.done, timeout=10_000)


def _row(model, event_id):
    for row in range(model.rowCount()):
        index = model.index(row)
        if index.data(ID_ROLE) == event_id:
            return index
    return None


def _unread(model, event_id) -> int | None:
    index = _row(model, event_id)
    return None if index is None else index.data(UNREAD_ROLE)


def _space_unread(window, space_id) -> int | None:
    model = window.space_pane.model
    row = model.row_of(space_id)
    return None if row is None else model.index(row).data(UNREAD_ROLE)


def test_opening_discussion_clears_its_badge(qtbot, window, board, author, synapse):
    space, board_id = board
    qtbot.waitUntil(
        lambda: window.space_pane.model.row_of(space) is not None, timeout=20_000
    )
    window.space_pane.select_space(space)
    root = author.discussion(board_id, "Backups")
    author.reply(board_id, root, "Nightly at two")
    author.reply(board_id, root, "And weekly off-site")
    other = author.discussion(board_id, "Coffee machine")
    author.reply(board_id, other, "Broken again")
    model = window.discussion_pane.discussions
    qtbot.waitUntil(lambda: _unread(model, root) == 2, timeout=20_000)
    assert _unread(model, other) == 1
    assert window.discussion_pane.list_view.itemDelegate() is not None

    assert window.discussion_pane.select_discussion(root)
    assert window.thread_view.current_discussion() == root

    qtbot.waitUntil(lambda: _unread(model, root) == 0, timeout=20_000)
    assert _unread(model, other) == 1
    # The other discussion's root and reply are still unread.
    assert _space_unread(window, space) == 2


def test_mark_all_read_clears_space(qtbot, window, board, author):
    space, board_id = board
    qtbot.waitUntil(
        lambda: window.space_pane.model.row_of(space) is not None, timeout=20_000
    )
    root = author.discussion(board_id, "Quarterly review")
    author.reply(board_id, root, "Slides attached")
    author.send(board_id, {"msgtype": "m.text", "body": "Room is booked"})
    qtbot.waitUntil(lambda: _space_unread(window, space) == 3, timeout=20_000)

    menu = window.space_pane.space_menu(space)
    [action] = [a for a in menu.actions() if a.text() == MARK_ALL_READ]
    assert action.isEnabled()
    action.trigger()

    qtbot.waitUntil(lambda: _space_unread(window, space) == 0, timeout=20_000)
    window.space_pane.select_space(space)
    model = window.discussion_pane.discussions
    qtbot.waitUntil(lambda: _row(model, root) is not None, timeout=10_000)
    assert _unread(model, root) == 0


def test_mark_all_read_menu_action(qtbot, window, board, author, synapse, reader):
    space, board_id = board
    qtbot.waitUntil(
        lambda: window.space_pane.model.row_of(space) is not None, timeout=20_000
    )
    author.send(board_id, {"msgtype": "m.text", "body": "Fire drill at ten"})
    qtbot.waitUntil(lambda: _space_unread(window, space) == 1, timeout=20_000)
    window.space_pane.select_space(space)

    window.mark_read_action.trigger()

    qtbot.waitUntil(lambda: _space_unread(window, space) == 0, timeout=20_000)
    # Another device of the same user agrees after its own sync.
    _user, token, _device = synapse.login(reader.localpart, TEST_PASSWORD)
    phone = OtherClient(synapse.base_url, token, reader.user_id)
    response = phone.call("GET", "/sync", params={"timeout": "0"})
    phone.close()
    counts = response["rooms"]["join"][board_id]["unread_notifications"]
    assert counts["notification_count"] == 0


def test_new_reply_in_open_discussion_is_read(qtbot, window, board, author):
    space, board_id = board
    qtbot.waitUntil(
        lambda: window.space_pane.model.row_of(space) is not None, timeout=20_000
    )
    window.space_pane.select_space(space)
    root = author.discussion(board_id, "Deploy freeze")
    model = window.discussion_pane.discussions
    qtbot.waitUntil(lambda: _row(model, root) is not None, timeout=20_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    assert window.discussion_pane.select_discussion(root)

    author.reply(board_id, root, "Starts on Friday")

    document = window.thread_view.document()
    qtbot.waitUntil(
        lambda: "Starts on Friday" in document.toPlainText(), timeout=20_000
    )
    qtbot.waitUntil(lambda: _space_unread(window, space) == 0, timeout=20_000)
    assert _unread(model, root) == 0
