"""Read queries over the outbox.

The read views in ``app.store.queries`` merge what these return, so that an
action shows at once, marked pending, before the server has it. An item is
pending until the sync has stored the server's copy (``echoed``).
"""

import json
import sqlite3
from dataclasses import dataclass

from app.store.outbox_store import (
    DELETE,
    DISCUSSION,
    EDIT,
    FAILED,
    LIKE,
    PENDING_PREFIX,
    REPLY,
    SENDABLE_CONDITION,
    UNLIKE,
    is_local_id,
    local_id,
)

# Values of the send_state field of pending rows in the read views.
SEND_PENDING = "pending"
SEND_FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One action in the outbox, as the outbox view and the CLI list it.

    post_id is what the item shows as in the read views: its event id once
    known, else its local id. waiting_for names the post whose event id the
    item needs first, if any. Times are Unix times in seconds.
    """

    id: int
    client_id: str
    txn_id: str
    room_id: str
    action: str
    state: str
    target_id: str | None
    related_id: str | None
    title: str | None
    body: str | None
    kind: str | None
    tags: tuple[str, ...] | None
    error: str | None
    error_details: str | None
    event_id: str | None
    echoed: bool
    created_at: float
    first_attempt_at: float | None
    sent_at: float | None

    @property
    def post_id(self) -> str:
        return self.event_id or local_id(self.client_id)

    @property
    def waiting_for(self) -> str | None:
        for value in (self.target_id, self.related_id):
            if is_local_id(value):
                return value
        return None


@dataclass(frozen=True, slots=True)
class PendingPost:
    """A discussion or reply that the server does not have yet, as shown."""

    post_id: str
    item_id: int
    room_id: str
    sender: str
    created_at: float
    title: str | None
    body: str
    formatted_body: str | None
    kind: str | None
    tags: tuple[str, ...]
    in_reply_to: str | None
    send_state: str
    error: str | None


@dataclass(frozen=True, slots=True)
class PendingChange:
    """The latest unsent edit or deletion of a post; None fields are unchanged."""

    post_id: str
    deleted: bool
    title: str | None
    body: str | None
    formatted_body: str | None
    kind: str | None
    tags: tuple[str, ...] | None
    send_state: str
    error: str | None


_UNFINISHED = "echoed = 0"


def _placeholders(values) -> str:
    return ",".join("?" for _ in values)


def send_state_of(row: sqlite3.Row) -> str:
    """Return the send_state that a pending row of the read views shows."""
    return SEND_FAILED if row["state"] == FAILED else SEND_PENDING


def _tags(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()


# -- The outbox itself --------------------------------------------------------


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        row["id"],
        row["client_id"],
        row["txn_id"],
        row["room_id"],
        row["action"],
        row["state"],
        row["target_id"],
        row["related_id"],
        row["title"],
        row["body"],
        row["kind"],
        None if row["tags"] is None else _tags(row["tags"]),
        row["error"],
        row["error_details"],
        row["event_id"],
        bool(row["echoed"]),
        row["created_at"],
        row["first_attempt_at"],
        row["sent_at"],
    )


def list_items(
    conn: sqlite3.Connection, *, include_done: bool = False
) -> list[OutboxItem]:
    """Return the outbox in queue order.

    Items that the sync has stored (done) are left out unless include_done.
    """
    where = "" if include_done else f"WHERE {_UNFINISHED}"
    rows = conn.execute(f"SELECT * FROM outbox {where} ORDER BY id").fetchall()
    return [_item(row) for row in rows]


def get_item(conn: sqlite3.Connection, item_id: int) -> OutboxItem | None:
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    return _item(row) if row else None


def item_content(conn: sqlite3.Connection, item_id: int) -> dict:
    """Return the content an item was queued with, placeholders included."""
    row = conn.execute("SELECT content FROM outbox WHERE id = ?", (item_id,)).fetchone()
    return json.loads(row[0]) if row else {}


def find_item(conn: sqlite3.Connection, post_id: str) -> OutboxItem | None:
    """Return the item that post_id (a local id or its event id) names."""
    if is_local_id(post_id):
        row = conn.execute(
            "SELECT * FROM outbox WHERE client_id = ?",
            (post_id[len(PENDING_PREFIX) :],),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT * FROM outbox WHERE event_id = ? ORDER BY id DESC LIMIT 1",
            (post_id,),
        ).fetchone()
    return _item(row) if row else None


def rooms_with_work(conn: sqlite3.Connection) -> list[str]:
    """Return the rooms with an item ready to send, in the order of their oldest."""
    rows = conn.execute(
        f"SELECT room_id FROM outbox WHERE {SENDABLE_CONDITION} "
        "GROUP BY room_id ORDER BY MIN(id)"
    ).fetchall()
    return [row[0] for row in rows]


def count_items(conn: sqlite3.Connection) -> tuple[int, int]:
    """Return (items not yet sent, failed items)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(state IN ('queued', 'sending')), 0), "
        "COALESCE(SUM(state = 'failed'), 0) FROM outbox"
    ).fetchone()
    return row[0], row[1]


