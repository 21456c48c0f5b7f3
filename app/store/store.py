"""The cache's owner: one writer thread for all writes, and read connections.

Writes run one at a time on a dedicated thread, each in its own transaction,
so a long sync batch never blocks the UI thread and never interleaves with
another write. Readers use separate connections; WAL mode lets them read the
last committed state while a write is in progress.
"""

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from app.store.database import open_database, open_reader

log = logging.getLogger(__name__)

T = TypeVar("T")


class Store:
    """The SQLite cache at ``path``; raises SchemaTooNew or CacheCorrupt on open."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="store-writer"
        )
        self._db: sqlite_utils.Database = self._executor.submit(
            open_database, self.path
        ).result()
        self._readers = threading.local()
        self._closed = False

    def _run_in_transaction(self, function: Callable[..., T], args: tuple) -> T:
        conn = self._db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = function(conn, *args)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def write(self, function: Callable[..., T], *args) -> T:
        """Run function(conn, *args) in one transaction on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._run_in_transaction, function, args
        )

    def write_blocking(self, function: Callable[..., T], *args) -> T:
        """Like write, for callers without an event loop (command line, tests)."""
        future = self._executor.submit(self._run_in_transaction, function, args)
        return future.result()

    def reader(self) -> sqlite3.Connection:
        """Return this thread's read-only connection, opened on first use."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = open_reader(self.path)
            self._readers.conn = conn
        return conn

    def size_bytes(self) -> int:
        """Return the cache's size on disk, with its WAL and shared-memory files."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            candidate = Path(f"{self.path}{suffix}")
            if candidate.exists():
                total += candidate.stat().st_size
        return total

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        conn = getattr(self._readers, "conn", None)
        if conn is not None:
            conn.close()
        self._executor.submit(self._db.conn.close).result()
        self._executor.shutdown(wait=True)


def delete_cache_files(path: Path | str) -> None:
    """Delete the cache file and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        candidate.unlink(missing_ok=True)
