"""Changes of the user's own profile in the outbox, and the cached row they update.

The write functions take the writer's connection inside the transaction that
Store.write opened. Profile items live in the outbox table like posts do:

    action   PROFILE for a text or list field, AVATAR for the picture
    room_id  the user's id, so that they form one queue of their own, which
             is sent in order and beside the rooms' queues
    event_type, target_id
             the profile key: "displayname", "avatar_url" or a namespaced key
    content  PROFILE: {key: value} sets the field, {} removes it.
             AVATAR: {"file": name, "mimetype": type, "size": bytes} sets a
             new picture that waits in a file (app.profile_edit), and gains
             "avatar_url" once the upload returned it; {} removes the picture.
    title    a one-line description for the outbox views

A profile item has no event, so no sync echo: mark_sent updates the people
row and marks the item echoed in the same transaction.
"""

import json
import sqlite3
import time
from dataclasses import dataclass, field

from app import namespace as ns
from app.records import Changes
from app.store.outbox_store import (
    AVATAR,
    PROFILE,
    PROFILE_ACTIONS,
    NewItem,
    insert_item,
)

DISPLAY_NAME_KEY = "displayname"
AVATAR_URL_KEY = "avatar_url"

# The people column that caches each profile key.
PEOPLE_COLUMNS = {
    DISPLAY_NAME_KEY: "display_name",
    AVATAR_URL_KEY: "avatar_url",
    **{key: name for name, key in ns.PROFILE_TEXT_FIELDS.items()},
    **{key: name for name, key in ns.PROFILE_LIST_FIELDS.items()},
}
LIST_KEYS = frozenset(ns.PROFILE_LIST_FIELDS.values())


@dataclass(frozen=True, slots=True)
class PendingProfileItem:
    """A profile item that is not sent yet: queued, sending or failed."""

    id: int
    action: str
    key: str
    content: dict
    state: str


@dataclass(slots=True)
class QueuedProfile:
    """Result of queue_items: the new item ids, and the files of replaced items.

    removed_files names the picture files of replaced avatar items, which the
    caller deletes once the transaction is committed.
    """

    item_ids: list[int] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)


def pending_items(conn: sqlite3.Connection, user_id: str) -> list[PendingProfileItem]:
    """Return the user's unsent profile items in the order they will be sent."""
    rows = conn.execute(
        """SELECT id, action, event_type, content, state FROM outbox
        WHERE sender = ? AND room_id = ? AND action IN (?, ?)
        AND state != 'sent' ORDER BY id""",
        (user_id, user_id, *PROFILE_ACTIONS),
    ).fetchall()
    return [
        PendingProfileItem(
            row["id"],
            row["action"],
            row["event_type"],
            json.loads(row["content"]),
            row["state"],
        )
        for row in rows
    ]


def cached_values(conn: sqlite3.Connection, user_id: str) -> dict[str, object]:
    """Return the cached profile by key, with empty fields as None.

    List fields are tuples.
    """
    row = conn.execute("SELECT * FROM people WHERE user_id = ?", (user_id,)).fetchone()
    values: dict[str, object] = {}
    for key, column in PEOPLE_COLUMNS.items():
        value = row[column] if row is not None else None
        if key in LIST_KEYS:
            value = tuple(json.loads(value)) if value else ()
        values[key] = _empty_as_none(value)
    return values


def _empty_as_none(value):
    if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
        return None
    return tuple(value) if isinstance(value, list) else value


def _new_value(item: NewItem | PendingProfileItem):
    """Return the value an item leaves in the profile; None when it removes it."""
    if item.action == AVATAR:
        return item.content.get(AVATAR_URL_KEY) or item.content.get("file")
    key = item.event_type if isinstance(item, NewItem) else item.key
    return _empty_as_none(item.content.get(key))