def resolve_id(conn: sqlite3.Connection, post_id: str) -> str:
    """Return the event id of a local id once its item is sent, else post_id."""
    if not is_local_id(post_id):
        return post_id
    row = conn.execute(
        "SELECT event_id FROM outbox WHERE client_id = ?",
        (post_id[len(PENDING_PREFIX) :],),
    ).fetchone()
    return row[0] if row and row[0] else post_id


@dataclass(frozen=True, slots=True)
class PostRef:
    """A discussion or reply that an action can aim at, stored or unsent.

    post_id is its event id once known, else its local id. root_id is the
    discussion a reply belongs to, or the discussion itself. item is the
    outbox item while the server's copy is not stored yet. content is the
    event content as sent or as stored.
    """

    post_id: str
    room_id: str
    sender: str
    is_reply: bool
    root_id: str
    title: str | None
    body: str
    kind: str | None
    tags: tuple[str, ...]
    content: dict
    item: OutboxItem | None = None


def find_post(conn: sqlite3.Connection, post_id: str) -> PostRef | None:
    """Return the discussion or reply post_id (event or local id) names, if known."""
    post_id = resolve_id(conn, post_id)
    stored = _stored_post(conn, post_id)
    if stored is not None:
        return stored
    row = _unfinished_post_row(conn, post_id, DISCUSSION) or _unfinished_post_row(
        conn, post_id, REPLY
    )
    if row is None:
        return None
    is_reply = row["action"] == REPLY
    item = _item(row)
    return PostRef(
        item.post_id,
        row["room_id"],
        row["sender"],
        is_reply,
        row["target_id"] if is_reply else item.post_id,
        row["title"],
        row["body"] or "",
        row["kind"],
        _tags(row["tags"]),
        json.loads(row["content"]),
        item,
    )


def _stored_post(conn: sqlite3.Connection, post_id: str) -> PostRef | None:
    row = conn.execute(
        """SELECT d.room_id, d.sender, d.title, d.body, d.kind, d.tags,
            e.content FROM discussions d LEFT JOIN events e ON e.event_id = d.event_id
        WHERE d.event_id = ?""",
        (post_id,),
    ).fetchone()
    if row is not None:
        return PostRef(
            post_id,
            row["room_id"],
            row["sender"],
            False,
            post_id,
            row["title"],
            row["body"],
            row["kind"],
            _tags(row["tags"]),
            json.loads(row["content"] or "{}"),
        )
    row = conn.execute(
        """SELECT r.room_id, r.sender, r.root_id, r.body, e.content
        FROM replies r LEFT JOIN events e ON e.event_id = r.event_id
        WHERE r.event_id = ?""",
        (post_id,),
    ).fetchone()
    if row is None:
        return None
    return PostRef(
        post_id,
        row["room_id"],
        row["sender"],
        True,
        row["root_id"],
        None,
        row["body"],
        None,
        (),
        json.loads(row["content"] or "{}"),
    )


def latest_in_thread(conn: sqlite3.Connection, root_id: str) -> str:
    """Return the newest reply of a thread, unsent ones included, or the root."""
    unsent = pending_replies(conn, root_id)
    if unsent:
        return unsent[-1].post_id
    row = conn.execute(
        "SELECT event_id FROM replies WHERE root_id = ? ORDER BY position DESC LIMIT 1",
        (root_id,),
    ).fetchone()
    return row[0] if row else root_id


def own_reactions(
    conn: sqlite3.Connection, post_id: str, user_id: str, key: str
) -> list[str]:
    """Return the event ids of user_id's stored reactions with key on post_id."""
    rows = conn.execute(
        "SELECT event_id FROM reactions WHERE target_id = ? AND sender = ? AND key = ?",
        (post_id, user_id, key),
    ).fetchall()
    return [row[0] for row in rows]


def unfinished_items_for(
    conn: sqlite3.Connection, action: str, *, target_id=None, related_id=None
) -> list[OutboxItem]:
    """Return the unfinished items of an action aimed at target_id or related_id."""
    column, value = (
        ("target_id", target_id) if target_id else ("related_id", related_id)
    )
    rows = conn.execute(
        f"SELECT * FROM outbox WHERE action = ? AND {column} = ? AND {_UNFINISHED} "
        "ORDER BY id",
        (action, value),
    ).fetchall()
    return [_item(row) for row in rows]


