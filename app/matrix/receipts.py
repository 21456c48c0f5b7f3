"""Read receipts and the read marker (client-server API, "Receipts" and "Read markers").

Both are idempotent, so the network layer may retry them. A receipt with a
``thread_id`` is a threaded receipt: "main" for events of the main timeline
(thread roots included), or a thread root's event id for events in that
thread. A receipt without one is unthreaded and marks every earlier event of
the room read, threads included.
"""

from __future__ import annotations

from app.matrix.client import MatrixClient
from app.matrix.http import RetryCallback
from app.matrix.urls import path_segment

_CLIENT_API = "/_matrix/client/v3"


async def send_receipt(
    client: MatrixClient,
    room_id: str,
    event_id: str,
    *,
    thread_id: str | None = None,
    receipt_type: str = "m.read",
    max_attempts: int | None = 4,
    on_retry: RetryCallback | None = None,
) -> None:
    """Send ``POST /rooms/{roomId}/receipt/{receiptType}/{eventId}``.

    Synapse 1.163 rejects it with 400 when ``thread_id`` is not the event's thread.
    """
    body = {} if thread_id is None else {"thread_id": thread_id}
    path = (
        f"{_CLIENT_API}/rooms/{path_segment(room_id)}/receipt/"
        f"{path_segment(receipt_type)}/{path_segment(event_id)}"
    )
    await client.request(
        "POST", path, json=body, max_attempts=max_attempts, on_retry=on_retry
    )


async def set_read_markers(
    client: MatrixClient,
    room_id: str,
    *,
    fully_read: str | None = None,
    read: str | None = None,
    max_attempts: int | None = 4,
    on_retry: RetryCallback | None = None,
) -> None:
    """Send ``POST /rooms/{roomId}/read_markers``: the read marker and a receipt.

    ``fully_read`` moves the ``m.fully_read`` marker; ``read`` sends an
    unthreaded ``m.read`` receipt in the same request.
    """
    body = {}
    if fully_read is not None:
        body["m.fully_read"] = fully_read
    if read is not None:
        body["m.read"] = read
    if not body:
        raise ValueError("set_read_markers needs fully_read or read.")
    path = f"{_CLIENT_API}/rooms/{path_segment(room_id)}/read_markers"
    await client.request(
        "POST", path, json=body, max_attempts=max_attempts, on_retry=on_retry
    )
