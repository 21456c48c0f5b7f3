"""Read queries of files areas: the latest version of each file and its history.

A file event may name the event it replaces in ``app.commonplace.supersedes``
(docs/formats.md, "Files"). The rules for following that link:

- The superseded event must be a cached file in the same room, received
  before the new version. A link to another room, to a later event, to an
  event that is not a file or to an event not in the cache is ignored, and
  the new version starts its own history. So nobody can hide a file in a room
  by posting in another room, and a chain can never loop.
- Only the sender of the superseded file, or a moderator of the room, can
  add a version. A moderator is the room's creator (in room versions that
  give creators unlimited power) or a member whose power level reaches the
  room's ``redact`` level, read from the cached power levels as they are
  now. A link from anyone else is ignored, so that member's file is listed
  as a file of its own and cannot hide someone else's file.
- A deleted (redacted) version is left out of the list and of the history,
  but its link stays, so deleting the newest version shows the one before.
- Two versions that supersede the same file are both listed as latest
  versions, each with the shared older versions in its history.

The links are followed in Python over one indexed read of the room's
(event id, supersedes, position, redacted) rows, because SQLite has no index
on ``supersedes`` and a recursive query per file would scan the room.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from app.store.answers import is_moderator
from app.store.queries import _NAME_SQL


@dataclass(frozen=True, slots=True)
class FileVersion:
    event_id: str
    room_id: str
    sender: str
    # The sender's cached display name, or None when none is known.
    sender_name: str | None
    ts: int  # milliseconds since the epoch
    name: str  # as sent, not yet cleaned for display or the disk
    msgtype: str
    mimetype: str | None  # the sender's claim; previews check the content
    size: int | None
    url: str


@dataclass(frozen=True, slots=True)
class FileEntry:
    """The latest version of one file and how many versions it has."""

    latest: FileVersion
    version_count: int


@dataclass(frozen=True, slots=True)
class FilePage:
    entries: list[FileEntry]
    total: int  # latest versions in the room, listed or not


@dataclass(frozen=True, slots=True)
class _Link:
    position: int
    redacted: bool
    supersedes: str | None  # only a link that obeys the rules above


class _Chains:
    """The version links of one room's files."""

    def __init__(self, conn: sqlite3.Connection, room_id: str):
        rows = conn.execute(
            "SELECT event_id, supersedes, position, redacted, sender FROM files "
            "WHERE room_id = ? ORDER BY position DESC",
            (room_id,),
        ).fetchall()
        positions = {row[0]: row[2] for row in rows}
        senders = {row[0]: row[4] for row in rows}
        moderators: dict[str, bool] = {}
        self.links: dict[str, _Link] = {}
        # Event id to the versions that directly supersede it, deleted or not.
        self._newer: dict[str, list[str]] = {}
        for event_id, supersedes, position, redacted, sender in rows:
            older = supersedes
            if older is not None and positions.get(older, position) >= position:
                older = None
            if older is not None and senders[older] != sender:
                if sender not in moderators:
                    moderators[sender] = is_moderator(conn, room_id, sender)
                if not moderators[sender]:
                    older = None
            self.links[event_id] = _Link(position, bool(redacted), older)
            if older is not None:
                self._newer.setdefault(older, []).append(event_id)
        # Events newest first, as the rows were read.
        self.order = [row[0] for row in rows]

    def _has_visible_newer(self, event_id: str) -> bool:
        pending = list(self._newer.get(event_id, ()))
        seen: set[str] = set()
        while pending:
            newer = pending.pop()
            if newer in seen:
                continue
            seen.add(newer)
            if not self.links[newer].redacted:
                return True
            pending.extend(self._newer.get(newer, ()))
        return False

    def latest(self) -> list[str]:
        """Return the event ids of the listed versions, newest first."""
        return [
            event_id
            for event_id in self.order
            if not self.links[event_id].redacted
            and not self._has_visible_newer(event_id)
        ]

    def history(self, event_id: str) -> list[str]:
        """Return event_id and the versions it replaces, newest first, not deleted."""
        versions = []
        current: str | None = event_id
        while current is not None and current in self.links:
            link = self.links[current]
            if not link.redacted:
                versions.append(current)
            current = link.supersedes
        return versions


_VERSION_SQL = (
    "SELECT f.event_id, f.room_id, f.sender, "
    + _NAME_SQL.format(col="f.sender")
    + " AS sender_name, f.ts, f.name, f.msgtype, f.mimetype, f.size, f.url "
    "FROM files f WHERE f.event_id IN ({marks})"
)


def _read_versions(conn: sqlite3.Connection, event_ids: list[str]) -> dict:
    versions = {}
    # SQLite allows at least 999 bound parameters per statement.
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start : start + 500]
        sql = _VERSION_SQL.format(marks=", ".join("?" * len(chunk)))
        for row in conn.execute(sql, chunk):
            versions[row[0]] = FileVersion(*row)
    return versions


def latest_files(
    conn: sqlite3.Connection, room_id: str, *, limit: int = 200, offset: int = 0
) -> FilePage:
    """Read one page of a files area's latest versions, newest first."""
    chains = _Chains(conn, room_id)
    latest = chains.latest()
    page_ids = latest[offset : offset + limit]
    counts = {event_id: len(chains.history(event_id)) for event_id in page_ids}
    versions = _read_versions(conn, page_ids)
    entries = [FileEntry(versions[event_id], counts[event_id]) for event_id in page_ids]
    return FilePage(entries, len(latest))


def file_history(conn: sqlite3.Connection, event_id: str) -> list[FileVersion]:
    """Read event_id and every older version of it, newest first.

    Returns an empty list when event_id is not a cached file. A deleted
    event_id is left out, like any deleted version.
    """
    row = conn.execute(
        "SELECT room_id FROM files WHERE event_id = ?", (event_id,)
    ).fetchone()
    if row is None:
        return []
    ids = _Chains(conn, row[0]).history(event_id)
    versions = _read_versions(conn, ids)
    return [versions[version_id] for version_id in ids]


def may_add_version(conn: sqlite3.Connection, event_id: str, user_id: str) -> bool:
    """Return whether a new version from user_id would replace the cached file event_id.

    True when user_id sent that file or is a moderator of its room (the
    rules in this module's docstring). False when the file is not cached.
    """
    row = conn.execute(
        "SELECT room_id, sender FROM files WHERE event_id = ?", (event_id,)
    ).fetchone()
    if row is None:
        return False
    return row[1] == user_id or is_moderator(conn, row[0], user_id)


def latest_version_of(conn: sqlite3.Connection, event_id: str) -> str | None:
    """Return the listed version whose history contains event_id, or None.

    With two newer versions of one file, the one received last is returned.
    """
    row = conn.execute(
        "SELECT room_id FROM files WHERE event_id = ?", (event_id,)
    ).fetchone()
    if row is None:
        return None
    chains = _Chains(conn, row[0])
    for latest in chains.latest():
        if event_id in chains.history(latest):
            return latest
    return None
