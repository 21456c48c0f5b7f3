"""Streaming a queued file to the server's media store, once, into a reserved URI.

The outbox worker calls ``Uploader.upload_item`` for an item of action
"file" before it sends the item's event. The upload first reserves an
mxc:// URI (``POST /_matrix/media/v1/create``) and records it in the cache,
then streams the file into it (``PUT /_matrix/media/v3/upload/{server}/
{mediaId}``). A process killed mid-upload uploads again from the start
into the same URI, so the server never stores two copies. Synapse 1.163
answers M_CANNOT_OVERWRITE_MEDIA when the URI already has content, and
then the upload counts as done.

The source file stays where the user keeps it: a copy of a large file
would double the disk space it needs. Its size and modification time are
recorded when it is queued, and a file that has changed or gone by the
time of the upload is not sent; the item fails with a plain reason.
"""

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from app.errors import CommonplaceError
from app.matrix import media_transfer
from app.matrix.errors import ConnectionFailed, MatrixError, NotFound, TooLarge
from app.store import Store, file_transfers_store
from app.store.file_transfers_store import UploadRow
from app.store.outbox_store import ClaimedItem

log = logging.getLogger(__name__)

# Bytes read from the source file and sent per chunk.
CHUNK_BYTES = 1024 * 1024
# A reservation closer than this to its expiry is replaced before uploading,
# so that a slow upload does not start into a URI about to be forgotten.
EXPIRY_MARGIN_MS = 5 * 60 * 1000
# Seconds the media config (the upload limit) is kept before it is asked again.
MEDIA_CONFIG_SECONDS = 3600.0
# Seconds between progress reports of one upload, at most one per chunk.
PROGRESS_INTERVAL = 0.1


class TransferError(CommonplaceError):
    """Failure of an upload or download; ``message`` explains why and what to do next."""


class UploadCancelled(TransferError):
    """The user cancelled the upload while it was running."""


class UploadInProgress(ConnectionFailed):
    """Another upload into the same reserved URI is running; try again later."""


@dataclass(slots=True)
class UploadProgress:
    """Bytes sent of an upload that the worker is running now."""

    room_id: str
    name: str
    sent: int
    total: int


UPLOADS_DISABLED_MESSAGE = (
    "Uploading files is turned off by your organisation, so this file was not "
    "sent. Remove the upload."
)


def uploads_disabled(policy) -> bool:
    """Return whether the system-wide policy turns uploads off."""
    return bool(getattr(policy, "disable_uploads", False))


def format_size(size: int) -> str:
    """Return size in bytes as "1 byte", "512 bytes", "48 KB", "3.2 GB" (1 KB = 1024 bytes)."""
    if size == 1:
        return "1 byte"
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return f"{text.removesuffix('.0')} {unit}"
    raise AssertionError("unreachable")


def too_large_message(name: str, size: int, limit: int | None) -> str:
    if limit is None:
        return (
            f"{name} is {format_size(size)}, which is more than this server "
            "accepts. Share a smaller file, or a link to it."
        )
    return (
        f"{name} is {format_size(size)}; this server accepts files up to "
        f"{format_size(limit)}. Share a smaller file, or a link to it."
    )


def upload_limit_from_config(config: dict) -> int | None:
    limit = config.get("m.upload.size")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit
    return None


