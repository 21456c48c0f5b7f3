"""Home: the activity stream in the main window, from the cache and live."""

import asyncio
import time

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from app.records import Membership, Redaction
from app.session import AppSession
from app.store.activity import (
    ALL,
    FOLLOWING,
    MENTIONS,
    PAGE_SIZE,
    UNANSWERED,
    StreamFilter,
)
from app.sync import SyncState
from tests.other_client import OtherClient
from tests.ui.builders import BASE_TS, ME, Session
from ui.home_view import EMPTY_TEXT
from ui.main_window import MainWindow
from ui.models.activity import ITEM_ROLE, MAX_NEW_ITEMS

SPACE = "!guild:example.org"
BOARD = "!guild-board:example.org"
FILES = "!guild-files:example.org"
DESIGN = "!design:example.org"
DESIGN_BOARD = "!design-board:example.org"
ANA = "@ana:example.org"
BEN = "@ben:example.org"


@pytest.fixture
def open_window(qtbot, qasync_loop, app_session):
    def make() -> MainWindow:
        window = MainWindow(app_session)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


@pytest.fixture
def spaces(cache):
    cache.space(SPACE, "Data Guild")
    cache.board(BOARD, "Questions", SPACE)
    cache.board(FILES, "Files", SPACE, kind="files")
    cache.space(DESIGN, "Design")
    cache.board(DESIGN_BOARD, "Critique", DESIGN)
    cache.member(BOARD, ANA, "Ana Lima")
    cache.member(BOARD, BEN, "Ben Okafor")
    return cache


def _rows(window):
    model = window.home_view.model
    return [model.index(row).data() for row in range(model.rowCount())]


def _items(window):
    model = window.home_view.model
    return [model.index(row).data(ITEM_ROLE) for row in range(model.rowCount())]


def _click(qtbot, window, row: int) -> None:
    view = window.home_view.list_view
    index = window.home_view.model.index(row)
    view.scrollTo(index)
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center()
    )


def test_home_replaces_the_discussion_panes(open_window, spaces, qtbot):
    question = spaces.discussion(
        BOARD, "How do we index?", kind="question", sender=ANA, ts=BASE_TS
    )
    spaces.reply(BOARD, question, "Add an index", sender=BEN, ts=BASE_TS + 1000)
    spaces.commit()
    window = open_window()

    window.home_action.trigger()

    assert window.home_view.isVisible()
    assert not window.discussion_pane.isVisible()
    assert not window.thread_view.isVisible()
    assert window.home_entry.isChecked()
    assert window.space_pane.view.selectionModel().selectedIndexes() == []
    assert _rows(window) == [
        "\u2068Ben Okafor\u2069 replied to “\u2068How do we index?\u2069”",
        "\u2068Ana Lima\u2069 asked a question “\u2068How do we index?\u2069”",
    ]
    assert window.home_action.shortcut().toString() == "Ctrl+1"


def test_clicking_a_space_leaves_home(open_window, spaces, qtbot):
    spaces.commit()
    window = open_window()
    window.home_entry.click()
    assert window.home_view.isVisible()

    view = window.space_pane.view
    index = window.space_pane.model.index(0)
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center()
    )

    assert not window.home_view.isVisible()
    assert window.discussion_pane.isVisible()
    assert not window.home_entry.isChecked()
    assert view.selectionModel().isSelected(view.currentIndex())


def test_reply_opens_its_discussion_at_the_reply(open_window, spaces, qtbot):
    root = spaces.discussion(BOARD, "Long thread", sender=ANA)
    replies = [
        spaces.reply(BOARD, root, f"Reply {n}", sender=BEN, ts=BASE_TS + n)
        for n in range(1, 4)
    ]
    spaces.commit()
    window = open_window()
    scrolled = []
    original = window.thread_view.scroll_to_post
    window.thread_view.scroll_to_post = lambda event_id: (
        scrolled.append(event_id) or original(event_id)
    )
    window.show_home()

    _click(qtbot, window, 0)

    assert not window.home_view.isVisible()
    assert window.thread_view.current_discussion() == root
    assert window.discussion_pane.current_entry().room_ids == (BOARD,)
    assert scrolled == [replies[-1]]


