"""The actions that the views start on posts, run through app.outbox.

Each method queues its work on a TaskRunner and returns at once. A failure
that the user should read is emitted as action_failed(message), which the
main window shows in its status bar; the post itself shows a failed send.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from app.compose import ContentRejected
from app.outbox import OutboxError, OutboxItem
from app.store import outbox_queries
from ui.tasks import TaskRunner

log = logging.getLogger(__name__)


def failed_item_for(outbox, post_id: str) -> OutboxItem | None:
    """Return the failed outbox item of post_id: the post itself, or a change to it."""
    item = outbox_queries.find_item(outbox.store.reader(), post_id)
    if item is not None and item.state == "failed":
        return item
    for item in outbox.list_items():
        if item.state == "failed" and post_id in (item.target_id, item.related_id):
            return item
    return None


class OutboxActions(QObject):
    """Retry, discard, like, delete and accept answers for the views."""

    action_failed = Signal(str)

    def __init__(self, outbox, parent: QObject | None = None):
        super().__init__(parent)
        self.outbox = outbox
        self._runner = TaskRunner(self)

    def _run(self, work, what: str, on_success=None) -> None:
        self._runner.run(work, on_success, lambda error: self._failed(what, error))

    def _failed(self, what: str, error: BaseException) -> None:
        if isinstance(error, (OutboxError, ContentRejected)):
            message = error.message
        else:
            log.error("%s failed", what, exc_info=error)
            message = f"{what} failed: {error}"
        log.warning("%s failed: %s", what, message)
        self.action_failed.emit(message)

    def retry_post(self, post_id: str) -> None:
        item = failed_item_for(self.outbox, post_id)
        if item is None:
            self.action_failed.emit("Nothing of this post is waiting for a retry.")
            return
        self.retry(item.id)

    def discard_post(self, post_id: str) -> None:
        item = failed_item_for(self.outbox, post_id)
        if item is None:
            self.action_failed.emit("Nothing of this post is waiting to be sent.")
            return
        self.discard(item.id)

    def retry(self, item_id: int) -> None:
        self._run(self.outbox.retry(item_id), "Retry")

    def discard(self, item_id: int) -> None:
        self._run(self.outbox.discard(item_id), "Discard")

    def set_liked(self, post_id: str, liked: bool) -> None:
        if liked:
            self._run(self.outbox.queue_like(post_id), "Like")
        else:
            self._run(self.outbox.queue_unlike(post_id), "Unlike")

    def delete(self, post_id: str) -> None:
        self._run(self.outbox.queue_delete(post_id), "Delete")

    def accept_answer(self, question_id: str, reply_id: str | None) -> None:
        self._run(
            self.outbox.queue_accept_answer(question_id, reply_id), "Accepted answer"
        )