class Uploader:
    """Uploads of outbox items' files, with their progress kept in memory.

    on_progress(room_id) is called, at most every PROGRESS_INTERVAL seconds
    per upload, while bytes move and when an upload starts or ends. With a
    policy whose ``disable_uploads`` is true, every upload fails, also one
    queued before the policy was set.
    """

    def __init__(
        self,
        client,
        store: Store,
        on_progress: Callable[[str], None] = lambda room_id: None,
        policy=None,
    ):
        self.client = client
        self.store = store
        self.on_progress = on_progress
        self.policy = policy
        self.active: dict[str, UploadProgress] = {}
        self._cancelled: dict[str, asyncio.Event] = {}
        self._uploading: set[str] = set()
        self._limit: int | None = None
        self._limit_fetched_at: float | None = None

    # -- The server's limit ---------------------------------------------------------

    async def upload_limit(self, *, refresh: bool = False, **retry) -> int | None:
        """Return the server's ``m.upload.size`` in bytes, asked at most hourly.

        None means the server sets no limit. Raises the network layer's errors.
        """
        fresh = (
            self._limit_fetched_at is not None
            and time.monotonic() - self._limit_fetched_at < MEDIA_CONFIG_SECONDS
        )
        if refresh or not fresh:
            config = await media_transfer.media_config(self.client, **retry)
            self._limit = upload_limit_from_config(config)
            self._limit_fetched_at = time.monotonic()
        return self._limit

    def known_limit(self) -> int | None:
        """Return the last limit fetched, without asking the server."""
        return self._limit

    # -- Cancelling -------------------------------------------------------------------

    def cancel(self, client_id: str) -> bool:
        """Ask the running upload of client_id to stop; False if none is running.

        Once the file is uploaded and its event is being sent, it is too late
        and False is returned.
        """
        event = self._cancelled.get(client_id)
        if event is None or client_id not in self._uploading:
            return False
        event.set()
        return True

    def was_cancelled(self, client_id: str) -> bool:
        event = self._cancelled.get(client_id)
        return event is not None and event.is_set()

    def finished(self, client_id: str) -> None:
        """Forget an item's cancel flag once the worker is done with it."""
        self._cancelled.pop(client_id, None)

    # -- Uploading --------------------------------------------------------------------

    async def upload_item(
        self,
        item: ClaimedItem,
        *,
        max_attempts: int | None = None,
        on_retry=None,
    ) -> dict:
        """Upload an item's file if the server does not have it yet; return the content.

        The returned content is the item's event content with the "url" of
        the uploaded file. Raises TransferError with a plain reason when the
        file cannot be sent, UploadCancelled when cancel() stopped it, and
        the network layer's errors.
        """
        retry = {"max_attempts": max_attempts, "on_retry": on_retry}
        cancelled = self._cancelled.setdefault(item.client_id, asyncio.Event())
        upload = file_transfers_store.get_upload(self.store.reader(), item.client_id)
        if upload is None:
            raise TransferError(
                "The details of this upload are missing from the cache. Remove "
                "it and upload the file again."
            )
        if upload.uploaded:
            return {**item.content, "url": upload.mxc}
        self._uploading.add(item.client_id)
        try:
            mxc = await self._run_cancellable(
                self._upload(item, upload, retry), cancelled, item.client_id
            )
        finally:
            self._uploading.discard(item.client_id)
        return {**item.content, "url": mxc}

    async def _run_cancellable(self, work, cancelled: asyncio.Event, client_id: str):
        """Await work, but cancel it and raise UploadCancelled once cancelled is set."""
        task = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(cancelled.wait())
        try:
            done, _ = await asyncio.wait(
                {task, waiter}, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            waiter.cancel()
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        log.info("Upload %s cancelled", client_id)
        raise UploadCancelled("The upload was cancelled.")

    async def _upload(self, item: ClaimedItem, upload: UploadRow, retry: dict) -> str:
        if uploads_disabled(self.policy):
            raise TransferError(UPLOADS_DISABLED_MESSAGE)
        path = Path(upload.source_path)
        await asyncio.to_thread(_check_source, path, upload)
        limit = await self.upload_limit(**retry)
        if limit is not None and upload.source_size > limit:
            raise TransferError(
                too_large_message(upload.name, upload.source_size, limit)
            )

        mxc = await self._reservation(upload, retry)
        progress = UploadProgress(item.room_id, upload.name, 0, upload.source_size)
        self.active[item.client_id] = progress
        self.on_progress(item.room_id)
        try:
            mxc = await self._put(item, upload, mxc, progress, retry)
        finally:
            self.active.pop(item.client_id, None)
            self.on_progress(item.room_id)
        await self.store.write(file_transfers_store.mark_uploaded, item.client_id)
        log.info("Uploaded %d bytes of item %d as %s", upload.source_size, item.id, mxc)
        return mxc

    async def _reservation(self, upload: UploadRow, retry: dict) -> str:
        """Return the URI to upload into: the recorded one while it is valid."""
        now_ms = int(time.time() * 1000)
        if upload.mxc is not None:
            expires = upload.mxc_expires_at
            if expires is None or now_ms < expires - EXPIRY_MARGIN_MS:
                return upload.mxc
            # An earlier attempt may have completed just before a crash.
            if await media_transfer.media_has_content(self.client, upload.mxc, **retry):
                return upload.mxc
            log.info("Reservation %s of %s expired", upload.mxc, upload.client_id)
        return await self._reserve(upload.client_id, retry)

    async def _reserve(self, client_id: str, retry: dict) -> str:
        mxc, expires = await media_transfer.create_media(self.client, **retry)
        await self.store.write(
            file_transfers_store.record_reservation, client_id, mxc, expires
        )
        log.info("Reserved %s for upload %s", mxc, client_id)
        return mxc

    async def _put(
        self,
        item: ClaimedItem,
        upload: UploadRow,
        mxc: str,
        progress: UploadProgress,
        retry: dict,
    ) -> str:
        reported = [0.0]

        def on_progress(sent: int, total: int | None) -> None:
            progress.sent = sent
            now = time.monotonic()
            if now - reported[0] >= PROGRESS_INTERVAL or sent == total:
                reported[0] = now
                self.on_progress(item.room_id)

        attempts = [0]

        def open_body() -> AsyncIterator[bytes]:
            attempts[0] += 1
            if attempts[0] == 1:
                return _read_chunks(Path(upload.source_path), upload)
            return self._read_after_check(upload)

        for _ in range(2):
            try:
                await media_transfer.upload_into(
                    self.client,
                    mxc,
                    open_body,
                    upload.source_size,
                    upload.mimetype,
                    upload.name,
                    on_progress=on_progress,
                    **retry,
                )
                return mxc
            except TooLarge as error:
                limit = await self._limit_after_rejection(retry)
                raise TransferError(
                    too_large_message(upload.name, upload.source_size, limit)
                ) from error
            except NotFound:
                # The reservation expired on the server, so take a new one.
                mxc = await self._reserve(upload.client_id, retry)
            except MatrixError as error:
                if error.errcode != media_transfer.CANNOT_OVERWRITE_MEDIA:
                    raise
                if await media_transfer.media_has_content(self.client, mxc, **retry):
                    log.info("%s already has the content of %s", mxc, item.client_id)
                    return mxc
                raise UploadInProgress(
                    "Another upload of this file is still running. It will be "
                    "tried again shortly.",
                    errcode=error.errcode,
                    status=error.status,
                    details=error.details,
                ) from error
        raise TransferError(
            f"The server rejected the reservation for {upload.name} twice. "
            "Retry the upload."
        )

    async def _read_after_check(self, upload: UploadRow) -> AsyncIterator[bytes]:
        """Check the limit again, then yield the file's bytes: for a retried PUT.

        Synapse 1.163 cuts the connection, without a 413, when a body is over
        its request size limit (the larger of 200 MiB and max_upload_size),
        and the network layer retries a cut connection. A limit lowered since
        it was fetched therefore shows up here, not as a rejection.
        """
        try:
            limit = await self.upload_limit(refresh=True, max_attempts=1)
        except MatrixError:
            limit = None
        if limit is not None and upload.source_size > limit:
            raise TransferError(
                too_large_message(upload.name, upload.source_size, limit)
            )
        async for chunk in _read_chunks(Path(upload.source_path), upload):
            yield chunk

    async def _limit_after_rejection(self, retry: dict) -> int | None:
        try:
            return await self.upload_limit(refresh=True, **retry)
        except MatrixError:
            return self._limit


def _check_source(path: Path, upload: UploadRow) -> None:
    """Raise TransferError when the source file is gone or changed since queueing."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise TransferError(
            f"{upload.name} is no longer at {path}, so it was not uploaded. Put "
            "it back and retry, or remove the upload."
        ) from None
    except OSError as error:
        raise TransferError(
            f"{upload.name} could not be read ({error.strerror}), so it was not "
            "uploaded. Check the file, then retry or remove the upload."
        ) from error
    if (
        status.st_size != upload.source_size
        or status.st_mtime_ns != upload.source_mtime_ns
    ):
        raise TransferError(
            f"{upload.name} changed after it was added, so it was not uploaded, "
            "and retrying cannot help. Remove this upload and upload the file "
            "again."
        )


async def _read_chunks(path: Path, upload: UploadRow) -> AsyncIterator[bytes]:
    """Yield the file's bytes in chunks read in a thread, checking it did not change.

    The check runs before the last chunk is yielded, so the server never
    receives a complete body of a file that changed while it was read.
    """
    try:
        file = await asyncio.to_thread(open, path, "rb")
    except OSError as error:
        raise TransferError(
            f"{upload.name} could not be opened ({error.strerror}), so it was not "
            "uploaded. Check the file, then retry or remove the upload."
        ) from error
    sent = 0
    try:
        while sent < upload.source_size:
            chunk = await asyncio.to_thread(file.read, CHUNK_BYTES)
            sent += len(chunk)
            if not chunk or sent > upload.source_size:
                raise _changed_while_read(upload)
            if sent == upload.source_size:
                status = await asyncio.to_thread(os.fstat, file.fileno())
                if status.st_mtime_ns != upload.source_mtime_ns:
                    raise _changed_while_read(upload)
            yield chunk
    finally:
        file.close()


def _changed_while_read(upload: UploadRow) -> TransferError:
    return TransferError(
        f"{upload.name} changed while it was being uploaded, so retrying "
        "cannot help. Remove this upload and upload the file again."
    )
