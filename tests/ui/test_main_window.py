"""The main window over a cache written through apply_sync, with no server."""

import pytest
from PySide6.QtCore import Qt, QUrl

from app.records import Profile
from app.text import isolate
from tests.ui.builders import BASE_TS
from ui.discussion_pane import INVITED, NO_BOARDS, NO_DISCUSSIONS
from ui.main_window import MainWindow
from ui.models.discussions import PAGE_SIZE
from ui.models.roles import (
    AUTHOR_ROLE,
    HIGHLIGHT_ROLE,
    ID_ROLE,
    INVITED_ROLE,
    UNREAD_ROLE,
)
from ui.space_pane import NO_SPACES, NOT_SYNCED
from ui.text_format import UNNAMED_SPACE
from ui.thread_view import ENCRYPTED_NOTICE


@pytest.fixture
def open_window(qtbot, qasync_loop, app_session):
    def make() -> MainWindow:
        window = MainWindow(app_session)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


def _space_names(window):
    model = window.space_pane.model
    return [model.index(row).data() for row in range(model.rowCount())]


def _discussion_titles(window):
    model = window.discussion_pane.discussions
    return [model.index(row).data() for row in range(model.rowCount())]


def test_space_list_shows_names_and_unread_counts(open_window, cache):
    cache.space("!a:x", "Data engineering", unread=3)
    cache.space("!b:x", "Onboarding", unread=12, highlight=2)
    cache.board("!board:x", "General", "!a:x", unread=4)
    cache.commit()
    main = open_window()

    assert _space_names(main) == ["Data engineering", "Onboarding"]
    model = main.space_pane.model
    assert model.index(0).data(UNREAD_ROLE) == 3 + 4
    assert model.index(1).data(UNREAD_ROLE) == 12
    assert model.index(1).data(HIGHLIGHT_ROLE) == 2


def test_invited_space_is_marked_and_explained(open_window, cache):
    cache.space("!a:x", "Joined space")
    cache.space("!invite:x", "Book club", membership="invite")
    cache.commit()
    main = open_window()

    assert _space_names(main) == ["Joined space", "Book club"]
    invited = main.space_pane.model.index(1)
    assert invited.data(INVITED_ROLE) is True
    assert "invited" in invited.data(Qt.ItemDataRole.ToolTipRole)
    main.space_pane.select_space("!invite:x")
    assert main.discussion_pane.message() == INVITED


def test_selecting_space_lists_newest_activity_first(open_window, cache):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    cache.board("!two:x", "Two", "!a:x")
    # One commit per event: each is a sync, so the timeline order is this order.
    old = cache.discussion("!one:x", "Old topic", ts=BASE_TS)
    cache.commit()
    cache.discussion("!two:x", "Middle topic", ts=BASE_TS + 1000)
    cache.commit()
    cache.discussion("!one:x", "Newest topic", ts=BASE_TS + 2000)
    cache.commit()
    cache.reply("!one:x", old, "A reply makes the old topic the most active")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")

    assert _discussion_titles(main) == ["Old topic", "Newest topic", "Middle topic"]
    assert main.discussion_pane.count_label.text() == "3 discussions"


def test_discussion_list_pages_with_fetch_more(open_window, cache):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    for number in range(PAGE_SIZE * 2 + 5):
        cache.discussion("!one:x", f"Topic {number}", ts=BASE_TS + number)
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    model = main.discussion_pane.discussions

    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore()
    main.discussion_pane.list_view.scrollToBottom()
    model.fetchMore()
    model.fetchMore()
    assert model.rowCount() == PAGE_SIZE * 2 + 5
    assert not model.canFetchMore()
    titles = _discussion_titles(main)
    assert titles[0] == f"Topic {PAGE_SIZE * 2 + 4}"
    assert titles[-1] == "Topic 0"


def test_replies_follow_timeline_order_not_clock(open_window, cache):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Clock skew", ts=BASE_TS)
    # The second reply's sender has a clock an hour behind.
    cache.reply("!one:x", root, "First in the timeline", ts=BASE_TS + 60_000)
    cache.reply("!one:x", root, "Second in the timeline", ts=BASE_TS - 3_600_000)
    cache.reply("!one:x", root, "Third in the timeline", ts=BASE_TS + 120_000)
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    main.discussion_pane.select_discussion(root)

    text = main.thread_view.document().toPlainText()
    first = text.index("First in the timeline")
    second = text.index("Second in the timeline")
    third = text.index("Third in the timeline")
    assert first < second < third
    assert "3 replies" in text


