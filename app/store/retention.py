"""Removal of cached content older than a policy's ``retention_days``.

``remove_expired`` deletes, in one transaction, the cached replies, files and
raw events whose server timestamp is older than the cutoff, and the
discussions whose whole thread is older. A discussion with a newer reply
keeps its first post, so a live thread never loses its title; its older
replies go. Likes and accepted answers of removed posts go with them. The
search index stays consistent because its delete triggers run for every
removed discussion, reply and file.

Drafts and the outbox are left alone: they are the user's unsent work, not
content cached from the server.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.records import Changes
from app.store.writes import _refresh_thread_summary

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 60 * 60


@dataclass
class RemovedContent:
    """Counts of removed rows, and the rooms and threads they were in."""

    discussions: int = 0
    replies: int = 0
    files: int = 0
    events: int = 0
    changes: Changes = field(default_factory=Changes)
    # Paths of downloaded copies of the removed files, for the caller to delete.
    file_copies: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.discussions + self.replies + self.files + self.events


def cutoff_ms(days: int, now: float | None = None) -> int:
    """Return the Matrix timestamp (milliseconds) ``days`` days before now."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    now = time.time() if now is None else now
    return int((now - days * DAY_SECONDS) * 1000)


def remove_expired(conn: sqlite3.Connection, cutoff: int) -> RemovedContent:
    """Delete cached content older than ``cutoff`` (a Matrix timestamp in ms).

    Runs inside the caller's transaction: pass it to ``Store.write``.
    """
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS expired (event_id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM temp.expired")
    try:
        return _remove(conn, cutoff)
    finally:
        conn.execute("DELETE FROM temp.expired")


def _remove(conn: sqlite3.Connection, cutoff: int) -> RemovedContent:
    result = RemovedContent()
    changes = result.changes

    # Rooms and threads to re-read, gathered before the rows go.
    for room_id, root_id in conn.execute(
        "SELECT room_id, root_id FROM replies WHERE ts < ?", (cutoff,)
    ):
        changes.rooms.add(room_id)
        changes.discussions.add(root_id)
    for room_id, event_id in conn.execute(
        "SELECT room_id, event_id FROM discussions WHERE last_activity_ts < ? "
        "AND ts < ?",
        (cutoff, cutoff),
    ):
        changes.rooms.add(room_id)
        changes.discussions.add(event_id)
    for (room_id,) in conn.execute(
        "SELECT DISTINCT room_id FROM files WHERE ts < ?", (cutoff,)
    ):
        changes.rooms.add(room_id)

    conn.execute(
        "INSERT OR IGNORE INTO temp.expired SELECT event_id FROM replies WHERE ts < ?",
        (cutoff,),
    )
    conn.execute(
        "INSERT OR IGNORE INTO temp.expired SELECT event_id FROM discussions "
        "WHERE last_activity_ts < ? AND ts < ?",
        (cutoff, cutoff),
    )
    conn.execute(
        "INSERT OR IGNORE INTO temp.expired SELECT event_id FROM files WHERE ts < ?",
        (cutoff,),
    )

    expired = "SELECT event_id FROM temp.expired"
    result.replies = conn.execute(
        f"DELETE FROM replies WHERE event_id IN ({expired})"
    ).rowcount
    result.discussions = conn.execute(
        f"DELETE FROM discussions WHERE event_id IN ({expired})"
    ).rowcount
    result.files = conn.execute(
        f"DELETE FROM files WHERE event_id IN ({expired})"
    ).rowcount
    result.file_copies = [
        path
        for (path,) in conn.execute(
            f"DELETE FROM file_downloads WHERE event_id IN ({expired}) RETURNING path"
        )
    ]
    for root_id in changes.discussions:
        # Reply counts are of cached replies, as everywhere else in the cache.
        _refresh_thread_summary(conn, root_id)
    conn.execute(f"DELETE FROM reactions WHERE target_id IN ({expired})")
    conn.execute(f"DELETE FROM accepted_answers WHERE question_id IN ({expired})")
    # The raw event of a kept discussion stays with it.
    result.events = conn.execute(
        "DELETE FROM events WHERE origin_server_ts < ? "
        "AND event_id NOT IN (SELECT event_id FROM discussions)",
        (cutoff,),
    ).rowcount
    if result.total:
        # Spaces list counts and latest activity, which may have changed.
        changes.spaces = True
    return result


def remove_file_copies(paths: list[str]) -> int:
    """Delete downloaded copies, or the partial file of one in progress; return how many.

    A copy that cannot be removed is logged and skipped.
    """
    removed = 0
    for name in paths:
        path = Path(name)
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("Expired file copy %s not removed: %s", path, error)
    return removed


def remove_old_media(folder: Path, cutoff_seconds: float) -> int:
    """Delete downloaded media files last written before ``cutoff_seconds``.

    ``cutoff_seconds`` is a Unix time. Returns the number of files removed;
    a file that cannot be removed is logged and skipped.
    """
    removed = 0
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    for path in entries:
        try:
            if path.is_file() and path.stat().st_mtime < cutoff_seconds:
                path.unlink()
                removed += 1
        except OSError as error:
            log.warning("Old media file %s not removed: %s", path, error)
    return removed
