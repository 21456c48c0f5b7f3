"""Uploads, downloads and offline copies of the files in files areas.

``FileTransfers`` is the API that the files area calls, on the asyncio loop.
An upload is an outbox item (action "file"): it waits in the outbox while
offline and is sent in order with the room's other items, by the outbox
worker, which streams the file through ``app.uploads``. A download streams
the file into the cache folder (``app.downloads``). Files and files areas
marked "available offline" are fetched in the background by ``start()``.

Every error raised for the user is a MatrixError subclass or a
TransferError, whose ``message`` describes what failed and what to do next.
"""

import asyncio
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from app import compose
from app import namespace as ns
from app.downloads import Downloader
from app.file_names import safe_file_name, shared_file_name
from app.file_types import FileType, sniff_file
from app.matrix.errors import ConnectionFailed, MatrixError, RateLimited
from app.records import Changes
from app.store import file_transfers_store, file_versions, outbox_store
from app.store.file_transfers_store import FILE_KIND, ROOM_KIND, UploadRow
from app.store.outbox_store import FAILED as ITEM_FAILED
from app.store.outbox_store import SENDING as ITEM_SENDING
from app.store.outbox_store import NewItem
from app.uploads import TransferError, Uploader, too_large_message, uploads_disabled

log = logging.getLogger(__name__)

__all__ = ["FileTransfers", "TransferError", "TransferProgress"]

# Offline copies downloaded at the same time.
OFFLINE_PARALLEL = 2
# Seconds between looks for files to make available offline when nothing
# wakes the background task. A copy that waits for a lost connection is
# tried again at the next look.
OFFLINE_POLL_SECONDS = 60.0
# Requests per try of an offline copy; the network layer retries between
# them with back-off.
OFFLINE_ATTEMPTS = 4
# Seconds before an offline copy that failed for a reason other than the
# user's own connection (another server unreachable, too large, deleted, no
# disk space) is tried again, one entry per failure. After the last one the
# copy is not tried again until the app starts again or a mark is changed.
OFFLINE_FAILURE_BACKOFF = (60.0, 15 * 60.0, 60 * 60.0)

UPLOAD = "upload"
DOWNLOAD = "download"

# States of a TransferProgress.
QUEUED = "queued"  # waiting: offline, or behind the room's other items
ACTIVE = "active"  # bytes are moving
FAILED = "failed"  # stopped with a reason; an upload can be retried
DONE = "done"  # uploaded and posted, or downloaded


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """One upload or download of a room, as the files area shows it.

    ``id`` is the outbox client id of an upload, or the event id of a
    download. ``total_bytes`` is None when the size is unknown. ``error``
    is the plain reason of a failed transfer.
    """

    kind: str
    id: str
    room_id: str
    name: str
    done_bytes: int
    total_bytes: int | None
    state: str
    error: str | None = None


