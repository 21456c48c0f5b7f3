"""Writes of the outbox; run only on the store's writer thread.

Every function takes the writer's connection inside the transaction that
Store.write opened, so an item and the draft it came from change together.
An item moves from queued to sending to sent. It becomes failed instead when
the server rejects it for good, and retry() puts it back in the queue.
"""

import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field

from app.records import AcceptedAnswer, Changes, RawEvent
from app.store.drafts_store import delete_draft

log = logging.getLogger(__name__)

# Local id of an item that has no event id yet: PENDING_PREFIX + client id.
# It can never be a Matrix event id, which starts with "$".
PENDING_PREFIX = "pending:"

QUEUED = "queued"
SENDING = "sending"
FAILED = "failed"
SENT = "sent"

# Actions, with the event type each sends.
DISCUSSION = "discussion"
REPLY = "reply"
LIKE = "like"
UNLIKE = "unlike"
EDIT = "edit"
DELETE = "delete"
ACCEPT = "accept_answer"
POST_ACTIONS = (DISCUSSION, REPLY)
# A shared file: the file is uploaded first (app.uploads), then an m.file or
# m.image event is sent with the uploaded file's mxc:// URI as its "url".
FILE = "file"
# Changes of the user's own profile. Their room_id is the user's id, so they
# are sent in order in a queue of their own, and event_type and target_id
# are the profile key (app.store.profile_store describes their content).
PROFILE = "profile"
AVATAR = "avatar"
PROFILE_ACTIONS = (PROFILE, AVATAR)


def local_id(client_id: str) -> str:
    return PENDING_PREFIX + client_id


def is_local_id(value: str | None) -> bool:
    return bool(value) and value.startswith(PENDING_PREFIX)


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item to queue, with its event content and what the reader shows.

    content may contain placeholders: local ids of other items, as whole
    string values anywhere in it. Each is replaced by that item's event id
    before sending. title, body, formatted_body, kind and tags are shown
    while the item is pending.
    """

    client_id: str
    txn_id: str
    room_id: str
    sender: str
    action: str
    event_type: str
    content: dict
    target_id: str | None = None
    related_id: str | None = None
    title: str | None = None
    body: str | None = None
    formatted_body: str | None = None
    kind: str | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """An item taken for sending, with what decides whether to look it up first.

    previous_session and first_attempt_at describe the attempts before this
    one; first_attempt_at is None on the first attempt.
    """

    id: int
    client_id: str
    txn_id: str
    room_id: str
    action: str
    event_type: str
    target_id: str | None
    content: dict
    first_attempt_at: float | None
    previous_session: str | None


@dataclass(slots=True)
class Removed:
    """Items taken out of the outbox, with the rows their removal changes."""

    item_ids: list[int] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)


class OutboxConflict(Exception):
    """The item is not in a state that allows the change; message explains why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OutboxItemMissing(OutboxConflict):
    """No outbox item has the given id."""

    def __init__(self, item_id: int):
        super().__init__(
            f"There is no item {item_id} in the outbox. Run 'commonplace outbox' "
            "to list the items."
        )


# -- Queueing ---------------------------------------------------------------


