"""Writes of sync records into the cache; run only on the store's writer thread.

Every function here is called inside one transaction opened by Store.write, so
a sync batch and its sync token are committed together or not at all.
"""

import json
import logging
import sqlite3
import time

from app.records import (
    AcceptedAnswer,
    Changes,
    DirectInvite,
    DirectRooms,
    Discussion,
    Edit,
    Membership,
    PowerLevels,
    Profile,
    RawEvent,
    Reaction,
    Redaction,
    Reply,
    RoomBatch,
    RoomCreators,
    RoomState,
    SharedFile,
    SpaceChild,
)
from app.space_records import JoinRuleAllow, Knock, PinnedEvents, PowerLevelRules
from app.store import space_store
from app.store.activity import record_member_event
from app.store.direct_store import (
    prune_direct_invites,
    save_direct_invite,
    save_direct_rooms,
)
from app.store.outbox_store import match_echo, match_state_echo
from app.store.read_state_store import save_thread_counts
from app.text import derive_title

log = logging.getLogger(__name__)

SYNC_TOKEN_KEY = "sync_token"
LAST_SYNC_KEY = "last_sync_finished"


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _next_position(conn: sqlite3.Connection) -> int:
    value = int(get_meta(conn, "next_position") or 1)
    set_meta(conn, "next_position", str(value + 1))
    return value


def apply_sync(
    conn: sqlite3.Connection,
    batches: list[RoomBatch],
    sync_token: str | None,
    left_rooms: list[str] = (),
    direct_rooms: DirectRooms | None = None,
) -> Changes:
    """Write one sync response's rooms and, with them, its sync token.

    direct_rooms is the m.direct account data when the response carries it.
    """
    changes = Changes()
    for batch in batches:
        _apply_room_batch(conn, batch, changes)
    for room_id in left_rooms:
        conn.execute(
            "UPDATE rooms SET membership = 'leave' WHERE room_id = ?", (room_id,)
        )
        changes.rooms.add(room_id)
        changes.spaces = True
    if direct_rooms is not None:
        save_direct_rooms(conn, direct_rooms, changes)
    if batches or left_rooms:
        prune_direct_invites(conn)
    if sync_token is not None:
        set_meta(conn, SYNC_TOKEN_KEY, sync_token)
        set_meta(conn, LAST_SYNC_KEY, str(time.time()))
    return changes


def _apply_room_batch(conn: sqlite3.Connection, batch: RoomBatch, changes: Changes):
    room_id = batch.room_id
    conn.execute(
        "INSERT INTO rooms (room_id, membership) VALUES (?, ?) "
        "ON CONFLICT (room_id) DO UPDATE SET membership = excluded.membership",
        (room_id, batch.membership),
    )
    counts = {
        "unread_count": batch.unread_count,
        "highlight_count": batch.highlight_count,
        "joined_member_count": batch.joined_member_count,
    }
    for column, value in counts.items():
        if value is not None:
            conn.execute(
                f"UPDATE rooms SET {column} = ? WHERE room_id = ?", (value, room_id)
            )
    if batch.thread_counts is not None:
        save_thread_counts(conn, room_id, batch.thread_counts)
    changes.rooms.add(room_id)
    changes.spaces = True

    position = None
    for item in batch.items:
        if isinstance(item, RawEvent):
            if _event_known(conn, item.event_id):
                position = None
                continue
            position = _next_position(conn)
            _insert_raw(conn, item, position)
            if match_echo(conn, item):
                changes.outbox = True
            continue
        _apply_record(conn, item, position, changes)


def _event_known(conn: sqlite3.Connection, event_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,))
    return row.fetchone() is not None


def _insert_raw(conn: sqlite3.Connection, event: RawEvent, position: int) -> None:
    conn.execute(
        "INSERT INTO events (event_id, room_id, position, sender, type, "
        "origin_server_ts, relates_to, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.event_id,
            event.room_id,
            position,
            event.sender,
            event.type,
            event.ts,
            event.relates_to,
            event.content_json,
        ),
    )
    conn.execute(
        "UPDATE rooms SET last_activity_ts = MAX(COALESCE(last_activity_ts, 0), ?), "
        "last_position = ? WHERE room_id = ?",
        (event.ts, position, event.room_id),
    )


