"""Downloading shared files into the cache folder, streamed, with a size limit.

Each files area has its own folder under ``<cache>/files/``, named by a hash
of the room id. A download goes to a hidden ``.part`` file in that folder
and is renamed to the file's sanitised name (``app.file_names``) only when
complete, so a file with the final name is always whole. The cache's
``file_downloads`` table records each copy; the bytes are never read into
memory.
"""

import asyncio
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.file_names import safe_file_name, unique_path
from app.matrix import media_transfer
from app.matrix.errors import NotFound, ServerUnavailable, TooLarge
from app.matrix.urls import parse_mxc
from app.store import Store, file_transfers_store
from app.store.file_transfers_store import DownloadRow, SharedFileRow
from app.text import clean_name
from app.uploads import PROGRESS_INTERVAL, TransferError, format_size

log = logging.getLogger(__name__)

# Bytes a download may exceed the size its event declares, for servers that
# count differently; more than that and the download stops.
SIZE_SLACK_BYTES = 64 * 1024
# Largest download at all, and the limit for an event that declares no size.
# NOTE: a guess at what a files area shares, not a measured need.
MAX_DOWNLOAD_BYTES = 16 * 1024**3
# Free space left on the disk after a download, at least.
FREE_SPACE_MARGIN_BYTES = 256 * 1024 * 1024
# A declared size above this (1 TiB) is treated as unknown, like one above
# the server's upload limit. Synapse 1.163 stores no upload and fetches no
# remote media larger than its max_upload_size, so such a size is false.
MAX_DECLARED_BYTES = 1024**4


class DownloadCancelled(TransferError):
    """cancel() stopped the download that a caller was waiting for."""


class RemoteMediaUnavailable(TransferError):
    """The user's server could not fetch a file stored on another server."""


# Statuses meaning the user's server could not fetch media from the server
# that stores it. Synapse 1.163 sends 502 "Failed to fetch remote media"
# when that server is unreachable. 504, the gateway timeout, is included
# for a server that does not respond in time.
_REMOTE_FAILURE_STATUSES = (502, 504)


@dataclass(slots=True)
class DownloadProgress:
    """Bytes received of a download running now; total is None when unknown."""

    room_id: str
    name: str
    received: int
    total: int | None


def files_folder() -> Path:
    return paths.cache_dir() / "files"


def room_folder(root: Path, room_id: str) -> Path:
    """Return the folder of a room's copies; a hash, so the room id needs no escaping."""
    return root / hashlib.sha256(room_id.encode("utf-8")).hexdigest()[:24]


def part_path(folder: Path, event_id: str) -> Path:
    digest = hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:24]
    return folder / f".{digest}.part"


def declared_size(shared: SharedFileRow, upload_limit: int | None) -> int | None:
    """Return the size the event declares, or None when it is missing or cannot be true.

    A size over the server's upload limit (when known) or over
    MAX_DECLARED_BYTES cannot be true, so it is treated as unknown rather
    than demand disk space that no download will use.
    """
    size = shared.size
    if size is None or size < 0:
        return None
    ceiling = MAX_DECLARED_BYTES
    if upload_limit is not None:
        ceiling = min(ceiling, upload_limit)
    return size if size <= ceiling else None


def size_limit(size: int | None) -> int:
    """Return the most bytes accepted for a file of a declared size: it plus slack."""
    if size is not None:
        return min(size + SIZE_SLACK_BYTES, MAX_DOWNLOAD_BYTES)
    return MAX_DOWNLOAD_BYTES


async def _no_limit() -> int | None:
    return None


