"""Direct rooms in the cache: m.direct, direct invitations and unfinished creations.

Everything here lives in the ``meta`` table as JSON, so direct rooms need no
table of their own:

- ``DIRECT_ROOMS_KEY``: the validated m.direct account data, {user id: [room id]}.
- ``DIRECT_INVITES_KEY``: invitations marked is_direct, {room id: {invitee: inviter}},
  kept while the room's membership is "invite".
- ``PENDING_DIRECT_KEY``: direct rooms being set up, {other user id: {"client_id":
  the marker put in the new room's m.room.create content, "room_id": the room
  once known}}. An entry outlives a crash or a lost response, so the next
  attempt finds the room instead of creating a second one.

Write functions run inside ``Store.write``; read functions take any connection.
"""

from __future__ import annotations

import json
import sqlite3

from app.records import Changes, DirectInvite, DirectRooms

DIRECT_ROOMS_KEY = "account_data.m.direct"
DIRECT_INVITES_KEY = "direct_invites"
PENDING_DIRECT_KEY = "direct_pending"

# Memberships of the other person that leave a direct room worth reusing.
_OPEN_MEMBERSHIPS = ("join", "invite")


def _read_json(conn: sqlite3.Connection, key: str) -> dict:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        return {}
    try:
        value = json.loads(row[0])
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _write_json(conn: sqlite3.Connection, key: str, value: dict) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value, ensure_ascii=False, sort_keys=True)),
    )


# -- Reads -----------------------------------------------------------------