def _apply_record(conn, record, position: int | None, changes: Changes) -> None:
    match record:
        case RoomState():
            _apply_room_state(conn, record)
        case SpaceChild():
            _apply_space_child(conn, record)
            changes.spaces = True
        case Membership():
            knocked = _cached_membership(conn, record) == "knock"
            _apply_membership(conn, record)
            changes.people.add(record.user_id)
            if knocked:
                space_store.settle_join_request(
                    conn, record.room_id, record.user_id, record.membership, changes
                )
        case Knock():
            space_store.apply_knock(conn, record, changes)
        case PinnedEvents():
            space_store.apply_pinned_events(conn, record, changes)
        case PowerLevelRules():
            space_store.apply_power_level_rules(conn, record, changes)
        case JoinRuleAllow():
            space_store.apply_join_rule_allow(conn, record, changes)
        case PowerLevels():
            _apply_power_levels(conn, record)
            changes.rooms.add(record.room_id)
        case RoomCreators():
            conn.executemany(
                "INSERT OR IGNORE INTO room_creators (room_id, user_id) VALUES (?, ?)",
                [(record.room_id, user_id) for user_id in record.user_ids],
            )
            changes.rooms.add(record.room_id)
        case DirectInvite():
            save_direct_invite(conn, record)
        case AcceptedAnswer():
            if _insert_accepted_answer(conn, record):
                changes.discussions.add(record.question_id)
                if match_state_echo(conn, record):
                    changes.outbox = True
        case _ if position is None:
            # A duplicate of an event already stored: its effects are there too.
            return
        case Discussion():
            _insert_discussion(conn, record, position)
            changes.discussions.add(record.event_id)
            changes.senders.add(record.sender)
        case Reply():
            root = _insert_reply(conn, record, position)
            if root:
                changes.discussions.add(root)
            changes.senders.add(record.sender)
        case Reaction():
            _insert_reaction(conn, record)
            changes.discussions.add(
                _root_of(conn, record.target_id) or record.target_id
            )
        case SharedFile():
            _insert_file(conn, record, position)
            changes.senders.add(record.sender)
        case Edit():
            root = _apply_edit(conn, record)
            if root:
                changes.discussions.add(root)
        case Redaction():
            root = _apply_redaction(conn, record)
            if root:
                changes.discussions.add(root)


def _apply_room_state(conn: sqlite3.Connection, state: RoomState) -> None:
    values = {
        "kind": state.kind,
        "name": state.name,
        "topic": state.topic,
        "avatar_url": state.avatar_url,
        "canonical_alias": state.canonical_alias,
        "join_rule": state.join_rule,
        "encrypted": None if state.encrypted is None else int(state.encrypted),
    }
    conn.execute(
        "INSERT INTO rooms (room_id) VALUES (?) ON CONFLICT (room_id) DO NOTHING",
        (state.room_id,),
    )
    for column, value in values.items():
        if value is None:
            continue
        if column == "kind":
            # A space stays a space whatever kind its room-kind state event sets.
            conn.execute(
                "UPDATE rooms SET kind = ? WHERE room_id = ? AND kind != 'space'",
                (value, state.room_id),
            )
            continue
        conn.execute(
            f"UPDATE rooms SET {column} = ? WHERE room_id = ?",
            (value or None, state.room_id),
        )


def _apply_space_child(conn: sqlite3.Connection, child: SpaceChild) -> None:
    if child.removed:
        conn.execute(
            "DELETE FROM space_children WHERE space_id = ? AND child_id = ?",
            (child.space_id, child.child_id),
        )
        return
    conn.execute(
        "INSERT INTO space_children (space_id, child_id, order_key) VALUES (?, ?, ?) "
        "ON CONFLICT (space_id, child_id) DO UPDATE SET order_key = excluded.order_key",
        (child.space_id, child.child_id, child.order_key),
    )


def _cached_membership(conn: sqlite3.Connection, member: Membership) -> str | None:
    row = conn.execute(
        "SELECT membership FROM members WHERE room_id = ? AND user_id = ?",
        (member.room_id, member.user_id),
    ).fetchone()
    return row[0] if row else None


def _apply_membership(conn: sqlite3.Connection, member: Membership) -> None:
    previous = conn.execute(
        "SELECT display_name, avatar_url FROM members WHERE room_id = ? AND user_id = ?",
        (member.room_id, member.user_id),
    ).fetchone()
    conn.execute(
        "INSERT INTO members (room_id, user_id, membership, display_name, avatar_url) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE SET "
        "membership = excluded.membership, display_name = excluded.display_name, "
        "avatar_url = excluded.avatar_url",
        (
            member.room_id,
            member.user_id,
            member.membership,
            member.display_name,
            member.avatar_url,
        ),
    )
    conn.execute(
        "INSERT INTO people (user_id, display_name, avatar_url) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO NOTHING",
        (member.user_id, member.display_name, member.avatar_url),
    )
    record_member_event(conn, member)
    changed = previous is None or tuple(previous) != (
        member.display_name,
        member.avatar_url,
    )
    if changed:
        # The profile may have changed: fetch it again before the hourly limit.
        conn.execute("UPDATE people SET stale = 1 WHERE user_id = ?", (member.user_id,))


