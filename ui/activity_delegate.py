"""Painted rows of the activity stream.

Every string is drawn with QPainter.drawText, which takes plain text, so a
name, title or post from the server can never be read as markup.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.store.activity import StreamItem
from app.text import isolate
from ui import theme
from ui.avatars import paint_initials
from ui.delegates import KIND_COLOURS, KIND_LABELS, draw_pill
from ui.models.activity import ITEM_ROLE, LEAD_ROLE, place_text
from ui.text_format import relative_time

PADDING = 12
# The people list's avatar size, so both use the same downloaded thumbnails.
AVATAR = 36
LINE_GAP = 3
TIME_GAP = 12

# A small symbol before the place line, by item kind, so a long stream can be
# scanned by eye.
_KIND_MARKS = {
    "reply": "↩",
    "answer": "✓",
    "like": "👍",
    "file": "📎",
    "join": "➜",
    "profile": "👤",
}


def _small(font: QFont) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(font.pointSizeF() - 1, 7))
    return small


def _bold(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setWeight(QFont.Weight.DemiBold)
    return bold


def _lines(item: StreamItem) -> list[str]:
    """Return which lines a row has below the first: title, excerpt, place."""
    lines = []
    if item.title and item.kind != "join":
        lines.append("title")
    if item.excerpt:
        lines.append("excerpt")
    if item.space_name or item.kind == "join":
        lines.append("place")
    return lines


class ActivityDelegate(QStyledItemDelegate):
    """An item: avatar, "Name did this" and the time, then title, text and place.

    avatars is an AvatarImages of AVATAR pixels, or None for initials only.
    """

    def __init__(self, avatars=None, parent=None):
        super().__init__(parent)
        self._avatars = avatars

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        item: StreamItem | None = index.data(ITEM_ROLE)
        width = option.rect.width() or 400
        if item is None:
            return QSize(width, 40)
        return QSize(width, self._height(option.font, item))

    def _height(self, font: QFont, item: StreamItem) -> int:
        normal = QFontMetrics(font).lineSpacing()
        small = QFontMetrics(_small(font)).lineSpacing()
        height = normal
        for line in _lines(item):
            height += LINE_GAP + (small if line == "place" else normal)
        return max(height, AVATAR) + 2 * PADDING

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        item: StreamItem | None = index.data(ITEM_ROLE)
        if item is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        opt = QStyleOptionViewItem(option)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, opt.widget
            )
        rect = option.rect.adjusted(PADDING, PADDING, -PADDING, -PADDING)
        model = index.model()
        actor = (
            model.actor_label(item)
            if hasattr(model, "actor_label")
            else item.actor_name
        )
        avatar = QRect(rect.left(), rect.top(), AVATAR, AVATAR)
        if self._avatars is not None:
            ratio = painter.device().devicePixelRatioF()
            image = self._avatars.image(
                item.actor_name, item.actor, item.actor_avatar_url, ratio
            )
            painter.drawImage(avatar, image)
        else:
            paint_initials(painter, avatar, item.actor_name, item.actor)

        left = avatar.right() + 12
        font = option.font
        small = _small(font)
        normal_height = QFontMetrics(font).lineSpacing()
        small_height = QFontMetrics(small).lineSpacing()

        when = relative_time(item.ts, time.time())
        when_width = QFontMetrics(small).horizontalAdvance(when)
        first = QRect(left, rect.top(), rect.right() - left, normal_height)
        painter.setFont(small)
        painter.setPen(theme.TEXT_MUTED)
        painter.drawText(
            first, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when
        )
        self._paint_lead(
            painter,
            font,
            first.adjusted(0, 0, -(when_width + TIME_GAP), 0),
            actor,
            index.data(LEAD_ROLE) or "",
        )

        top = first.bottom() + 1
        for line in _lines(item):
            top += LINE_GAP
            height = small_height if line == "place" else normal_height
            target = QRect(left, top, rect.right() - left, height)
            if line == "title":
                self._paint_title(painter, font, target, item)
            elif line == "excerpt":
                text = item.excerpt
                if item.kind == "profile":
                    text = f"Previously {isolate(item.excerpt)}"
                self._paint_text(painter, font, target, text, theme.TEXT_MUTED)
            else:
                self._paint_place(painter, small, target, item)
            top += height
        painter.restore()

    def _paint_lead(
        self, painter: QPainter, font: QFont, target: QRect, actor: str, lead: str
    ) -> None:
        """Draw the actor's name in bold, then the lead sentence, cut to fit."""
        bold = _bold(font)
        name = QFontMetrics(bold).elidedText(
            actor, Qt.TextElideMode.ElideRight, target.width()
        )
        painter.setFont(bold)
        painter.setPen(theme.TEXT)
        painter.drawText(
            target, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name
        )
        used = QFontMetrics(bold).horizontalAdvance(name + " ")
        rest = target.adjusted(used, 0, 0, 0)
        if rest.width() <= 0 or not lead:
            return
        painter.setFont(font)
        painter.setPen(theme.TEXT)
        painter.drawText(
            rest,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(font).elidedText(
                lead, Qt.TextElideMode.ElideRight, rest.width()
            ),
        )

    def _paint_title(
        self, painter: QPainter, font: QFont, target: QRect, item: StreamItem
    ) -> None:
        """Draw the kind badge of a question or announcement, then the title."""
        kind = item.kind if item.kind in KIND_LABELS else None
        if item.kind in ("reply", "answer", "like") and item.answered is not None:
            kind = "question"
        left = target.left()
        if kind is not None:
            badge_font = _bold(_small(font))
            label = KIND_LABELS[kind]
            width = QFontMetrics(badge_font).horizontalAdvance(label) + 12
            colour = KIND_COLOURS[kind]
            tint = colour.lighter(100)
            tint.setAlpha(36)
            draw_pill(
                painter,
                left + width,
                target.center().y() + 1,
                label,
                tint,
                colour,
                badge_font,
            )
            left += width + 8
        self._paint_text(
            painter,
            _bold(font),
            QRect(left, target.top(), target.right() - left, target.height()),
            item.title,
            theme.TEXT,
        )

    def _paint_place(
        self, painter: QPainter, font: QFont, target: QRect, item: StreamItem
    ) -> None:
        parts = []
        mark = _KIND_MARKS.get(item.kind)
        if mark:
            parts.append(mark)
        parts.append(item.title if item.kind == "join" else place_text(item))
        if item.kind == "question" and item.answered is not None:
            parts.append("·  ✓ Answered" if item.answered else "·  Unanswered")
        self._paint_text(painter, font, target, "  ".join(parts), theme.TEXT_MUTED)

    @staticmethod
    def _paint_text(painter, font: QFont, target: QRect, text: str, colour) -> None:
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(
            target,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(font).elidedText(
                text, Qt.TextElideMode.ElideRight, max(target.width(), 1)
            ),
        )