def test_hostile_body_renders_without_active_content(open_window, cache):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    hostile = (
        "<p>Hello<script>alert('x')</script></p>"
        '<p><img src="http://127.0.0.1:9/tracker.png" onerror="alert(1)"></p>'
        '<p><a href="javascript:alert(2)">click me</a></p>'
        '<p onclick="alert(3)">still text</p>'
    )
    root = cache.discussion(
        "!one:x", "Hostile", body="Hello", formatted_body=hostile, ts=BASE_TS
    )
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    main.discussion_pane.select_discussion(root)
    browser = main.thread_view.browser
    html = browser.toHtml()

    assert "script" not in html.lower()
    assert "alert" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "tracker.png" not in html
    assert "click me" in browser.toPlainText()
    assert "still text" in browser.toPlainText()
    assert browser.rejected_urls == []


def test_display_name_renders_as_literal_isolated_text(open_window, cache):
    hostile_name = '<b>Bold</b> & "Quoted" \u202egnp.exe\u200b Zero\u200bWidth'
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    cache.member("!one:x", "@mallory:example.org", hostile_name)
    root = cache.discussion("!one:x", "Names", sender="@mallory:example.org")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    main.discussion_pane.select_discussion(root)

    text = main.thread_view.document().toPlainText()
    expected = '<b>Bold</b> & "Quoted" gnp.exe ZeroWidth'
    assert f"\u2068{expected}\u2069" in text
    assert "\u202e" not in text
    assert "\u200b" not in text
    html = main.thread_view.browser.toHtml()
    assert "<b>Bold</b>" not in html
    author = main.discussion_pane.discussions.index(0).data(AUTHOR_ROLE)
    assert author == expected


def test_empty_and_long_space_names(open_window, cache, qtbot):
    long_name = "Communities of practice " * 21  # more than 500 characters
    cache.space("!empty:x", "")
    cache.space("!long:x", long_name)
    cache.commit()
    main = open_window()
    main.resize(1024, 700)

    names = _space_names(main)
    assert UNNAMED_SPACE in names
    long_row = names.index(long_name.strip())
    tooltip = main.space_pane.model.index(long_row).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(long_name.strip())
    main.space_pane.select_space("!long:x")
    title = main.discussion_pane.title_label
    qtbot.waitUntil(lambda: title.width() > 0)
    assert title.text() == long_name.strip()
    assert title.elided_text().endswith("…")
    assert title.toolTip() == long_name.strip()


def test_encrypted_board_says_so(open_window, cache):
    cache.space("!a:x", "Space")
    cache.board("!secret:x", "Secret board", "!a:x", encrypted=True)
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")

    assert main.discussion_pane.message() == ENCRYPTED_NOTICE


def test_encrypted_board_is_named_beside_readable_ones(open_window, cache):
    cache.space("!a:x", "Space")
    cache.board("!open:x", "Open board", "!a:x")
    cache.board("!secret:x", "Secret board", "!a:x", encrypted=True)
    cache.discussion("!open:x", "Readable")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")

    assert _discussion_titles(main) == ["Readable"]
    assert main.discussion_pane.banner.isVisible()
    assert "Secret board" in main.discussion_pane.banner.text()
    main.discussion_pane.choose_board("!secret:x")
    assert main.discussion_pane.message() == ENCRYPTED_NOTICE


def test_empty_states_have_sentences(open_window, cache, app_session):
    main = open_window()
    assert main.space_pane.empty_label.text() == NOT_SYNCED
    main.close()

    cache.space("!a:x", "No boards")
    cache.space("!b:x", "Quiet")
    cache.board("!quiet:x", "Quiet board", "!b:x")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    assert main.discussion_pane.message() == NO_BOARDS
    main.space_pane.select_space("!b:x")
    assert main.discussion_pane.message() == NO_DISCUSSIONS


def test_no_spaces_after_sync_says_so(open_window, store, qtbot):
    from app.store.writes import apply_sync

    store.write_blocking(apply_sync, [], "token-1")
    main = open_window()
    assert main.space_pane.empty_label.text() == NO_SPACES
    assert main.space_pane.empty_label.isVisible()


def test_new_discussion_appears_without_losing_selection(
    open_window, cache, app_session
):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    first = cache.discussion("!one:x", "First")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    main.discussion_pane.select_discussion(first)

    cache.discussion("!one:x", "Second")
    app_session.announce(cache.commit())

    assert _discussion_titles(main) == ["Second", "First"]
    current = main.discussion_pane.list_view.currentIndex()
    assert current.data(ID_ROLE) == first
    assert main.thread_view.current_discussion() == first


def test_author_link_opens_profile(open_window, cache, qtbot):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Hello", sender="@ana:example.org")
    cache.profile(
        Profile(
            "@ana:example.org",
            "Ana Lima",
            None,
            title="Data engineer",
            department="Platform",
            skills=("SQL", "dbt"),
            bio="Likes <b>tables</b>.",
        )
    )
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    main.discussion_pane.select_discussion(root)

    main.thread_view.browser.anchorClicked.emit(QUrl("cp-person:0"))
    dialog = main._profiles["@ana:example.org"]
    assert dialog.isVisible()
    assert dialog.name_label.text() == "Ana Lima"
    assert (
        dialog.role_label.text() == f"{isolate('Data engineer')}, {isolate('Platform')}"
    )
    texts = [label.text() for label in dialog.findChildren(type(dialog.name_label))]
    assert "SQL" in texts
    assert "dbt" in texts
    assert "Likes <b>tables</b>." in texts