def _apply_power_levels(conn: sqlite3.Connection, levels: PowerLevels) -> None:
    conn.execute(
        "INSERT INTO power_levels (room_id, users, users_default, redact) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET "
        "users = excluded.users, users_default = excluded.users_default, "
        "redact = excluded.redact",
        (
            levels.room_id,
            json.dumps(levels.users),
            levels.users_default,
            levels.redact,
        ),
    )


def _insert_accepted_answer(conn: sqlite3.Connection, answer: AcceptedAnswer) -> bool:
    """Store an accepted-answer event once; False if it was already stored."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO accepted_answers (event_id, room_id, question_id, "
        "reply_id, sender, ts) VALUES (?, ?, ?, ?, ?, ?)",
        (
            answer.event_id,
            answer.room_id,
            answer.question_id,
            answer.reply_id,
            answer.sender,
            answer.ts,
        ),
    )
    return cursor.rowcount > 0


def _insert_discussion(conn: sqlite3.Connection, item: Discussion, position: int):
    conn.execute(
        "INSERT INTO discussions (event_id, room_id, position, sender, ts, title, kind, "
        "tags, body, formatted_body, last_activity_ts, last_position) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.event_id,
            item.room_id,
            position,
            item.sender,
            item.ts,
            item.title,
            item.kind,
            json.dumps(list(item.tags), ensure_ascii=False),
            item.body,
            item.formatted_body,
            item.ts,
            position,
        ),
    )
    # Replies can arrive before their root (back-fill pages, other clients).
    _refresh_thread_summary(conn, item.event_id)


def _refresh_thread_summary(conn: sqlite3.Connection, root_id: str) -> None:
    conn.execute(
        """UPDATE discussions SET
            reply_count = (SELECT COUNT(*) FROM replies
                           WHERE root_id = :root AND redacted = 0),
            last_position = MAX(position, COALESCE(
                (SELECT MAX(position) FROM replies WHERE root_id = :root), 0)),
            last_activity_ts = MAX(ts, COALESCE(
                (SELECT MAX(ts) FROM replies WHERE root_id = :root), 0))
        WHERE event_id = :root""",
        {"root": root_id},
    )


def _root_of(conn: sqlite3.Connection, event_id: str) -> str | None:
    """Return the discussion that event_id is or belongs to, if known."""
    row = conn.execute(
        "SELECT event_id FROM discussions WHERE event_id = ?", (event_id,)
    ).fetchone()
    if row:
        return row[0]
    row = conn.execute(
        "SELECT root_id FROM replies WHERE event_id = ?", (event_id,)
    ).fetchone()
    return row[0] if row else None


def _insert_reply(conn: sqlite3.Connection, item: Reply, position: int) -> str | None:
    root = item.root_id
    if root is None:
        root = _root_of(conn, item.in_reply_to)
        if root is None:
            # A rich reply to something unknown: show it as its own discussion.
            _insert_discussion(
                conn,
                Discussion(
                    item.event_id,
                    item.room_id,
                    item.sender,
                    item.ts,
                    derive_title(item.body) or "(untitled)",
                    "discussion",
                    (),
                    item.body,
                    item.formatted_body,
                ),
                position,
            )
            return item.event_id
    conn.execute(
        "INSERT INTO replies (event_id, room_id, root_id, position, sender, ts, body, "
        "formatted_body, in_reply_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.event_id,
            item.room_id,
            root,
            position,
            item.sender,
            item.ts,
            item.body,
            item.formatted_body,
            item.in_reply_to,
        ),
    )
    _refresh_thread_summary(conn, root)
    return root


def _insert_reaction(conn: sqlite3.Connection, item: Reaction) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO reactions (event_id, room_id, target_id, sender, key) "
        "VALUES (?, ?, ?, ?, ?)",
        (item.event_id, item.room_id, item.target_id, item.sender, item.key),
    )


def _insert_file(conn: sqlite3.Connection, item: SharedFile, position: int) -> None:
    conn.execute(
        "INSERT INTO files (event_id, room_id, position, sender, ts, name, msgtype, "
        "mimetype, size, url, supersedes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.event_id,
            item.room_id,
            position,
            item.sender,
            item.ts,
            item.name,
            item.msgtype,
            item.mimetype,
            item.size,
            item.url,
            item.supersedes,
        ),
    )


def _apply_edit(conn: sqlite3.Connection, edit: Edit) -> str | None:
    """Apply an edit from the original's sender; return the affected discussion."""
    # NOTE: an edit that arrives before its original stays only in the events
    # table; it is not re-applied when the original arrives later.
    for table in ("discussions", "replies"):
        row = conn.execute(
            f"SELECT sender, COALESCE(edited_ts, 0) FROM {table} WHERE event_id = ?",
            (edit.target_id,),
        ).fetchone()
        if row is None:
            continue
        if row[0] != edit.sender:
            log.warning(
                "Ignored edit %s of %s: sent by someone else",
                edit.event_id,
                edit.target_id,
            )
            return None
        conn.execute(
            f"UPDATE {table} SET body = ?, formatted_body = ?, edited_ts = ? "
            "WHERE event_id = ?",
            (edit.body, edit.formatted_body, edit.ts, edit.target_id),
        )
        if table == "discussions" and edit.title:
            conn.execute(
                "UPDATE discussions SET title = ?, kind = ?, tags = ? WHERE event_id = ?",
                (
                    edit.title,
                    edit.kind,
                    json.dumps(list(edit.tags or ()), ensure_ascii=False),
                    edit.target_id,
                ),
            )
        return _root_of(conn, edit.target_id)
    return None


