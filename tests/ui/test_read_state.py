"""Unread badges in the discussion list, and the space menu's "Mark all as read"."""

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from app.records import Changes
from app.store.queries import get_space
from app.store.read_state_store import save_thread_counts
from tests.ui.builders import BASE_TS
from ui import theme
from ui.delegates import _row_title_font
from ui.discussion_pane import DiscussionPane
from ui.models.roles import HIGHLIGHT_ROLE, ID_ROLE, UNREAD_ROLE
from ui.space_pane import MARK_ALL_READ, SpacePane

BOARD = "!general:x"


@pytest.fixture
def pane(qtbot, cache, store):
    cache.space("!space:x", "Guild")
    cache.board(BOARD, "General", "!space:x")
    unread = cache.discussion(BOARD, "Unread thread", ts=BASE_TS + 2)
    cache.reply(BOARD, unread, "New reply", ts=BASE_TS + 3)
    read = cache.discussion(BOARD, "Read thread", ts=BASE_TS + 1)
    cache.commit()
    store.write_blocking(save_thread_counts, BOARD, {unread: (3, 1)})
    pane = DiscussionPane(store)
    qtbot.addWidget(pane)
    pane.set_space(get_space(store.reader(), "!space:x"))
    pane.resize(360, 500)
    pane.show()
    return pane, unread, read


def _index(pane, event_id):
    model = pane.discussions
    for row in range(model.rowCount()):
        if model.index(row).data(ID_ROLE) == event_id:
            return model.index(row)
    raise AssertionError(f"{event_id} is not listed")


def test_model_returns_server_thread_counts(pane):
    pane, unread, read = pane

    assert _index(pane, unread).data(UNREAD_ROLE) == 3
    assert _index(pane, unread).data(HIGHLIGHT_ROLE) == 1
    assert _index(pane, read).data(UNREAD_ROLE) == 0
    assert "3 unread" in _index(pane, unread).data(Qt.ItemDataRole.ToolTipRole)


def test_model_rereads_counts_after_sync(pane, store):
    pane, unread, _read = pane

    store.write_blocking(save_thread_counts, BOARD, {})
    pane.discussions.apply_changes(Changes(rooms={BOARD}))

    assert _index(pane, unread).data(UNREAD_ROLE) == 0


def test_unread_title_is_bold(pane):
    pane, unread, read = pane
    font = QFont(pane.list_view.font())

    assert _row_title_font(font, _index(pane, unread)).weight() == QFont.Weight.Bold
    assert _row_title_font(font, _index(pane, read)).weight() < QFont.Weight.Bold


def _paint(pane, index) -> QImage:
    view = pane.list_view
    delegate = view.itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.font = view.font()
    option.widget = view
    height = delegate.sizeHint(option, index).height()
    option.rect = QRect(0, 0, 360, height)
    image = QImage(360, height, QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    delegate.paint(painter, option, index)
    painter.end()
    return image


def _has_colour(image: QImage, colour) -> bool:
    for y in range(image.height()):
        for x in range(image.width()):
            if image.pixelColor(x, y).rgb() == colour.rgb():
                return True
    return False


def test_unread_row_draws_count_badge(pane):
    pane, unread, read = pane

    assert _has_colour(_paint(pane, _index(pane, unread)), theme.HIGHLIGHT_BADGE)
    assert not _has_colour(_paint(pane, _index(pane, read)), theme.HIGHLIGHT_BADGE)
    assert not _has_colour(_paint(pane, _index(pane, read)), theme.BADGE)


def test_space_menu_marks_space_read(qtbot, cache, store):
    cache.space("!joined:x", "Joined", unread=2)
    cache.space("!invited:x", "Invited", membership="invite")
    cache.commit()
    spaces = SpacePane(store)
    qtbot.addWidget(spaces)
    requested = []
    spaces.mark_read_requested.connect(requested.append)

    def action(room_id):
        menu = spaces.space_menu(room_id)
        [found] = [a for a in menu.actions() if a.text() == MARK_ALL_READ]
        return found

    assert not action("!invited:x").isEnabled()
    joined = action("!joined:x")
    assert joined.isEnabled()
    joined.trigger()
    assert requested == ["!joined:x"]


def test_mark_all_read_offline_message(qtbot, qasync_loop, cache, store, app_session):
    from app.read_state import ReadState
    from app.sync import SyncState, SyncStatus
    from ui.main_window import MainWindow

    cache.space("!space:x", "Guild")
    cache.board(BOARD, "General", "!space:x")
    cache.discussion(BOARD, "Unread thread", ts=BASE_TS + 2)
    cache.commit()
    app_session.read_state = ReadState(None, store)
    window = MainWindow(app_session)
    qtbot.addWidget(window)
    window.set_status(SyncStatus(SyncState.OFFLINE, None, retry_in=8))

    window.mark_space_read("!space:x")

    message = window.statusBar().currentMessage()
    assert message.startswith("Offline: marked as read on this computer")


def _row_tops_follow_on(pane) -> list[tuple[int, int]]:
    """Return (bottom of a row, top of the next) for each pair that leaves a gap."""
    view = pane.list_view
    model = pane.discussions
    gaps = []
    for row in range(model.rowCount() - 1):
        above = view.visualRect(model.index(row))
        below = view.visualRect(model.index(row + 1))
        if below.top() != above.bottom() + 1:
            gaps.append((above.bottom(), below.top()))
    return gaps


def test_rows_close_up_when_a_row_gets_shorter(qtbot, cache, store):
    # A two-line title that is deleted on another device becomes the short
    # "deleted" line, so its row gets shorter without moving.
    cache.space("!space:x", "Guild")
    cache.board(BOARD, "General", "!space:x")
    for number in range(3):
        cache.discussion(BOARD, f"Older discussion {number}", ts=BASE_TS + number)
    long_one = cache.discussion(
        BOARD,
        "Which column naming convention do you follow for dimension tables "
        "and for the facts that the finance team reads every morning?",
        ts=BASE_TS + 10,
    )
    cache.commit()
    pane = DiscussionPane(store)
    qtbot.addWidget(pane)
    pane.resize(360, 700)
    pane.show()
    pane.set_space(get_space(store.reader(), "!space:x"))
    qtbot.waitUntil(lambda: pane.discussions.rowCount() == 4)
    tall = pane.list_view.visualRect(_index(pane, long_one)).height()

    cache.redact(BOARD, long_one, sender=cache_sender(store, long_one))
    pane.discussions.apply_changes(cache.commit())

    qtbot.waitUntil(
        lambda: pane.list_view.visualRect(_index(pane, long_one)).height() < tall
    )
    assert _row_tops_follow_on(pane) == []


def cache_sender(store, event_id: str) -> str:
    row = store.reader().execute(
        "SELECT sender FROM discussions WHERE event_id = ?", (event_id,)
    ).fetchone()
    return row[0]
