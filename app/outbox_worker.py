"""The outbox worker: sends queued items in order per room, each exactly once.

Each room has its own sending task, so a slow room does not hold up the
others; within a room items go in the order they were queued. An item keeps
the transaction id it was given when queued, so the server stores it once
however often it is resent. Where that protection may be gone (the server
forgets transaction ids after about a day, and with the device at sign-out),
the worker first looks for the item on the server by its client id.

Only ``HttpClient.request`` retries. A connection failure waits there, with
back-off, until the server responds; a rejection marks the item failed with
a plain reason and the room goes on; an ended session stops the worker.
"""

import asyncio
import enum
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from app import namespace as ns
from app import profile_edit, uploads
from app.matrix import room_events
from app.matrix.errors import (
    AuthExpired,
    ConnectionFailed,
    Forbidden,
    InsecureConnection,
    MatrixError,
    NotFound,
    NotMatrixServer,
    RateLimited,
    TlsFailure,
    TooLarge,
)
from app.records import Changes
from app.store import (
    Store,
    file_transfers_store,
    outbox_queries,
    outbox_store,
    profile_store,
)
from app.store.outbox_store import (
    ACCEPT,
    AVATAR,
    DELETE,
    FILE,
    PROFILE_ACTIONS,
    SENDING,
    UNLIKE,
    ClaimedItem,
)

log = logging.getLogger(__name__)

# An item first tried longer ago than this is looked up before it is sent
# again, because Synapse 1.163 deletes transaction ids after 24 hours
# (_cleanup_old_transaction_ids). The missing hour is a safety margin.
LOOKUP_AFTER_SECONDS = 23 * 3600
# Sent items stay this long so that local ids held by views still resolve.
KEEP_SENT_SECONDS = 7 * 24 * 3600
# /messages pages of 100 of the user's own events of one type searched by a
# look-up. An item older than that on the server is sent again.
LOOKUP_PAGES = 10
# Seconds a room waits after a failure that request() does not retry but
# that is no verdict on the item (TLS, a response that is not Matrix).
PAUSE_AFTER_TRANSPORT_ERROR = 60.0
# Seconds between looks at the outbox while nothing wakes the worker, so that
# items another process queued in the same cache (the command line with
# --no-send) are sent without waiting for the next local change.
POLL_SECONDS = 15.0

# Errors that leave it unknown whether the server has the item, or that are
# no verdict on the item itself. The item stays queued with its transaction id.
_KEEP_QUEUED = (
    ConnectionFailed,
    RateLimited,
    TlsFailure,
    InsecureConnection,
    NotMatrixServer,
)


class OutboxState(enum.Enum):
    IDLE = "idle"
    SENDING = "sending"
    OFFLINE = "offline"
    SIGNED_OUT = "signed_out"


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """The worker's state for a status bar; counts are of unsent items.

    retry_in is the wait in seconds before the next attempt when OFFLINE;
    message is a plain sentence when OFFLINE or SIGNED_OUT.
    """

    state: OutboxState
    queued: int = 0
    failed: int = 0
    retry_in: float | None = None
    message: str = ""


@dataclass(slots=True)
class DrainReport:
    """Outcome of one drain: items sent and failed, rooms left for later."""

    sent: int = 0
    failed: int = 0
    offline_rooms: list[str] | None = None
    signed_out: AuthExpired | None = None


def session_fingerprint(device_id: str, access_token: str) -> str:
    """Return "device id/hash" naming a sign-in; the token itself is never stored.

    The hash is the first 16 hex digits of the token's SHA-256, enough to tell
    two tokens apart and useless for signing in.
    """
    digest = hashlib.sha256(access_token.encode("utf-8")).hexdigest()[:16]
    return f"{device_id}/{digest}"


class _Offline(Exception):
    """A room stopped because the server was unreachable after max_attempts."""


