"""Writes of space administration: pins, join requests, power levels, creations.

The record writers run inside the sync's transaction (app.store.writes calls
them); the others are passed to ``Store.write`` by app.spaces.
"""

from __future__ import annotations

import json
import sqlite3
import time

from app.records import Changes
from app.space_records import JoinRuleAllow, Knock, PinnedEvents, PowerLevelRules


def apply_pinned_events(
    conn: sqlite3.Connection, record: PinnedEvents, changes: Changes
) -> None:
    """Replace a room's pins, keeping who pinned the ones that stay.

    An event id new to the cached list is credited to the event's sender. In
    the first list cached for a room, only a single id is credited, because
    several people may have built a list of several.
    """
    known = conn.execute(
        "SELECT event_id, pinned_by FROM pinned_events WHERE room_id = ?",
        (record.room_id,),
    ).fetchall()
    pinned_by = {row[0]: row[1] for row in known}
    first_list = not known and not _has_seen_pins(conn, record.room_id)
    conn.execute("DELETE FROM pinned_events WHERE room_id = ?", (record.room_id,))
    for seq, event_id in enumerate(record.event_ids):
        if event_id in pinned_by:
            pinner = pinned_by[event_id]
        elif first_list and len(record.event_ids) > 1:
            pinner = None
        else:
            pinner = record.sender
        conn.execute(
            "INSERT INTO pinned_events (room_id, event_id, seq, pinned_by) "
            "VALUES (?, ?, ?, ?)",
            (record.room_id, event_id, seq, pinner),
        )
    _mark_pins_seen(conn, record.room_id)
    changes.administration.add(record.room_id)


def _pins_key(room_id: str) -> str:
    return f"pins_seen:{room_id}"


def _has_seen_pins(conn: sqlite3.Connection, room_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM meta WHERE key = ?", (_pins_key(room_id),))
    return row.fetchone() is not None


def _mark_pins_seen(conn: sqlite3.Connection, room_id: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, '1')",
        (_pins_key(room_id),),
    )


def apply_knock(conn: sqlite3.Connection, record: Knock, changes: Changes) -> None:
    conn.execute(
        "INSERT INTO join_requests (room_id, user_id, reason, ts) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (room_id, user_id) DO UPDATE SET reason = excluded.reason, "
        "ts = excluded.ts",
        (record.room_id, record.user_id, record.reason, record.ts),
    )
    changes.administration.add(record.room_id)


def settle_join_request(
    conn: sqlite3.Connection, room_id: str, user_id: str, membership: str, changes
) -> None:
    """Remove a join request once the person's membership is no longer knock."""
    if membership == "knock":
        return
    cursor = conn.execute(
        "DELETE FROM join_requests WHERE room_id = ? AND user_id = ?",
        (room_id, user_id),
    )
    if cursor.rowcount:
        changes.administration.add(room_id)


def forget_join_request(
    conn: sqlite3.Connection, room_id: str, user_id: str
) -> Changes:
    """Remove a join request that the user has just approved or refused."""
    changes = Changes()
    settle_join_request(conn, room_id, user_id, "settled", changes)
    return changes


def apply_power_level_rules(
    conn: sqlite3.Connection, record: PowerLevelRules, changes: Changes
) -> None:
    conn.execute(
        "INSERT INTO power_level_rules (room_id, invite, kick, ban, state_default, "
        "events_default, events) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (room_id) DO UPDATE SET invite = excluded.invite, "
        "kick = excluded.kick, ban = excluded.ban, "
        "state_default = excluded.state_default, "
        "events_default = excluded.events_default, events = excluded.events",
        (
            record.room_id,
            record.invite,
            record.kick,
            record.ban,
            record.state_default,
            record.events_default,
            json.dumps(record.events),
        ),
    )
    changes.administration.add(record.room_id)


def apply_join_rule_allow(
    conn: sqlite3.Connection, record: JoinRuleAllow, changes: Changes
) -> None:
    conn.execute("DELETE FROM join_rule_allow WHERE room_id = ?", (record.room_id,))
    conn.executemany(
        "INSERT OR IGNORE INTO join_rule_allow (room_id, allowed_room_id) VALUES (?, ?)",
        [(record.room_id, allowed) for allowed in record.allowed_room_ids],
    )
    changes.rooms.add(record.room_id)


# Space creations


def unfinished_creation(
    conn: sqlite3.Connection, name: str, visibility: str
) -> dict | None:
    """Return the newest unfinished creation of a space with this name, if any."""
    cursor = conn.execute(
        "SELECT * FROM space_creations WHERE name = ? AND visibility = ? "
        "AND finished = 0 ORDER BY created_at DESC LIMIT 1",
        (name, visibility),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return {column[0]: value for column, value in zip(cursor.description, row)}


def start_creation(
    conn: sqlite3.Connection, client_id: str, name: str, topic: str, visibility: str
) -> None:
    conn.execute(
        "INSERT INTO space_creations (client_id, name, topic, visibility, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (client_id, name, topic, visibility, time.time()),
    )


_CREATION_COLUMNS = (
    "avatar_url",
    "space_id",
    "board_id",
    "files_id",
    "alias",
    "finished",
)


def update_creation(conn: sqlite3.Connection, client_id: str, values: dict) -> None:
    """Record the steps of a creation that are done: a room id, the alias, finished."""
    for column, value in values.items():
        if column not in _CREATION_COLUMNS:
            raise ValueError(f"space_creations has no column {column!r}")
        conn.execute(
            f"UPDATE space_creations SET {column} = ? WHERE client_id = ?",
            (value, client_id),
        )


def forget_creation(conn: sqlite3.Connection, client_id: str) -> None:
    conn.execute("DELETE FROM space_creations WHERE client_id = ?", (client_id,))