def insert_item(
    conn: sqlite3.Connection,
    item: NewItem,
    draft: tuple[str, str] | None = None,
    now: float | None = None,
) -> int:
    """Queue item and delete the draft (composer, target id) it was written in."""
    cursor = conn.execute(
        """INSERT INTO outbox (client_id, txn_id, room_id, sender, action, event_type,
            target_id, related_id, content, title, body, formatted_body, kind, tags,
            created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            item.client_id,
            item.txn_id,
            item.room_id,
            item.sender,
            item.action,
            item.event_type,
            item.target_id,
            item.related_id,
            json.dumps(item.content, ensure_ascii=False),
            item.title,
            item.body,
            item.formatted_body,
            item.kind,
            None if item.tags is None else json.dumps(list(item.tags)),
            time.time() if now is None else now,
        ),
    )
    if draft is not None:
        delete_draft(conn, *draft)
    return cursor.lastrowid


def _never_attempted(row: sqlite3.Row | None) -> bool:
    return row is not None and row["state"] == QUEUED and not row["first_attempt_at"]


def _item_by_local_or_event_id(conn: sqlite3.Connection, post_id: str):
    if is_local_id(post_id):
        return conn.execute(
            "SELECT * FROM outbox WHERE client_id = ?",
            (post_id[len(PENDING_PREFIX) :],),
        ).fetchone()
    return conn.execute(
        "SELECT * FROM outbox WHERE event_id = ? AND echoed = 0", (post_id,)
    ).fetchone()


def replace_unsent_post(
    conn: sqlite3.Connection,
    post_id: str,
    content: dict,
    title: str | None,
    body: str,
    formatted_body: str | None,
    kind: str | None,
    tags: tuple[str, ...] | None,
    draft: tuple[str, str] | None = None,
) -> bool:
    """Rewrite a queued post that no send has touched; False if it cannot be.

    Used for an edit of a post that is still only in the outbox, so the
    server receives the final text once instead of a post and its edit.
    """
    row = _item_by_local_or_event_id(conn, post_id)
    if not _never_attempted(row) or row["action"] not in POST_ACTIONS:
        return False
    conn.execute(
        "UPDATE outbox SET content = ?, title = ?, body = ?, formatted_body = ?, "
        "kind = ?, tags = ? WHERE id = ?",
        (
            json.dumps(content, ensure_ascii=False),
            title,
            body,
            formatted_body,
            kind,
            None if tags is None else json.dumps(list(tags)),
            row["id"],
        ),
    )
    if draft is not None:
        delete_draft(conn, *draft)
    return True


def revise_failed(
    conn: sqlite3.Connection,
    item_id: int,
    content: dict,
    title: str | None,
    body: str,
    formatted_body: str | None,
    kind: str | None,
    tags: tuple[str, ...] | None,
) -> Changes:
    """Replace a failed item's content and queue it again, in one step."""
    cursor = conn.execute(
        "UPDATE outbox SET content = ?, title = ?, body = ?, formatted_body = ?, "
        "kind = ?, tags = ?, state = 'queued', error = NULL, error_details = NULL "
        "WHERE id = ? AND state = 'failed'",
        (
            json.dumps(content, ensure_ascii=False),
            title,
            body,
            formatted_body,
            kind,
            None if tags is None else json.dumps(list(tags)),
            item_id,
        ),
    )
    if not cursor.rowcount:
        raise OutboxConflict(f"Item {item_id} has not failed, so it cannot be revised.")
    return changes_for_item(conn, item_id)


def revise_unsent_edit(
    conn: sqlite3.Connection,
    item_id: int,
    sender: str,
    content: dict,
    title: str | None,
    body: str,
    formatted_body: str | None,
    kind: str | None,
    tags: tuple[str, ...] | None,
    draft: tuple[str, str] | None = None,
) -> Changes | None:
    """Replace the content of sender's failed or never-attempted edit; queue it.

    Returns None, and changes nothing, when the item is not such an edit
    (for example, the worker has claimed it meanwhile), so the caller queues
    a new edit instead.
    """
    cursor = conn.execute(
        "UPDATE outbox SET content = ?, title = ?, body = ?, formatted_body = ?, "
        "kind = ?, tags = ?, state = 'queued', error = NULL, error_details = NULL "
        "WHERE id = ? AND sender = ? AND action = ? AND (state = 'failed' OR "
        "(state = 'queued' AND COALESCE(first_attempt_at, 0) = 0))",
        (
            json.dumps(content, ensure_ascii=False),
            title,
            body,
            formatted_body,
            kind,
            None if tags is None else json.dumps(list(tags)),
            item_id,
            sender,
            EDIT,
        ),
    )
    if not cursor.rowcount:
        return None
    if draft is not None:
        delete_draft(conn, *draft)
    return changes_for_item(conn, item_id)


def remove_unsent(conn: sqlite3.Connection, post_id: str) -> Removed | None:
    """Remove a queued item that no send has touched, with its dependants.

    Returns None when the item may already be on the server (a send was
    attempted), so the caller must send a redaction instead.
    """
    row = _item_by_local_or_event_id(conn, post_id)
    if not _never_attempted(row):
        return None
    return _remove_with_dependants(conn, row)


def _remove_with_dependants(conn: sqlite3.Connection, row: sqlite3.Row) -> Removed:
    removed = Removed()
    removed.changes.outbox = True
    stack = [row]
    while stack:
        current = stack.pop()
        removed.item_ids.append(current["id"])
        _note_change(conn, current, removed.changes)
        conn.execute("DELETE FROM outbox WHERE id = ?", (current["id"],))
        if current["action"] in POST_ACTIONS and current["state"] != SENT:
            # Drafts of replies to, or edits of, a post that will never exist.
            conn.execute(
                "DELETE FROM drafts WHERE target_id = ?",
                (local_id(current["client_id"]),),
            )
        removed_id = local_id(current["client_id"])
        if current["action"] == REPLY:
            _repoint_replies(conn, removed_id, current, removed.changes)
        dependants = conn.execute(
            "SELECT * FROM outbox WHERE (target_id = :id OR related_id = :id) "
            "AND state != 'sent'",
            {"id": removed_id},
        ).fetchall()
        stack.extend(dependants)
    return removed


def _repoint_replies(
    conn: sqlite3.Connection, removed_id: str, removed: sqlite3.Row, changes: Changes
) -> None:
    """Point later replies that followed a removed reply at what it followed.

    A reply names the latest reply of its thread in m.in_reply_to only as the
    fallback for other clients, so removing that reply must not remove the
    replies after it: they now follow the removed reply's own predecessor.
    """
    replacement = removed["related_id"] or removed["target_id"]
    followers = conn.execute(
        "SELECT id, content FROM outbox WHERE action = ? AND related_id = ? "
        "AND state != 'sent'",
        (REPLY, removed_id),
    ).fetchall()
    for follower in followers:
        content = follower["content"].replace(
            json.dumps(removed_id), json.dumps(replacement)
        )
        conn.execute(
            "UPDATE outbox SET related_id = ?, content = ? WHERE id = ?",
            (replacement, content, follower["id"]),
        )
        changes.outbox = True


def _note_change(conn: sqlite3.Connection, row: sqlite3.Row, changes: Changes):
    if row["action"] in PROFILE_ACTIONS:
        changes.people.add(row["sender"])
        return
    changes.rooms.add(row["room_id"])
    if row["action"] == FILE:
        changes.transfers.add(row["room_id"])
        return
    if row["action"] == DISCUSSION:
        changes.discussions.add(row["event_id"] or local_id(row["client_id"]))
        return
    target = row["target_id"]
    if row["action"] == UNLIKE:
        target = row["related_id"]
    if target:
        changes.discussions.add(_discussion_of(conn, target))


def _discussion_of(conn: sqlite3.Connection, post_id: str) -> str:
    """Return the discussion that post_id is or belongs to, pending ones too."""
    row = conn.execute(
        "SELECT root_id FROM replies WHERE event_id = ?", (post_id,)
    ).fetchone()
    if row:
        return row[0]
    item = _item_by_local_or_event_id(conn, post_id)
    if item is not None and item["action"] == REPLY and item["target_id"]:
        return item["target_id"]
    return post_id


def changes_for_item(conn: sqlite3.Connection, item_id: int) -> Changes:
    """Return the rows that a change of item item_id shows in."""
    changes = Changes(outbox=True)
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    if row is not None:
        _note_change(conn, row, changes)
    return changes


# -- Sending ----------------------------------------------------------------

# Queued, and every post it refers to has an event id.
SENDABLE_CONDITION = """state = 'queued'
    AND (target_id IS NULL OR substr(target_id, 1, 8) != 'pending:')
    AND (related_id IS NULL OR substr(related_id, 1, 8) != 'pending:')"""


def reset_interrupted(conn: sqlite3.Connection) -> int:
    """Put items left 'sending' by a stopped process back in the queue.

    NOTE: with two processes sending from one cache (the desktop app and a
    command), this also resets the other's item in flight. Both then send it
    with the same transaction id, so the server still stores it once.
    """
    cursor = conn.execute("UPDATE outbox SET state = 'queued' WHERE state = 'sending'")
    return cursor.rowcount


def claim_next(
    conn: sqlite3.Connection, room_id: str, session: str, now: float | None = None
) -> ClaimedItem | None:
    """Mark the room's oldest sendable item as sending and return it.

    An item waits while a post it refers to has no event id yet. Items
    behind it in the same room still go, so one failed post cannot hold up
    the room.
    """
    row = conn.execute(
        f"SELECT * FROM outbox WHERE room_id = ? AND {SENDABLE_CONDITION} "
        "ORDER BY id LIMIT 1",
        (room_id,),
    ).fetchone()
    if row is None:
        return None
    now = time.time() if now is None else now
    conn.execute(
        "UPDATE outbox SET state = 'sending', attempt_session = ?, "
        "first_attempt_at = COALESCE(first_attempt_at, ?) WHERE id = ?",
        (session, now, row["id"]),
    )
    content = _resolve_placeholders(conn, json.loads(row["content"]))
    return ClaimedItem(
        row["id"],
        row["client_id"],
        row["txn_id"],
        row["room_id"],
        row["action"],
        row["event_type"],
        row["target_id"],
        content,
        row["first_attempt_at"],
        row["attempt_session"],
    )


def _resolve_placeholders(conn: sqlite3.Connection, value):
    if isinstance(value, dict):
        return {key: _resolve_placeholders(conn, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_placeholders(conn, item) for item in value]
    if isinstance(value, str) and is_local_id(value):
        row = conn.execute(
            "SELECT event_id FROM outbox WHERE client_id = ?",
            (value[len(PENDING_PREFIX) :],),
        ).fetchone()
        if row is None or row[0] is None:
            raise ValueError(f"{value} has no event id yet")
        return row[0]
    return value


def mark_sent(conn: sqlite3.Connection, item_id: int, event_id: str | None) -> Changes:
    """Record that the server has item_id as event_id.

    event_id is None only for a state event whose id is unknown, which no
    other item can refer to.
    """
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        return Changes()
    echoed = event_id is not None and _event_stored(conn, event_id)
    conn.execute(
        "UPDATE outbox SET state = 'sent', event_id = COALESCE(?, event_id), "
        "sent_at = ?, error = NULL, error_details = NULL, "
        "echoed = MAX(echoed, ?) WHERE id = ?",
        (event_id, time.time(), int(echoed), item_id),
    )
    if event_id is not None:
        _replace_local_id(conn, row["client_id"], event_id)
    return changes_for_item(conn, item_id)


def _event_stored(conn: sqlite3.Connection, event_id: str) -> bool:
    # The sync may have stored the event before the send's response arrived.
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = :id) "
        "OR EXISTS (SELECT 1 FROM accepted_answers WHERE event_id = :id)",
        {"id": event_id},
    ).fetchone()
    return bool(row[0])


