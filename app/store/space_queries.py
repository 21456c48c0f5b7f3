"""Read queries of space administration: roles, join requests, pins, the home page.

Roles follow m.room.power_levels: owner at 100 or more, moderator at 50 or
more, member below. A creator of a room whose version gives creators
unlimited power (version 12 and later) is an owner at any level.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from app.store.file_versions import latest_files

# Power levels of the three roles in m.room.power_levels.
ROLE_LEVELS: dict[str, int] = {"owner": 100, "moderator": 50, "member": 0}
ROLE_ORDER = ("owner", "moderator", "member")
# A creator's level in a room version that gives creators unlimited power.
UNLIMITED = float("inf")
RECENT_FILES = 5

# A person's name: their profile, else their member event in the room, else None.
_NAME_SQL = """COALESCE(
    (SELECT display_name FROM people WHERE user_id = {user}),
    (SELECT display_name FROM members WHERE user_id = {user}
        AND display_name IS NOT NULL LIMIT 1))"""


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A knock on a space: someone asking to join it."""

    space_id: str
    user_id: str
    display_name: str | None
    avatar_url: str | None
    reason: str | None
    ts: int | None


@dataclass(frozen=True, slots=True)
class PinnedItem:
    """A discussion or file pinned in one of a space's rooms."""

    room_id: str
    room_name: str | None
    event_id: str
    # "discussion", "file", or "unknown" while the event is not in the cache.
    kind: str
    title: str
    # The user who added the pin, if the cache saw the change that added it.
    pinned_by: str | None
    pinned_by_name: str | None


@dataclass(frozen=True, slots=True)
class SpaceMember:
    user_id: str
    display_name: str | None
    avatar_url: str | None
    role: str


@dataclass(frozen=True, slots=True)
class SpaceRoom:
    """A board or files area of a space."""

    room_id: str
    kind: str
    name: str | None
    topic: str | None
    membership: str | None


@dataclass(frozen=True, slots=True)
class RecentFile:
    event_id: str
    room_id: str
    name: str
    sender: str
    sender_name: str | None
    ts: int
    mimetype: str | None
    size: int | None


@dataclass(frozen=True, slots=True)
class SpaceHome:
    """The contents of a space's home page, read from the cache."""

    space_id: str
    name: str | None
    topic: str | None
    avatar_url: str | None
    join_rule: str | None
    member_count: int
    own_role: str
    members: list[SpaceMember] = field(default_factory=list)
    boards: list[SpaceRoom] = field(default_factory=list)
    files_areas: list[SpaceRoom] = field(default_factory=list)
    recent_files: list[RecentFile] = field(default_factory=list)
    pinned: list[PinnedItem] = field(default_factory=list)
    # Open join requests; 0 for a user whose level is below the invite level.
    join_request_count: int = 0
    # People invited who have not accepted or declined yet.
    invited: list[SpaceMember] = field(default_factory=list)


# Levels


def is_creator(conn: sqlite3.Connection, room_id: str, user_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM room_creators WHERE room_id = ? AND user_id = ?",
        (room_id, user_id),
    ).fetchone()
    return row is not None


def user_level(conn: sqlite3.Connection, room_id: str, user_id: str) -> float:
    """Return user_id's power level in the room; UNLIMITED for a privileged creator."""
    if is_creator(conn, room_id, user_id):
        return UNLIMITED
    row = conn.execute(
        "SELECT users, users_default FROM power_levels WHERE room_id = ?", (room_id,)
    ).fetchone()
    if row is None:
        return 0
    users = json.loads(row[0])
    level = users.get(user_id, row[1])
    return level if isinstance(level, int) else row[1]


def role_of_level(level: float) -> str:
    if level >= ROLE_LEVELS["owner"]:
        return "owner"
    if level >= ROLE_LEVELS["moderator"]:
        return "moderator"
    return "member"


def role(conn: sqlite3.Connection, room_id: str, user_id: str) -> str:
    """Return "owner", "moderator" or "member" for user_id in the room."""
    return role_of_level(user_level(conn, room_id, user_id))


