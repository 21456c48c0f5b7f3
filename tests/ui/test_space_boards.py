"""Boards of a space that the user has not joined, or that the cache never saw.

The space home, the board chooser and New discussion must agree on which
board is shown, so a post never goes to a room other than the one in view.
"""

from __future__ import annotations

import pytest

from app.records import SpaceChild
from app.spaces import SpaceChild as HierarchyChild
from app.spaces import Spaces
from ui.main_window import MainWindow

SPACE = "!guild:x"
REAL = "!real:x"
SECOND = "!second:x"
LEFT = "!left:x"
GHOST = "!doesnotexist:x"
SUBSPACE = "!sub:elsewhere.invalid"


def _link(cache, space_id: str, child_id: str) -> None:
    """Link child_id into space_id without the cache knowing the child room."""
    cache._batch(space_id).items.append(SpaceChild(space_id, child_id, None, False))


@pytest.fixture
def window(qtbot, qasync_loop, app_session, cache, store):
    cache.space(SPACE, "Guild")
    cache.board(REAL, "Real room", SPACE, order="a")
    cache.board(SECOND, "Second room", SPACE, order="b")
    cache.board(LEFT, "Old board", SPACE, order="c")
    cache._batch(LEFT).membership = "leave"
    _link(cache, SPACE, GHOST)
    _link(cache, SPACE, SUBSPACE)
    cache.commit()
    app_session.spaces = Spaces(None, store, app_session.user_id, lambda _c: None)
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.resize(1024, 700)
    main.show()
    main.space_pane.select_space(SPACE)
    return main


def test_home_marks_rooms_not_joined(window):
    home = window.space_home
    assert home.isVisible()
    texts = home.room_texts()
    assert texts == [
        "Real room · discussion board",
        "Second room · discussion board",
        "Old board · discussion board · not joined",
    ]


def test_unknown_rooms_left_out_of_chooser(window):
    pane = window.discussion_pane
    ids = [pane.boards.entry(row).entry_id for row in range(pane.boards.rowCount())]
    assert GHOST not in ids
    assert SUBSPACE not in ids
    assert LEFT in ids


def test_room_not_joined_never_chosen(window):
    pane = window.discussion_pane
    assert pane.choose_board(REAL)
    assert not pane.choose_board(LEFT)
    assert not pane.choose_board(GHOST)
    assert pane.board_combo.currentText() == pane.current_entry().label
    assert pane.board_for_new_discussion() == REAL


def test_chooser_returns_to_shown_board(window):
    pane = window.discussion_pane
    assert pane.choose_board(REAL)
    shown = pane.current_entry()
    # Choosing the disabled row from code, as a stray click or key could.
    pane.board_combo.setCurrentIndex(pane.boards.row_of(LEFT))
    assert pane.current_entry() is shown
    assert pane.board_combo.currentText() == shown.label
    assert pane.board_for_new_discussion() == REAL


def test_new_discussion_goes_to_shown_board(window):
    pane = window.discussion_pane
    assert pane.choose_board(SECOND)
    assert not pane.choose_board(LEFT)
    posted = []
    pane.new_discussion_requested.connect(posted.append)
    pane.new_button.click()
    assert pane.board_combo.currentText() == pane.current_entry().label
    assert posted == [SECOND]


@pytest.fixture
def files_window(qtbot, qasync_loop, app_session, cache, store):
    cache.space(SPACE, "Guild")
    cache.board(REAL, "Real room", SPACE, order="a")
    cache.board("!files:x", "Files", SPACE, kind="files", order="b")
    cache.commit()
    app_session.spaces = Spaces(None, store, app_session.user_id, lambda _c: None)
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.resize(1024, 700)
    main.show()
    main.space_pane.select_space(SPACE)
    assert main.discussion_pane.choose_board("!files:x")
    qtbot.waitUntil(lambda: not main.space_home.isVisible())
    return main


def test_files_area_stays_chosen(qtbot, files_window):
    pane = files_window.discussion_pane
    qtbot.wait(50)

    assert pane.showing_files()
    assert pane.current_entry().entry_id == "!files:x"


def test_home_shortcut_leaves_files_area(qtbot, files_window):
    files_window.space_home_action.trigger()

    qtbot.waitUntil(lambda: files_window.space_home.isVisible())
    assert not files_window.discussion_pane.showing_files()
    assert files_window.reading_pane.currentWidget() is files_window.space_home


def test_sidebar_home_leaves_files_area(qtbot, files_window):
    files_window.space_pane.home_requested.emit(SPACE)

    qtbot.waitUntil(lambda: files_window.space_home.isVisible())
    assert not files_window.discussion_pane.showing_files()


def _child(room_id: str, name: str, *, joinable=True, room_type=None):
    return HierarchyChild(
        room_id=room_id,
        name=name,
        topic=None,
        avatar_url=None,
        member_count=2,
        join_rule="restricted" if joinable else "invite",
        room_type=room_type,
        joinable=joinable,
        membership=None,
    )


NEW = "!new:x"


@pytest.fixture
def described_window(qtbot, qasync_loop, app_session, cache, store):
    cache.space(SPACE, "Guild")
    cache.board(REAL, "Real room", SPACE, order="a")
    cache.board(LEFT, "Old board", SPACE, order="c")
    cache._batch(LEFT).membership = "leave"
    _link(cache, SPACE, GHOST)
    _link(cache, SPACE, SUBSPACE)
    _link(cache, SPACE, NEW)
    cache.commit()
    spaces = Spaces(None, store, app_session.user_id, lambda _c: None)
    asked = []

    async def hierarchy(space_id):
        asked.append(space_id)
        return [
            _child(NEW, "New board"),
            _child(SUBSPACE, "Sub space", room_type="m.space"),
            _child(LEFT, "Old board", joinable=False),
        ]

    spaces.hierarchy = hierarchy
    app_session.spaces = spaces
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    main.space_pane.select_space(SPACE)
    return main, asked


def test_home_describes_rooms_from_server(qtbot, described_window):
    window, asked = described_window
    home = window.space_home

    qtbot.waitUntil(lambda: any("New board" in t for t in home.room_texts()))
    texts = home.room_texts()
    assert "New board · discussion board · not joined [Join]" in texts
    assert "Old board · discussion board · not joined" in texts
    assert not any("Sub space" in text for text in texts)
    assert not any("Unnamed" in text for text in texts)
    assert asked == [SPACE]


def test_home_join_asks_controller(qtbot, described_window):
    window, _asked = described_window
    home = window.space_home
    qtbot.waitUntil(lambda: any("New board" in t for t in home.room_texts()))

    with qtbot.waitSignal(home.join_room_requested) as joined:
        home.click_join("New board")

    assert joined.args == [NEW, "New board"]
