"""Client-server endpoints that write to a room, and the look-up of own events.

Each function is one request through ``HttpClient.request``, which owns
retries: ``max_attempts=None`` retries connection failures, 5xx and 429 for
ever with back-off, calling ``on_retry``. Sends carry a transaction id, so a
retried request that already reached the server is not stored twice.
"""

from __future__ import annotations

import json
from typing import Any

from app.matrix.client import MatrixClient
from app.matrix.errors import NotMatrixServer
from app.matrix.http import RetryCallback
from app.matrix.urls import path_segment

_ROOMS = "/_matrix/client/v3/rooms"


def _event_id(client: MatrixClient, response: dict) -> str:
    event_id = response.get("event_id")
    if not isinstance(event_id, str) or not event_id.startswith("$"):
        raise NotMatrixServer(
            f"{client.host} accepted the event but returned no event id.",
            details=f"Response keys: {sorted(response)}",
        )
    return event_id


async def _put(
    client: MatrixClient,
    path: str,
    content: dict,
    max_attempts: int | None,
    on_retry: RetryCallback | None,
    timeout: float | None = None,
) -> str:
    response = await client.request(
        "PUT",
        path,
        json=content,
        max_attempts=max_attempts,
        on_retry=on_retry,
        timeout=timeout,
    )
    return _event_id(client, response)


async def send_event(
    client: MatrixClient,
    room_id: str,
    event_type: str,
    txn_id: str,
    content: dict,
    *,
    max_attempts: int | None = None,
    on_retry: RetryCallback | None = None,
) -> str:
    """PUT /rooms/{roomId}/send/{eventType}/{txnId}; return the event id."""
    path = (
        f"{_ROOMS}/{path_segment(room_id)}/send/{path_segment(event_type)}/"
        f"{path_segment(txn_id)}"
    )
    return await _put(client, path, content, max_attempts, on_retry)


async def redact_event(
    client: MatrixClient,
    room_id: str,
    event_id: str,
    txn_id: str,
    content: dict,
    *,
    max_attempts: int | None = None,
    on_retry: RetryCallback | None = None,
) -> str:
    """PUT /rooms/{roomId}/redact/{eventId}/{txnId}; return the redaction's id."""
    path = (
        f"{_ROOMS}/{path_segment(room_id)}/redact/{path_segment(event_id)}/"
        f"{path_segment(txn_id)}"
    )
    return await _put(client, path, content, max_attempts, on_retry)


async def set_state(
    client: MatrixClient,
    room_id: str,
    event_type: str,
    state_key: str,
    content: dict,
    *,
    max_attempts: int | None = None,
    on_retry: RetryCallback | None = None,
    timeout: float | None = None,
) -> str:
    """PUT /rooms/{roomId}/state/{eventType}/{stateKey}; return the event id.

    This endpoint has no transaction id. A retry is still safe because
    Synapse returns the current event instead of a new one when the same
    sender sets the same content again (deduplicate_state_event, 1.163).
    """
    path = (
        f"{_ROOMS}/{path_segment(room_id)}/state/{path_segment(event_type)}/"
        f"{path_segment(state_key)}"
    )
    return await _put(client, path, content, max_attempts, on_retry, timeout)


async def find_own_event(
    client: MatrixClient,
    room_id: str,
    *,
    sender: str,
    event_type: str,
    key: str,
    value: str,
    max_pages: int = 10,
    page_size: int = 100,
    on_retry: RetryCallback | None = None,
) -> str | None:
    """Return the id of the latest event by sender whose content[key] is value.

    Pages the room's timeline backwards from its end with /messages, asking
    the server to return only sender's events of event_type, for at most
    max_pages pages. Returns None when none was found within that bound.

    NOTE: a redacted event has lost its content, client id included, so an
    item whose event a moderator already deleted is not found and is sent
    again.
    """
    room_filter = {
        "senders": [sender],
        "types": [event_type],
        "lazy_load_members": True,
    }
    params: dict[str, Any] = {
        "dir": "b",
        "limit": page_size,
        "filter": json.dumps(room_filter, separators=(",", ":")),
    }
    path = f"{_ROOMS}/{path_segment(room_id)}/messages"
    for _ in range(max_pages):
        page = await client.request(
            "GET", path, params=params, max_attempts=None, on_retry=on_retry
        )
        chunk = page.get("chunk")
        chunk = chunk if isinstance(chunk, list) else []
        for event in chunk:
            if _matches(event, sender, key, value):
                return event["event_id"]
        end = page.get("end")
        if not chunk or not isinstance(end, str) or end == params.get("from"):
            return None
        params["from"] = end
    return None


def _matches(event: Any, sender: str, key: str, value: str) -> bool:
    if not isinstance(event, dict) or event.get("sender") != sender:
        return False
    content = event.get("content")
    event_id = event.get("event_id")
    return (
        isinstance(content, dict)
        and content.get(key) == value
        and isinstance(event_id, str)
    )