def _apply_redaction(conn: sqlite3.Connection, redaction: Redaction) -> str | None:
    target = redaction.target_id
    root = _root_of(conn, target)
    reaction = conn.execute(
        "SELECT target_id FROM reactions WHERE event_id = ?", (target,)
    ).fetchone()
    conn.execute("DELETE FROM reactions WHERE event_id = ?", (target,))
    conn.execute(
        "UPDATE discussions SET body = '', formatted_body = NULL, redacted = 1 "
        "WHERE event_id = ?",
        (target,),
    )
    conn.execute(
        "UPDATE replies SET body = '', formatted_body = NULL, redacted = 1 "
        "WHERE event_id = ?",
        (target,),
    )
    conn.execute("UPDATE files SET redacted = 1 WHERE event_id = ?", (target,))
    conn.execute("UPDATE events SET content = '{}' WHERE event_id = ?", (target,))
    if root:
        _refresh_thread_summary(conn, root)
    if reaction:
        return _root_of(conn, reaction[0]) or reaction[0]
    return root


def save_profiles(
    conn: sqlite3.Connection, profiles: list[Profile], fetched_at: float
) -> Changes:
    """Store fetched profiles and stamp them, so they are not fetched again soon."""
    changes = Changes()
    for profile in profiles:
        conn.execute(
            """INSERT INTO people (user_id, display_name, avatar_url, title, department,
                location, pronouns, skills, ask_me_about, bio, fetched_at, stale)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
            ON CONFLICT (user_id) DO UPDATE SET
                display_name = excluded.display_name, avatar_url = excluded.avatar_url,
                title = excluded.title, department = excluded.department,
                location = excluded.location, pronouns = excluded.pronouns,
                skills = excluded.skills, ask_me_about = excluded.ask_me_about,
                bio = excluded.bio, fetched_at = excluded.fetched_at, stale = 0""",
            (
                profile.user_id,
                profile.display_name,
                profile.avatar_url,
                profile.title,
                profile.department,
                profile.location,
                profile.pronouns,
                json.dumps(list(profile.skills), ensure_ascii=False),
                json.dumps(list(profile.ask_me_about), ensure_ascii=False),
                profile.bio,
                fetched_at,
            ),
        )
        changes.people.add(profile.user_id)
    return changes


def mark_profile_fetch_failed(
    conn: sqlite3.Connection, user_ids: list[str], fetched_at: float
) -> None:
    """Stamp people whose profile could not be fetched, so they wait an hour too."""
    for user_id in user_ids:
        conn.execute(
            "INSERT INTO people (user_id, fetched_at, stale) VALUES (?, ?, 0) "
            "ON CONFLICT (user_id) DO UPDATE SET fetched_at = excluded.fetched_at, "
            "stale = 0",
            (user_id, fetched_at),
        )


def save_directory_people(
    conn: sqlite3.Connection, people: list[tuple[str, str | None, str | None]]
) -> Changes:
    """Cache people found in the server's user directory: (user id, name, avatar).

    A new person is stored as stale, so the profile fetcher fetches the rest
    of their profile. A cached name or avatar is never replaced, because a
    fetched profile or a member event is at least as good as the directory.
    """
    changes = Changes()
    for user_id, display_name, avatar_url in people:
        conn.execute(
            """INSERT INTO people (user_id, display_name, avatar_url, stale)
            VALUES (?, ?, ?, 1)
            ON CONFLICT (user_id) DO UPDATE SET
                display_name = COALESCE(people.display_name, excluded.display_name),
                avatar_url = COALESCE(people.avatar_url, excluded.avatar_url)""",
            (user_id, display_name, avatar_url),
        )
        changes.people.add(user_id)
    return changes
