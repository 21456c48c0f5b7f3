"""Painted rows of the space list and the discussion list.

Everything here is drawn with QPainter.drawText, which takes plain text, so
a name or title from the server can never be read as markup.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.text import isolate
from ui import theme
from ui.avatars import paint_initials
from ui.models.roles import (
    AUTHOR_ROLE,
    HIGHLIGHT_ROLE,
    ID_ROLE,
    INVITED_ROLE,
    KIND_ROLE,
    LAST_ACTIVITY_ROLE,
    REDACTED_ROLE,
    REPLY_COUNT_ROLE,
    UNREAD_ROLE,
)
from ui.text_format import count_label, relative_time

PADDING = 10
KIND_LABELS = {"question": "Question", "announcement": "Announcement"}
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
    """A space: initials tile, elided name, and unread or invitation badge."""

    TILE = 28

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
    """A discussion: kind badge and title, then author, replies and last activity."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(300, metrics.height() * 2 + 24)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw_background(painter, option, index)
        rect = option.rect.adjusted(PADDING + 4, 8, -PADDING, -8)
        line_height = rect.height() // 2

        title_font = QFont(option.font)
        title_font.setWeight(QFont.Weight.DemiBold)
        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() - 1, 7))

        top = QRect(rect.left(), rect.top(), rect.width(), line_height)
        bottom = QRect(rect.left(), rect.top() + line_height, rect.width(), line_height)

        when = relative_time(index.data(LAST_ACTIVITY_ROLE) or 0, time.time())
        painter.setFont(small)
        painter.setPen(theme.TEXT_MUTED)
        painter.drawText(
            top, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when
        )
        title_right = top.right() - QFontMetrics(small).horizontalAdvance(when) - 12

        left = top.left()
        kind = index.data(KIND_ROLE)
        if kind in KIND_LABELS:
            badge_font = QFont(small)
            badge_font.setBold(True)
            label = KIND_LABELS[kind]
            width = QFontMetrics(badge_font).horizontalAdvance(label) + 12
            draw_pill(
                painter,
                left + width,
                top.center().y() + 1,
                label,
                _tint(KIND_COLOURS[kind]),
                KIND_COLOURS[kind],
                badge_font,
            )
            left += width + 8

        title = index.data(Qt.ItemDataRole.DisplayRole) or ""
        painter.setFont(title_font)
        painter.setPen(theme.TEXT_MUTED if index.data(REDACTED_ROLE) else theme.TEXT)
        title_rect = QRect(left, top.top(), title_right - left, top.height())
        painter.drawText(
            title_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(title_font).elidedText(
                title, Qt.TextElideMode.ElideRight, title_rect.width()
            ),
        )

        replies = count_label(index.data(REPLY_COUNT_ROLE) or 0, "reply", "replies")
        details = f"{isolate(index.data(AUTHOR_ROLE) or '')}  ·  {replies}"
        painter.setFont(small)
        painter.setPen(theme.TEXT_MUTED)
        painter.drawText(
            bottom,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(small).elidedText(
                details, Qt.TextElideMode.ElideMiddle, bottom.width()
            ),
        )
        painter.restore()


def _tint(colour: QColor) -> QColor:
    tinted = QColor(colour)
    tinted.setAlpha(36)
    return tinted
