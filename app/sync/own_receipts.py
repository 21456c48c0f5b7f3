"""The user's own read receipts in a sync response, sent from any of their devices.

A receipt event's content maps an event id to receipt types, and each type
to the users with their receipt: ``{"$event": {"m.read": {"@me:x": {"ts": 1,
"thread_id": "main"}}}}``. Private receipts (``m.read.private``) mark read
just as public ones do. Anything malformed is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.store.read_state_store import UNTHREADED

RECEIPT_TYPES = ("m.read", "m.read.private")


@dataclass(frozen=True, slots=True)
class ServerReceipt:
    """A read receipt of the user's, as stored on the server.

    thread_id is "main", a thread root's event id, or "" for an unthreaded one.
    """

    room_id: str
    thread_id: str
    event_id: str


def own_receipts(room_id: str, events: list, user_id: str) -> list[ServerReceipt]:
    """Return user_id's read receipts among a room's ephemeral events."""
    found = []
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "m.receipt":
            continue
        content = event.get("content")
        if not isinstance(content, dict):
            continue
        for event_id, types in content.items():
            if not isinstance(event_id, str) or not event_id.startswith("$"):
                continue
            if not isinstance(types, dict):
                continue
            for receipt_type in RECEIPT_TYPES:
                users = types.get(receipt_type)
                receipt = users.get(user_id) if isinstance(users, dict) else None
                if not isinstance(receipt, dict):
                    continue
                thread_id = receipt.get("thread_id", UNTHREADED)
                if not isinstance(thread_id, str):
                    continue
                found.append(ServerReceipt(room_id, thread_id, event_id))
    return found
