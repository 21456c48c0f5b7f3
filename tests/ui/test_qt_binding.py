"""Checks of the Qt binding itself that the app depends on."""

import sys

from PySide6.QtCore import QRect


def test_void_qt_calls_keep_none_references():
    # PySide6 6.12.0 on Python 3.11 released a reference to None on each call
    # that returns nothing, and the process died with "none_dealloc".
    rect = QRect(0, 0, 1, 1)
    before = sys.getrefcount(None)
    for _ in range(1000):
        rect.setWidth(5)
    assert sys.getrefcount(None) >= before - 10
