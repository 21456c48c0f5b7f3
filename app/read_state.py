"""Read state shared across devices: receipts and the read marker, sent when possible.

Opening a discussion queues a threaded receipt for its root (thread "main")
and one for the newest event of its thread. "Mark all as read" queues, for
every joined room of a space, an unthreaded receipt and the read marker
(``m.fully_read``) at the room's newest event. The queue is a table in the
cache that keeps only the newest receipt per room, type and thread. A receipt
queued offline is sent once the server can be reached, and one older than a
receipt already queued or sent is dropped.

Unread counts are never changed here: the server recomputes them after a
receipt, and the next sync brings them to this device and the user's others.
"""

from __future__ import annotations

import asyncio
import logging
import time

from app.matrix.errors import AuthExpired, MatrixError, RequestFailed
from app.matrix.receipts import send_receipt, set_read_markers
from app.store import Store
from app.store.read_state_store import (
    FULLY_READ,
    UNTHREADED,
    ReceiptTarget,
    discussion_read_targets,
    mark_receipts_sent,
    queue_receipts,
    room_read_targets,
    space_room_ids,
    unsent_receipts,
)

log = logging.getLogger(__name__)

# Seconds between attempts to send queued receipts while the server cannot
# be reached; the session also wakes the sender after each successful sync.
RETRY_PAUSE = 30


class ReadState:
    """Queues receipts in the cache and sends them through the network layer."""

    def __init__(self, client, store: Store):
        self.client = client
        self.store = store
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    # -- Marking read ------------------------------------------------------

    async def mark_discussion_read(self, root_id: str) -> int:
        """Queue the receipts that mark a discussion read; return how many were new."""
        targets = discussion_read_targets(self.store.reader(), root_id)
        return await self._queue(targets)

    async def mark_space_read(self, space_id: str) -> int:
        """Queue an unthreaded receipt and the read marker for each room of a space.

        Returns how many receipts were new.
        """
        conn = self.store.reader()
        targets = []
        for room_id in space_room_ids(conn, space_id):
            targets.extend(room_read_targets(conn, room_id))
        return await self._queue(targets)

    def discussion_opened(self, root_id: str) -> None:
        """Mark a discussion read in the background; for callers without a coroutine."""
        self._in_background(self.mark_discussion_read(root_id))

    def space_read_requested(self, space_id: str) -> None:
        """Mark a space read in the background; for callers without a coroutine."""
        self._in_background(self.mark_space_read(space_id))

    def _in_background(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Queueing read receipts failed: %r", task.exception())

    async def _queue(self, targets: list[ReceiptTarget]) -> int:
        if not targets or not self._newer_than_queued(targets):
            return 0
        queued = await self.store.write(queue_receipts, targets, time.time())
        if queued:
            self.wake()
        return queued

    def _newer_than_queued(self, targets: list[ReceiptTarget]) -> bool:
        """Return whether any target is newer than its queued or sent receipt.

        Reading first keeps the writer free when an open discussion is
        rendered again with nothing new in it.
        """
        conn = self.store.reader()
        for target in targets:
            row = conn.execute(
                "SELECT position FROM read_receipts "
                "WHERE room_id = ? AND receipt_type = ? AND thread_id = ?",
                (target.room_id, target.receipt_type, target.thread_id),
            ).fetchone()
            if row is None or row[0] < target.position:
                return True
        return False

    # -- Sending -----------------------------------------------------------

    def wake(self) -> None:
        """Make the sender look at the queue now."""
        self._wake.set()

    async def send_pending(self) -> int:
        """Send every queued receipt; return how many the server accepted.

        A receipt that the server rejects (an unknown event, a room left) is
        logged and dropped. Raises ConnectionFailed or another MatrixError
        when the server cannot be reached, leaving the rest queued.
        """
        accepted = 0
        while True:
            batch = unsent_receipts(self.store.reader())
            if not batch:
                return accepted
            for target in batch:
                try:
                    await self._send(target)
                    accepted += 1
                except AuthExpired:
                    raise
                except RequestFailed as error:
                    log.warning(
                        "The server rejected the %s receipt for %s in %s (%s); "
                        "dropped it",
                        target.receipt_type,
                        target.event_id,
                        target.room_id,
                        error.errcode or error.status,
                    )
                await self.store.write(mark_receipts_sent, [target])

    async def _send(self, target: ReceiptTarget) -> None:
        if target.receipt_type == FULLY_READ:
            await set_read_markers(
                self.client, target.room_id, fully_read=target.event_id
            )
            return
        thread_id = None if target.thread_id == UNTHREADED else target.thread_id
        await send_receipt(
            self.client,
            target.room_id,
            target.event_id,
            thread_id=thread_id,
            receipt_type=target.receipt_type,
        )

    async def run(self) -> None:
        """Send queued receipts until cancelled or the session ends."""
        while True:
            self._wake.clear()
            pause = None
            try:
                await self.send_pending()
            except AuthExpired:
                log.warning("Stopped sending read receipts: the session has ended")
                return
            except MatrixError as error:
                log.warning(
                    "Sending read receipts failed: %s; trying again in %d s",
                    error,
                    RETRY_PAUSE,
                )
                pause = RETRY_PAUSE
            except Exception:
                log.exception("Sending read receipts failed with an unexpected error")
                pause = RETRY_PAUSE
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=pause)
            except TimeoutError:
                pass

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
