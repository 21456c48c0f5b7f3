"""Small reusable widgets: eliding label, combo box and link, a flow layout, chips."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionComboBox,
    QStyleOptionViewItem,
    QStylePainter,
    QToolTip,
    QWidget,
)


class ElidedLabel(QFrame):
    """One line of plain text, cut with "…" to fit, with the full text as tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        self._text = text
        self.updateGeometry()
        self.update()
        self._update_tooltip()

    def elided_text(self) -> str:
        metrics = QFontMetrics(self.font())
        return metrics.elidedText(
            self._text, Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )

    def _update_tooltip(self) -> None:
        self.setToolTip(self._text if self.elided_text() != self._text else "")

    def sizeHint(self) -> QSize:
        metrics = QFontMetrics(self.font())
        margins = self.contentsMargins()
        return QSize(
            min(metrics.horizontalAdvance(self._text), 400),
            metrics.height() + margins.top() + margins.bottom(),
        )

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_tooltip()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setFont(self.font())
        painter.drawText(
            self.contentsRect(),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.elided_text(),
        )


class ElidedComboBox(QComboBox):
    """A combo box that cuts long item texts with "…", in the box and its list.

    The box is as wide as minimum_characters characters, and its list at most
    MAX_POPUP_WIDTH pixels, so one long name cannot widen either to the
    screen. The tooltip shows the current item's ToolTipRole, else its text.
    """

    MAX_POPUP_WIDTH = 420

    def __init__(self, minimum_characters: int = 20, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.setMinimumContentsLength(minimum_characters)
        self.setItemDelegate(_ViewWidthDelegate(self))
        self.view().setTextElideMode(Qt.TextElideMode.ElideRight)

    def current_tooltip(self) -> str:
        tooltip = self.currentData(Qt.ItemDataRole.ToolTipRole)
        return tooltip if isinstance(tooltip, str) and tooltip else self.currentText()

    def elided_text(self, width: int) -> str:
        """Return the current text cut with "…" to fit width pixels."""
        return self.fontMetrics().elidedText(
            self.currentText(), Qt.TextElideMode.ElideRight, width
        )

    def event(self, event: QEvent) -> bool:
        # The tooltip is read when shown, because the pane changes the current
        # item with its signals blocked.
        if event.type() == QEvent.Type.ToolTip:
            QToolTip.showText(event.globalPos(), self.current_tooltip(), self)
            return True
        return super().event(event)

    def showPopup(self) -> None:
        # QComboBox sizes its list to the widest item text. A list window
        # with a maximum width keeps its left edge and takes that width.
        popup = self.view().window()
        popup.setMaximumWidth(max(self.MAX_POPUP_WIDTH, self.width()))
        super().showPopup()

    def paintEvent(self, event) -> None:
        # QComboBox's own painting clips a long current text without "…".
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox,
            option,
            QStyle.SubControl.SC_ComboBoxEditField,
            self,
        )
        option.currentText = self.elided_text(field.width())
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


class _ViewWidthDelegate(QStyledItemDelegate):
    """Items with a width hint of 0, so that they elide at the list's edge.

    A one-column QListView makes each item as wide as its viewport, or as
    its width hint if that is wider, and QStyledItemDelegate elides text only
    at the item's edge.
    """

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        hint.setWidth(0)
        return hint


def plain_label(text: str = "", object_name: str | None = None) -> QLabel:
    """Return a QLabel that never interprets text as rich text."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if object_name:
        label.setObjectName(object_name)
    return label


class LinkButton(QPushButton):
    """A flat button that reads as a link and elides its text to fit its width.

    The text is shown as given: "&" is not taken as a shortcut marker.
    """

    def __init__(self, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("linkButton")
        self.setFlat(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.full_text = text
        self.setToolTip(text)
        super().setText(text.replace("&", "&&"))

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        hint.setWidth(self.fontMetrics().horizontalAdvance(self.full_text) + 4)
        return hint

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), 40))
        return hint

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        elided = self.fontMetrics().elidedText(
            self.full_text, Qt.TextElideMode.ElideRight, max(self.width() - 4, 0)
        )
        super().setText(elided.replace("&", "&&"))


def chip(text: str) -> QLabel:
    label = plain_label(text, "chip")
    label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return label


class FlowLayout(QLayout):
    """Lays widgets out left to right, wrapping to new lines like words."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(
            margins.left() + margins.right(), margins.top() + margins.bottom()
        )

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(
            margins.left(), margins.top(), -margins.right(), -margins.bottom()
        )
        x, y, line_height = area.x(), area.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            width = min(hint.width(), area.width())
            if x + width > area.right() + 1 and line_height > 0:
                x = area.x()
                y += line_height + self._spacing
                line_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y() + margins.bottom()
