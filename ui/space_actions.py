"""Running space actions (join, knock, invitations, roles, pins) for the UI.

Each action is a coroutine of app.spaces.Spaces, run on a TaskRunner so the
window never waits for the network. The result comes back as done(action,
room id) or failed(action, message), with a plain sentence for the status bar
or the dialog that asked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import CommonplaceError
from app.matrix.errors import (
    ConnectionFailed,
    Forbidden,
    MatrixError,
    NotFound,
    RateLimited,
    ServerUnavailable,
)
from app.spaces import MAX_REASON_LENGTH
from ui.tasks import TaskRunner
from ui.widgets import plain_label

log = logging.getLogger(__name__)

OFFLINE_SENTENCE = "Commonplace is offline. Try again when you are connected."


def failure_message(error: BaseException, description: str) -> str:
    """Return a sentence saying that an action failed, and what to do next.

    description names the action, such as "Joining Data Guild". The core's
    own errors (SpaceActionError and other CommonplaceErrors) already give
    the reason and the next step, so their message is used as it is.
    """
    if isinstance(error, CommonplaceError):
        return error.message
    if isinstance(error, ConnectionFailed) and not isinstance(error, ServerUnavailable):
        return f"{description} failed: {OFFLINE_SENTENCE}"
    if isinstance(error, ServerUnavailable):
        return (
            f"{description} failed: the server is not answering. "
            "Try again in a few minutes."
        )
    if isinstance(error, RateLimited):
        return f"{description} failed: the server asks to wait before trying again."
    if isinstance(error, Forbidden):
        return f"{description} failed: the server does not allow it ({error.message})."
    if isinstance(error, NotFound):
        return f"{description} failed: the server does not know this space or person."
    if isinstance(error, MatrixError):
        return f"{description} failed: {error.message}"
    log.error("%s failed unexpectedly", description, exc_info=error)
    return (
        f"{description} failed because of an unexpected error (details are in the log "
        "file). Try again."
    )


def is_offline(error: BaseException) -> bool:
    """Return whether error means that the server could not be reached at all.

    Spaces raises SpaceActionError from the ConnectionFailed, so the cause
    is checked too.
    """
    for candidate in (error, error.__cause__):
        if isinstance(candidate, ConnectionFailed) and not isinstance(
            candidate, ServerUnavailable
        ):
            return True
    return False


class SpaceActions(QObject):
    """Runs one space action per key at a time; emits done or failed.

    done(action, room id) and failed(action, message) name the action with
    the same string that run() was given, such as "accept" or "pin".
    A second request with the key of a running one is ignored, so a double
    click cannot join twice.
    """

    done = Signal(str, str)
    failed = Signal(str, str)
    busy_changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._runner = TaskRunner(self)
        self._running: set[tuple[str, str]] = set()

    def is_running(self, action: str, target: str) -> bool:
        return (action, target) in self._running

    def run(self, action: str, target: str, work: Awaitable, description: str) -> bool:
        """Start work for target; return False if the same action is running.

        description names the action in a failure message ("Joining Data Guild").
        A result that is a string (a room id) is passed on in done, else
        target is.
        """
        key = (action, target)
        if key in self._running:
            work.close()
            return False
        self._running.add(key)
        self._runner.run(
            work,
            lambda result: self._finished(key, result),
            lambda error: self._failed(key, error, description),
        )
        self.busy_changed.emit()
        return True

    def _finished(self, key: tuple[str, str], result) -> None:
        self._running.discard(key)
        self.busy_changed.emit()
        room_id = result if isinstance(result, str) else key[1]
        self.done.emit(key[0], room_id)

    def _failed(
        self, key: tuple[str, str], error: BaseException, description: str
    ) -> None:
        self._running.discard(key)
        self.busy_changed.emit()
        log.warning("%s failed: %r", description, error)
        self.failed.emit(key[0], failure_message(error, description))


def ask_reason(parent: QWidget, title: str, question: str, button: str) -> str | None:
    """Ask to confirm an action with an optional reason; None if cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    text = plain_label(question, "dialogText")
    text.setWordWrap(True)
    reason = QLineEdit()
    reason.setObjectName("reasonEdit")
    reason.setPlaceholderText("Reason (optional, shown to the person)")
    reason.setMaxLength(MAX_REASON_LENGTH)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    confirm = buttons.addButton(button, QDialogButtonBox.ButtonRole.AcceptRole)
    confirm.setObjectName("dangerButton")
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(reason)
    layout.addWidget(buttons)
    dialog.resize(440, dialog.sizeHint().height())
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return reason.text().strip()
