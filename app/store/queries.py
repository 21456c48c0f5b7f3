"""Read queries over the cache. Each takes a connection and returns plain data.

Queries are paged and indexed so that views can run them on the UI thread
without loading the cache whole.
"""

import json
import sqlite3
import time
from dataclasses import dataclass, replace

from app.namespace import LIKE_KEY
from app.store import outbox_queries as pending
from app.store.direct_store import direct_room_people
from app.store.writes import LAST_SYNC_KEY, SYNC_TOKEN_KEY, get_meta


@dataclass(frozen=True, slots=True)
class SpaceSummary:
    room_id: str
    name: str | None
    topic: str | None
    avatar_url: str | None
    membership: str
    join_rule: str | None
    unread_count: int
    highlight_count: int
    encrypted: bool


@dataclass(frozen=True, slots=True)
class RoomSummary:
    room_id: str
    kind: str
    name: str | None
    topic: str | None
    membership: str | None
    encrypted: bool
    unread_count: int
    highlight_count: int


@dataclass(frozen=True, slots=True)
class DiscussionSummary:
    event_id: str
    room_id: str
    sender: str
    sender_name: str | None
    title: str
    kind: str
    tags: tuple[str, ...]
    ts: int
    reply_count: int
    last_activity_ts: int
    redacted: bool
    # None once the server has the discussion and every change to it. While
    # something is in the outbox it is "pending", or "failed" with send_error
    # giving the reason in plain words.
    send_state: str | None = None
    send_error: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """A discussion root or a reply, with what the reader needs to render it.

    send_state and send_error are as in DiscussionSummary.
    """

    event_id: str
    room_id: str
    sender: str
    sender_name: str | None
    sender_avatar: str | None
    ts: int
    body: str
    formatted_body: str | None
    edited: bool
    redacted: bool
    in_reply_to: str | None = None
    send_state: str | None = None
    send_error: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    display_name: str | None
    avatar_url: str | None
    title: str | None
    department: str | None
    location: str | None
    pronouns: str | None
    skills: tuple[str, ...]
    ask_me_about: tuple[str, ...]
    bio: str | None
    fetched_at: float | None


@dataclass(frozen=True, slots=True)
class Reactions:
    """Reactions with one key; pending when the user's own is in the outbox."""

    key: str
    count: int
    mine: bool
    pending: bool = False


# A person's name: their profile, else their latest member event, else None.
_NAME_SQL = """COALESCE(
    (SELECT display_name FROM people WHERE user_id = {col}),
    (SELECT display_name FROM members WHERE user_id = {col}
        AND display_name IS NOT NULL LIMIT 1))"""
_AVATAR_SQL = "(SELECT avatar_url FROM people WHERE user_id = {col})"

# Rooms not linked from any space are listed under this pseudo-space id.
UNGROUPED_SPACE_ID = ""
# Direct rooms (m.direct account data) are listed under this pseudo-space id,
# and kept out of the ungrouped rooms. No room id can equal it, because room
# ids start with "!".
DIRECT_SPACE_ID = "direct"
DIRECT_SPACE_NAME = "Direct messages"


