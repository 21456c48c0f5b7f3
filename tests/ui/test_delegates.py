"""The painted rows: titles on up to two lines, and the details under them."""

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from app.store.queries import get_space
from tests.ui.builders import BASE_TS
from ui.delegates import wrap_title
from ui.discussion_pane import DiscussionPane
from ui.models.roles import ID_ROLE
from ui.text_format import reply_count_label

LONG_TITLE = (
    "How do we version our dbt models across teams when every team "
    "publishes tables that other teams read, and nobody owns the contract?"
)


@pytest.fixture
def font(qapp) -> QFont:
    font = QFont(qapp.font())
    font.setPointSizeF(10)
    return font


def test_wrap_title_short_stays_one_line(font):
    lines = wrap_title("Office hours", font, 300, 300, 2)

    assert lines == ["Office hours"]


def test_wrap_title_long_takes_two_lines_and_elides(font):
    lines = wrap_title(LONG_TITLE, font, 200, 260, 2)
    metrics = QFontMetrics(font)

    assert len(lines) == 2
    assert LONG_TITLE.startswith(lines[0])
    assert lines[1].endswith("…")
    assert metrics.horizontalAdvance(lines[0]) <= 200
    assert metrics.horizontalAdvance(lines[1]) <= 260


def test_wrap_title_fitting_in_two_lines_loses_nothing(font):
    title = "Reading group: Designing Data-Intensive Applications, chapter 5"
    width = QFontMetrics(font).horizontalAdvance(title) * 2 // 3

    lines = wrap_title(title, font, width, width, 2)

    assert len(lines) == 2
    assert " ".join(lines) == title
    assert not lines[1].endswith("…")


def test_wrap_title_one_line_limit_elides(font):
    lines = wrap_title(LONG_TITLE, font, 200, 200, 1)

    assert len(lines) == 1
    assert lines[0].endswith("…")


def test_wrap_title_breaks_japanese_without_spaces(font):
    title = "本番環境のバックアップ手順と復元テストの進め方について相談させてください"
    width = QFontMetrics(font).horizontalAdvance(title) * 2 // 3

    lines = wrap_title(title, font, width, width, 2)

    assert len(lines) == 2
    assert "".join(lines) == title


def test_wrap_title_keeps_emoji_whole(font):
    # Emoji outside the BMP are two UTF-16 code units each, which QTextLayout
    # counts and Python does not.
    title = "Welcome 👋 to the guild 🎉 " * 4
    width = QFontMetrics(font).horizontalAdvance(title) // 2 + 20

    lines = wrap_title(title.strip(), font, width, width, 2)

    assert " ".join(lines) == title.strip()


def test_wrap_title_empty_is_one_empty_line(font):
    assert wrap_title("", font, 200, 200, 2) == [""]


@pytest.fixture
def discussion_view(qtbot, cache, store):
    """The discussion pane's list with a one-line and a two-line title."""
    cache.space("!space:x", "Guild")
    cache.board("!general:x", "General", "!space:x")
    short_id = cache.discussion("!general:x", "Office hours", ts=BASE_TS + 2)
    long_id = cache.discussion(
        "!general:x", LONG_TITLE, kind="question", ts=BASE_TS + 1
    )
    cache.reply("!general:x", long_id, "One answer", ts=BASE_TS + 3)
    cache.commit()
    pane = DiscussionPane(store)
    qtbot.addWidget(pane)
    pane.set_space(get_space(store.reader(), "!space:x"))
    pane.resize(360, 500)
    pane.show()
    view = pane.list_view
    model = view.model()
    rows = {model.index(row).data(ID_ROLE): model.index(row) for row in range(2)}
    # The pane is yielded too: without a Python reference it would be deleted.
    yield view, view.itemDelegate(), rows[short_id], rows[long_id], pane


def _option(view, width: int) -> QStyleOptionViewItem:
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.font = view.font()
    option.rect = QRect(0, 0, width, 0)
    option.widget = view
    return option


def test_size_hint_short_title_one_line(discussion_view):
    view, delegate, short, _, _ = discussion_view

    hint = delegate.sizeHint(_option(view, 360), short)

    assert hint.height() == delegate.row_height(view.font(), 1)


def test_size_hint_long_title_two_lines(discussion_view):
    view, delegate, _, long, _ = discussion_view

    hint = delegate.sizeHint(_option(view, 360), long)

    assert hint.height() == delegate.row_height(view.font(), 2)
    assert delegate.row_height(view.font(), 2) > delegate.row_height(view.font(), 1)


def test_size_hint_wide_row_one_line(discussion_view):
    view, delegate, _, long, _ = discussion_view
    width = QFontMetrics(view.font()).horizontalAdvance(LONG_TITLE) * 2

    hint = delegate.sizeHint(_option(view, width), long)

    assert hint.height() == delegate.row_height(view.font(), 1)


def test_size_hint_without_rect_uses_view_width(discussion_view):
    view, delegate, _, long, _ = discussion_view
    option = _option(view, 0)
    option.rect = QRect()

    hint = delegate.sizeHint(option, long)

    assert hint.width() == view.viewport().width()
    assert hint.height() == delegate.row_height(view.font(), 2)


def test_view_rows_follow_title_lines(discussion_view, qtbot):
    view, delegate, short, long, _ = discussion_view
    qtbot.waitUntil(lambda: view.visualRect(long).height() > 0)

    assert view.visualRect(short).height() == delegate.row_height(view.font(), 1)
    assert view.visualRect(long).height() == delegate.row_height(view.font(), 2)

    view.window().resize(2000, 500)
    qtbot.waitUntil(
        lambda: view.visualRect(long).height() == delegate.row_height(view.font(), 1)
    )


def test_paint_fits_row_of_any_height(discussion_view):
    view, delegate, _, long, _ = discussion_view
    image = QImage(360, 40, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    option = _option(view, 360)
    # Shorter than two title lines: the title gets one line and no exception.
    option.rect = QRect(0, 0, 360, 40)

    delegate.paint(painter, option, long)

    painter.end()


def test_tooltip_has_full_title_and_reply_count(discussion_view):
    _, _, short, long, _ = discussion_view

    assert long.data(Qt.ItemDataRole.ToolTipRole).startswith(LONG_TITLE + "\n")
    assert "1 reply" in long.data(Qt.ItemDataRole.ToolTipRole)
    assert "No replies" in short.data(Qt.ItemDataRole.ToolTipRole)


@pytest.mark.parametrize(
    ("count", "label"),
    [(0, "No replies"), (1, "1 reply"), (2, "2 replies"), (1204, "1,204 replies")],
)
def test_reply_count_label(count, label):
    assert reply_count_label(count) == label


def test_paint_row_from_year_33658(qtbot, cache, store):
    cache.space("!space:x", "Guild")
    cache.board("!general:x", "General", "!space:x")
    cache.discussion("!general:x", "Time traveller", ts=10**15)
    cache.commit()
    pane = DiscussionPane(store)
    qtbot.addWidget(pane)
    pane.set_space(get_space(store.reader(), "!space:x"))
    view = pane.list_view
    index = view.model().index(0, 0)
    image = QImage(360, 80, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    option = _option(view, 360)
    option.rect = QRect(0, 0, 360, 80)

    hint = view.itemDelegate().sizeHint(option, index)
    view.itemDelegate().paint(painter, option, index)

    painter.end()
    assert hint.height() > 0
