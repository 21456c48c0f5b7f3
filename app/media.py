"""Avatars and thumbnails cached on disk.

Files are named by a hash of their mxc:// URI and size, so a name from the
server never reaches the file system. Only PNG, JPEG, GIF and WebP data is
kept, recognised by its first bytes rather than the server's content type.
"""

import asyncio
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from app import paths
from app.matrix.errors import MatrixError

log = logging.getLogger(__name__)

MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024
MAX_IN_FLIGHT = 4

_IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
)


def is_image_data(data: bytes) -> bool:
    if data.startswith(_IMAGE_SIGNATURES):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


class ThumbnailCache:
    """Downloads thumbnails once and serves them from the disk afterwards."""

    def __init__(self, client, folder: Path | None = None):
        self.client = client
        self.folder = folder or paths.cache_dir() / "thumbnails"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._semaphore = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._pending: dict[Path, asyncio.Future] = {}
        self._failed: set[Path] = set()

    def path_for(self, mxc: str, size: int) -> Path:
        digest = hashlib.sha256(f"{mxc}|{size}".encode()).hexdigest()[:32]
        return self.folder / f"{digest}.img"

    def cached(self, mxc: str, size: int) -> Path | None:
        """Return the cached file without any network request, or None."""
        path = self.path_for(mxc, size)
        return path if path.exists() else None

    async def fetch(self, mxc: str, size: int) -> Path | None:
        """Return the thumbnail's path, downloading it if needed; None on failure."""
        path = self.path_for(mxc, size)
        if path.exists():
            return path
        if path in self._failed:
            return None
        pending = self._pending.get(path)
        if pending is None:
            pending = asyncio.ensure_future(self._download(mxc, size, path))
            self._pending[path] = pending
            pending.add_done_callback(lambda _: self._pending.pop(path, None))
        return await asyncio.shield(pending)

    async def _download(self, mxc: str, size: int, path: Path) -> Path | None:
        async with self._semaphore:
            try:
                data, _content_type = await self.client.download_thumbnail(
                    mxc, size, size, max_bytes=MAX_THUMBNAIL_BYTES
                )
            except (MatrixError, ValueError) as error:
                log.info("Thumbnail of %s not downloaded: %s", mxc, error)
                self._failed.add(path)
                return None
        if not is_image_data(data):
            log.warning("Thumbnail of %s is not an image; ignored", mxc)
            self._failed.add(path)
            return None
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
        return path