class Downloader:
    """Downloads of shared files, one task per event, with their progress in memory.

    on_progress(room_id) is called, at most every PROGRESS_INTERVAL seconds
    per download, while bytes arrive and when a download starts or ends.
    upload_limit returns the server's upload limit in bytes, or None when
    it is unknown; it judges whether a declared size can be true.
    """

    def __init__(
        self,
        client,
        store: Store,
        root: Path | None = None,
        on_progress: Callable[[str], None] = lambda room_id: None,
        upload_limit: Callable[[], Awaitable[int | None]] = _no_limit,
        server_name: str | None = None,
    ):
        self.client = client
        # The user's own server name (the part after ":" in the user id), to
        # tell media stored elsewhere from media stored on it.
        self.server_name = server_name
        self.store = store
        self.root = root or files_folder()
        self.on_progress = on_progress
        self.upload_limit = upload_limit
        self.active: dict[str, DownloadProgress] = {}
        self._tasks: dict[str, asyncio.Task] = {}

    def cached_copy(self, event_id: str) -> Path | None:
        """Return the complete copy of event_id's file, or None; reads no network."""
        row = file_transfers_store.get_download(self.store.reader(), event_id)
        if row is None or not row.complete:
            return None
        path = Path(row.path)
        try:
            if path.stat().st_size != row.size:
                return None
        except OSError:
            return None
        return path

    async def download(self, event_id: str, *, max_attempts: int | None = 4) -> Path:
        """Return the complete copy of event_id's file, downloading it if needed.

        Concurrent calls for one event share one download. Raises
        TransferError and the network layer's errors; a failed or cancelled
        download leaves no partial file.
        """
        existing = self.cached_copy(event_id)
        if existing is not None:
            return existing
        task = self._tasks.get(event_id)
        if task is None:
            task = asyncio.ensure_future(self._download(event_id, max_attempts))
            self._tasks[event_id] = task
            task.add_done_callback(lambda done: self._tasks.pop(event_id, None))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and not (current and current.cancelling()):
                raise DownloadCancelled("The download was cancelled.") from None
            raise

    async def cancel(self, event_id: str) -> bool:
        """Stop the download of event_id; return False when none was running."""
        task = self._tasks.get(event_id)
        if task is None:
            return False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True

    async def remove_leftovers(self) -> int:
        """Delete the partial files of downloads cut short by a crash; return how many."""
        paths = await self.store.write(
            file_transfers_store.remove_incomplete_downloads, list(self._tasks)
        )
        for path in paths:
            await asyncio.to_thread(Path(path).unlink, missing_ok=True)
        if paths:
            log.info("Deleted %d partial downloads left by an earlier run", len(paths))
        return len(paths)

    def _remote_server(self, url: str) -> str | None:
        """Return the server named in url when it is not the user's server, else None."""
        return _remote_server_of(url, self.server_name)

    async def delete_copies(self, rows: list[DownloadRow]) -> int:
        """Delete the copies of rows from the disk and forget them; return bytes freed.

        A running download of one of the files is cancelled first. A path
        outside the cache folder is never deleted, only forgotten.
        """
        for row in rows:
            if row.event_id in self._tasks:
                await self.cancel(row.event_id)
        freed = await asyncio.to_thread(_delete_files, self.root, rows)
        changes = await self.store.write(file_transfers_store.forget_downloads, rows)
        for room_id in changes.transfers:
            self.on_progress(room_id)
        return freed

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def is_running(self, event_id: str) -> bool:
        return event_id in self._tasks

    async def _download(self, event_id: str, max_attempts: int | None) -> Path:
        shared = file_transfers_store.get_shared_file(self.store.reader(), event_id)
        if shared is None:
            raise TransferError(
                f"The file {event_id} is not in the cache. Sync, then try again."
            )
        if shared.redacted:
            raise TransferError(
                f"{safe_file_name(shared.name)} was deleted from the files area, "
                "so it cannot be downloaded."
            )

        size = declared_size(shared, await self.upload_limit())
        if size is None and shared.size is not None:
            log.info(
                "Download of %s: declared size %s cannot be true, treated as unknown",
                event_id,
                shared.size,
            )
        folder = room_folder(self.root, shared.room_id)
        await asyncio.to_thread(_prepare_folder, folder, shared, size)
        partial = part_path(folder, event_id)
        await self.store.write(
            file_transfers_store.start_download, event_id, shared.room_id, str(partial)
        )

        progress = DownloadProgress(shared.room_id, shared.name, 0, size)
        self.active[event_id] = progress
        self.on_progress(shared.room_id)
        completed = False
        try:
            received = await self._fetch(
                shared, partial, progress, size_limit(size), max_attempts
            )
            final = await asyncio.to_thread(_move_into_place, partial, folder, shared)
            await self.store.write(
                file_transfers_store.finish_download, event_id, str(final), received
            )
            completed = True
            log.info("Downloaded %s (%d bytes) into the cache", event_id, received)
            return final
        finally:
            self.active.pop(event_id, None)
            if not completed:
                log.info("Download of %s stopped before it was complete", event_id)
                partial.unlink(missing_ok=True)
                await asyncio.shield(
                    self.store.write(file_transfers_store.remove_download, event_id)
                )
            self.on_progress(shared.room_id)

    async def _fetch(
        self,
        shared: SharedFileRow,
        partial: Path,
        progress: DownloadProgress,
        limit: int,
        max_attempts: int | None,
    ) -> int:
        reported = [0.0]

        def on_progress(received: int, total: int | None) -> None:
            progress.received = received
            if progress.total is None:
                progress.total = total
            now = time.monotonic()
            if now - reported[0] >= PROGRESS_INTERVAL or received == total:
                reported[0] = now
                self.on_progress(shared.room_id)

        try:
            size, _content_type = await media_transfer.download_to_file(
                self.client,
                shared.url,
                partial,
                max_bytes=limit,
                on_progress=on_progress,
                max_attempts=max_attempts,
            )
        except TooLarge as error:
            sender = file_transfers_store.sender_name(
                self.store.reader(), shared.event_id
            )
            raise TransferError(
                f"{safe_file_name(shared.name)} is larger than the "
                f"{format_size(limit)} it should be, so it was not downloaded. "
                f"Ask {clean_name(sender, 'its sender')} to share it again."
            ) from error
        except NotFound as error:
            raise TransferError(
                f"{safe_file_name(shared.name)} was not found on the server, so "
                "it cannot be downloaded. Ask the sender to share it again."
            ) from error
        except ServerUnavailable as error:
            remote = self._remote_server(shared.url)
            if remote is None or error.status not in _REMOTE_FAILURE_STATUSES:
                raise
            raise RemoteMediaUnavailable(
                f"{remote}, where {safe_file_name(shared.name)} is stored, could "
                "not be reached by your server. Try again later, or ask the "
                "sender to share it again."
            ) from error
        except ValueError as error:
            # parse_mxc rejected the event's URL.
            raise TransferError(
                f"{safe_file_name(shared.name)} has an invalid address, so it "
                "cannot be downloaded."
            ) from error
        return size


