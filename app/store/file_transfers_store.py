"""Cache rows of file uploads, downloaded copies and offline marks.

Functions that take ``conn`` and write run on the store's writer thread
through ``Store.write``; the readers (``get_*``, ``list_*``, ``*_wanted``)
take any connection. The tables are described in ``schema_files``.
"""

import sqlite3
import time
from dataclasses import dataclass

from app.records import Changes
from app.store import outbox_store
from app.store.outbox_store import FAILED, QUEUED, SENT, NewItem
from app.store.queries import _NAME_SQL

FILE_KIND = "file"
ROOM_KIND = "room"


@dataclass(frozen=True, slots=True)
class UploadRow:
    """A queued upload's source file and its reservation on the server."""

    client_id: str
    room_id: str
    source_path: str
    name: str
    mimetype: str
    source_size: int
    source_mtime_ns: int
    mxc: str | None = None
    mxc_expires_at: int | None = None
    uploaded: bool = False


@dataclass(frozen=True, slots=True)
class UploadItem:
    """An unfinished upload with its outbox item's state and failure reason."""

    upload: UploadRow
    item_id: int
    state: str
    error: str | None


@dataclass(frozen=True, slots=True)
class SharedFileRow:
    """A shared file of the cache's ``files`` table, as a download needs it."""

    event_id: str
    room_id: str
    name: str
    mimetype: str | None
    size: int | None
    url: str
    redacted: bool


@dataclass(frozen=True, slots=True)
class DownloadRow:
    event_id: str
    room_id: str
    path: str
    size: int | None
    complete: bool


def _upload(row: sqlite3.Row | tuple) -> UploadRow:
    return UploadRow(
        client_id=row[0],
        room_id=row[1],
        source_path=row[2],
        name=row[3],
        mimetype=row[4],
        source_size=row[5],
        source_mtime_ns=row[6],
        mxc=row[7],
        mxc_expires_at=row[8],
        uploaded=bool(row[9]),
    )


_UPLOAD_COLUMNS = """u.client_id, u.room_id, u.source_path, u.name, u.mimetype,
    u.source_size, u.source_mtime_ns, u.mxc, u.mxc_expires_at, u.uploaded"""


# -- Uploads --------------------------------------------------------------------


