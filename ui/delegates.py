"""Painted rows of the space list and the discussion list.

Everything here is drawn with QPainter.drawText, which takes plain text, so
a name or title from the server can never be read as markup.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.text import isolate
from ui import theme
from ui.avatars import paint_initials
from ui.models.roles import (
    ANSWERED_ROLE,
    AUTHOR_ROLE,
    HIGHLIGHT_ROLE,
    ID_ROLE,
    INVITED_ROLE,
    KIND_ROLE,
    LAST_ACTIVITY_ROLE,
    NEW_ROLE,
    REDACTED_ROLE,
    REPLY_COUNT_ROLE,
    SEND_STATE_ROLE,
    UNREAD_ROLE,
)
from ui.models.spaces import AVATAR_URL_ROLE
from ui.text_format import relative_time, reply_count_label

PADDING = 10
KIND_LABELS = {"question": "Question", "announcement": "Announcement"}
# The badge of a discussion whose first post is unread.
NEW_LABEL = "New"
KIND_COLOURS = {"question": theme.QUESTION, "announcement": theme.ANNOUNCEMENT}


def _draw_background(
    painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
) -> QStyleOptionViewItem:
    opt = QStyleOptionViewItem(option)
    opt.text = ""
    opt.icon = opt.icon.__class__()
    opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDisplay
    style = opt.widget.style() if opt.widget else None
    if style is not None:
        style.drawPrimitive(
            QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, opt.widget
        )
    return opt


def draw_pill(
    painter: QPainter,
    right: int,
    center_y: int,
    text: str,
    background: QColor,
    foreground: QColor,
    font: QFont,
) -> int:
    """Draw a rounded label ending at x = right; return its left edge."""
    metrics = QFontMetrics(font)
    width = max(metrics.horizontalAdvance(text) + 12, metrics.height() + 4)
    height = metrics.height() + 2
    rect = QRectF(right - width, center_y - height / 2, width, height)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(background)
    painter.drawRoundedRect(rect, height / 2, height / 2)
    painter.setPen(foreground)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    return int(rect.left())


class SpaceDelegate(QStyledItemDelegate):
    """A space: picture or initials tile, elided name, and unread or invitation badge.

    pictures is an AvatarImages of TILE pixels, or None to show initials only.
    """

    TILE = 28

    def __init__(self, parent=None, pictures=None):
        super().__init__(parent)
        self._pictures = pictures

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(200, self.TILE + 14)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw_background(painter, option, index)
        rect = option.rect.adjusted(PADDING, 0, -PADDING, 0)
        name = index.data(Qt.ItemDataRole.DisplayRole) or ""
        tile = QRect(
            rect.left(), rect.center().y() - self.TILE // 2 + 1, self.TILE, self.TILE
        )
        picture = None
        if self._pictures is not None:
            ratio = painter.device().devicePixelRatioF()
            picture = self._pictures.picture(index.data(AVATAR_URL_ROLE), ratio)
        if picture is not None:
            painter.drawImage(tile, picture)
        else:
            paint_initials(painter, tile, name, index.data(ID_ROLE) or name, radius=6)

        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() - 1.5, 7))
        small.setBold(True)
        right = rect.right()
        center = rect.center().y() + 1
        unread = index.data(UNREAD_ROLE) or 0
        highlight = index.data(HIGHLIGHT_ROLE) or 0
        if index.data(INVITED_ROLE):
            right = draw_pill(
                painter, right, center, "Invited", theme.INVITE, QColor("white"), small
            )
        elif unread:
            colour = theme.HIGHLIGHT_BADGE if highlight else theme.BADGE
            text = f"{unread:,}" if unread < 1000 else "999+"
            right = draw_pill(
                painter, right, center, text, colour, QColor("white"), small
            )

        font = QFont(option.font)
        font.setBold(bool(unread) or bool(index.data(INVITED_ROLE)))
        painter.setFont(font)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        if selected:
            painter.setPen(theme.TEXT)
        text_rect = QRect(
            tile.right() + 10, rect.top(), right - tile.right() - 16, rect.height()
        )
        elided = QFontMetrics(font).elidedText(
            name, Qt.TextElideMode.ElideRight, text_rect.width()
        )
        painter.drawText(
            text_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            elided,
        )
        painter.restore()


class DiscussionDelegate(QStyledItemDelegate):
    """A discussion: kind badge and title on up to two lines, then the details.

    The first title line starts after the kind badge and ends before the time
    of the last activity. A title longer than TITLE_LINES lines ends with "…",
    and the model's tooltip contains the whole title.
    """

    TITLE_LINES = 2
    VERTICAL_PADDING = 10
    DETAILS_GAP = 4  # pixels between the title and the details line
    BADGE_GAP = 8
    TIME_GAP = 12

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        width = _row_width(option)
        lines = self._title_lines(option, index, width, self.TITLE_LINES)
        return QSize(width, self.row_height(option.font, len(lines)))

    def row_height(self, font: QFont, title_lines: int) -> int:
        """Return the height of a row whose title takes title_lines lines."""
        title_height = QFontMetrics(_title_font(font)).lineSpacing()
        details_height = QFontMetrics(_small_font(font)).height()
        return (
            2 * self.VERTICAL_PADDING
            + title_lines * title_height
            + self.DETAILS_GAP
            + details_height
        )

    def _title_lines(
        self,
        option: QStyleOptionViewItem,
        index: QModelIndex,
        width: int,
        max_lines: int,
    ) -> list[str]:
        when = relative_time(index.data(LAST_ACTIVITY_ROLE) or 0, time.time())
        time_width = QFontMetrics(_small_font(option.font)).horizontalAdvance(when)
        # Every title line ends where the time of the first one starts.
        line_width = width - 2 * PADDING - 4 - time_width - self.TIME_GAP
        return wrap_title(
            index.data(Qt.ItemDataRole.DisplayRole) or "",
            _row_title_font(option.font, index),
            line_width - self._badge_width(option.font, index),
            line_width,
            max_lines,
        )

    def _badge_width(self, font: QFont, index: QModelIndex) -> int:
        """Return the width of the kind badge and its gap, or 0 without a badge."""
        kind = index.data(KIND_ROLE)
        if kind not in KIND_LABELS:
            return 0
        metrics = QFontMetrics(_badge_font(font))
        return metrics.horizontalAdvance(KIND_LABELS[kind]) + 12 + self.BADGE_GAP

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw_background(painter, option, index)
        rect = option.rect.adjusted(
            PADDING + 4, self.VERTICAL_PADDING, -PADDING, -self.VERTICAL_PADDING
        )
        title_font = _row_title_font(option.font, index)
        small = _small_font(option.font)
        line_height = QFontMetrics(title_font).lineSpacing()
        details_height = QFontMetrics(small).height()

        # The row height was chosen by sizeHint; if the time label has grown
        # since, the title gets the lines that still fit rather than overlap.
        room = rect.height() - self.DETAILS_GAP - details_height
        max_lines = max(1, min(self.TITLE_LINES, room // line_height))
        lines = self._title_lines(option, index, option.rect.width(), max_lines)
        first = QRect(rect.left(), rect.top(), rect.width(), line_height)

        when = relative_time(index.data(LAST_ACTIVITY_ROLE) or 0, time.time())
        painter.setFont(small)
        painter.setPen(theme.TEXT_MUTED)
        painter.drawText(
            first, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when
        )
        self._paint_badge(painter, option.font, index, first)
        badge = self._badge_width(option.font, index)
        self._paint_title(painter, index, lines, title_font, first, badge)

        details_top = rect.top() + len(lines) * line_height + self.DETAILS_GAP
        details = QRect(rect.left(), details_top, rect.width(), details_height)
        unread = index.data(UNREAD_ROLE) or 0
        if unread or index.data(NEW_ROLE):
            # The server's count of unread replies, at the end of the details
            # line, or "New" for a discussion whose first post is unread.
            colour = (
                theme.HIGHLIGHT_BADGE if index.data(HIGHLIGHT_ROLE) else theme.BADGE
            )
            text = NEW_LABEL
            if unread:
                text = f"{unread:,}" if unread < 1000 else "999+"
            left = draw_pill(
                painter,
                details.right(),
                details.center().y() + 1,
                text,
                colour,
                QColor("white"),
                _badge_font(option.font),
            )
            details.setRight(left - self.BADGE_GAP)
        text, colour = details_text(index)
        painter.setFont(small)
        painter.setPen(colour)
        painter.drawText(
            details,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(small).elidedText(
                text, Qt.TextElideMode.ElideMiddle, details.width()
            ),
        )
        painter.restore()

    def _paint_badge(
        self, painter: QPainter, font: QFont, index: QModelIndex, line: QRect
    ) -> None:
        kind = index.data(KIND_ROLE)
        if kind not in KIND_LABELS:
            return
        width = self._badge_width(font, index) - self.BADGE_GAP
        draw_pill(
            painter,
            line.left() + width,
            line.center().y() + 1,
            KIND_LABELS[kind],
            _tint(KIND_COLOURS[kind]),
            KIND_COLOURS[kind],
            _badge_font(font),
        )

    def _paint_title(
        self,
        painter: QPainter,
        index: QModelIndex,
        lines: list[str],
        font: QFont,
        first: QRect,
        badge: int,
    ) -> None:
        """Draw the title lines, the first one badge pixels further right."""
        painter.setFont(font)
        painter.setPen(theme.TEXT_MUTED if index.data(REDACTED_ROLE) else theme.TEXT)
        for number, line in enumerate(lines):
            left = first.left() + (badge if number == 0 else 0)
            target = QRect(
                left,
                first.top() + number * first.height(),
                first.right() - left,
                first.height(),
            )
            painter.drawText(
                target, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, line
            )


def details_text(index: QModelIndex) -> tuple[str, QColor]:
    """Return a discussion row's details line and its colour.

    A discussion in the outbox shows its send state in place of the reply
    count; the reason of a failure is in the row's tooltip.
    """
    author = isolate(index.data(AUTHOR_ROLE) or "")
    state = index.data(SEND_STATE_ROLE)
    if state == "pending":
        return f"{author}  ·  Sending…", theme.TEXT_MUTED
    if state == "failed":
        return f"{author}  ·  ⚠ Not sent — right-click to retry", theme.ERROR
    replies = reply_count_label(index.data(REPLY_COUNT_ROLE) or 0)
    answered = index.data(ANSWERED_ROLE)
    if answered is not None:
        replies += "  ·  " + ("✓ Answered" if answered else "Unanswered")
    return f"{author}  ·  {replies}", theme.TEXT_MUTED


def wrap_title(
    text: str, font: QFont, first_width: int, width: int, max_lines: int
) -> list[str]:
    """Break text into at most max_lines lines, the last one cut with "…".

    The first line is first_width pixels wide, the others width pixels. Lines
    break between words where possible and anywhere inside a word too long
    for a line, as QTextLayout does for any script.
    """
    layout = QTextLayout(text, font)
    text_option = QTextOption()
    text_option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(text_option)
    starts: list[int] = []
    layout.beginLayout()
    while len(starts) < max(max_lines, 1):
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(max(first_width if not starts else width, 1))
        starts.append(line.textStart())
    layout.endLayout()
    if not starts:
        return [""]

    # QTextLayout counts UTF-16 code units; Python strings count code points.
    utf16 = text.encode("utf-16-le")
    bounds = [len(utf16[: start * 2].decode("utf-16-le")) for start in starts]
    lines = [
        text[start:end].rstrip() for start, end in zip(bounds, bounds[1:] + [None])
    ]
    last_width = first_width if len(lines) == 1 else width
    lines[-1] = QFontMetrics(font).elidedText(
        lines[-1], Qt.TextElideMode.ElideRight, max(last_width, 1)
    )
    return lines


def _row_width(option: QStyleOptionViewItem) -> int:
    """Return the width of a row: the option's, or the view's when it has none."""
    if option.rect.width() > 0:
        return option.rect.width()
    widget = option.widget
    viewport = getattr(widget, "viewport", None)
    if viewport is not None:
        return viewport().width()
    return widget.width() if widget is not None else 300


def _title_font(font: QFont) -> QFont:
    title = QFont(font)
    title.setWeight(QFont.Weight.DemiBold)
    return title


def _row_title_font(font: QFont, index: QModelIndex) -> QFont:
    """Return a discussion's title font: bold while anything in it is unread."""
    title = _title_font(font)
    if index.data(UNREAD_ROLE) or index.data(NEW_ROLE):
        title.setWeight(QFont.Weight.Bold)
    return title


def _small_font(font: QFont) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(font.pointSizeF() - 1, 7))
    return small


def _badge_font(font: QFont) -> QFont:
    badge = _small_font(font)
    badge.setBold(True)
    return badge


def _tint(colour: QColor) -> QColor:
    tinted = QColor(colour)
    tinted.setAlpha(36)
    return tinted
