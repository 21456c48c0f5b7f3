"""The sign-in form: server, user name and password, with errors shown under it.

Signing in runs as a task; the form shows a busy state meanwhile and the
window stays responsive. Cancel stops a sign-in that is still running.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.credentials import KeyringUnavailable
from app.matrix.errors import MatrixError
from ui.resources import app_icon
from ui.tasks import TaskRunner
from ui.widgets import plain_label

log = logging.getLogger(__name__)

# sign_in(server, user, password, session_only) -> app.account.Session
SignInFunction = Callable[[str, str, str, bool], Awaitable[object]]


def sign_in_error_text(error: BaseException) -> str:
    """Return the sentence shown under the form for a failed sign-in."""
    if isinstance(error, KeyringUnavailable):
        return (
            f"{error.message} To sign in without the keyring, clear "
            '"Keep me signed in on this computer".'
        )
    if isinstance(error, MatrixError):
        return error.message
    return (
        f"Signing in failed because of an unexpected error "
        f"({type(error).__name__}). Details are in the log file."
    )


class SignInDialog(QDialog):
    """Emits signed_in with the new session and closes when sign-in succeeds."""

    signed_in = Signal(object)

    def __init__(
        self,
        sign_in: SignInFunction,
        *,
        server: str = "",
        user: str = "",
        session_only: bool = False,
        keyring_available: bool = True,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle("Sign in to Commonplace")
        self.setMinimumWidth(440)
        self._sign_in = sign_in
        self._runner = TaskRunner(self)
        self._task = None

        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(48, 48))
        heading = plain_label("Sign in to Commonplace", "dialogHeading")
        intro = plain_label(
            "Use the account that your organisation gave you.", "dialogText"
        )
        intro.setWordWrap(True)
        title = QVBoxLayout()
        title.setSpacing(2)
        title.addWidget(heading)
        title.addWidget(intro)
        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(title, 1)

        self.server_edit = QLineEdit(server)
        self.server_edit.setPlaceholderText("example.org or https://matrix.example.org")
        self.user_edit = QLineEdit(user)
        self.user_edit.setPlaceholderText("alex or @alex:example.org")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = QCheckBox("Keep me signed in on this computer")
        self.remember_check.setChecked(keyring_available and not session_only)
        if not keyring_available:
            self.remember_check.setEnabled(False)
            self.remember_check.setToolTip(
                "The keyring is not available, so this sign-in lasts until "
                "Commonplace closes."
            )

        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.setHorizontalSpacing(12)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Server", self.server_edit)
        form.addRow("User name", self.user_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("", self.remember_check)

        self.error_label = plain_label("", "formError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.error_label.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("busyBar")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(4)
        self.progress.hide()

        self.cancel_button = QPushButton("Cancel")
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("primaryButton")
        self.sign_in_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        self.sign_in_button.clicked.connect(self.submit)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.sign_in_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(16)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

        for edit in (self.server_edit, self.user_edit, self.password_edit):
            if not edit.text():
                edit.setFocus()
                break

    def is_busy(self) -> bool:
        return self._task is not None

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow the dialog to its preferred height for the current width.

        A shown dialog only grows to its minimum height when the error or the
        busy bar appears, which squeezes the fields until their text is cut.
        """
        layout = self.layout()
        layout.activate()
        width = self.width()
        if layout.hasHeightForWidth():
            height = layout.totalHeightForWidth(width)
        else:
            height = layout.totalSizeHint().height()
        if height > self.height():
            self.resize(width, height)

    def submit(self) -> None:
        if self.is_busy():
            return
        server = self.server_edit.text().strip()
        user = self.user_edit.text().strip()
        password = self.password_edit.text()
        if not user or not password:
            self.show_error("Enter your user name and password.")
            return
        if not server and not (user.startswith("@") and ":" in user):
            self.show_error(
                "Enter your organisation's server, or a full user id such as "
                "@alex:example.org."
            )
            return
        self.show_error("")
        self._set_busy(True)
        session_only = not self.remember_check.isChecked()
        self._task = self._runner.run(
            self._sign_in(server, user, password, session_only),
            self._succeeded,
            self._failed,
            key="sign-in",
        )

    def _succeeded(self, session) -> None:
        self._task = None
        self._set_busy(False)
        self.password_edit.clear()
        self.signed_in.emit(session)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self._set_busy(False)
        if not isinstance(error, (MatrixError, KeyringUnavailable)):
            log.error("Sign-in failed", exc_info=error)
        else:
            log.info("Sign-in failed: %s", type(error).__name__)
        self.show_error(sign_in_error_text(error))
        self.password_edit.setFocus()
        self.password_edit.selectAll()

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self.server_edit,
            self.user_edit,
            self.password_edit,
            self.sign_in_button,
        ):
            widget.setEnabled(not busy)
        if self.remember_check.toolTip() == "":
            self.remember_check.setEnabled(not busy)
        self.sign_in_button.setText("Signing in…" if busy else "Sign in")
        self.progress.setVisible(busy)
        self._fit_height()

    def reject(self) -> None:
        """Cancel a running sign-in first; a second Cancel closes the dialog."""
        if self._task is not None:
            self._runner.cancel("sign-in")
            self._task = None
            self._set_busy(False)
            self.show_error("Sign-in was cancelled.")
            return
        super().reject()
