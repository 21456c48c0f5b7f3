"""Discussions whose first post is unread say New, by the server's counts and receipts."""

import pytest
from PySide6.QtCore import Qt

from app.records import Changes
from app.store.queries import get_space
from app.store.read_state_store import (
    MAIN_THREAD,
    READ,
    ReceiptTarget,
    queue_receipts,
)
from tests.ui.builders import BASE_TS, ME
from ui.discussion_pane import DiscussionPane
from ui.models.roles import ID_ROLE, NEW_ROLE

SPACE = "!space:x"
BOARD = "!general:x"
ANA = "@ana:x"


def new_titles(pane) -> list[str]:
    model = pane.discussions
    return [
        model.index(row).data()
        for row in range(model.rowCount())
        if model.index(row).data(NEW_ROLE)
    ]


@pytest.fixture
def board(cache):
    cache.space(SPACE, "Guild")
    cache.member(BOARD, ANA, "Ana Lima")
    return cache


def make_pane(qtbot, store) -> DiscussionPane:
    pane = DiscussionPane(store)
    pane.discussions.set_user_id(ME)
    qtbot.addWidget(pane)
    pane.set_space(get_space(store.reader(), SPACE))
    return pane


def test_newest_discussions_by_others_are_new(qtbot, board, store):
    # The server counts two unread events in the main timeline.
    board.board(BOARD, "General", SPACE, unread=2)
    board.discussion(BOARD, "Old news", sender=ANA, ts=BASE_TS)
    board.discussion(BOARD, "Second", sender=ANA, ts=BASE_TS + 1)
    board.discussion(BOARD, "Mine", sender=ME, ts=BASE_TS + 2)
    board.discussion(BOARD, "Newest", sender=ANA, ts=BASE_TS + 3)
    board.commit()

    pane = make_pane(qtbot, store)

    assert new_titles(pane) == ["Newest", "Second"]


def test_nothing_is_new_when_the_server_counts_nothing(qtbot, board, store):
    board.board(BOARD, "General", SPACE, unread=0)
    board.discussion(BOARD, "Read already", sender=ANA, ts=BASE_TS)
    board.commit()

    pane = make_pane(qtbot, store)

    assert new_titles(pane) == []


def test_receipt_marks_earlier_discussions_read(qtbot, board, store):
    board.board(BOARD, "General", SPACE, unread=5)
    board.discussion(BOARD, "Before", sender=ANA, ts=BASE_TS)
    read_up_to = board.discussion(BOARD, "Read here", sender=ANA, ts=BASE_TS + 1)
    board.discussion(BOARD, "After", sender=ANA, ts=BASE_TS + 2)
    board.commit()
    pane = make_pane(qtbot, store)
    assert new_titles(pane) == ["After", "Read here", "Before"]

    position = store.reader().execute(
        "SELECT position FROM events WHERE event_id = ?", (read_up_to,)
    ).fetchone()[0]
    store.write_blocking(
        queue_receipts,
        [ReceiptTarget(BOARD, READ, MAIN_THREAD, read_up_to, position)],
        0.0,
    )
    pane.discussions.apply_changes(Changes(rooms={BOARD}))

    assert new_titles(pane) == ["After"]
    index = pane.discussions.index(0)
    assert index.data(ID_ROLE) != read_up_to
    assert "· new" in index.data(Qt.ItemDataRole.ToolTipRole)