def _replace_in(value, old: str, new: str):
    if isinstance(value, dict):
        return {key: _replace_in(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_in(item, old, new) for item in value]
    return new if value == old else value


def _replace_local_id(conn: sqlite3.Connection, client_id: str, event_id: str):
    """Point items and drafts that wait for this item at its event id."""
    pending = local_id(client_id)
    # Rewritten now rather than at sending, so that a dependant still
    # resolves after this item has been pruned.
    dependants = conn.execute(
        "SELECT id, content FROM outbox WHERE state != 'sent' AND instr(content, ?)",
        (pending,),
    ).fetchall()
    for row in dependants:
        content = _replace_in(json.loads(row["content"]), pending, event_id)
        conn.execute(
            "UPDATE outbox SET content = ? WHERE id = ?",
            (json.dumps(content, ensure_ascii=False), row["id"]),
        )
    conn.execute(
        "UPDATE outbox SET target_id = ? WHERE target_id = ?", (event_id, pending)
    )
    conn.execute(
        "UPDATE outbox SET related_id = ? WHERE related_id = ?", (event_id, pending)
    )
    conn.execute(
        "UPDATE drafts SET target_id = ? WHERE target_id = ?", (event_id, pending)
    )
    conn.execute(
        "UPDATE drafts SET quote_id = ? WHERE quote_id = ?", (event_id, pending)
    )


def mark_failed(
    conn: sqlite3.Connection, item_id: int, reason: str, details: str | None
) -> Changes:
    """Mark a sending item failed with a plain reason; it stays until handled."""
    cursor = conn.execute(
        "UPDATE outbox SET state = 'failed', error = ?, error_details = ? "
        "WHERE id = ? AND state = 'sending'",
        (reason, details, item_id),
    )
    if not cursor.rowcount:
        return Changes()
    changes = changes_for_item(conn, item_id)
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    if row["action"] == REPLY:
        # Later replies must not wait for a reply that may never be sent.
        _repoint_replies(conn, local_id(row["client_id"]), row, changes)
    return changes


def requeue(conn: sqlite3.Connection, item_id: int) -> None:
    """Put a sending item back in the queue after an interrupted attempt."""
    conn.execute(
        "UPDATE outbox SET state = 'queued' WHERE id = ? AND state = 'sending'",
        (item_id,),
    )


def retry(conn: sqlite3.Connection, item_id: int) -> Changes:
    """Queue a failed item again, with the same transaction id."""
    cursor = conn.execute(
        "UPDATE outbox SET state = 'queued', error = NULL, error_details = NULL "
        "WHERE id = ? AND state = 'failed'",
        (item_id,),
    )
    if not cursor.rowcount:
        exists = conn.execute("SELECT 1 FROM outbox WHERE id = ?", (item_id,))
        if exists.fetchone() is None:
            raise OutboxItemMissing(item_id)
        raise OutboxConflict(f"Item {item_id} has not failed, so it cannot be retried.")
    return changes_for_item(conn, item_id)


def discard(conn: sqlite3.Connection, item_id: int) -> Removed:
    """Remove a failed or never-attempted item and the items that depend on it.

    Raises OutboxConflict for an item that may already be on the server.
    """
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise OutboxItemMissing(item_id)
    if row["state"] != FAILED and not _never_attempted(row):
        raise OutboxConflict(
            f"Item {item_id} may already have reached the server, so it cannot be "
            "discarded. Wait until it is sent, then delete the post instead."
        )
    return _remove_with_dependants(conn, row)


def prune_done(conn: sqlite3.Connection, older_than: float) -> int:
    """Delete items sent before older_than (Unix seconds).

    Sent items are kept a while so that local ids held by views still
    resolve to event ids, and so that one the sync has not stored yet is
    still shown.
    """
    cursor = conn.execute(
        "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?", (older_than,)
    )
    return cursor.rowcount


# -- Echoes from the sync ----------------------------------------------------


def match_echo(conn: sqlite3.Connection, event: RawEvent) -> bool:
    """Mark the outbox item that event is the server's copy of; True if one was.

    The event matches by its transaction id (present only on the sending
    device), by its client id, or by the event id a send already returned.
    The event and the mark are written in one transaction, so readers never
    see the post twice.
    """
    conditions = ["event_id = :event_id"]
    if event.transaction_id:
        conditions.append("txn_id = :txn_id")
    if event.client_id:
        conditions.append("client_id = :client_id")
    return _mark_echoed(
        conn,
        " OR ".join(conditions),
        {
            "event_id": event.event_id,
            "txn_id": event.transaction_id,
            "client_id": event.client_id,
            "room_id": event.room_id,
            "sender": event.sender,
        },
    )


def match_state_echo(conn: sqlite3.Connection, answer: AcceptedAnswer) -> bool:
    """Mark the accepted-answer item whose server copy the state event is."""
    conditions = ["event_id = :event_id"]
    if answer.client_id:
        conditions.append("client_id = :client_id")
    return _mark_echoed(
        conn,
        " OR ".join(conditions),
        {
            "event_id": answer.event_id,
            "client_id": answer.client_id,
            "room_id": answer.room_id,
            "sender": answer.sender,
        },
    )


def _mark_echoed(conn: sqlite3.Connection, condition: str, values: dict) -> bool:
    row = conn.execute(
        f"""SELECT id, client_id, event_id FROM outbox
        WHERE room_id = :room_id AND sender = :sender AND echoed = 0
        AND ({condition}) ORDER BY id LIMIT 1""",
        values,
    ).fetchone()
    if row is None:
        return False
    conn.execute(
        "UPDATE outbox SET echoed = 1, state = 'sent', event_id = :event_id, "
        "error = NULL, error_details = NULL, sent_at = COALESCE(sent_at, :now) "
        "WHERE id = :id",
        {"event_id": values["event_id"], "now": time.time(), "id": row["id"]},
    )
    if row["event_id"] is None:
        _replace_local_id(conn, row["client_id"], values["event_id"])
    return True