def test_discussion_and_like_open_the_post(open_window, spaces, qtbot):
    root = spaces.discussion(BOARD, "Liked post", sender=ANA)
    spaces.commit()
    spaces.reaction(BOARD, root, "👍", BEN)
    spaces.commit()
    window = open_window()
    window.space_pane.select_space(DESIGN)
    window.show_home()
    assert [item.kind for item in _items(window)] == ["like", "discussion"]
    assert _rows(window)[0].startswith("\u2068Ben Okafor\u2069 liked \u2068Ana Lima\u2069’s")

    _click(qtbot, window, 0)

    assert window.space_pane.selected_space() == SPACE
    assert window.thread_view.current_discussion() == root


def test_file_opens_the_files_view_with_it_selected(open_window, spaces, qtbot):
    spaces.file(FILES, "old.pdf", 10, sender=ANA, ts=BASE_TS)
    spaces.file(FILES, "plan.pdf", 2_000, sender=BEN, ts=BASE_TS + 5)
    spaces.commit()
    window = open_window()
    window.show_home()
    assert _items(window)[0].title == "plan.pdf"

    _click(qtbot, window, 0)

    pane = window.discussion_pane
    assert pane.current_entry().kind == "files"
    selected = pane.file_view.selectionModel().selectedRows()
    assert [index.data() for index in selected] == ["plan.pdf"]


def test_join_opens_the_profile_and_keeps_home(open_window, spaces, qtbot):
    spaces._batch(SPACE).items.append(
        Membership(SPACE, "@new:example.org", "join", "Newcomer", None, "$join", BASE_TS)
    )
    spaces.commit()
    window = open_window()
    window.show_home()
    assert _rows(window) == ["\u2068Newcomer\u2069 joined “\u2068Data Guild\u2069”"]

    _click(qtbot, window, 0)

    assert "@new:example.org" in window._profiles
    assert window.home_view.isVisible()


def test_enter_opens_the_current_item(open_window, spaces, qtbot):
    root = spaces.discussion(BOARD, "By keyboard", sender=ANA)
    spaces.commit()
    window = open_window()
    window.show_home()
    view = window.home_view.list_view
    view.setCurrentIndex(window.home_view.model.index(0))

    qtbot.keyClick(view, Qt.Key.Key_Return)

    assert window.thread_view.current_discussion() == root


def test_filters_narrow_the_stream(open_window, spaces, qtbot):
    mine = spaces.discussion(BOARD, "My question", kind="question", sender=ME)
    spaces.discussion(BOARD, "Open question", kind="question", sender=ANA, ts=BASE_TS + 1)
    spaces.reply(BOARD, mine, "An answer", sender=BEN, ts=BASE_TS + 2)
    spaces.discussion(DESIGN_BOARD, "Colours", sender=BEN, ts=BASE_TS + 3)
    spaces.commit()
    window = open_window()
    window.show_home()
    home = window.home_view

    def titles():
        return [item.title for item in _items(window)]

    assert titles() == ["Colours", "My question", "Open question", "My question"]

    home.set_filter(StreamFilter(ALL, DESIGN))
    assert titles() == ["Colours"]
    assert home.space_combo.currentText() == "Design"

    home.set_filter(StreamFilter(FOLLOWING))
    assert [item.excerpt for item in _items(window)] == ["An answer"]

    home.set_filter(StreamFilter(UNANSWERED))
    assert titles() == ["Open question", "My question"]

    mentions = next(
        button
        for button in home.scope_buttons.buttons()
        if button.property("scope") == MENTIONS
    )
    mentions.click()
    assert home.stream_filter() == StreamFilter(MENTIONS)
    assert home.empty_label.isVisible()
    assert home.empty_label.text() == EMPTY_TEXT[MENTIONS]


def test_stream_pages_as_it_scrolls(open_window, spaces, qtbot):
    for number in range(PAGE_SIZE * 2 + 10):
        spaces.discussion(BOARD, f"Post {number}", sender=ANA, ts=BASE_TS + number)
    spaces.commit()
    window = open_window()
    window.show_home()
    model = window.home_view.model
    assert model.rowCount() == PAGE_SIZE

    view = window.home_view.list_view

    def scrolled_to_more():
        view.scrollToBottom()
        return model.rowCount() > PAGE_SIZE

    qtbot.waitUntil(scrolled_to_more)

    while model.canFetchMore():
        model.fetchMore()
    titles = [item.title for item in _items(window)]
    assert len(titles) == PAGE_SIZE * 2 + 10
    assert len(set(titles)) == len(titles)
    assert titles[0] == f"Post {PAGE_SIZE * 2 + 9}"


