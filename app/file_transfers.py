"""Uploads, downloads and offline copies of the files in files areas.

``FileTransfers`` is the API that the files area calls, on the asyncio loop.
An upload is an outbox item (action "file"): it waits in the outbox while
offline and is sent in order with the room's other items, by the outbox
worker, which streams the file through ``app.uploads``. A download streams
the file into the cache folder (``app.downloads``). Files and files areas
marked "available offline" are fetched in the background by ``start()``.

Every error raised for the user is a MatrixError subclass or a
TransferError, whose ``message`` says what failed and what to do.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from app.uploads import TransferError

log = logging.getLogger(__name__)

__all__ = ["FileTransfers", "TransferError", "TransferProgress"]

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
    """File transfers of the signed-in user; ``on_changes`` gets a Changes."""

    def __init__(self, client, store, user_id: str, policy, on_changes):
        self.client = client
        self.store = store
        self.user_id = user_id
        self.policy = policy
        self._on_changes = on_changes

    def start(self) -> None:
        """Start the background work: queued uploads and offline copies."""

    async def close(self) -> None:
        """Stop the background work; a transfer cut short resumes at next start."""

    async def upload(
        self, room_id: str, path: str | Path, *, supersedes: str | None = None
    ) -> str:
        """Queue the file at path for the files area room_id; return its client id.

        supersedes is the event id of the file this one is a new version of.
        Raises TransferError when the file cannot be read, the policy turns
        uploads off, or it is larger than the server accepts.
        """
        raise NotImplementedError

    async def cancel_upload(self, client_id: str) -> None:
        """Stop an upload and remove it from the outbox.

        Raises TransferError when the file is already posted.
        """
        raise NotImplementedError

    async def download(self, event_id: str) -> Path:
        """Return the cached copy of a shared file, downloading it first if needed."""
        raise NotImplementedError

    async def cancel_download(self, event_id: str) -> None:
        """Stop a download and delete its partial file."""
        raise NotImplementedError

    def cached_copy(self, event_id: str) -> Path | None:
        """Return the complete cached copy of a file, or None; no network."""
        raise NotImplementedError

    async def set_offline(self, target: str, available: bool) -> None:
        """Mark a file (event id) or a files area (room id) as available offline."""
        raise NotImplementedError

    def is_offline(self, target: str) -> bool:
        """Return whether a file or files area is marked available offline."""
        raise NotImplementedError

    def progress(self, room_id: str) -> list[TransferProgress]:
        """Return the room's unfinished and failed transfers; no network."""
        raise NotImplementedError

    async def upload_limit(self) -> int | None:
        """Return the server's upload size limit in bytes, or None if it has none."""
        raise NotImplementedError
