"""The cache's side of read state: the server's thread counts and queued receipts.

Unread counts are the server's, never computed here. Receipts and read
markers wait in ``read_receipts`` until the network layer has sent them, so
marking something read works offline. Only events that the sync stored are
ever chosen as receipt targets, so no receipt names an unsent local post.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from app.records import Changes
from app.store.lookups import chunks, placeholders

READ = "m.read"
FULLY_READ = "m.fully_read"
# The thread id of a receipt for the main timeline, thread roots included.
MAIN_THREAD = "main"
# The thread id stored for an unthreaded receipt and for the read marker.
UNTHREADED = ""


@dataclass(frozen=True, slots=True)
class ReceiptTarget:
    """An event to send a receipt for; position orders it in the cache's timeline."""

    room_id: str
    receipt_type: str
    thread_id: str
    event_id: str
    position: int


def save_thread_counts(
    conn: sqlite3.Connection, room_id: str, counts: dict[str, tuple[int, int]]
) -> None:
    """Replace a room's thread counts with the server's latest ones.

    The server lists only threads with something unread, so a thread that is
    missing from ``counts`` has been read.
    """
    conn.execute("DELETE FROM thread_unread WHERE room_id = ?", (room_id,))
    conn.executemany(
        "INSERT INTO thread_unread (room_id, thread_id, notification_count, "
        "highlight_count) VALUES (?, ?, ?, ?)",
        [
            (room_id, thread_id, notifications, highlights)
            for thread_id, (notifications, highlights) in counts.items()
            if notifications or highlights
        ],
    )


def thread_unread_counts(
    conn: sqlite3.Connection, thread_ids: list[str]
) -> dict[str, tuple[int, int]]:
    """Return (notification count, highlight count) of the threads that have any."""
    counts: dict[str, tuple[int, int]] = {}
    # SQLite allows 32,766 parameters; a page of discussions is far below.
    for start in range(0, len(thread_ids), 500):
        chunk = thread_ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        rows = conn.execute(
            f"""SELECT thread_id, SUM(notification_count), SUM(highlight_count)
            FROM thread_unread WHERE thread_id IN ({marks}) GROUP BY thread_id""",
            chunk,
        )
        for thread_id, notifications, highlights in rows:
            counts[thread_id] = (notifications, highlights)
    return counts


def discussion_read_targets(
    conn: sqlite3.Connection, root_id: str
) -> list[ReceiptTarget]:
    """Return the receipts that mark a discussion read, up to what the cache has.

    The root is in the room's main timeline, so its receipt has thread id
    "main". The newest event of the root's Matrix thread gets a receipt in
    that thread. A discussion that is still in the outbox returns nothing.
    """
    root = conn.execute(
        "SELECT room_id, position FROM events WHERE event_id = ?", (root_id,)
    ).fetchone()
    if root is None:
        return []
    room_id, root_position = root
    targets = [ReceiptTarget(room_id, READ, MAIN_THREAD, root_id, root_position)]
    newest = conn.execute(
        """SELECT event_id, position FROM events
        WHERE relates_to = ? AND room_id = ?
            AND json_extract(content, '$."m.relates_to".rel_type') = 'm.thread'
        ORDER BY position DESC LIMIT 1""",
        (root_id, room_id),
    ).fetchone()
    if newest is not None:
        targets.append(ReceiptTarget(room_id, READ, root_id, newest[0], newest[1]))
    return targets


def room_read_targets(conn: sqlite3.Connection, room_id: str) -> list[ReceiptTarget]:
    """Return an unthreaded receipt and the read marker for a room's newest event.

    An unthreaded receipt marks every earlier event read, threads included.
    """
    newest = conn.execute(
        "SELECT event_id, position FROM events WHERE room_id = ? "
        "ORDER BY position DESC LIMIT 1",
        (room_id,),
    ).fetchone()
    if newest is None:
        return []
    event_id, position = newest
    return [
        ReceiptTarget(room_id, READ, UNTHREADED, event_id, position),
        ReceiptTarget(room_id, FULLY_READ, UNTHREADED, event_id, position),
    ]


def space_room_ids(conn: sqlite3.Connection, space_id: str) -> list[str]:
    """Return the joined rooms whose counts add up to a space's: itself and its rooms.

    The pseudo-spaces of direct rooms and of rooms outside any space have
    only their rooms.
    """
    # Imported here because app.store.queries imports the sync writes, which
    # import this module.
    from app.store.queries import DIRECT_SPACE_ID, UNGROUPED_SPACE_ID, list_space_rooms

    rooms = [
        room.room_id
        for room in list_space_rooms(conn, space_id)
        if room.membership == "join"
    ]
    if space_id in (DIRECT_SPACE_ID, UNGROUPED_SPACE_ID):
        return rooms
    joined = conn.execute(
        "SELECT 1 FROM rooms WHERE room_id = ? AND membership = 'join'", (space_id,)
    ).fetchone()
    return [space_id, *rooms] if joined else rooms


