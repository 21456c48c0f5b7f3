"""Starting a direct conversation with a person, from the profile or elsewhere.

message(user_id) runs app.direct.open_direct_room on a TaskRunner and returns
at once. The result comes back as room_ready(room id), or as failed(message)
with a plain sentence for the status bar or the profile page.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from app.direct import open_direct_room
from app.matrix.errors import (
    AuthExpired,
    ConnectionFailed,
    MatrixError,
    NotFound,
    ServerUnavailable,
)
from app.store.queries import get_person
from app.text import clean_name
from ui.tasks import TaskRunner

log = logging.getLogger(__name__)

OFFLINE_MESSAGE = "Can't start a conversation while offline. Try again when connected."


class DirectActions(QObject):
    """The "Message" action: emits room_ready(room_id) or failed(message).

    A second request for a person whose room is still being opened is
    ignored, so a double click cannot start two rooms.
    """

    room_ready = Signal(str)
    failed = Signal(str)

    def __init__(self, app_session, parent: QObject | None = None):
        super().__init__(parent)
        self.app_session = app_session
        self._runner = TaskRunner(self)
        self._opening: set[str] = set()

    def is_opening(self, user_id: str) -> bool:
        return user_id in self._opening

    def message(self, user_id: str) -> None:
        """Open, or start, the direct room with user_id in the background."""
        if user_id in self._opening:
            return
        session = self.app_session
        work = open_direct_room(session.client, session.store, session.user_id, user_id)
        self._runner.run(
            work,
            lambda room_id: self._done(user_id, room_id),
            lambda error: self._failed(user_id, error),
        )
        self._opening.add(user_id)

    def _done(self, user_id: str, room_id: str) -> None:
        self._opening.discard(user_id)
        self.room_ready.emit(room_id)

    def _failed(self, user_id: str, error: BaseException) -> None:
        self._opening.discard(user_id)
        message = self._failure_message(user_id, error)
        log.warning("Opening a direct room with %s failed: %r", user_id, error)
        self.failed.emit(message)

    def _failure_message(self, user_id: str, error: BaseException) -> str:
        if isinstance(error, ConnectionFailed) and not isinstance(
            error, ServerUnavailable
        ):
            return OFFLINE_MESSAGE
        if isinstance(error, ValueError):
            return str(error)
        name = self._name(user_id)
        if isinstance(error, AuthExpired):
            return f"Can't start a conversation with {name}: {error.message}"
        if isinstance(error, NotFound):
            return (
                f"Can't start a conversation with {name}: the server does not know "
                "this person. Check the user id, or ask your administrator."
            )
        if isinstance(error, MatrixError):
            return f"Can't start a conversation with {name}. {error.message}"
        log.error("Opening a direct room failed unexpectedly", exc_info=error)
        return (
            f"Can't start a conversation with {name} because of an unexpected error "
            "(details are in the log file). Try again."
        )

    def _name(self, user_id: str) -> str:
        person = get_person(self.app_session.store.reader(), user_id)
        name = person.display_name if person is not None else None
        return clean_name(name, fallback=user_id)
