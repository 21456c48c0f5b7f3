import sqlite3

import pytest

from app.errors import CacheCorrupt, SchemaTooNew
from app.store.database import open_database, schema_version
from app.store.schema import LATEST_VERSION, MIGRATIONS


def test_new_cache_gets_every_migration(tmp_path):
    db = open_database(tmp_path / "cache.sqlite3")
    numbers = [row[0] for row in db.conn.execute("SELECT number FROM _migrations")]
    assert numbers == [migration.number for migration in MIGRATIONS]
    assert schema_version(db.conn) == LATEST_VERSION


def test_cache_uses_wal_and_busy_timeout(tmp_path):
    db = open_database(tmp_path / "cache.sqlite3")
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_reopening_applies_nothing_twice(tmp_path):
    path = tmp_path / "cache.sqlite3"
    open_database(path).conn.close()
    db = open_database(path)
    count = db.conn.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0]
    assert count == len(MIGRATIONS)


def test_newer_cache_is_refused_and_untouched(tmp_path):
    path = tmp_path / "cache.sqlite3"
    open_database(path).conn.close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _migrations (number, name, applied_at) VALUES (?, 'future', 0)",
        (LATEST_VERSION + 1,),
    )
    conn.commit()
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    before = path.read_bytes()

    with pytest.raises(SchemaTooNew) as raised:
        open_database(path)

    assert "newer version of Commonplace" in raised.value.message
    assert path.read_bytes() == before


def test_garbage_file_is_reported_as_damaged(tmp_path):
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheCorrupt) as raised:
        open_database(path)
    assert "damaged" in raised.value.message


def test_failed_migration_leaves_no_record(tmp_path, monkeypatch):
    from app.store import database, schema

    broken = schema.Migration(LATEST_VERSION + 1, "broken", ("CREATE TABLE x (",))
    monkeypatch.setattr(database, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(database, "LATEST_VERSION", LATEST_VERSION + 1)
    path = tmp_path / "cache.sqlite3"
    with pytest.raises(sqlite3.OperationalError):
        open_database(path)
    conn = sqlite3.connect(path)
    assert schema_version(conn) == LATEST_VERSION


def test_read_only_folder_is_unavailable_not_damaged(tmp_path):
    import os

    from app.errors import CacheUnavailable

    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "cache.sqlite3"
    open_database(path).conn.close()
    before = path.read_bytes()
    os.chmod(folder, 0o500)
    os.chmod(path, 0o400)
    try:
        if os.access(path, os.W_OK):
            pytest.skip("running as a user that ignores file permissions")
        with pytest.raises(CacheUnavailable) as raised:
            open_database(path)
    finally:
        os.chmod(folder, 0o700)
        os.chmod(path, 0o600)
    assert "cannot be opened" in raised.value.message
    assert path.read_bytes() == before


def test_missing_folder_is_unavailable(tmp_path):
    from app.errors import CacheUnavailable

    with pytest.raises(CacheUnavailable):
        open_database(tmp_path / "no such folder" / "cache.sqlite3")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (sqlite3.SQLITE_READONLY, "CacheUnavailable"),
        (sqlite3.SQLITE_FULL, "CacheUnavailable"),
        (sqlite3.SQLITE_IOERR_WRITE, "CacheUnavailable"),
        (sqlite3.SQLITE_CORRUPT, "CacheCorrupt"),
        (sqlite3.SQLITE_NOTADB, "CacheCorrupt"),
        (sqlite3.SQLITE_ERROR, "OperationalError"),
    ],
)
def test_sqlite_errors_map_to_cache_errors(code, expected):
    from app.store.database import _raise_mapped

    error = sqlite3.OperationalError("simulated")
    error.sqlite_errorcode = code
    with pytest.raises(Exception) as raised:
        _raise_mapped("cache.sqlite3", error)
    assert type(raised.value).__name__ == expected


def test_background_read_runs_off_the_calling_thread(tmp_path):
    import asyncio
    import threading

    from app.store import Store

    store = Store(tmp_path / "cache.sqlite3")

    def count_rooms(conn, *, extra):
        return threading.get_ident(), conn.execute(
            "SELECT COUNT(*) FROM rooms"
        ).fetchone()[0] + extra

    try:
        thread, count = asyncio.run(store.read(count_rooms, extra=2))
    finally:
        store.close()

    assert thread != threading.get_ident()
    assert count == 2
