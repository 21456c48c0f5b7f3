"""Memory use and throughput while uploading and downloading a 1 GiB file.

A local Synapse on 127.0.0.1 accepts uploads of up to 2 GiB. One AppSession
queues a 1 GiB file of random bytes with FileTransfers.upload and lets the
outbox worker send it (reserve an mxc:// URI, stream the file, send the
m.file event). After a sync it downloads the file again into its cache
folder with FileTransfers.download, and checks that the bytes match.

A thread reads the process's resident set size (VmRSS in /proc/self/status)
every 10 ms. For each direction the figures are the peak RSS above the RSS
just before the transfer started, in MiB, and the throughput in MB/s
(10^6 bytes per second), timed from the call until the transfer ended.
Synapse runs in its own process, so its memory is not counted.
"""

import asyncio
import gc
import hashlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from app.account import Session
from devtools.synapse import SynapseServer, unique_localpart
from tests.other_client import OtherClient

FILE_BYTES = 1024**3
# The source file, Synapse's stored copy and the downloaded copy, plus room
# for Synapse's temporary file while it receives the upload.
NEEDED_BYTES = 3 * FILE_BYTES + 512 * 1024**2
PASSWORD = "benchmark password"
SAMPLE_SECONDS = 0.01
MIB = 1024 * 1024


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS is missing from /proc/self/status.")


class _PeakRss:
    """The highest RSS sampled by a thread while the ``with`` block runs, in ``peak``."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(SAMPLE_SECONDS)

    def __enter__(self):
        self.peak = _rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _write_random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    chunk_size = 16 * MIB
    with open(path, "wb") as file:
        for _ in range(size // chunk_size):
            chunk = os.urandom(chunk_size)
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(16 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


async def _transfer(session: Session, folder: Path, board: str, source: Path) -> dict:
    from app.session import AppSession

    app = AppSession(session, store_path=folder / "cache.sqlite3")
    try:
        await app.sync.sync_once()
        gc.collect()
        idle = _rss_bytes()
        with _PeakRss() as upload_rss:
            started = time.perf_counter()
            await app.files.upload(board, source)
            report = await app.outbox_worker.drain(max_attempts=3)
            upload_seconds = time.perf_counter() - started
        if report.sent != 1:
            raise RuntimeError(f"The upload was not sent: {app.outbox.list_items()}")
        [item] = app.outbox.list_items(include_done=True)
        await app.sync.sync_once()

        gc.collect()
        idle_download = _rss_bytes()
        with _PeakRss() as download_rss:
            started = time.perf_counter()
            copy = await app.files.download(item.event_id)
            download_seconds = time.perf_counter() - started
        return {
            "idle_rss_mib": idle / MIB,
            "upload_peak_above_idle_mib": (upload_rss.peak - idle) / MIB,
            "upload_mb_per_s": FILE_BYTES / upload_seconds / 1e6,
            "download_peak_above_idle_mib": (download_rss.peak - idle_download) / MIB,
            "download_mb_per_s": FILE_BYTES / download_seconds / 1e6,
            "copy": copy,
        }
    finally:
        await app.close()


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="commonplace-files-bench-") as name:
        folder = Path(name)
        free = shutil.disk_usage(folder).free
        if free < NEEDED_BYTES:
            return {
                "skipped": (
                    f"needs {NEEDED_BYTES / 1024**3:.1f} GiB free in {folder.parent}, "
                    f"has {free / 1024**3:.1f} GiB; set TMPDIR to a larger disk"
                )
            }
        os.environ["COMMONPLACE_HOME"] = str(folder / "home")
        server = SynapseServer(
            folder / "synapse", extra_config={"max_upload_size": "2G"}
        )
        server.start()
        try:
            localpart = unique_localpart("files")
            server.register(localpart, PASSWORD)
            user_id, token, device_id = server.login(localpart, PASSWORD)
            owner = OtherClient(server.base_url, token, user_id)
            _space, board = owner.create_space_with_board("Files benchmark")
            owner.close()

            source = folder / "one-gibibyte.bin"
            expected = _write_random_file(source, FILE_BYTES)
            session = Session(server.base_url, user_id, device_id, token)
            figures = asyncio.run(_transfer(session, folder, board, source))
            copy = figures.pop("copy")
            if _sha256(copy) != expected:
                raise RuntimeError(
                    "The downloaded copy differs from the uploaded file."
                )
            return figures
        finally:
            server.stop()