def required_level(conn: sqlite3.Connection, room_id: str, action: str) -> int:
    """Return the level needed for an action: "invite", "kick", "ban", "redact",
    or "state:TYPE" and "event:TYPE" to send an event of that type.

    Rooms without cached levels get the spec's defaults.
    """
    rules = conn.execute(
        "SELECT invite, kick, ban, state_default, events_default, events "
        "FROM power_level_rules WHERE room_id = ?",
        (room_id,),
    ).fetchone()
    if action == "redact":
        row = conn.execute(
            "SELECT redact FROM power_levels WHERE room_id = ?", (room_id,)
        ).fetchone()
        return row[0] if row else 50
    if rules is None:
        defaults = {"invite": 0, "kick": 50, "ban": 50}
        if action in defaults:
            return defaults[action]
        return 50 if action.startswith("state:") else 0
    invite, kick, ban, state_default, events_default, events = rules
    if action == "invite":
        return invite
    if action == "kick":
        return kick
    if action == "ban":
        return ban
    kind, _, event_type = action.partition(":")
    levels = json.loads(events)
    if event_type in levels:
        return levels[event_type]
    return state_default if kind == "state" else events_default


def may(conn: sqlite3.Connection, room_id: str, user_id: str, action: str) -> bool:
    """Return whether user_id's cached level allows the action (see required_level)."""
    return user_level(conn, room_id, user_id) >= required_level(conn, room_id, action)


@dataclass(frozen=True, slots=True)
class Permissions:
    """The actions that a user's cached power level allows in one room."""

    invite: bool
    remove_members: bool
    remove_posts: bool
    pin: bool
    change_roles: bool


def permissions(conn: sqlite3.Connection, room_id: str, user_id: str) -> Permissions:
    return Permissions(
        invite=may(conn, room_id, user_id, "invite"),
        remove_members=may(conn, room_id, user_id, "kick"),
        remove_posts=may(conn, room_id, user_id, "redact"),
        pin=may(conn, room_id, user_id, "state:m.room.pinned_events"),
        change_roles=may(conn, room_id, user_id, "state:m.room.power_levels"),
    )


# Rooms of a space


def space_rooms(conn: sqlite3.Connection, space_id: str) -> list[SpaceRoom]:
    """Return the rooms a space links to, boards and files areas, by order and name."""
    rows = conn.execute(
        """SELECT c.child_id, COALESCE(r.kind, 'board') AS kind, r.name, r.topic,
            r.membership
        FROM space_children c LEFT JOIN rooms r ON r.room_id = c.child_id
        WHERE c.space_id = ? AND COALESCE(r.kind, 'board') != 'space'
        ORDER BY c.order_key IS NULL, c.order_key, LOWER(COALESCE(r.name, c.child_id))""",
        (space_id,),
    ).fetchall()
    return [SpaceRoom(*row) for row in rows]


def rooms_left_with_space(conn: sqlite3.Connection, space_id: str) -> list[str]:
    """Return the joined rooms of a space that no other joined space links to."""
    rows = conn.execute(
        """SELECT c.child_id FROM space_children c
        JOIN rooms r ON r.room_id = c.child_id AND r.membership = 'join'
        WHERE c.space_id = ? AND r.kind != 'space'
        AND NOT EXISTS (SELECT 1 FROM space_children o
            JOIN rooms s ON s.room_id = o.space_id AND s.membership = 'join'
            WHERE o.child_id = c.child_id AND o.space_id != c.space_id)""",
        (space_id,),
    ).fetchall()
    return [row[0] for row in rows]


def membership(conn: sqlite3.Connection, room_id: str) -> str | None:
    row = conn.execute(
        "SELECT membership FROM rooms WHERE room_id = ?", (room_id,)
    ).fetchone()
    return row[0] if row else None


def membership_of(conn: sqlite3.Connection, room_id: str, user_id: str) -> str | None:
    """Return someone's cached membership of a room, or None when unknown."""
    row = conn.execute(
        "SELECT membership FROM members WHERE room_id = ? AND user_id = ?",
        (room_id, user_id),
    ).fetchone()
    return row[0] if row else None