def list_spaces(conn: sqlite3.Connection) -> list[SpaceSummary]:
    """Return the spaces the user is in or invited to, with their unread counts.

    A space's counts are the server's counts of its rooms added up. Joined
    direct rooms follow under DIRECT_SPACE_ID, then the other joined rooms
    that no space links to, under UNGROUPED_SPACE_ID.
    """
    rows = conn.execute(
        """SELECT s.room_id, s.name, s.topic, s.avatar_url, s.membership, s.join_rule,
            s.encrypted,
            s.unread_count + COALESCE((SELECT SUM(r.unread_count) FROM space_children c
                JOIN rooms r ON r.room_id = c.child_id AND r.membership = 'join'
                WHERE c.space_id = s.room_id), 0) AS unread,
            s.highlight_count + COALESCE((SELECT SUM(r.highlight_count)
                FROM space_children c
                JOIN rooms r ON r.room_id = c.child_id AND r.membership = 'join'
                WHERE c.space_id = s.room_id), 0) AS highlight
        FROM rooms s
        WHERE s.kind = 'space' AND s.membership IN ('join', 'invite')
        ORDER BY s.membership = 'invite', LOWER(COALESCE(s.name, s.room_id))"""
    ).fetchall()
    spaces = [
        SpaceSummary(
            row["room_id"],
            row["name"],
            row["topic"],
            row["avatar_url"],
            row["membership"],
            row["join_rule"],
            row["unread"],
            row["highlight"],
            bool(row["encrypted"]),
        )
        for row in rows
    ]
    direct_ids = json.dumps(list(direct_room_people(conn)))
    direct = conn.execute(
        """SELECT COUNT(*), COALESCE(SUM(unread_count), 0),
            COALESCE(SUM(highlight_count), 0)
        FROM rooms r WHERE r.kind != 'space' AND r.membership = 'join'
        AND r.room_id IN (SELECT value FROM json_each(?))""",
        (direct_ids,),
    ).fetchone()
    if direct[0]:
        spaces.append(_pseudo_space(DIRECT_SPACE_ID, DIRECT_SPACE_NAME, direct))
    ungrouped = conn.execute(
        """SELECT COUNT(*), COALESCE(SUM(unread_count), 0),
            COALESCE(SUM(highlight_count), 0)
        FROM rooms r WHERE r.kind != 'space' AND r.membership = 'join'
        AND r.room_id NOT IN (SELECT value FROM json_each(?))
        AND NOT EXISTS (SELECT 1 FROM space_children c
            JOIN rooms s ON s.room_id = c.space_id AND s.membership = 'join'
            WHERE c.child_id = r.room_id)""",
        (direct_ids,),
    ).fetchone()
    if ungrouped[0]:
        spaces.append(_pseudo_space(UNGROUPED_SPACE_ID, None, ungrouped))
    return spaces


def _pseudo_space(space_id: str, name: str | None, counts) -> SpaceSummary:
    """Return the summary of a list of rooms that is not a Matrix space."""
    _count, unread, highlight = counts
    return SpaceSummary(
        space_id, name, None, None, "join", None, unread, highlight, False
    )


def get_space(conn: sqlite3.Connection, room_id: str) -> SpaceSummary | None:
    for space in list_spaces(conn):
        if space.room_id == room_id:
            return space
    return None


def list_space_rooms(conn: sqlite3.Connection, space_id: str) -> list[RoomSummary]:
    """Return a space's rooms, including ones the user has not joined.

    The direct rooms under DIRECT_SPACE_ID are named after the other person.
    """
    if space_id == DIRECT_SPACE_ID:
        return list_direct_rooms(conn)
    if space_id == UNGROUPED_SPACE_ID:
        direct_ids = json.dumps(list(direct_room_people(conn)))
        rows = conn.execute(
            """SELECT r.* FROM rooms r WHERE r.kind != 'space' AND r.membership = 'join'
            AND r.room_id NOT IN (SELECT value FROM json_each(?))
            AND NOT EXISTS (SELECT 1 FROM space_children c
                JOIN rooms s ON s.room_id = c.space_id AND s.membership = 'join'
                WHERE c.child_id = r.room_id)
            ORDER BY LOWER(COALESCE(r.name, r.room_id))""",
            (direct_ids,),
        ).fetchall()
    else:
        rows = conn.execute(
            """SELECT c.child_id AS room_id, COALESCE(r.kind, 'board') AS kind,
                r.name, r.topic, r.membership, COALESCE(r.encrypted, 0) AS encrypted,
                COALESCE(r.unread_count, 0) AS unread_count,
                COALESCE(r.highlight_count, 0) AS highlight_count
            FROM space_children c LEFT JOIN rooms r ON r.room_id = c.child_id
            WHERE c.space_id = ? AND COALESCE(r.kind, 'board') != 'space'
            ORDER BY c.order_key IS NULL, c.order_key, LOWER(COALESCE(r.name, c.child_id))""",
            (space_id,),
        ).fetchall()
    return [_room_summary(row) for row in rows]