def queue_receipts(
    conn: sqlite3.Connection,
    targets: list[ReceiptTarget],
    now: float,
    *,
    sent: bool = False,
) -> int:
    """Queue receipts that are newer than the ones queued or sent; return how many.

    An unthreaded receipt also removes the unsent receipts of the same room
    that it covers. sent=True records receipts that the server already has,
    such as those from the user's other devices.
    """
    queued = 0
    for target in targets:
        row = conn.execute(
            "SELECT position FROM read_receipts "
            "WHERE room_id = ? AND receipt_type = ? AND thread_id = ?",
            (target.room_id, target.receipt_type, target.thread_id),
        ).fetchone()
        if row is not None and row[0] >= target.position:
            continue
        conn.execute(
            """INSERT INTO read_receipts (room_id, receipt_type, thread_id, event_id,
                position, sent, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (room_id, receipt_type, thread_id) DO UPDATE SET
                event_id = excluded.event_id, position = excluded.position,
                sent = excluded.sent, queued_at = excluded.queued_at""",
            (
                target.room_id,
                target.receipt_type,
                target.thread_id,
                target.event_id,
                target.position,
                int(sent),
                now,
            ),
        )
        queued += 1
        if target.receipt_type == READ and target.thread_id == UNTHREADED:
            conn.execute(
                "DELETE FROM read_receipts WHERE room_id = ? AND receipt_type = ? "
                "AND thread_id != ? AND sent = 0 AND position <= ?",
                (target.room_id, READ, UNTHREADED, target.position),
            )
    return queued


def unsent_receipts(conn: sqlite3.Connection, limit: int = 100) -> list[ReceiptTarget]:
    """Return queued receipts, oldest first."""
    rows = conn.execute(
        """SELECT room_id, receipt_type, thread_id, event_id, position
        FROM read_receipts WHERE sent = 0 ORDER BY queued_at, rowid LIMIT ?""",
        (limit,),
    ).fetchall()
    return [ReceiptTarget(*row) for row in rows]


def mark_receipts_sent(conn: sqlite3.Connection, targets: list[ReceiptTarget]) -> None:
    """Mark receipts sent, unless a newer one replaced them in the meantime."""
    conn.executemany(
        "UPDATE read_receipts SET sent = 1 WHERE room_id = ? AND receipt_type = ? "
        "AND thread_id = ? AND event_id = ?",
        [
            (target.room_id, target.receipt_type, target.thread_id, target.event_id)
            for target in targets
        ],
    )


def record_server_receipts(
    conn: sqlite3.Connection, receipts: list, now: float, changes: Changes
) -> None:
    """Store the user's own receipts from a sync, from any device, as already sent.

    receipts are app.sync.own_receipts.ServerReceipt. A receipt for an event
    that is not cached cannot be placed in the timeline and is skipped.
    """
    targets = []
    for chunk in chunks(sorted({receipt.event_id for receipt in receipts})):
        rows = conn.execute(
            f"SELECT event_id, room_id, position FROM events "
            f"WHERE event_id IN ({placeholders(chunk)})",
            list(chunk),
        )
        places = {row[0]: (row[1], row[2]) for row in rows}
        for receipt in receipts:
            place = places.get(receipt.event_id)
            if place is None or place[0] != receipt.room_id:
                continue
            targets.append(
                ReceiptTarget(
                    receipt.room_id,
                    READ,
                    receipt.thread_id,
                    receipt.event_id,
                    place[1],
                )
            )
    if queue_receipts(conn, targets, now, sent=True):
        changes.rooms.update(target.room_id for target in targets)


def new_discussions(
    conn: sqlite3.Connection, room_ids: list[str], user_id: str
) -> set[str]:
    """Return the discussions whose first post is unread, in these rooms.

    The server counts unread first posts only in a room's main-timeline
    count. In a room where that count is N > 0, the newest N discussions
    by others after the user's read receipt in the main timeline (or an
    unthreaded one, from any device or queued here) are the unread ones.
    """
    new: set[str] = set()
    for room_id in room_ids:
        row = conn.execute(
            """SELECT r.unread_count - COALESCE((SELECT SUM(t.notification_count)
                FROM thread_unread t WHERE t.room_id = r.room_id), 0),
            (SELECT MAX(position) FROM read_receipts
                WHERE room_id = r.room_id AND receipt_type = ?
                AND thread_id IN (?, ?))
            FROM rooms r WHERE r.room_id = ?""",
            (READ, MAIN_THREAD, UNTHREADED, room_id),
        ).fetchone()
        if row is None or row[0] is None or row[0] <= 0:
            continue
        main_unread, read_position = row
        rows = conn.execute(
            """SELECT event_id FROM discussions
            WHERE room_id = ? AND position > ? AND sender != ? AND redacted = 0
            ORDER BY position DESC LIMIT ?""",
            (
                room_id,
                -1 if read_position is None else read_position,
                user_id,
                main_unread,
            ),
        )
        new.update(event_id for (event_id,) in rows)
    return new