def memberships(conn: sqlite3.Connection, room_ids: list[str]) -> dict[str, str]:
    """Return the user's cached membership of each of the rooms in the cache."""
    rows = conn.execute(
        "SELECT room_id, membership FROM rooms "
        "WHERE room_id IN (SELECT value FROM json_each(?))",
        (json.dumps(room_ids),),
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def room_name(conn: sqlite3.Connection, room_id: str) -> str | None:
    row = conn.execute(
        "SELECT COALESCE(name, canonical_alias) FROM rooms WHERE room_id = ?",
        (room_id,),
    ).fetchone()
    return row[0] if row and row[0] else None


def person_name(conn: sqlite3.Connection, user_id: str) -> str | None:
    row = conn.execute(
        f"SELECT {_NAME_SQL.format(user='?')}", (user_id, user_id)
    ).fetchone()
    return row[0] if row else None


def room_of_event(conn: sqlite3.Connection, event_id: str) -> tuple[str, str] | None:
    """Return (room id, sender) of a cached discussion, reply or file."""
    for table in ("discussions", "replies", "files"):
        row = conn.execute(
            f"SELECT room_id, sender FROM {table} WHERE event_id = ?", (event_id,)
        ).fetchone()
        if row:
            return row[0], row[1]
    return None


@dataclass(frozen=True, slots=True)
class UnfinishedCreation:
    """A space creation cut short, which create with its name and visibility finishes.

    space_id is None when the space may not exist yet. started_at is a Unix
    time in seconds.
    """

    name: str
    visibility: str
    space_id: str | None
    started_at: float


def unfinished_creations(conn: sqlite3.Connection) -> list[UnfinishedCreation]:
    """Return the space creations cut short, newest first."""
    rows = conn.execute(
        "SELECT name, visibility, space_id, created_at FROM space_creations "
        "WHERE finished = 0 ORDER BY created_at DESC"
    ).fetchall()
    return [UnfinishedCreation(*row) for row in rows]


def thread_reply_ids(conn: sqlite3.Connection, root_id: str) -> list[str]:
    """Return the cached replies to a thread root that are not deleted, oldest first."""
    rows = conn.execute(
        "SELECT event_id FROM replies WHERE root_id = ? AND redacted = 0 "
        "ORDER BY position",
        (root_id,),
    ).fetchall()
    return [row[0] for row in rows]


def spaces_of_room(conn: sqlite3.Connection, room_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT space_id FROM space_children WHERE child_id = ?", (room_id,)
    ).fetchall()
    return [row[0] for row in rows]


# Join requests


def join_requests(conn: sqlite3.Connection, space_id: str) -> list[JoinRequest]:
    """Return the open knocks on a space, oldest first."""
    rows = conn.execute(
        f"""SELECT j.user_id, {_NAME_SQL.format(user="j.user_id")},
            (SELECT avatar_url FROM people WHERE user_id = j.user_id),
            j.reason, j.ts
        FROM join_requests j
        JOIN members m ON m.room_id = j.room_id AND m.user_id = j.user_id
            AND m.membership = 'knock'
        WHERE j.room_id = ?
        ORDER BY j.ts IS NULL, j.ts, j.user_id""",
        (space_id,),
    ).fetchall()
    return [JoinRequest(space_id, *row) for row in rows]


# Pins


def pinned(conn: sqlite3.Connection, room_ids: list[str]) -> list[PinnedItem]:
    """Return the pinned items of the rooms, room by room in pin order.

    A pinned event that is not a cached discussion or file, such as a reply
    or an event not synced yet, has kind "unknown". Deleted ones are left out.
    """
    rows = conn.execute(
        f"""SELECT p.room_id, COALESCE(r.name, r.canonical_alias), p.event_id,
            d.title, d.redacted, f.name, f.redacted, p.pinned_by,
            {_NAME_SQL.format(user="p.pinned_by")}
        FROM pinned_events p
        JOIN json_each(?) j ON j.value = p.room_id
        LEFT JOIN rooms r ON r.room_id = p.room_id
        LEFT JOIN discussions d ON d.event_id = p.event_id
        LEFT JOIN files f ON f.event_id = p.event_id
        ORDER BY j.key, p.seq""",
        (json.dumps(room_ids),),
    ).fetchall()
    items = []
    for row in rows:
        (
            room_id,
            room,
            event_id,
            title,
            title_redacted,
            file_name,
            file_redacted,
            pinned_by,
            pinned_by_name,
        ) = row
        if title is not None:
            if title_redacted:
                continue
            kind, text = "discussion", title
        elif file_name is not None:
            if file_redacted:
                continue
            kind, text = "file", file_name
        else:
            kind, text = "unknown", "(not loaded yet)"
        items.append(
            PinnedItem(room_id, room, event_id, kind, text, pinned_by, pinned_by_name)
        )
    return items


def pinned_event_ids(conn: sqlite3.Connection, room_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT event_id FROM pinned_events WHERE room_id = ? ORDER BY seq", (room_id,)
    ).fetchall()
    return [row[0] for row in rows]


# The space home


def space_members(
    conn: sqlite3.Connection, space_id: str, membership: str = "join"
) -> list[SpaceMember]:
    """Return the space's people with a membership: owners, moderators, then members.

    Within a role they are sorted by name.
    """
    rows = conn.execute(
        f"""SELECT m.user_id, COALESCE({_NAME_SQL.format(user="m.user_id")},
                m.display_name),
            COALESCE((SELECT avatar_url FROM people WHERE user_id = m.user_id),
                m.avatar_url)
        FROM members m WHERE m.room_id = ? AND m.membership = ?""",
        (space_id, membership),
    ).fetchall()
    members = [
        SpaceMember(user_id, name, avatar, role(conn, space_id, user_id))
        for user_id, name, avatar in rows
    ]
    return sorted(
        members,
        key=lambda member: (
            ROLE_ORDER.index(member.role),
            (member.display_name or member.user_id).casefold(),
            member.user_id,
        ),
    )


def recent_files(
    conn: sqlite3.Connection, room_ids: list[str], limit: int = RECENT_FILES
) -> list[RecentFile]:
    """Return the newest files of the rooms, newest first.

    Only a file's latest version counts, as the files area lists it, and
    deleted files are left out.
    """
    found = []
    for room_id in room_ids:
        for entry in latest_files(conn, room_id, limit=limit).entries:
            latest = entry.latest
            found.append(
                RecentFile(
                    latest.event_id,
                    latest.room_id,
                    latest.name,
                    latest.sender,
                    latest.sender_name,
                    latest.ts,
                    latest.mimetype,
                    latest.size,
                )
            )
    found.sort(key=lambda recent: recent.ts, reverse=True)
    return found[:limit]


def space_home(
    conn: sqlite3.Connection, space_id: str, own_user_id: str
) -> SpaceHome | None:
    """Return a space's home page, or None when the cache does not know the space."""
    about = conn.execute(
        "SELECT name, topic, avatar_url, join_rule, joined_member_count "
        "FROM rooms WHERE room_id = ?",
        (space_id,),
    ).fetchone()
    if about is None:
        return None
    name, topic, avatar_url, join_rule, joined_count = about
    members = space_members(conn, space_id)

    rooms = space_rooms(conn, space_id)
    boards = [room for room in rooms if room.kind != "files"]
    files_areas = [room for room in rooms if room.kind == "files"]
    joined_files = [room.room_id for room in files_areas if room.membership == "join"]
    joined_rooms = [room.room_id for room in rooms if room.membership == "join"]

    requests = 0
    if may(conn, space_id, own_user_id, "invite"):
        requests = len(join_requests(conn, space_id))

    return SpaceHome(
        space_id=space_id,
        name=name,
        topic=topic,
        avatar_url=avatar_url,
        join_rule=join_rule,
        member_count=joined_count if joined_count is not None else len(members),
        own_role=role(conn, space_id, own_user_id),
        members=members,
        invited=space_members(conn, space_id, "invite"),
        boards=boards,
        files_areas=files_areas,
        recent_files=recent_files(conn, joined_files),
        pinned=pinned(conn, joined_rooms),
        join_request_count=requests,
    )