def test_window_opens_from_cache_without_server(qtbot, qasync_loop, cache, tmp_path):
    """A real AppSession whose server does not respond still shows the cache."""
    from app.session import AppSession
    from app.sync import SyncState
    from tests.ui.builders import Session

    cache.space("!a:x", "Offline space")
    cache.board("!one:x", "One", "!a:x")
    cache.discussion("!one:x", "Readable offline")
    cache.commit()
    cache.store.close()

    # Port 9 (discard) on loopback: nothing listens, so every request fails.
    session = Session(homeserver_url="http://127.0.0.1:9")
    real = AppSession(session, store_path=cache.store.path)
    window = MainWindow(real)
    qtbot.addWidget(window)
    window.show()
    real.start()

    assert _space_names(window) == ["Offline space"]
    assert _discussion_titles(window) == ["Readable offline"]
    qtbot.waitUntil(
        lambda: window.status_indicator.status().state == SyncState.OFFLINE,
        timeout=10_000,
    )
    assert window.status_indicator.label.text().startswith("Offline")

    task = qasync_loop.create_task(real.close())
    qtbot.waitUntil(task.done, timeout=10_000)
    window.close()


def test_reading_pane_explains_what_to_do(open_window, cache, qtbot):
    from ui.main_window import (
        CHOOSE_DISCUSSION,
        ENCRYPTED_HEADING,
        ENCRYPTED_NEXT_STEP,
        NOTHING_OPEN_HEADING,
    )

    cache.space("!a:x", "Space")
    cache.board("!open:x", "Open board", "!a:x")
    cache.board("!secret:x", "Secret board", "!a:x", encrypted=True)
    cache.discussion("!open:x", "Readable")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!a:x")
    placeholder = main.thread_view.placeholder

    qtbot.waitUntil(lambda: placeholder.heading.text() == NOTHING_OPEN_HEADING)
    assert placeholder.text.text() == CHOOSE_DISCUSSION
    assert main.thread_view.current_discussion() is None

    main.discussion_pane.choose_board("!secret:x")
    qtbot.waitUntil(lambda: placeholder.heading.text() == ENCRYPTED_HEADING)
    assert placeholder.text.text() == ENCRYPTED_NEXT_STEP


def test_reading_pane_empty_beside_middle_sentence(open_window, cache, qtbot):
    cache.space("!b:x", "Quiet")
    cache.board("!quiet:x", "Quiet board", "!b:x")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!b:x")

    assert main.discussion_pane.message() == NO_DISCUSSIONS
    qtbot.wait(10)
    assert main.thread_view.placeholder.heading.isHidden()
    assert main.thread_view.placeholder.text.isHidden()


def test_board_chooser_drops_space_name(open_window, cache):
    cache.space("!g:x", "Data Guild")
    cache.board("!talk:x", "Data Guild discussions", "!g:x")
    cache.board("!files:x", "Data Guild files", "!g:x", kind="files")
    cache.commit()
    main = open_window()
    main.space_pane.select_space("!g:x")
    boards = main.discussion_pane.boards

    labels = [boards.index(row).data() for row in range(boards.rowCount())]
    assert labels == ["Discussions", "Files"]
    tooltip = boards.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip == "Data Guild discussions"


def test_board_chooser_elides_long_name(open_window, cache, qtbot):
    from ui.widgets import ElidedComboBox

    long_name = "Quarterly planning " + "x" * 500
    cache.space("!g:x", "Guild")
    cache.board("!short:x", "Short", "!g:x")
    cache.board("!long:x", long_name, "!g:x")
    cache.commit()
    main = open_window()
    main.resize(1200, 700)
    main.space_pane.select_space("!g:x")
    combo = main.discussion_pane.board_combo
    assert combo.isVisible()

    assert combo.width() <= 320
    assert combo.sizeHint().width() <= 320
    assert main.discussion_pane.choose_board("!long:x")
    assert combo.current_tooltip() == long_name
    elided = combo.elided_text(combo.width())
    assert elided.endswith("…")
    assert len(elided) < len(long_name)
    combo.grab()

    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    assert view.window().width() <= ElidedComboBox.MAX_POPUP_WIDTH
    row = main.discussion_pane.boards.row_of("!long:x")
    index = view.model().index(row, 0)
    assert view.visualRect(index).width() <= view.viewport().width()
    assert index.data(Qt.ItemDataRole.ToolTipRole) == long_name
    combo.hidePopup()
