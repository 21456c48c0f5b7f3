"""Small read helpers shared by the search, directory and expert queries."""

import json
import sqlite3
from collections.abc import Iterable, Sequence

# SQLite's default limit of bound parameters is 32,766, so lists of ids are
# bound in chunks far below it.
CHUNK_SIZE = 500

# A person's name over the people row p: the profile's name, else the name of
# one of their member events, else NULL.
PERSON_NAME_SQL = """COALESCE(p.display_name, (SELECT m.display_name FROM members m
    WHERE m.user_id = p.user_id AND m.display_name IS NOT NULL LIMIT 1))"""


def placeholders(values: Sequence) -> str:
    """Return "?, ?, …" with one mark per value, for an IN list."""
    return ",".join("?" for _ in values)


def chunks(values: Sequence, size: int = CHUNK_SIZE) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def json_strings(value: str | None) -> tuple[str, ...]:
    """Return the strings of a JSON list column, or () when it is malformed."""
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(item for item in items if isinstance(item, str))


def room_places(
    conn: sqlite3.Connection, room_ids: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """Return the place of each room: (id, name) of its joined space, else its own.

    The name is as stored, "" when there is none; callers clean it for display.
    """
    places: dict[str, tuple[str, str]] = {}
    for chunk in chunks(sorted(set(room_ids))):
        rows = conn.execute(
            f"""SELECT r.room_id, r.name, s.room_id AS space_id, s.name AS space_name
            FROM rooms r LEFT JOIN rooms s ON s.room_id = (
                SELECT c.space_id FROM space_children c
                JOIN rooms j ON j.room_id = c.space_id AND j.membership = 'join'
                WHERE c.child_id = r.room_id ORDER BY c.space_id LIMIT 1)
            WHERE r.room_id IN ({placeholders(chunk)})""",
            list(chunk),
        ).fetchall()
        for row in rows:
            if row["space_id"]:
                places[row["room_id"]] = (row["space_id"], row["space_name"] or "")
            else:
                places[row["room_id"]] = (row["room_id"], row["name"] or "")
    return places