def queue_items(conn: sqlite3.Connection, items: list[NewItem]) -> QueuedProfile:
    """Queue profile items, each replacing the unsent items of the same key.

    Queued and failed items of the key are deleted; one in flight stays and
    the new item is sent after it. An item that only restores the cached
    value is not queued when nothing it replaces can have reached the server.
    """
    queued = QueuedProfile()
    for item in items:
        earlier = conn.execute(
            """SELECT id, state, content, first_attempt_at FROM outbox
            WHERE sender = ? AND room_id = ? AND action = ? AND target_id = ?
            AND state != 'sent' ORDER BY id""",
            (item.sender, item.room_id, item.action, item.target_id),
        ).fetchall()
        maybe_sent = False
        for row in earlier:
            if row["state"] == "sending" or (
                row["state"] == "queued" and row["first_attempt_at"]
            ):
                maybe_sent = True
            if row["state"] == "sending":
                continue
            conn.execute("DELETE FROM outbox WHERE id = ?", (row["id"],))
            picture = json.loads(row["content"]).get("file")
            if picture:
                queued.removed_files.append(picture)
            queued.changes.outbox = True
        cached = cached_values(conn, item.sender)[item.target_id]
        if not maybe_sent and _new_value(item) == cached:
            continue
        queued.item_ids.append(insert_item(conn, item))
        queued.changes.outbox = True
    if queued.changes.outbox:
        queued.changes.people.update(item.sender for item in items)
    return queued


def record_upload(conn: sqlite3.Connection, item_id: int, avatar_url: str) -> None:
    """Store the mxc:// URI of an avatar item's uploaded picture.

    A resend after an interruption then sets this URI without uploading the
    picture again.
    """
    row = conn.execute("SELECT content FROM outbox WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        return
    content = json.loads(row["content"])
    content[AVATAR_URL_KEY] = avatar_url
    conn.execute(
        "UPDATE outbox SET content = ? WHERE id = ?",
        (json.dumps(content, ensure_ascii=False), item_id),
    )


def mark_sent(conn: sqlite3.Connection, item_id: int) -> Changes:
    """Record that the server has a profile item, and cache its new value.

    The people row shows the value at once, without waiting for the next
    profile fetch. The item counts as echoed, because no sync returns it.
    NOTE: a profile fetch that started before the send and is stored after
    it writes the old value back, until the next fetch of the profile.
    """
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    if row is None or row["action"] not in PROFILE_ACTIONS:
        return Changes()
    key = row["event_type"]
    content = json.loads(row["content"])
    if row["action"] == AVATAR:
        value = content.get(AVATAR_URL_KEY) or None
    else:
        value = _empty_as_none(content.get(key))
    column = PEOPLE_COLUMNS[key]
    if key in LIST_KEYS:
        value = json.dumps(list(value or ()), ensure_ascii=False)
    conn.execute(
        f"""INSERT INTO people (user_id, {column}) VALUES (?, ?)
        ON CONFLICT (user_id) DO UPDATE SET {column} = excluded.{column}""",
        (row["sender"], value),
    )
    conn.execute(
        "UPDATE outbox SET state = 'sent', echoed = 1, sent_at = ?, error = NULL, "
        "error_details = NULL WHERE id = ?",
        (time.time(), item_id),
    )
    return Changes(people={row["sender"]}, outbox=True)


def avatar_files_in_use(conn: sqlite3.Connection) -> set[str]:
    """Return the picture files that unsent avatar items still need."""
    rows = conn.execute(
        "SELECT json_extract(content, '$.file') FROM outbox "
        "WHERE action = ? AND state != 'sent'",
        (AVATAR,),
    ).fetchall()
    return {row[0] for row in rows if row[0]}


__all__ = [
    "AVATAR",
    "AVATAR_URL_KEY",
    "DISPLAY_NAME_KEY",
    "LIST_KEYS",
    "PEOPLE_COLUMNS",
    "PROFILE",
    "PendingProfileItem",
    "QueuedProfile",
    "avatar_files_in_use",
    "cached_values",
    "mark_sent",
    "pending_items",
    "queue_items",
    "record_upload",
]