def list_direct_rooms(conn: sqlite3.Connection) -> list[RoomSummary]:
    """Return the joined direct rooms, each named after the other person, by name."""
    people = direct_room_people(conn)
    if not people:
        return []
    rows = conn.execute(
        """SELECT r.* FROM rooms r WHERE r.kind != 'space' AND r.membership = 'join'
        AND r.room_id IN (SELECT value FROM json_each(?))""",
        (json.dumps(list(people)),),
    ).fetchall()
    rooms = [
        replace(
            _room_summary(row), name=_direct_room_name(conn, people[row["room_id"]])
        )
        for row in rows
    ]
    return sorted(rooms, key=lambda room: (room.name.casefold(), room.room_id))


def _direct_room_name(conn: sqlite3.Connection, user_ids: tuple[str, ...]) -> str:
    """Return the names of a direct room's people, a user id where a name is missing."""
    names = []
    for user_id in user_ids:
        name = conn.execute(
            f"SELECT {_NAME_SQL.format(col='?')}", (user_id, user_id)
        ).fetchone()[0]
        names.append(
            name.strip() if isinstance(name, str) and name.strip() else user_id
        )
    return ", ".join(names)


def _room_summary(row: sqlite3.Row) -> RoomSummary:
    return RoomSummary(
        row["room_id"],
        row["kind"],
        row["name"],
        row["topic"],
        row["membership"],
        bool(row["encrypted"]),
        row["unread_count"],
        row["highlight_count"],
    )


def _placeholders(values) -> str:
    return ",".join("?" for _ in values)


def count_discussions(conn: sqlite3.Connection, room_ids: list[str]) -> int:
    """Return how many discussions the rooms have, unsent ones included."""
    if not room_ids:
        return 0
    row = conn.execute(
        f"SELECT COUNT(*) FROM discussions WHERE room_id IN ({_placeholders(room_ids)})",
        room_ids,
    ).fetchone()
    return row[0] + len(pending.pending_discussions(conn, room_ids))


def list_discussions(
    conn: sqlite3.Connection, room_ids: list[str], *, limit: int, offset: int = 0
) -> list[DiscussionSummary]:
    """Return discussions in the rooms, most recent activity first.

    Discussions still in the outbox come first, marked by send_state.
    """
    if not room_ids:
        return []
    unsent = pending.pending_discussions(conn, room_ids)
    result = [
        _pending_discussion_summary(conn, post)
        for post in unsent[offset : offset + limit]
    ]
    remaining = limit - len(result)
    if remaining <= 0:
        return _with_pending_changes(conn, result)
    rows = conn.execute(
        f"""SELECT d.event_id, d.room_id, d.sender, d.title, d.kind, d.tags, d.ts,
            d.reply_count, d.last_activity_ts, d.redacted,
            {_NAME_SQL.format(col="d.sender")} AS sender_name
        FROM discussions d WHERE d.room_id IN ({_placeholders(room_ids)})
        ORDER BY d.last_position DESC LIMIT ? OFFSET ?""",
        [*room_ids, remaining, max(0, offset - len(unsent))],
    ).fetchall()
    result.extend(_discussion_summary(row) for row in rows)
    return _with_pending_changes(conn, result)


def _pending_discussion_summary(
    conn: sqlite3.Connection, post: pending.PendingPost
) -> DiscussionSummary:
    name = conn.execute(
        f"SELECT {_NAME_SQL.format(col='?')}", (post.sender, post.sender)
    ).fetchone()[0]
    ts = int(post.created_at * 1000)
    return DiscussionSummary(
        post.post_id,
        post.room_id,
        post.sender,
        name,
        post.title or "",
        post.kind or "discussion",
        post.tags,
        ts,
        0,
        ts,
        False,
        post.send_state,
        post.error,
    )


def _with_pending_changes(
    conn: sqlite3.Connection, summaries: list[DiscussionSummary]
) -> list[DiscussionSummary]:
    """Apply unsent edits, deletions and replies to discussion summaries."""
    ids = [summary.event_id for summary in summaries]
    changes = pending.pending_changes(conn, ids)
    replies = pending.pending_reply_counts(conn, ids)
    result = []
    for summary in summaries:
        count = replies.get(summary.event_id, 0)
        if count:
            summary = replace(summary, reply_count=summary.reply_count + count)
        change = changes.get(summary.event_id)
        if change is not None:
            summary = replace(
                summary,
                title=change.title or summary.title,
                kind=change.kind or summary.kind,
                tags=summary.tags if change.tags is None else change.tags,
                redacted=summary.redacted or change.deleted,
                send_state=_worse_state(summary.send_state, change.send_state),
                send_error=summary.send_error or change.error,
            )
        result.append(summary)
    return result