def failure_reason(error: MatrixError, action: str) -> str:
    """Return a plain sentence saying why the server rejected an item."""
    if action in PROFILE_ACTIONS:
        return _profile_failure_reason(error, action)
    item_name = {
        outbox_store.DISCUSSION: "post",
        outbox_store.REPLY: "reply",
        outbox_store.LIKE: "like",
        outbox_store.UNLIKE: "removal of the like",
        outbox_store.EDIT: "edit",
        outbox_store.DELETE: "deletion",
        outbox_store.ACCEPT: "accepted answer",
        outbox_store.FILE: "file",
    }.get(action, "item")
    if isinstance(error, TooLarge):
        return (
            f"The server rejected the {item_name} as too large. Shorten it, "
            "then try again."
        )
    if isinstance(error, Forbidden):
        return (
            f"The server did not allow the {item_name}: you may no longer be a "
            "member of the room, or lack the permission. Ask a room moderator, "
            "then try again or discard it."
        )
    if isinstance(error, NotFound):
        return (
            f"The server could not send the {item_name} because the room or the "
            "post it refers to no longer exists. Discard it."
        )
    return f"The server rejected the {item_name}. {error.message}"


def _profile_failure_reason(error: MatrixError, action: str) -> str:
    if error.errcode == "M_PROFILE_TOO_LARGE":
        return (
            "The server rejected the profile change because your whole profile "
            "would be over its size limit of 64 KiB. Edit your profile to make "
            "the bio or the lists shorter, and save it again: that replaces "
            "this change."
        )
    if isinstance(error, TooLarge) and action == AVATAR:
        return (
            "The server rejected the new profile picture as too large. Choose "
            "a smaller picture."
        )
    if isinstance(error, Forbidden):
        return (
            "The server does not allow this change to your profile. Ask your "
            "administrator, or discard the change."
        )
    item_name = "new profile picture" if action == AVATAR else "profile change"
    return f"The server rejected the {item_name}. {error.message}"


