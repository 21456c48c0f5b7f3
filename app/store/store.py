"""The cache's owner: one writer thread for all writes, and read connections.

Writes run one at a time on a dedicated thread, each in its own transaction,
so a long sync batch never blocks the UI thread and never interleaves with
another write. Readers use separate connections; WAL mode lets them read the
last committed state while a write is in progress.
"""

import asyncio
import functools
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
        # Long queries run here, so that the UI thread does not wait for them.
        self._read_executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="store-reader"
        )
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

    async def read(self, function: Callable[..., T], *args, **kwargs) -> T:
        """Run function(conn, *args, **kwargs) on the background reader thread.

        For queries too long for the UI thread; conn is that thread's own
        read-only connection.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._read_executor,
            functools.partial(self._read, function, args, kwargs),
        )

    def _read(self, function: Callable[..., T], args: tuple, kwargs: dict) -> T:
        return function(self.reader(), *args, **kwargs)

    def reader(self) -> sqlite3.Connection:
        """Return this thread's read-only connection, opened on first use."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = open_reader(self.path)
            self._readers.conn = conn
        return conn

    def _close_reader(self) -> None:
        conn = getattr(self._readers, "conn", None)
        if conn is not None:
            conn.close()
            self._readers.conn = None

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
        self._read_executor.submit(self._close_reader).result()
        self._read_executor.shutdown(wait=True)
        self._executor.submit(self._db.conn.close).result()
        self._executor.shutdown(wait=True)


def delete_cache_files(path: Path | str) -> None:
    """Delete the cache file and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        candidate.unlink(missing_ok=True)