# -- What the read views merge ------------------------------------------------


def _pending_post(row: sqlite3.Row) -> PendingPost:
    return PendingPost(
        row["event_id"] or local_id(row["client_id"]),
        row["id"],
        row["room_id"],
        row["sender"],
        row["created_at"],
        row["title"],
        row["body"] or "",
        row["formatted_body"],
        row["kind"],
        _tags(row["tags"]),
        row["related_id"],
        send_state_of(row),
        row["error"],
    )


def pending_discussions(
    conn: sqlite3.Connection, room_ids: list[str]
) -> list[PendingPost]:
    """Return the unsent discussions in the rooms, newest first."""
    if not room_ids:
        return []
    rows = conn.execute(
        f"""SELECT * FROM outbox WHERE action = '{DISCUSSION}' AND {_UNFINISHED}
        AND room_id IN ({_placeholders(room_ids)}) ORDER BY id DESC""",
        room_ids,
    ).fetchall()
    return [_pending_post(row) for row in rows]


def pending_discussion(conn: sqlite3.Connection, post_id: str) -> PendingPost | None:
    row = _unfinished_post_row(conn, post_id, DISCUSSION)
    return _pending_post(row) if row else None


def _unfinished_post_row(conn: sqlite3.Connection, post_id: str, action: str):
    if is_local_id(post_id):
        return conn.execute(
            "SELECT * FROM outbox WHERE client_id = ? AND action = ? "
            f"AND {_UNFINISHED}",
            (post_id[len(PENDING_PREFIX) :], action),
        ).fetchone()
    return conn.execute(
        f"SELECT * FROM outbox WHERE event_id = ? AND action = ? AND {_UNFINISHED}",
        (post_id, action),
    ).fetchone()


def pending_replies(conn: sqlite3.Connection, root_id: str) -> list[PendingPost]:
    """Return the unsent replies to a discussion, in the order they were written."""
    rows = conn.execute(
        f"""SELECT * FROM outbox WHERE action = '{REPLY}' AND {_UNFINISHED}
        AND target_id = ? ORDER BY id""",
        (root_id,),
    ).fetchall()
    return [_pending_post(row) for row in rows]


def pending_reply_counts(
    conn: sqlite3.Connection, root_ids: list[str]
) -> dict[str, int]:
    if not root_ids:
        return {}
    rows = conn.execute(
        f"""SELECT target_id, COUNT(*) FROM outbox WHERE action = '{REPLY}'
        AND {_UNFINISHED} AND target_id IN ({_placeholders(root_ids)})
        GROUP BY target_id""",
        root_ids,
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def pending_changes(
    conn: sqlite3.Connection, post_ids: list[str]
) -> dict[str, PendingChange]:
    """Return the latest unsent edit or deletion of each post that has one."""
    if not post_ids:
        return {}
    rows = conn.execute(
        f"""SELECT * FROM outbox WHERE action IN ('{EDIT}', '{DELETE}')
        AND {_UNFINISHED} AND target_id IN ({_placeholders(post_ids)})
        ORDER BY id""",
        post_ids,
    ).fetchall()
    result: dict[str, PendingChange] = {}
    for row in rows:
        deleted = row["action"] == DELETE or (
            row["target_id"] in result and result[row["target_id"]].deleted
        )
        result[row["target_id"]] = PendingChange(
            row["target_id"],
            deleted,
            row["title"],
            row["body"],
            row["formatted_body"],
            row["kind"],
            None if row["tags"] is None else _tags(row["tags"]),
            send_state_of(row),
            row["error"],
        )
    return result


def pending_likes(
    conn: sqlite3.Connection, post_ids: list[str]
) -> dict[str, tuple[bool, str]]:
    """Return, per post, whether the unsent likes and unlikes end liked.

    The value is (liked, send_state) from the latest unsent like or unlike.
    """
    if not post_ids:
        return {}
    marks = _placeholders(post_ids)
    rows = conn.execute(
        f"""SELECT * FROM outbox WHERE {_UNFINISHED} AND (
            (action = '{LIKE}' AND target_id IN ({marks}))
            OR (action = '{UNLIKE}' AND related_id IN ({marks})))
        ORDER BY id""",
        [*post_ids, *post_ids],
    ).fetchall()
    result: dict[str, tuple[bool, str]] = {}
    for row in rows:
        if row["action"] == LIKE:
            result[row["target_id"]] = (True, send_state_of(row))
        else:
            result[row["related_id"]] = (False, send_state_of(row))
    return result