class OutboxWorker:
    """Sends the outbox of ``store`` with ``client`` as ``user_id``.

    session is the fingerprint of the current sign-in (session_fingerprint).
    on_changes receives the rows that each sent or failed item changes;
    on_status the worker's state.
    """

    def __init__(
        self,
        client,
        store: Store,
        *,
        user_id: str,
        session: str,
        on_changes: Callable[[Changes], None] = lambda changes: None,
        on_status: Callable[[OutboxStatus], None] = lambda status: None,
        clock: Callable[[], float] = time.time,
    ):
        self.client = client
        self.store = store
        self.user_id = user_id
        self.session = session
        self.on_changes = on_changes
        self.on_status = on_status
        self.clock = clock
        self.last_status: OutboxStatus | None = None
        self._wake = asyncio.Event()
        self._room_tasks: dict[str, asyncio.Task] = {}
        self._signed_out: AuthExpired | None = None
        # Streams the files of "file" items; FileTransfers replaces it with
        # its own, which reports progress to the files area.
        self.uploads = uploads.Uploader(client, store)

    # -- Status --------------------------------------------------------------

    def _report(self, state: OutboxState, **fields) -> None:
        queued, failed = outbox_queries.count_items(self.store.reader())
        if state is OutboxState.SENDING and not queued:
            state = OutboxState.IDLE
        status = OutboxStatus(state, queued, failed, **fields)
        if status != self.last_status:
            self.last_status = status
            self.on_status(status)

    def _on_retry(self, error: MatrixError, delay: float) -> None:
        self._report(OutboxState.OFFLINE, retry_in=delay, message=error.message)

    # -- Running ---------------------------------------------------------------

    def wake(self) -> None:
        """Look for items to send now; called after an item is queued."""
        self._wake.set()

    async def run(self) -> None:
        """Send items as they are queued until cancelled or the session ends.

        Besides wake(), the worker looks for new items every POLL_SECONDS.
        """
        await self._prepare()
        try:
            while self._signed_out is None:
                self._wake.clear()
                self._start_room_tasks(max_attempts=None)
                if not self._room_tasks:
                    self._report(OutboxState.IDLE)
                try:
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                except TimeoutError:
                    pass
        finally:
            await self._cancel_room_tasks()
        self._report_signed_out()

    async def drain(self, *, max_attempts: int | None = None) -> DrainReport:
        """Send everything that can be sent now, then return.

        With max_attempts set, a room whose server stays unreachable for that
        many attempts is left for later and listed in offline_rooms.
        """
        await self._prepare()
        report = DrainReport(offline_rooms=[])
        while self._signed_out is None:
            rooms = [
                room
                for room in outbox_queries.rooms_with_work(self.store.reader())
                if room not in report.offline_rooms
            ]
            if not rooms:
                break
            results = await asyncio.gather(
                *(self._send_room(room, max_attempts) for room in rooms),
                return_exceptions=True,
            )
            for room, result in zip(rooms, results):
                if isinstance(result, _Offline):
                    report.offline_rooms.append(room)
                elif isinstance(result, BaseException):
                    raise result
                else:
                    report.sent += result[0]
                    report.failed += result[1]
        report.signed_out = self._signed_out
        if self._signed_out is not None:
            self._report_signed_out()
        else:
            self._report(OutboxState.IDLE)
        return report

    async def close(self) -> None:
        await self._cancel_room_tasks()

    async def _prepare(self) -> None:
        self._signed_out = None
        await self.store.write(outbox_store.reset_interrupted)
        await self.store.write(
            outbox_store.prune_done, self.clock() - KEEP_SENT_SECONDS
        )
        profile_edit.remove_unused_files(self.store.reader())
        await self.store.write(file_transfers_store.prune_uploads)

    def _report_signed_out(self) -> None:
        if self._signed_out is not None:
            self._report(OutboxState.SIGNED_OUT, message=self._signed_out.message)

    def _start_room_tasks(self, max_attempts: int | None) -> None:
        for room_id in outbox_queries.rooms_with_work(self.store.reader()):
            if room_id in self._room_tasks:
                continue
            task = asyncio.ensure_future(self._send_room(room_id, max_attempts))
            self._room_tasks[room_id] = task
            task.add_done_callback(lambda done, room=room_id: self._room_done(room))

    def _room_done(self, room_id: str) -> None:
        task = self._room_tasks.pop(room_id, None)
        if task is not None and not task.cancelled() and task.exception():
            error = task.exception()
            if not isinstance(error, AuthExpired):
                log.error("Sending in %s stopped", room_id, exc_info=error)
        # The run loop looks again: items may have been queued meanwhile.
        self._wake.set()

    async def _cancel_room_tasks(self) -> None:
        tasks = list(self._room_tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._room_tasks.clear()

    # -- Sending one room's items ------------------------------------------------

    async def _send_room(
        self, room_id: str, max_attempts: int | None
    ) -> tuple[int, int]:
        """Send the room's items in order; return (sent, failed)."""
        sent = failed = 0
        while self._signed_out is None:
            item = await self.store.write(
                outbox_store.claim_next, room_id, self.session, self.clock()
            )
            if item is None:
                break
            self._report(OutboxState.SENDING)
            try:
                event_id = await self._deliver(item, max_attempts)
            except AuthExpired as error:
                await self.store.write(outbox_store.requeue, item.id)
                log.warning(
                    "Outbox stopped: the session has ended (item %d, %s)",
                    item.id,
                    error.errcode,
                )
                self._signed_out = error
                self._wake.set()
                break
            except _KEEP_QUEUED as error:
                await self.store.write(outbox_store.requeue, item.id)
                log.warning(
                    "Item %d not sent yet: %s %s",
                    item.id,
                    type(error).__name__,
                    error.details or error.message,
                )
                self._report(OutboxState.OFFLINE, message=error.message)
                if max_attempts is not None:
                    raise _Offline(room_id) from error
                # request() waits out connection failures itself, so only
                # the other kinds arrive here when it retries for ever.
                await asyncio.sleep(PAUSE_AFTER_TRANSPORT_ERROR)
                continue
            except MatrixError as error:
                failed += 1
                await self._fail(item, error)
                continue
            except profile_edit.AvatarFileMissing as error:
                failed += 1
                await self._mark_failed(item, error.message, None, "file missing")
                continue
            except uploads.UploadCancelled:
                await self._drop_cancelled(item)
                continue
            except uploads.TransferError as error:
                failed += 1
                await self._mark_failed(item, error.message, None, "upload")
                continue
            finally:
                self.uploads.finished(item.client_id)
            sent += 1
            if item.action in PROFILE_ACTIONS:
                changes = await self.store.write(profile_store.mark_sent, item.id)
                profile_edit.delete_sent_file(self.store, item)
            else:
                changes = await self.store.write(
                    outbox_store.mark_sent, item.id, event_id
                )
            if item.action == FILE:
                await self.store.write(
                    file_transfers_store.forget_upload, item.client_id
                )
            log.debug("Sent item %d as %s", item.id, event_id)
            self.on_changes(changes)
        return sent, failed

    async def _drop_cancelled(self, item: ClaimedItem) -> None:
        changes = await self.store.write(
            file_transfers_store.remove_upload_item, item.client_id, (SENDING,)
        )
        log.info("Upload %d (%s) cancelled and removed", item.id, item.client_id)
        if changes is not None:
            self.on_changes(changes)

    async def _fail(self, item: ClaimedItem, error: MatrixError) -> None:
        details = error.details or error.message
        await self._mark_failed(
            item, failure_reason(error, item.action), details, type(error).__name__
        )

    async def _mark_failed(
        self, item: ClaimedItem, reason: str, details: str | None, cause: str
    ) -> None:
        log.warning(
            "Item %d (%s in %s) failed: %s %s",
            item.id,
            item.action,
            item.room_id,
            cause,
            details or reason,
        )
        changes = await self.store.write(
            outbox_store.mark_failed, item.id, reason, details
        )
        self.on_changes(changes)

    def _needs_lookup(self, item: ClaimedItem) -> bool:
        """Return whether the server may have the item without deduplicating it.

        Accepted answers and profile fields are set, not appended, so sending
        them again is harmless.
        """
        if item.action in (ACCEPT, *PROFILE_ACTIONS) or item.first_attempt_at is None:
            return False
        if self.clock() - item.first_attempt_at > LOOKUP_AFTER_SECONDS:
            return True
        return item.previous_session not in (None, self.session)

    async def _deliver(self, item: ClaimedItem, max_attempts: int | None) -> str | None:
        """Send one item, or find it on the server; return its event id."""
        retry = {"max_attempts": max_attempts, "on_retry": self._on_retry}
        if item.action in PROFILE_ACTIONS:
            await profile_edit.send_profile_item(self.client, self.store, item, **retry)
            return None
        if self._needs_lookup(item):
            found = await room_events.find_own_event(
                self.client,
                item.room_id,
                sender=self.user_id,
                event_type=item.event_type,
                key=ns.CLIENT_ID_KEY,
                value=item.client_id,
                max_pages=LOOKUP_PAGES,
                on_retry=self._on_retry,
            )
            log.info(
                "Looked up item %d on the server: %s", item.id, found or "not found"
            )
            if found is not None:
                return found
        if item.action in (DELETE, UNLIKE):
            return await room_events.redact_event(
                self.client,
                item.room_id,
                item.target_id,
                item.txn_id,
                item.content,
                **retry,
            )
        content = item.content
        if item.action == FILE:
            content = await self.uploads.upload_item(item, **retry)
            if self.uploads.was_cancelled(item.client_id):
                raise uploads.UploadCancelled("The upload was cancelled.")
        if item.action == ACCEPT:
            return await room_events.set_state(
                self.client,
                item.room_id,
                item.event_type,
                item.target_id,
                item.content,
                **retry,
            )
        return await room_events.send_event(
            self.client,
            item.room_id,
            item.event_type,
            item.txn_id,
            content,
            **retry,
        )