def _worse_state(first: str | None, second: str | None) -> str | None:
    if pending.SEND_FAILED in (first, second):
        return pending.SEND_FAILED
    return first or second


def _discussion_summary(row: sqlite3.Row) -> DiscussionSummary:
    return DiscussionSummary(
        row["event_id"],
        row["room_id"],
        row["sender"],
        row["sender_name"],
        row["title"],
        row["kind"],
        tuple(json.loads(row["tags"])),
        row["ts"],
        row["reply_count"],
        row["last_activity_ts"],
        bool(row["redacted"]),
    )


def get_discussion_summary(
    conn: sqlite3.Connection, event_id: str
) -> DiscussionSummary | None:
    """Return a discussion by event id or, while it is unsent, by local id."""
    event_id = pending.resolve_id(conn, event_id)
    row = conn.execute(
        f"""SELECT d.event_id, d.room_id, d.sender, d.title, d.kind, d.tags, d.ts,
            d.reply_count, d.last_activity_ts, d.redacted,
            {_NAME_SQL.format(col="d.sender")} AS sender_name
        FROM discussions d WHERE d.event_id = ?""",
        (event_id,),
    ).fetchone()
    if row is not None:
        return _with_pending_changes(conn, [_discussion_summary(row)])[0]
    unsent = pending.pending_discussion(conn, event_id)
    if unsent is None:
        return None
    return _with_pending_changes(conn, [_pending_discussion_summary(conn, unsent)])[0]


def get_discussion_post(conn: sqlite3.Connection, event_id: str) -> Post | None:
    """Return a discussion's post by event id or, while it is unsent, by local id."""
    event_id = pending.resolve_id(conn, event_id)
    row = conn.execute(
        f"""SELECT event_id, room_id, sender, ts, body, formatted_body, edited_ts,
            redacted, {_NAME_SQL.format(col="sender")} AS sender_name,
            {_AVATAR_SQL.format(col="sender")} AS sender_avatar
        FROM discussions WHERE event_id = ?""",
        (event_id,),
    ).fetchone()
    if row is not None:
        return _with_pending_post_changes(conn, [_post(row)])[0]
    unsent = pending.pending_discussion(conn, event_id)
    if unsent is None:
        return None
    return _with_pending_post_changes(conn, [_pending_post(conn, unsent)])[0]


def _pending_post(conn: sqlite3.Connection, post: pending.PendingPost) -> Post:
    row = conn.execute(
        f"SELECT {_NAME_SQL.format(col=':user')}, {_AVATAR_SQL.format(col=':user')}",
        {"user": post.sender},
    ).fetchone()
    return Post(
        post.post_id,
        post.room_id,
        post.sender,
        row[0],
        row[1],
        int(post.created_at * 1000),
        post.body,
        post.formatted_body,
        False,
        False,
        post.in_reply_to,
        post.send_state,
        post.error,
    )


def _with_pending_post_changes(conn: sqlite3.Connection, posts: list[Post]):
    """Apply unsent edits and deletions to posts."""
    changes = pending.pending_changes(conn, [post.event_id for post in posts])
    result = []
    for post in posts:
        change = changes.get(post.event_id)
        if change is not None:
            post = replace(
                post,
                body="" if change.deleted else (change.body or post.body),
                formatted_body=None
                if change.deleted
                else (change.formatted_body if change.body else post.formatted_body),
                edited=post.edited or change.body is not None,
                redacted=post.redacted or change.deleted,
                send_state=_worse_state(post.send_state, change.send_state),
                send_error=post.send_error or change.error,
            )
        result.append(post)
    return result


def _post(row: sqlite3.Row, in_reply_to: str | None = None) -> Post:
    return Post(
        row["event_id"],
        row["room_id"],
        row["sender"],
        row["sender_name"],
        row["sender_avatar"],
        row["ts"],
        row["body"],
        row["formatted_body"],
        row["edited_ts"] is not None,
        bool(row["redacted"]),
        in_reply_to,
    )


