"""Opening the SQLite cache: pragmas, the schema check and migrations."""

import logging
import sqlite3
import time
from pathlib import Path
from typing import NoReturn

import sqlite_utils

from app.errors import CacheCorrupt, CacheUnavailable, SchemaTooNew
from app.store.mentions import mentioned_user_ids_json
from app.store.schema import LATEST_VERSION, MIGRATIONS
from app.store.search_text import fold_text

log = logging.getLogger(__name__)

# Milliseconds a connection waits for another connection's lock before
# failing with "database is locked".
BUSY_TIMEOUT_MS = 5000


def _connect(path: Path | str, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        uri = f"file:{Path(path).as_posix()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False)
    # Autocommit mode: every transaction in the store is an explicit BEGIN.
    conn.isolation_level = None
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # The search index's triggers fold text with this function.
    conn.create_function("search_fold", 1, fold_text, deterministic=True)
    # The activity stream's triggers find who a post mentions with this one.
    conn.create_function(
        "mentioned_user_ids", 3, mentioned_user_ids_json, deterministic=True
    )
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """Return the highest applied migration, or 0 for an empty database."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(number) FROM _migrations").fetchone()
    return row[0] or 0


def open_database(path: Path | str) -> sqlite_utils.Database:
    """Open the cache for writing, applying any pending migrations.

    Raises SchemaTooNew before changing anything when the file comes from a
    newer program, and CacheCorrupt when SQLite cannot read it.
    """
    try:
        conn = _connect(path)
    except sqlite3.Error as error:
        _raise_mapped(path, error)
    try:
        found = schema_version(conn)
        if found > LATEST_VERSION:
            raise SchemaTooNew(str(path), found, LATEST_VERSION)
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across process crashes in WAL mode; only a power
        # cut can lose the last transactions, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, found)
    except BaseException as error:
        conn.close()
        if isinstance(error, sqlite3.Error):
            _raise_mapped(path, error)
        raise
    return sqlite_utils.Database(conn)


# SQLite's primary result codes for a damaged or foreign file, and for a file
# that cannot be opened or written for reasons outside the program.
_CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_UNAVAILABLE_CODES = {
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_AUTH,
}


def _raise_mapped(path: Path | str, error: sqlite3.Error) -> NoReturn:
    """Raise CacheCorrupt or CacheUnavailable for error, else error itself.

    Other errors (an SQL mistake in a migration, say) are bugs, so they keep
    their type rather than being reported as a problem with the user's disk.
    """
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    if primary in _CORRUPT_CODES:
        raise CacheCorrupt(str(path), str(error)) from error
    if primary in _UNAVAILABLE_CODES:
        raise CacheUnavailable(str(path), str(error)) from error
    raise error


def open_reader(path: Path | str) -> sqlite3.Connection:
    """Open a read-only connection for queries; WAL lets it read during writes."""
    return _connect(path, read_only=True)


def _migrate(conn: sqlite3.Connection, current: int) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations "
        "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    for migration in MIGRATIONS:
        if migration.number <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO _migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (migration.number, migration.name, time.time()),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        log.info("Applied cache migration %d (%s)", migration.number, migration.name)