def direct_rooms(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Return the cached m.direct: each person's direct room ids."""
    stored = _read_json(conn, DIRECT_ROOMS_KEY)
    return {
        user_id: tuple(room for room in rooms if isinstance(room, str))
        for user_id, rooms in stored.items()
        if isinstance(rooms, list)
    }


def direct_room_people(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Return, for each direct room id, the people m.direct lists it under."""
    people: dict[str, list[str]] = {}
    for user_id, room_ids in direct_rooms(conn).items():
        for room_id in room_ids:
            people.setdefault(room_id, []).append(user_id)
    return {room_id: tuple(sorted(users)) for room_id, users in people.items()}


def joined_direct_room(conn: sqlite3.Connection, other_user_id: str) -> str | None:
    """Return the joined direct room with other_user_id to reuse, or None.

    A room where the other person has left or was banned is not reused. Of the
    rest, the one with the latest activity wins.
    """
    room_ids = direct_rooms(conn).get(other_user_id, ())
    if not room_ids:
        return None
    rows = conn.execute(
        f"""SELECT r.room_id FROM rooms r
        WHERE r.room_id IN ({",".join("?" for _ in room_ids)})
        AND r.membership = 'join' AND r.kind != 'space'
        AND COALESCE((SELECT m.membership FROM members m
            WHERE m.room_id = r.room_id AND m.user_id = ?), 'join')
            IN ({",".join("?" for _ in _OPEN_MEMBERSHIPS)})
        ORDER BY COALESCE(r.last_position, 0) DESC, r.room_id""",
        [*room_ids, other_user_id, *_OPEN_MEMBERSHIPS],
    ).fetchall()
    return rows[0][0] if rows else None


def direct_invite_from(
    conn: sqlite3.Connection, own_user_id: str, inviter: str
) -> str | None:
    """Return a room that inviter invited own_user_id to as a direct room, or None."""
    invites = _read_json(conn, DIRECT_INVITES_KEY)
    candidates = [
        room_id
        for room_id, by_invitee in invites.items()
        if isinstance(by_invitee, dict) and by_invitee.get(own_user_id) == inviter
    ]
    for room_id in sorted(candidates):
        row = conn.execute(
            "SELECT membership FROM rooms WHERE room_id = ?", (room_id,)
        ).fetchone()
        if row is not None and row[0] == "invite":
            return room_id
    return None


def pending_direct(conn: sqlite3.Connection, other_user_id: str) -> dict:
    """Return the unfinished set-up of a direct room with other_user_id, or {}.

    The result may contain "client_id" and "room_id", both strings.
    """
    entry = _read_json(conn, PENDING_DIRECT_KEY).get(other_user_id)
    if not isinstance(entry, dict):
        return {}
    return {
        key: value
        for key, value in entry.items()
        if key in ("client_id", "room_id") and isinstance(value, str)
    }


def rooms_without_member(
    conn: sqlite3.Connection, room_ids: list[str], user_id: str
) -> set[str]:
    """Return which of room_ids are cached with members, none of them user_id."""
    if not room_ids:
        return set()
    rows = conn.execute(
        """SELECT r.value FROM json_each(?) r
        WHERE EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.value)
        AND NOT EXISTS (SELECT 1 FROM members m
            WHERE m.room_id = r.value AND m.user_id = ?)""",
        (json.dumps(room_ids), user_id),
    ).fetchall()
    return {row[0] for row in rows}


def rooms_left_by(
    conn: sqlite3.Connection, room_ids: list[str], user_id: str
) -> set[str]:
    """Return which of room_ids user_id has left or was banned from, as cached."""
    if not room_ids:
        return set()
    rows = conn.execute(
        """SELECT m.room_id FROM members m
        WHERE m.room_id IN (SELECT value FROM json_each(?)) AND m.user_id = ?
        AND m.membership NOT IN ('join', 'invite')""",
        (json.dumps(room_ids), user_id),
    ).fetchall()
    return {row[0] for row in rows}


# -- Writes from the sync --------------------------------------------------


def save_direct_rooms(
    conn: sqlite3.Connection, direct: DirectRooms, changes: Changes
) -> None:
    """Store m.direct from the sync, and mark the spaces changed if it changed."""
    value = {user_id: list(rooms) for user_id, rooms in direct.rooms.items()}
    if _read_json(conn, DIRECT_ROOMS_KEY) == value:
        return
    _write_json(conn, DIRECT_ROOMS_KEY, value)
    changes.spaces = True
    changes.rooms.update(room for rooms in direct.rooms.values() for room in rooms)


def save_direct_invite(conn: sqlite3.Connection, invite: DirectInvite) -> None:
    invites = _read_json(conn, DIRECT_INVITES_KEY)
    by_invitee = invites.get(invite.room_id)
    if not isinstance(by_invitee, dict):
        by_invitee = invites[invite.room_id] = {}
    by_invitee[invite.invitee] = invite.inviter
    _write_json(conn, DIRECT_INVITES_KEY, invites)


def prune_direct_invites(conn: sqlite3.Connection) -> None:
    """Forget invitations to rooms that are no longer invitations (joined, left)."""
    invites = _read_json(conn, DIRECT_INVITES_KEY)
    if not invites:
        return
    invited = {
        row[0]
        for row in conn.execute(
            "SELECT r.value FROM json_each(?) r JOIN rooms ON rooms.room_id = r.value "
            "WHERE rooms.membership = 'invite'",
            (json.dumps(list(invites)),),
        )
    }
    remaining = {
        room_id: value for room_id, value in invites.items() if room_id in invited
    }
    if remaining != invites:
        _write_json(conn, DIRECT_INVITES_KEY, remaining)


# -- Writes while opening a direct room ------------------------------------


def save_pending_direct(
    conn: sqlite3.Connection,
    other_user_id: str,
    client_id: str | None,
    room_id: str | None,
) -> None:
    """Record a step of setting up a direct room. A None value keeps the stored one."""
    pending = _read_json(conn, PENDING_DIRECT_KEY)
    entry = pending.get(other_user_id)
    entry = dict(entry) if isinstance(entry, dict) else {}
    if client_id is not None:
        entry["client_id"] = client_id
    if room_id is not None:
        entry["room_id"] = room_id
    pending[other_user_id] = entry
    _write_json(conn, PENDING_DIRECT_KEY, pending)


def forget_pending_direct(conn: sqlite3.Connection, other_user_id: str) -> None:
    pending = _read_json(conn, PENDING_DIRECT_KEY)
    if pending.pop(other_user_id, None) is not None:
        _write_json(conn, PENDING_DIRECT_KEY, pending)


def record_direct_room(
    conn: sqlite3.Connection,
    room_id: str,
    other_user_id: str,
    direct: DirectRooms,
) -> Changes:
    """Store a direct room that exists on the server and that m.direct lists.

    The room is cached as joined at once, so the sidebar lists it before the
    next sync brings its state and events. direct is the m.direct content
    just sent to the server; the sync stores the server's copy later.
    """
    conn.execute(
        "INSERT INTO rooms (room_id, membership) VALUES (?, 'join') "
        "ON CONFLICT (room_id) DO UPDATE SET membership = 'join'",
        (room_id,),
    )
    conn.execute(
        "INSERT INTO people (user_id) VALUES (?) ON CONFLICT (user_id) DO NOTHING",
        (other_user_id,),
    )
    changes = Changes(people={other_user_id})
    save_direct_rooms(conn, direct, changes)
    forget_pending_direct(conn, other_user_id)
    prune_direct_invites(conn)
    changes.spaces = True
    changes.rooms.add(room_id)
    return changes