def list_replies(
    conn: sqlite3.Connection, root_id: str, *, limit: int, offset: int = 0
) -> list[Post]:
    """Return a discussion's replies in the server's timeline order.

    Replies still in the outbox follow, in the order they were written.
    root_id may be a discussion's local id while it is unsent.
    """
    root_id = pending.resolve_id(conn, root_id)
    rows = conn.execute(
        f"""SELECT event_id, room_id, sender, ts, body, formatted_body, edited_ts,
            redacted, in_reply_to, {_NAME_SQL.format(col="sender")} AS sender_name,
            {_AVATAR_SQL.format(col="sender")} AS sender_avatar
        FROM replies WHERE root_id = ? ORDER BY position LIMIT ? OFFSET ?""",
        (root_id, limit, offset),
    ).fetchall()
    posts = [_post(row, row["in_reply_to"]) for row in rows]
    if len(posts) < limit:
        stored = conn.execute(
            "SELECT COUNT(*) FROM replies WHERE root_id = ?", (root_id,)
        ).fetchone()[0]
        start = max(0, offset - stored)
        unsent = pending.pending_replies(conn, root_id)
        posts.extend(
            _pending_post(conn, reply)
            for reply in unsent[start : start + limit - len(posts)]
        )
    return _with_pending_post_changes(conn, posts)


def reactions_for(
    conn: sqlite3.Connection, event_ids: list[str], own_user_id: str | None
) -> dict[str, list[Reactions]]:
    """Return reaction counts per target; a person counts once per key.

    The user's likes and unlikes still in the outbox are counted already,
    with pending set.
    """
    if not event_ids:
        return {}
    rows = conn.execute(
        f"""SELECT target_id, key, COUNT(DISTINCT sender) AS count,
            MAX(sender = ?) AS mine
        FROM reactions WHERE target_id IN ({_placeholders(event_ids)})
        GROUP BY target_id, key ORDER BY count DESC, key""",
        [own_user_id or "", *event_ids],
    ).fetchall()
    result: dict[str, list[Reactions]] = {}
    for row in rows:
        result.setdefault(row["target_id"], []).append(
            Reactions(row["key"], row["count"], bool(row["mine"]))
        )
    for target, (liked, _state) in pending.pending_likes(conn, event_ids).items():
        result[target] = _with_pending_like(result.get(target, []), liked)
        if not result[target]:
            del result[target]
    return result


def _with_pending_like(reactions: list[Reactions], liked: bool) -> list[Reactions]:
    others = [reaction for reaction in reactions if reaction.key != LIKE_KEY]
    like = next((r for r in reactions if r.key == LIKE_KEY), None)
    count = like.count if like else 0
    if like and like.mine:
        count -= 1
    count += int(liked)
    if count == 0:
        return others
    return sorted(
        [Reactions(LIKE_KEY, count, liked, True), *others],
        key=lambda reaction: (-reaction.count, reaction.key),
    )


def get_room(conn: sqlite3.Connection, room_id: str) -> RoomSummary | None:
    """Return a cached room. A direct room is named after the other person."""
    row = conn.execute("SELECT * FROM rooms WHERE room_id = ?", (room_id,)).fetchone()
    if row is None:
        return None
    room = _room_summary(row)
    people = direct_room_people(conn).get(room_id)
    if people and room.kind != "space":
        room = replace(room, name=_direct_room_name(conn, people))
    return room


def _person(row: sqlite3.Row) -> Person:
    return Person(
        row["user_id"],
        row["display_name"],
        row["avatar_url"],
        row["title"],
        row["department"],
        row["location"],
        row["pronouns"],
        tuple(json.loads(row["skills"])),
        tuple(json.loads(row["ask_me_about"])),
        row["bio"],
        row["fetched_at"],
    )


def avatar_urls(conn: sqlite3.Connection, user_ids: list[str]) -> dict[str, str]:
    """Return the cached avatar of each of user_ids that has one."""
    if not user_ids:
        return {}
    rows = conn.execute(
        f"""SELECT user_id, avatar_url FROM people
        WHERE user_id IN ({_placeholders(user_ids)}) AND avatar_url IS NOT NULL""",
        list(user_ids),
    ).fetchall()
    return {row["user_id"]: row["avatar_url"] for row in rows}


