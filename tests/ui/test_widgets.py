"""The eliding combo box: its width, its list and its tooltip."""

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QToolTip

from ui.widgets import ElidedComboBox

LONG_TEXT = "Board " + "y" * 500


def _combo(qtbot, tooltip: str | None = None) -> ElidedComboBox:
    combo = ElidedComboBox(minimum_characters=10)
    qtbot.addWidget(combo)
    model = QStandardItemModel(combo)
    for text in ("Short", LONG_TEXT):
        item = QStandardItem(text)
        if tooltip is not None:
            item.setToolTip(tooltip)
        model.appendRow(item)
    combo.setModel(model)
    return combo


def test_elided_combo_width_ignores_long_item(qtbot):
    combo = _combo(qtbot)
    metrics = combo.fontMetrics()

    assert combo.sizeHint().width() < metrics.horizontalAdvance(LONG_TEXT) // 10


def test_elided_combo_tooltip_falls_back_to_text(qtbot):
    combo = _combo(qtbot)
    combo.setCurrentIndex(1)
    assert combo.current_tooltip() == LONG_TEXT


def test_elided_combo_tooltip_prefers_tooltip_role(qtbot):
    combo = _combo(qtbot, tooltip="Full name")
    combo.setCurrentIndex(1)
    assert combo.current_tooltip() == "Full name"


def test_elided_combo_tooltip_event_shows_current(qtbot):
    combo = _combo(qtbot)
    combo.show()
    qtbot.waitExposed(combo)
    combo.blockSignals(True)
    combo.setCurrentIndex(1)
    combo.blockSignals(False)

    event = QHelpEvent(
        QEvent.Type.ToolTip, QPoint(5, 5), combo.mapToGlobal(QPoint(5, 5))
    )
    QApplication.sendEvent(combo, event)

    assert QToolTip.text() == LONG_TEXT
    QToolTip.hideText()