def _remote_server_of(url: str, server_name: str | None) -> str | None:
    try:
        server, _media_id = parse_mxc(url)
    except ValueError:
        return None
    if server_name is None or server == server_name:
        return None
    return server


def _delete_files(root: Path, rows: list[DownloadRow]) -> int:
    """Delete the files of rows inside root, and room folders left empty; return bytes."""
    freed = 0
    base = root.resolve()
    folders = set()
    for row in rows:
        path = Path(row.path)
        if not path.resolve().is_relative_to(base):
            log.warning("Not deleting %s of %s: outside the cache", path, row.event_id)
            continue
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            log.warning("Could not delete the copy of %s: %s", row.event_id, error)
            continue
        freed += size
        folders.add(path.parent)
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty
    return freed


def _prepare_folder(folder: Path, shared: SharedFileRow, size: int | None) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.mkdir(exist_ok=True, mode=0o700)
    needed = (size or 0) + FREE_SPACE_MARGIN_BYTES
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise TransferError(
            f"There is not enough free disk space for {safe_file_name(shared.name)} "
            f"({format_size(size or 0)}; {format_size(free)} free). Free "
            "some space, then try again."
        )


def _move_into_place(partial: Path, folder: Path, shared: SharedFileRow) -> Path:
    """Rename the finished partial file to a free, safe name; return it."""
    name = safe_file_name(shared.name)
    while True:
        final = unique_path(folder, name)
        try:
            # A hard link never replaces an existing file, unlike a rename.
            os.link(partial, final)
        except FileExistsError:
            continue
        except OSError:
            os.replace(partial, final)
            return final
        partial.unlink()
        return final
