"""Shared spaces and contributions, listed on a profile page below the fields.

Everything comes from the cache, so a profile page works offline. Posts and
files are found through search_docs, whose rows leave with deleted posts and
files, so nothing deleted is listed.
"""

import sqlite3
from dataclasses import dataclass, replace

from app.store.answers import accepted_answers
from app.store.lookups import room_places

# Items of each kind that a profile page lists.
DEFAULT_ACTIVITY_LIMIT = 5

# Newest replies of a person checked for accepted answers. This bounds the
# work for prolific people, so their older accepted answers are not listed.
MAX_REPLIES_CHECKED = 2_000


@dataclass(frozen=True, slots=True)
class SharedSpace:
    room_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ActivityItem:
    """A discussion started, an accepted answer or a file shared by a person.

    title is the discussion's title, the answered question's title or the
    file name, as stored. discussion_id is the discussion to open: the
    discussion itself or the answered question; None for a file. place is
    the name of the space, else of the room, as stored.
    """

    kind: str
    event_id: str
    room_id: str
    discussion_id: str | None
    title: str
    place: str
    ts: int


@dataclass(frozen=True, slots=True)
class PersonActivity:
    spaces: tuple[SharedSpace, ...]
    discussions: tuple[ActivityItem, ...]
    answers: tuple[ActivityItem, ...]
    files: tuple[ActivityItem, ...]


def person_activity(
    conn: sqlite3.Connection, user_id: str, *, limit: int = DEFAULT_ACTIVITY_LIMIT
) -> PersonActivity:
    """Return the spaces user_id shares with the signed-in user and their latest posts."""
    return PersonActivity(
        shared_spaces(conn, user_id),
        _with_places(conn, _discussions(conn, user_id, limit)),
        _with_places(conn, _answers(conn, user_id, limit)),
        _with_places(conn, _files(conn, user_id, limit)),
    )


def shared_spaces(conn: sqlite3.Connection, user_id: str) -> tuple[SharedSpace, ...]:
    """Return the joined spaces where user_id has joined the space or one of its rooms."""
    rows = conn.execute(
        """SELECT s.room_id, COALESCE(s.name, '') AS name FROM rooms s
        WHERE s.kind = 'space' AND s.membership = 'join' AND EXISTS (
            SELECT 1 FROM members m WHERE m.user_id = ? AND m.membership = 'join'
            AND (m.room_id = s.room_id OR m.room_id IN
                (SELECT child_id FROM space_children WHERE space_id = s.room_id)))
        ORDER BY LOWER(COALESCE(s.name, s.room_id)), s.room_id""",
        (user_id,),
    ).fetchall()
    return tuple(SharedSpace(row["room_id"], row["name"]) for row in rows)


def _discussions(conn, user_id: str, limit: int) -> list[ActivityItem]:
    return _newest(conn, user_id, "discussion", "discussions", "title", limit)


def _newest(
    conn, user_id: str, kind: str, table: str, title: str, limit: int
) -> list[ActivityItem]:
    """Return the person's newest documents of kind, from table, by search_docs."""
    rows = conn.execute(
        f"""SELECT t.event_id, t.room_id, t.{title} AS title, t.ts FROM search_docs d
        JOIN {table} t ON t.event_id = d.ref
        WHERE d.sender = ? AND d.kind = ?
        ORDER BY d.ts DESC, d.id DESC LIMIT ?""",
        (user_id, kind, limit),
    ).fetchall()
    # A discussion opens itself; a file opens no discussion.
    return [
        ActivityItem(
            kind,
            row["event_id"],
            row["room_id"],
            row["event_id"] if kind == "discussion" else None,
            row["title"],
            "",
            row["ts"],
        )
        for row in rows
    ]


def _answers(conn, user_id: str, limit: int) -> list[ActivityItem]:
    """Return the person's newest replies that are their question's accepted answer."""
    rows = conn.execute(
        """SELECT r.event_id, r.room_id, r.root_id, r.ts, q.title FROM (
            SELECT ref FROM search_docs WHERE sender = ? AND kind = 'reply'
            ORDER BY ts DESC LIMIT ?) mine
        JOIN accepted_answers a ON a.reply_id = mine.ref
        JOIN replies r ON r.event_id = a.reply_id
        JOIN discussions q ON q.event_id = r.root_id AND q.redacted = 0
        GROUP BY r.event_id ORDER BY r.ts DESC""",
        (user_id, MAX_REPLIES_CHECKED),
    ).fetchall()
    accepted = accepted_answers(conn, sorted({row["root_id"] for row in rows}))
    items = []
    for row in rows:
        answer = accepted.get(row["root_id"])
        if answer is None or answer.reply_id != row["event_id"]:
            continue
        items.append(
            ActivityItem(
                "answer",
                row["event_id"],
                row["room_id"],
                row["root_id"],
                row["title"],
                "",
                row["ts"],
            )
        )
        if len(items) == limit:
            break
    return items


def _files(conn, user_id: str, limit: int) -> list[ActivityItem]:
    return _newest(conn, user_id, "file", "files", "name", limit)


def _with_places(conn, items: list[ActivityItem]) -> tuple[ActivityItem, ...]:
    places = room_places(conn, [item.room_id for item in items])
    return tuple(
        replace(item, place=places.get(item.room_id, ("", ""))[1]) for item in items
    )