def test_new_items_appear_and_deleted_ones_leave(open_window, spaces, app_session):
    old = spaces.discussion(BOARD, "Old", sender=ANA, ts=BASE_TS)
    spaces.commit()
    window = open_window()
    window.show_home()

    spaces.discussion(BOARD, "Fresh", sender=BEN, ts=BASE_TS + 60_000)
    app_session.announce(spaces.commit())
    assert [item.title for item in _items(window)] == ["Fresh", "Old"]

    redaction = spaces._event(BOARD, ANA, BASE_TS + 1, "m.room.redaction")
    spaces._batch(BOARD).items.append(Redaction(redaction, BOARD, old))
    app_session.announce(spaces.commit())
    assert [item.title for item in _items(window)] == ["Fresh"]


def test_burst_of_new_items_reloads_the_stream(open_window, spaces, app_session):
    spaces.discussion(BOARD, "Before", sender=ANA, ts=BASE_TS)
    spaces.commit()
    window = open_window()
    window.show_home()

    for number in range(MAX_NEW_ITEMS + 5):
        spaces.discussion(BOARD, f"Burst {number}", sender=BEN, ts=BASE_TS + 1 + number)
    app_session.announce(spaces.commit())

    titles = [item.title for item in _items(window)]
    assert len(titles) == PAGE_SIZE
    assert titles[0] == f"Burst {MAX_NEW_ITEMS + 4}"
    assert window.home_view.model.canFetchMore()


def test_own_profile_change_reads_your(open_window, spaces):
    renamed = Membership(
        SPACE,
        ME,
        "join",
        "New Me",
        None,
        "$rename",
        BASE_TS,
        "join",
        "Old Me",
        None,
    )
    spaces._batch(SPACE).items.append(renamed)
    spaces.commit()
    window = open_window()
    window.show_home()

    assert _rows(window) == ["\u2068You\u2069 changed your name to \u2068New Me\u2069"]


def test_hostile_text_is_shown_literally(open_window, spaces, qtbot):
    spaces.member(BOARD, "@mallory:example.org", "Mal\u202eory <b>x</b>")
    spaces.discussion(
        BOARD,
        "<img src=https://tracker.example/p.png> \u200bTitle",
        body="<script>alert(1)</script>\x1b[2J",
        sender="@mallory:example.org",
    )
    spaces.commit()
    window = open_window()
    window.show_home()

    item = _items(window)[0]
    assert item.actor_name == "Malory <b>x</b>"
    assert item.title == "<img src=https://tracker.example/p.png> Title"
    assert item.excerpt == "<script>alert(1)</script>[2J"
    # The delegate paints the strings as plain text without failing on them.
    view = window.home_view.list_view
    index = window.home_view.model.index(0)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = QRect(0, 0, 600, 120)
    image = QImage(600, 120, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    view.itemDelegate().paint(painter, option, index)
    painter.end()
    assert len({image.pixel(x, 20) for x in range(0, 600, 3)}) > 2


@pytest.mark.synapse
def test_post_from_another_client_appears_live(
    qtbot, qasync_loop, tmp_path, synapse, make_user
):
    author = make_user("author", displayname="Other Author")
    reader = make_user("reader", displayname="Home Reader")
    other = OtherClient(synapse.base_url, author.access_token, author.user_id)
    mine = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    try:
        space, board = other.create_space_with_board(
            "Live Guild", invite=[reader.user_id]
        )
        mine.join(space)
        mine.join(board)
        session = AppSession(
            Session(
                homeserver_url=synapse.base_url,
                user_id=reader.user_id,
                device_id=reader.device_id,
                access_token=reader.access_token,
            ),
            store_path=tmp_path / "cache.sqlite3",
        )
        window = MainWindow(session)
        qtbot.addWidget(window)
        window.show()
        session.start()
        qtbot.waitUntil(
            lambda: window.status_indicator.status().state == SyncState.ONLINE,
            timeout=30_000,
        )
        window.show_home()

        other.discussion(board, "Posted while Home is open")
        posted = time.monotonic()
        qtbot.waitUntil(
            lambda: "Posted while Home is open"
            in [item.title for item in _items(window)],
            timeout=10_000,
        )
        assert time.monotonic() - posted < 10
        item = _items(window)[0]
        assert item.actor_name == "Other Author"
        assert item.space_name == "Live Guild"
    finally:
        other.close()
        mine.close()
    window.close()
    closing = asyncio.ensure_future(session.close())
    qtbot.waitUntil(closing.done, timeout=20_000)