def insert_upload(conn: sqlite3.Connection, item: NewItem, upload: UploadRow) -> int:
    """Queue the outbox item of an upload together with its source file's row."""
    item_id = outbox_store.insert_item(conn, item)
    conn.execute(
        """INSERT INTO file_uploads (client_id, room_id, source_path, name, mimetype,
            source_size, source_mtime_ns, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            upload.client_id,
            upload.room_id,
            upload.source_path,
            upload.name,
            upload.mimetype,
            upload.source_size,
            upload.source_mtime_ns,
            time.time(),
        ),
    )
    return item_id


def get_upload(conn: sqlite3.Connection, client_id: str) -> UploadRow | None:
    row = conn.execute(
        f"SELECT {_UPLOAD_COLUMNS} FROM file_uploads u WHERE u.client_id = ?",
        (client_id,),
    ).fetchone()
    return None if row is None else _upload(row)


def record_reservation(
    conn: sqlite3.Connection, client_id: str, mxc: str | None, expires_at: int | None
) -> None:
    """Store the mxc:// URI reserved for an upload, or forget it with None."""
    conn.execute(
        "UPDATE file_uploads SET mxc = ?, mxc_expires_at = ?, uploaded = 0 "
        "WHERE client_id = ?",
        (mxc, expires_at, client_id),
    )


def mark_uploaded(conn: sqlite3.Connection, client_id: str) -> None:
    conn.execute(
        "UPDATE file_uploads SET uploaded = 1 WHERE client_id = ?", (client_id,)
    )


def remove_upload_item(
    conn: sqlite3.Connection, client_id: str, states: tuple[str, ...] = (QUEUED, FAILED)
) -> Changes | None:
    """Delete an upload's outbox item and row if the item is in one of states.

    Returns the rows changed, or None when the item is in another state (the
    worker is sending it, or it was sent). An upload row whose item is gone
    is deleted too.
    """
    row = conn.execute(
        "SELECT id, room_id, state FROM outbox WHERE client_id = ? AND action = ?",
        (client_id, outbox_store.FILE),
    ).fetchone()
    if row is not None and row[2] not in states:
        return None
    changes = Changes(outbox=True)
    if row is not None:
        conn.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
        changes.rooms.add(row[1])
        changes.transfers.add(row[1])
    conn.execute("DELETE FROM file_uploads WHERE client_id = ?", (client_id,))
    return changes


def forget_upload(conn: sqlite3.Connection, client_id: str) -> None:
    """Delete the row of an upload whose event was sent."""
    conn.execute("DELETE FROM file_uploads WHERE client_id = ?", (client_id,))


def prune_uploads(conn: sqlite3.Connection) -> int:
    """Delete upload rows whose outbox item was sent or discarded; return how many."""
    cursor = conn.execute(
        f"""DELETE FROM file_uploads WHERE client_id NOT IN (
            SELECT client_id FROM outbox WHERE action = '{outbox_store.FILE}'
            AND state != '{SENT}')"""
    )
    return cursor.rowcount


def list_uploads(conn: sqlite3.Connection, room_id: str) -> list[UploadItem]:
    """Return the room's unsent uploads in queue order, failed ones included."""
    rows = conn.execute(
        f"""SELECT {_UPLOAD_COLUMNS}, o.id, o.state, o.error
        FROM file_uploads u JOIN outbox o ON o.client_id = u.client_id
        WHERE u.room_id = ? AND o.state != '{SENT}'
        ORDER BY o.id""",
        (room_id,),
    ).fetchall()
    return [UploadItem(_upload(row[:10]), row[10], row[11], row[12]) for row in rows]


def outbox_state(conn: sqlite3.Connection, client_id: str) -> str | None:
    row = conn.execute(
        "SELECT state FROM outbox WHERE client_id = ? AND action = ?",
        (client_id, outbox_store.FILE),
    ).fetchone()
    return None if row is None else row[0]


# -- Shared files and downloads -----------------------------------------------------


def get_shared_file(conn: sqlite3.Connection, event_id: str) -> SharedFileRow | None:
    row = conn.execute(
        "SELECT event_id, room_id, name, mimetype, size, url, redacted "
        "FROM files WHERE event_id = ?",
        (event_id,),
    ).fetchone()
    if row is None:
        return None
    return SharedFileRow(*row[:6], redacted=bool(row[6]))


def sender_name(conn: sqlite3.Connection, event_id: str) -> str | None:
    """Return the cached display name of a file's sender, else the user id, or None."""
    row = conn.execute(
        f"SELECT sender, {_NAME_SQL.format(col='sender')} FROM files "
        "WHERE event_id = ?",
        (event_id,),
    ).fetchone()
    if row is None:
        return None
    return row[1] or row[0]


def get_download(conn: sqlite3.Connection, event_id: str) -> DownloadRow | None:
    row = conn.execute(
        "SELECT event_id, room_id, path, size, complete FROM file_downloads "
        "WHERE event_id = ?",
        (event_id,),
    ).fetchone()
    if row is None:
        return None
    return DownloadRow(*row[:4], complete=bool(row[4]))


def start_download(
    conn: sqlite3.Connection, event_id: str, room_id: str, part_path: str
) -> None:
    """Record a download in progress into part_path."""
    conn.execute(
        """INSERT INTO file_downloads (event_id, room_id, path, size, complete,
            updated_at) VALUES (?, ?, ?, NULL, 0, ?)
        ON CONFLICT (event_id) DO UPDATE SET path = excluded.path, size = NULL,
            complete = 0, updated_at = excluded.updated_at""",
        (event_id, room_id, part_path, time.time()),
    )


def finish_download(
    conn: sqlite3.Connection, event_id: str, path: str, size: int
) -> Changes:
    room = conn.execute(
        "UPDATE file_downloads SET path = ?, size = ?, complete = 1, updated_at = ? "
        "WHERE event_id = ? RETURNING room_id",
        (path, size, time.time(), event_id),
    ).fetchone()
    return Changes(transfers={room[0]} if room else set())


def remove_download(conn: sqlite3.Connection, event_id: str) -> None:
    conn.execute("DELETE FROM file_downloads WHERE event_id = ?", (event_id,))


def remove_incomplete_downloads(
    conn: sqlite3.Connection, running: list[str]
) -> list[str]:
    """Delete the rows of incomplete downloads not in running; return their paths."""
    rows = conn.execute(
        "SELECT event_id, path FROM file_downloads WHERE complete = 0"
    ).fetchall()
    removed = [(event_id, path) for event_id, path in rows if event_id not in running]
    conn.executemany(
        "DELETE FROM file_downloads WHERE event_id = ?",
        [(event_id,) for event_id, _path in removed],
    )
    return [path for _event_id, path in removed]


def deleted_file_downloads(
    conn: sqlite3.Connection, room_ids: set[str] | None = None
) -> list[DownloadRow]:
    """Return the copies, complete or not, of files that were redacted or are gone.

    room_ids limits the search to those rooms; None searches every room.
    """
    sql = """SELECT d.event_id, d.room_id, d.path, d.size, d.complete
        FROM file_downloads d LEFT JOIN files f ON f.event_id = d.event_id
        WHERE (f.event_id IS NULL OR f.redacted = 1)"""
    params: list[str] = []
    if room_ids is not None:
        ids = sorted(room_ids)
        if not ids:
            return []
        sql += f" AND d.room_id IN ({', '.join('?' * len(ids))})"
        params = ids
    rows = conn.execute(sql, params).fetchall()
    return [DownloadRow(*row[:4], complete=bool(row[4])) for row in rows]


def removable_downloads(
    conn: sqlite3.Connection, *, include_offline: bool
) -> list[DownloadRow]:
    """Return the complete copies; without include_offline, only unmarked ones.

    A copy counts as marked when its file, or its file's files area, is
    marked available offline.
    """
    sql = """SELECT d.event_id, d.room_id, d.path, d.size, d.complete
        FROM file_downloads d WHERE d.complete = 1"""
    if not include_offline:
        sql += """ AND d.event_id NOT IN (SELECT target FROM offline_marks)
            AND d.room_id NOT IN (SELECT target FROM offline_marks)"""
    rows = conn.execute(sql).fetchall()
    return [DownloadRow(*row[:4], complete=bool(row[4])) for row in rows]


def forget_downloads(conn: sqlite3.Connection, rows: list[DownloadRow]) -> Changes:
    """Delete the rows of copies whose files were deleted from the disk.

    A row whose path changed since it was read (a new download of the same
    file started) is kept.
    """
    changes = Changes()
    for row in rows:
        cursor = conn.execute(
            "DELETE FROM file_downloads WHERE event_id = ? AND path = ?",
            (row.event_id, row.path),
        )
        if cursor.rowcount:
            changes.transfers.add(row.room_id)
    return changes


def downloads_size(conn: sqlite3.Connection) -> int:
    """Return the bytes of every complete copy, as recorded when each finished."""
    row = conn.execute(
        "SELECT COALESCE(SUM(size), 0) FROM file_downloads WHERE complete = 1"
    ).fetchone()
    return int(row[0])


# -- Available offline ----------------------------------------------------------------


def set_offline_mark(
    conn: sqlite3.Connection, target: str, kind: str, available: bool
) -> None:
    if available:
        conn.execute(
            "INSERT OR IGNORE INTO offline_marks (target, kind, marked_at) "
            "VALUES (?, ?, ?)",
            (target, kind, time.time()),
        )
    else:
        conn.execute("DELETE FROM offline_marks WHERE target = ?", (target,))


def is_marked(conn: sqlite3.Connection, target: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM offline_marks WHERE target = ?", (target,)
    ).fetchone()
    return row is not None


def marked_rooms(conn: sqlite3.Connection) -> set[str]:
    """Return the ids of files areas marked available offline."""
    rows = conn.execute(
        "SELECT target FROM offline_marks WHERE kind = ?", (ROOM_KIND,)
    ).fetchall()
    return {row[0] for row in rows}


def files_missing_offline(conn: sqlite3.Connection) -> list[SharedFileRow]:
    """Return marked files, and files of marked areas, without a complete copy.

    Newest first, so that a large area's recent files arrive first. Deleted
    (redacted) files are left out.
    """
    rows = conn.execute(
        f"""SELECT f.event_id, f.room_id, f.name, f.mimetype, f.size, f.url, f.redacted
        FROM files f
        WHERE f.redacted = 0
          AND (f.event_id IN (SELECT target FROM offline_marks WHERE kind = '{FILE_KIND}')
            OR f.room_id IN (SELECT target FROM offline_marks WHERE kind = '{ROOM_KIND}'))
          AND NOT EXISTS (SELECT 1 FROM file_downloads d
                          WHERE d.event_id = f.event_id AND d.complete = 1)
        ORDER BY f.ts DESC"""
    ).fetchall()
    return [SharedFileRow(*row[:6], redacted=bool(row[6])) for row in rows]