def get_person(conn: sqlite3.Connection, user_id: str) -> Person | None:
    row = conn.execute("SELECT * FROM people WHERE user_id = ?", (user_id,)).fetchone()
    return _person(row) if row else None


def list_people(
    conn: sqlite3.Connection, *, limit: int = 1000, offset: int = 0
) -> list[Person]:
    """Return everyone met in a joined room, by name."""
    rows = conn.execute(
        """SELECT p.* FROM people p WHERE EXISTS (SELECT 1 FROM members m
            JOIN rooms r ON r.room_id = m.room_id AND r.membership = 'join'
            WHERE m.user_id = p.user_id AND m.membership = 'join')
        ORDER BY LOWER(COALESCE(p.display_name, p.user_id)) LIMIT ? OFFSET ?""",
        (limit, offset),
    ).fetchall()
    return [_person(row) for row in rows]


def people_due_for_fetch(
    conn: sqlite3.Connection, user_ids: list[str], max_age_seconds: float
) -> list[str]:
    """Return who of user_ids has a stale profile or none fetched within max_age."""
    if not user_ids:
        return []
    cutoff = time.time() - max_age_seconds
    fresh = {
        row[0]
        for row in conn.execute(
            f"""SELECT user_id FROM people WHERE user_id IN ({_placeholders(user_ids)})
            AND stale = 0 AND fetched_at IS NOT NULL AND fetched_at >= ?""",
            [*user_ids, cutoff],
        )
    }
    return [user_id for user_id in dict.fromkeys(user_ids) if user_id not in fresh]


def list_files(conn: sqlite3.Connection, room_id: str, *, limit: int = 200) -> list:
    return conn.execute(
        """SELECT f.*, """
        + _NAME_SQL.format(col="f.sender")
        + """ AS sender_name FROM files f
        WHERE f.room_id = ? AND f.redacted = 0 ORDER BY f.position DESC LIMIT ?""",
        (room_id, limit),
    ).fetchall()


@dataclass(frozen=True, slots=True)
class CacheStatus:
    sync_token: str | None
    last_sync_finished: float | None
    spaces: int
    discussions: int
    replies: int
    people: int


def cache_status(conn: sqlite3.Connection) -> CacheStatus:
    last = get_meta(conn, LAST_SYNC_KEY)

    def count(table: str) -> int:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    spaces = conn.execute(
        "SELECT COUNT(*) FROM rooms WHERE kind = 'space' AND membership = 'join'"
    ).fetchone()[0]
    return CacheStatus(
        get_meta(conn, SYNC_TOKEN_KEY),
        float(last) if last else None,
        spaces,
        count("discussions"),
        count("replies"),
        count("people"),
    )


def find_space(conn: sqlite3.Connection, query: str) -> SpaceSummary | None:
    """Return the space whose id, alias or name (case-insensitively) is query."""
    folded = query.casefold()
    for space in list_spaces(conn):
        if space.room_id == query or (space.name or "").casefold() == folded:
            return space
    return None


def find_discussions(conn: sqlite3.Connection, query: str, limit: int = 5) -> list[str]:
    """Return event ids of discussions whose id is query or starts with it.

    An exact match comes alone; otherwise up to limit ids that start with
    query, compared case-sensitively as Matrix ids are.
    """
    exact = conn.execute(
        "SELECT event_id FROM discussions WHERE event_id = ?", (query,)
    ).fetchone()
    if exact:
        return [exact[0]]
    rows = conn.execute(
        "SELECT event_id FROM discussions WHERE substr(event_id, 1, ?) = ? "
        "ORDER BY event_id LIMIT ?",
        (len(query), query, limit),
    ).fetchall()
    return [row[0] for row in rows]


def room_ids_of_space(
    conn: sqlite3.Connection, space_id: str, kind="board"
) -> list[str]:
    """Return the joined rooms of a space of the given kind."""
    return [
        room.room_id
        for room in list_space_rooms(conn, space_id)
        if room.kind == kind and room.membership == "join"
    ]
