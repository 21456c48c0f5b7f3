"""Uncaught exceptions in slots and threads go to the log file."""

import logging
import sys
import threading

import pytest
from PySide6.QtWidgets import QPushButton

from app import paths
from app.logging_setup import LOG_FILE, configure_logging
from ui.exception_hooks import install_exception_hooks


@pytest.fixture
def log_file():
    """Log to the isolated profile's log file, as the GUI does, while hooked."""
    root = logging.getLogger()
    level = root.level
    configure_logging(logging.INFO, log_file=True, console=False)
    restore = install_exception_hooks()
    yield paths.log_dir() / LOG_FILE
    restore()
    configure_logging(level, log_file=False, console=False)
    root.setLevel(level)


@pytest.mark.qt_no_exception_capture
def test_slot_exception_is_logged_and_app_runs(qtbot, log_file):
    button = QPushButton()
    qtbot.addWidget(button)
    clicks = []

    def broken_slot():
        clicks.append(len(clicks))
        raise RuntimeError("slot broke")

    button.clicked.connect(broken_slot)
    button.click()
    button.click()

    assert clicks == [0, 1]
    text = log_file.read_text(encoding="utf-8")
    assert (
        text.count("Uncaught RuntimeError in the UI thread (the app keeps running)")
        == 2
    )
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: slot broke" in text


def test_thread_exception_is_logged(log_file):
    def broken():
        raise ValueError("thread broke")

    thread = threading.Thread(target=broken, name="worker-1")
    thread.start()
    thread.join()

    text = log_file.read_text(encoding="utf-8")
    assert "Uncaught ValueError in thread worker-1" in text
    assert "ValueError: thread broke" in text


def test_restore_puts_previous_hooks_back():
    previous = sys.excepthook, threading.excepthook
    restore = install_exception_hooks()
    assert sys.excepthook is not previous[0]
    assert threading.excepthook is not previous[1]

    restore()

    assert sys.excepthook is previous[0]
    assert threading.excepthook is previous[1]


def test_keyboard_interrupt_goes_to_previous_hook(monkeypatch, caplog):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *args: seen.append(args[0]))
    restore = install_exception_hooks()
    try:
        sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    finally:
        restore()

    assert seen == [KeyboardInterrupt]
    assert "Uncaught" not in caplog.text