class FileTransfers:
    """File transfers of the signed-in user; ``on_changes`` gets a Changes.

    Uploads are sent by the outbox worker; ``connect_outbox`` hands it this
    object's uploader and lets ``upload`` wake it. Without a connected
    worker, queued uploads wait for the worker's next look at the outbox.
    """

    def __init__(self, client, store, user_id: str, policy, on_changes):
        self.client = client
        self.store = store
        self.user_id = user_id
        self.policy = policy
        self._on_changes = on_changes
        self.uploader = Uploader(
            client, store, on_progress=self._transfers_changed, policy=policy
        )
        self.downloader = Downloader(
            client,
            store,
            on_progress=self._transfers_changed,
            upload_limit=self._limit_if_reachable,
            server_name=user_id.partition(":")[2] or None,
        )
        self._wake_outbox = lambda: None
        self._offline_task: asyncio.Task | None = None
        self._offline_wake = asyncio.Event()
        self._offline_rooms: set[str] = set()
        # Event id to (failures in a row, time.monotonic() of the last one).
        self._offline_failures: dict[str, tuple[int, float]] = {}
        # Offline copies being fetched, by event id.
        self._offline_running: dict[str, asyncio.Task] = {}
        self._cleanups: set[asyncio.Task] = set()

    def connect_outbox(self, worker) -> None:
        """Let worker send uploads with this object's uploader, and wake it on queueing."""
        worker.uploads = self.uploader
        self._wake_outbox = worker.wake

    def notice_changes(self, changes: Changes) -> None:
        """React to synced changes: delete copies of deleted files, fetch new offline ones.

        A file whose event was redacted (by its sender or a moderator) loses
        its downloaded copy, so that a file shared by mistake does not stay
        readable on this disk.
        """
        if changes.rooms & self._offline_rooms:
            self._offline_wake.set()
        if changes.rooms:
            self._start_cleanup(set(changes.rooms))

    def _start_cleanup(self, room_ids: set[str] | None) -> None:
        try:
            task = asyncio.ensure_future(self._remove_deleted_copies(room_ids))
        except RuntimeError:
            # No running event loop, as in a synchronous test of the store.
            return
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _remove_deleted_copies(self, room_ids: set[str] | None) -> int:
        """Delete the copies of redacted or forgotten files in room_ids (None: all)."""
        rows = await self.store.read(
            file_transfers_store.deleted_file_downloads, room_ids
        )
        if not rows:
            return 0
        freed = await self.downloader.delete_copies(rows)
        log.info(
            "Deleted %d copies (%d bytes) of files deleted from their files area",
            len(rows),
            freed,
        )
        return freed

    def _transfers_changed(self, room_id: str) -> None:
        self._on_changes(Changes(transfers={room_id}))

    # -- Background work ----------------------------------------------------------------

    def start(self) -> None:
        """Start the background work: queued uploads and offline copies.

        Queued uploads are sent by the outbox worker, which the session starts.
        """
        self._offline_rooms = file_transfers_store.marked_rooms(self.store.reader())
        if self._offline_task is None or self._offline_task.done():
            self._offline_task = asyncio.ensure_future(self._keep_offline_copies())
        # Redactions synced by a run that stopped before deleting the copies.
        self._start_cleanup(None)

    async def close(self) -> None:
        """Stop the background work; a transfer cut short resumes at next start."""
        if self._offline_task is not None:
            self._offline_task.cancel()
            await asyncio.gather(self._offline_task, return_exceptions=True)
        cleanups = list(self._cleanups)
        for task in cleanups:
            task.cancel()
        await asyncio.gather(*cleanups, return_exceptions=True)
        await self.downloader.close()

    async def _keep_offline_copies(self) -> None:
        """Download marked files, OFFLINE_PARALLEL at a time, until cancelled."""
        limit = asyncio.Semaphore(OFFLINE_PARALLEL)
        running = self._offline_running
        try:
            await self.downloader.remove_leftovers()
            while True:
                self._offline_wake.clear()
                wanted = await self.store.read(
                    file_transfers_store.files_missing_offline
                )
                now = time.monotonic()
                for shared in wanted:
                    if shared.event_id in running or not self._may_try_offline(
                        shared.event_id, now
                    ):
                        continue
                    task = asyncio.ensure_future(
                        self._fetch_offline(shared.event_id, limit)
                    )
                    running[shared.event_id] = task
                    task.add_done_callback(
                        lambda done, event_id=shared.event_id: running.pop(
                            event_id, None
                        )
                    )
                try:
                    await asyncio.wait_for(
                        self._offline_wake.wait(), OFFLINE_POLL_SECONDS
                    )
                except TimeoutError:
                    pass
        finally:
            tasks = list(running.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _may_try_offline(self, event_id: str, now: float) -> bool:
        failures, failed_at = self._offline_failures.get(event_id, (0, 0.0))
        if failures == 0:
            return True
        if failures > len(OFFLINE_FAILURE_BACKOFF):
            return False
        return now - failed_at >= OFFLINE_FAILURE_BACKOFF[failures - 1]

    async def _fetch_offline(self, event_id: str, limit: asyncio.Semaphore) -> None:
        async with limit:
            if not self._still_marked_offline(event_id):
                return
            try:
                await self.downloader.download(event_id, max_attempts=OFFLINE_ATTEMPTS)
            except (ConnectionFailed, RateLimited) as error:
                # The user's own server is out of reach: tried again at the
                # next look, without counting against the file.
                log.info("Offline copy of %s waits: %s", event_id, error.message)
            except (MatrixError, TransferError, OSError) as error:
                failures = self._offline_failures.get(event_id, (0, 0.0))[0] + 1
                self._offline_failures[event_id] = (failures, time.monotonic())
                if failures > len(OFFLINE_FAILURE_BACKOFF):
                    log.warning(
                        "Offline copy of %s failed %d times, not tried again "
                        "until the next start: %s",
                        event_id,
                        failures,
                        error,
                    )
                else:
                    log.warning(
                        "Offline copy of %s failed (%d of %d tries), next try in "
                        "%.0f s: %s",
                        event_id,
                        failures,
                        len(OFFLINE_FAILURE_BACKOFF) + 1,
                        OFFLINE_FAILURE_BACKOFF[failures - 1],
                        error,
                    )
            else:
                self._offline_failures.pop(event_id, None)

    def _still_marked_offline(self, event_id: str) -> bool:
        conn = self.store.reader()
        shared = file_transfers_store.get_shared_file(conn, event_id)
        if shared is None or shared.redacted:
            return False
        return file_transfers_store.is_marked(conn, event_id) or (
            shared.room_id in file_transfers_store.marked_rooms(conn)
        )

    # -- Uploads --------------------------------------------------------------------------

    async def upload(
        self, room_id: str, path: str | Path, *, supersedes: str | None = None
    ) -> str:
        """Queue the file at path for the files area room_id; return its client id.

        supersedes is the event id of the file this one is a new version of.
        The file is read when the outbox worker sends it, so it must stay in
        place and unchanged until then. Raises TransferError when the policy
        turns uploads off, or when the file cannot be read. It is also raised
        when the file is larger than the server accepts (checked when the
        limit is known or can be fetched), and when supersedes names a cached
        file that another person shared and the user is not a moderator.
        """
        if uploads_disabled(self.policy):
            raise TransferError("Uploading files is turned off by your organisation.")
        if supersedes is not None:
            self._check_may_add_version(supersedes)
        source = Path(path).expanduser().absolute()
        status = await asyncio.to_thread(_source_status, source)
        name = _event_name(source.name)
        limit = await self._limit_if_reachable()
        if limit is not None and status.st_size > limit:
            raise TransferError(too_large_message(name, status.st_size, limit))
        try:
            file_type = await asyncio.to_thread(sniff_file, source)
        except OSError as error:
            raise _unreadable(source, error) from error
        self._check_room(room_id)

        client_id = compose.new_client_id()
        content = file_content(name, status.st_size, file_type, client_id, supersedes)
        item = NewItem(
            client_id,
            compose.new_transaction_id(),
            room_id,
            self.user_id,
            outbox_store.FILE,
            "m.room.message",
            content,
            target_id=supersedes,
            title=name,
            body=name,
        )
        upload = UploadRow(
            client_id,
            room_id,
            str(source),
            name,
            file_type.mimetype,
            status.st_size,
            status.st_mtime_ns,
        )
        await self.store.write(file_transfers_store.insert_upload, item, upload)
        log.info(
            "Queued upload %s of %d bytes in %s", client_id, status.st_size, room_id
        )
        self._on_changes(Changes(rooms={room_id}, outbox=True, transfers={room_id}))
        self._wake_outbox()
        return client_id

    def may_add_version(self, event_id: str) -> bool:
        """Return whether the user's new version of a cached file would replace it.

        True when the user shared that file or is a moderator of its files
        area. A version from anyone else is listed as a file of its own.
        """
        return file_versions.may_add_version(
            self.store.reader(), event_id, self.user_id
        )

    def _check_may_add_version(self, supersedes: str) -> None:
        conn = self.store.reader()
        shared = file_transfers_store.get_shared_file(conn, supersedes)
        # A file not in the cache is left to the reader's rules, which ignore
        # a link to it until it is synced.
        if shared is None or file_versions.may_add_version(
            conn, supersedes, self.user_id
        ):
            return
        raise TransferError(
            f"Only the person who shared {safe_file_name(shared.name)} or a "
            "moderator can add a new version of it. Upload your file as a new "
            "file instead."
        )

    def _check_room(self, room_id: str) -> None:
        row = (
            self.store.reader()
            .execute("SELECT membership FROM rooms WHERE room_id = ?", (room_id,))
            .fetchone()
        )
        if row is None or row[0] != "join":
            raise TransferError(
                f"You are not a member of the room {room_id}. Join it first."
            )

    async def _limit_if_reachable(self) -> int | None:
        try:
            return await self.uploader.upload_limit(max_attempts=1)
        except MatrixError as error:
            log.info("Upload limit unknown for now: %s", error.message)
            return self.uploader.known_limit()

    async def cancel_upload(self, client_id: str) -> None:
        """Stop an upload and remove it from the outbox.

        A reserved URI that received no content expires on the server by
        itself (after 24 hours in Synapse 1.163). Nothing happens when the
        upload is no longer in the outbox. Raises TransferError when the file is already posted, or
        is being posted after its upload finished.
        """
        changes = await self.store.write(
            file_transfers_store.remove_upload_item, client_id
        )
        if changes is not None:
            log.info("Upload %s removed from the outbox", client_id)
            self._on_changes(changes)
            return
        state = file_transfers_store.outbox_state(self.store.reader(), client_id)
        if state == ITEM_SENDING and self.uploader.cancel(client_id):
            return
        if state == ITEM_SENDING:
            raise TransferError(
                "The file is being posted and can no longer be cancelled. Delete "
                "it from the files area once it appears."
            )
        raise TransferError(
            "This file is already posted, so its upload cannot be cancelled. "
            "Delete it from the files area instead."
        )

    async def upload_limit(self) -> int | None:
        """Return the server's upload size limit in bytes, or None.

        None means the server sets no limit, or it cannot be reached and no
        limit was fetched before. A fetched limit is kept for an hour.
        """
        return await self._limit_if_reachable()

    # -- Downloads -------------------------------------------------------------------------

    async def download(self, event_id: str) -> Path:
        """Return the cached copy of a shared file, downloading it first if needed.

        Raises TransferError (also when cancel_download stopped it) and the
        network layer's errors.
        """
        return await self.downloader.download(event_id)

    async def cancel_download(self, event_id: str) -> None:
        """Stop a download and delete its partial file; nothing happens when none runs."""
        await self.downloader.cancel(event_id)

    @property
    def folder(self) -> Path:
        """Return the folder of the downloaded copies, one subfolder per files area."""
        return self.downloader.root

    def cached_copy(self, event_id: str) -> Path | None:
        """Return the complete cached copy of a file, or None; no network."""
        return self.downloader.cached_copy(event_id)

    def downloads_size(self) -> int:
        """Return the bytes of the complete downloaded copies, from the cache table."""
        return file_transfers_store.downloads_size(self.store.reader())

    async def remove_downloads(self, *, include_offline: bool = False) -> int:
        """Delete downloaded copies; return the bytes freed.

        Without include_offline, copies of files marked available offline
        (or in a marked files area) are kept. With it, every complete copy
        is deleted. The marks stay, so the background work downloads the
        marked files again; remove the marks first to keep them gone.
        Downloads still running are left alone.
        """
        rows = await self.store.read(
            file_transfers_store.removable_downloads, include_offline=include_offline
        )
        freed = await self.downloader.delete_copies(rows)
        log.info("Removed %d downloaded copies, %d bytes", len(rows), freed)
        return freed

    # -- Available offline -------------------------------------------------------------------

    async def set_offline(self, target: str, available: bool) -> None:
        """Mark a file (event id) or a files area (room id) as available offline.

        Removing the mark keeps the copies already downloaded, and stops the
        downloads of files that are no longer marked.
        """
        if target.startswith("!"):
            kind = ROOM_KIND
        elif target.startswith("$"):
            kind = FILE_KIND
        else:
            raise ValueError(f"Expected an event id or a room id, not {target!r}.")
        await self.store.write(
            file_transfers_store.set_offline_mark, target, kind, available
        )
        self._offline_rooms = file_transfers_store.marked_rooms(self.store.reader())
        self._offline_failures.clear()
        self._offline_wake.set()
        if not available:
            await self._stop_unmarked_downloads()
        room = target
        if kind == FILE_KIND:
            shared = file_transfers_store.get_shared_file(self.store.reader(), target)
            room = shared.room_id if shared is not None else None
        if room is not None:
            self._on_changes(Changes(transfers={room}))

    async def _stop_unmarked_downloads(self) -> None:
        """Cancel the offline copies being fetched whose files are no longer marked.

        NOTE: a caller of download() that waits for the same file loses its
        download too (DownloadCancelled), because both share one task.
        """
        for event_id in list(self._offline_running):
            if not self._still_marked_offline(event_id):
                log.info("Offline copy of %s stopped: no longer marked", event_id)
                await self.downloader.cancel(event_id)

    def is_offline(self, target: str) -> bool:
        """Return whether a file or files area is marked available offline.

        A file in a marked area counts as marked.
        """
        conn = self.store.reader()
        if file_transfers_store.is_marked(conn, target):
            return True
        if target.startswith("!"):
            return False
        shared = file_transfers_store.get_shared_file(conn, target)
        return shared is not None and file_transfers_store.is_marked(
            conn, shared.room_id
        )

    # -- Progress -------------------------------------------------------------------------------

    def progress(self, room_id: str) -> list[TransferProgress]:
        """Return the room's unsent uploads (failed ones too) and running downloads.

        Reads the cache and memory only, so it is cheap to call on every change.
        """
        result = []
        for upload in file_transfers_store.list_uploads(self.store.reader(), room_id):
            row = upload.upload
            running = self.uploader.active.get(row.client_id)
            if upload.state == ITEM_FAILED:
                state, done = FAILED, 0
            elif upload.state == ITEM_SENDING:
                state = ACTIVE
                done = (
                    running.sent
                    if running
                    else (row.source_size if row.uploaded else 0)
                )
            else:
                state, done = QUEUED, 0
            result.append(
                TransferProgress(
                    UPLOAD,
                    row.client_id,
                    room_id,
                    row.name,
                    done,
                    row.source_size,
                    state,
                    upload.error if state == FAILED else None,
                )
            )
        for event_id, download in list(self.downloader.active.items()):
            if download.room_id != room_id:
                continue
            result.append(
                TransferProgress(
                    DOWNLOAD,
                    event_id,
                    room_id,
                    safe_file_name(download.name),
                    download.received,
                    download.total,
                    ACTIVE,
                )
            )
        return result


def file_content(
    name: str,
    size: int,
    file_type: FileType,
    client_id: str,
    supersedes: str | None = None,
) -> dict:
    """Return the content of an m.file or m.image event, without its "url".

    The outbox worker adds the "url" once the file is uploaded.
    """
    info: dict = {"mimetype": file_type.mimetype, "size": size}
    msgtype = "m.file"
    if file_type.is_image:
        msgtype = "m.image"
        info["w"] = file_type.width
        info["h"] = file_type.height
    content = {
        "msgtype": msgtype,
        "body": name,
        "filename": name,
        "info": info,
        ns.CLIENT_ID_KEY: client_id,
    }
    if supersedes is not None:
        content[ns.SUPERSEDES_KEY] = supersedes
    return content


def _event_name(name: str) -> str:
    """Return the name sent in the event: the local name without hidden characters."""
    return shared_file_name(name)


def _source_status(source: Path) -> os.stat_result:
    try:
        status = source.stat()
    except OSError as error:
        raise _unreadable(source, error) from error
    if not stat.S_ISREG(status.st_mode):
        raise TransferError(f"{source} is not a regular file. Choose a file to share.")
    if not os.access(source, os.R_OK):
        raise TransferError(
            f"{source} cannot be read: permission denied. Check its permissions."
        )
    return status


def _unreadable(source: Path, error: OSError) -> TransferError:
    if isinstance(error, FileNotFoundError):
        return TransferError(f"{source} does not exist. Choose another file.")
    return TransferError(
        f"{source} cannot be read ({error.strerror or error}). Check the file and "
        "try again."
    )
