"""The write of one whole sync response, in one transaction."""

from __future__ import annotations

import sqlite3

from app.records import Changes, DirectRooms, RoomBatch
from app.store.read_state_store import record_server_receipts
from app.store.writes import apply_sync


def apply_sync_response(
    conn: sqlite3.Connection,
    batches: list[RoomBatch],
    sync_token: str | None,
    left_rooms: list[str],
    direct_rooms: DirectRooms | None,
    receipts: list,
    now: float,
) -> Changes:
    """Write the rooms with apply_sync, then the user's own receipts among them.

    Together, so that a receipt is never lost between the events it names
    and the sync token that moves past them. receipts are
    app.sync.own_receipts.ServerReceipt.
    """
    changes = apply_sync(conn, batches, sync_token, left_rooms, direct_rooms)
    record_server_receipts(conn, receipts, now, changes)
    return changes
