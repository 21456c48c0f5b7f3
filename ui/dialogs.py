"""Awaiting a modal dialog without a nested event loop, and the keyring prompt.

QDialog.exec() would start a second event loop inside the qasync one;
run_dialog opens the dialog window-modal instead and awaits its result.
"""

from __future__ import annotations

import asyncio
import enum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ui.widgets import plain_label


async def run_dialog(dialog: QDialog) -> int:
    """Open dialog modally and return its result code when it closes."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(finished)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.open()
    try:
        return await future
    finally:
        dialog.finished.disconnect(finished)


class KeyringChoice(enum.IntEnum):
    QUIT = 0
    RETRY = 1
    SESSION_ONLY = 2


class KeyringProblemDialog(QDialog):
    """Says that the keyring cannot be read and offers retry, session-only or quit.

    The saved session stays as it is whatever the choice, so a keyring that
    was only locked for a moment loses nothing.
    """

    def __init__(self, message: str, locked: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("keyringDialog")
        self.setWindowTitle("Keyring locked" if locked else "Keyring unavailable")
        self.setMinimumWidth(460)

        icon = QLabel()
        icon.setPixmap(
            self.style()
            .standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            .pixmap(40, 40)
        )
        heading = plain_label(
            "Your keyring is locked"
            if locked
            else "Commonplace cannot reach the keyring",
            "dialogHeading",
        )
        self.message_label = plain_label(
            f"{message}\n\nYour saved sign-in is kept and is used again as soon "
            "as the keyring can be read.",
            "dialogText",
        )
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )

        self.retry_button = QPushButton("Retry")
        self.retry_button.setDefault(True)
        self.session_only_button = QPushButton("Sign in for this session only")
        self.quit_button = QPushButton("Quit")
        self.retry_button.clicked.connect(lambda: self.done(KeyringChoice.RETRY))
        self.session_only_button.clicked.connect(
            lambda: self.done(KeyringChoice.SESSION_ONLY)
        )
        self.quit_button.clicked.connect(lambda: self.done(KeyringChoice.QUIT))

        text = QVBoxLayout()
        text.setSpacing(8)
        text.addWidget(heading)
        text.addWidget(self.message_label)
        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(text, 1)

        buttons = QHBoxLayout()
        buttons.addWidget(self.quit_button)
        buttons.addStretch()
        buttons.addWidget(self.session_only_button)
        buttons.addWidget(self.retry_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 20)
        layout.setSpacing(20)
        layout.addLayout(top)
        layout.addLayout(buttons)

    def reject(self) -> None:
        # Escape or the window's close button means quit, as the button does.
        self.done(KeyringChoice.QUIT)
