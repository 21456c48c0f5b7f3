"""Client-server endpoints for joining and creating rooms, and for account data.

``POST /createRoom`` has no transaction id, so sending it again after a lost
response can make a second room. ``create_room_once`` therefore sends it one
attempt at a time. After a failure that leaves the outcome unknown (no
response, or a 5xx), it looks for a joined room whose m.room.create content
carries the caller's marker before it sends the request again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from app.matrix import http
from app.matrix.client import MatrixClient
from app.matrix.errors import (
    ConnectionFailed,
    Forbidden,
    NotFound,
    NotMatrixServer,
    RateLimited,
)
from app.matrix.urls import path_segment

log = logging.getLogger(__name__)

_CLIENT_API = "/_matrix/client/v3"

# createRoom requests sent, at most, by one create_room_once call.
CREATE_ATTEMPTS = 3


async def joined_rooms(
    client: MatrixClient, *, timeout: float | None = None, max_attempts: int | None = 4
) -> list[str]:
    """Return the ids of the rooms the user has joined (GET /joined_rooms)."""
    response = await client.request(
        "GET",
        f"{_CLIENT_API}/joined_rooms",
        timeout=timeout,
        max_attempts=max_attempts,
    )
    rooms = response.get("joined_rooms")
    if not isinstance(rooms, list):
        return []
    return [room for room in rooms if isinstance(room, str) and room.startswith("!")]


async def room_create_content(
    client: MatrixClient,
    room_id: str,
    *,
    timeout: float | None = None,
    max_attempts: int | None = 4,
) -> dict:
    """Return the content of the room's m.room.create event."""
    path = f"{_CLIENT_API}/rooms/{path_segment(room_id)}/state/m.room.create/"
    return await client.request("GET", path, timeout=timeout, max_attempts=max_attempts)


async def join_room(client: MatrixClient, room_id: str) -> str:
    """Join a room, or accept its invitation, and return the room id.

    Joining is idempotent, so the network layer may retry it.
    """
    path = f"{_CLIENT_API}/rooms/{path_segment(room_id)}/join"
    response = await client.request("POST", path, json={})
    joined = response.get("room_id")
    return joined if isinstance(joined, str) and joined.startswith("!") else room_id


async def get_account_data(
    client: MatrixClient, user_id: str, event_type: str
) -> dict | None:
    """Return the user's global account data of event_type, or None if unset."""
    path = (
        f"{_CLIENT_API}/user/{path_segment(user_id)}/account_data/"
        f"{path_segment(event_type)}"
    )
    try:
        return await client.request("GET", path)
    except NotFound:
        return None


async def set_account_data(
    client: MatrixClient, user_id: str, event_type: str, content: dict
) -> None:
    """Replace the user's global account data of event_type with content.

    The server keeps no history and compares nothing, so a caller that adds
    to the data reads it first and sends the whole of it back.
    """
    path = (
        f"{_CLIENT_API}/user/{path_segment(user_id)}/account_data/"
        f"{path_segment(event_type)}"
    )
    await client.request("PUT", path, json=content)


async def find_room_by_marker(
    client: MatrixClient,
    marker_key: str,
    marker_value: str,
    *,
    exclude: Callable[[list[str]], Collection[str]] = lambda room_ids: (),
    timeout: float | None = None,
    max_attempts: int | None = 4,
) -> str | None:
    """Return a joined room whose m.room.create content has marker_key: marker_value.

    exclude(room_ids) names joined rooms that cannot be the one sought, so
    their m.room.create is not fetched. timeout (seconds) and max_attempts
    apply to each request. Raises ConnectionFailed when the server cannot be
    reached.

    NOTE: this sends one request per joined room that exclude does not name,
    which on a cache that has not synced yet is every joined room.
    """
    limits = {"timeout": timeout, "max_attempts": max_attempts}
    rooms = await joined_rooms(client, **limits)
    skipped = set(exclude(rooms))
    for room_id in rooms:
        if room_id in skipped:
            continue
        try:
            content = await room_create_content(client, room_id, **limits)
        except (NotFound, Forbidden):
            continue
        if content.get(marker_key) == marker_value:
            return room_id
    return None


async def create_room_once(
    client: MatrixClient,
    body: dict,
    *,
    marker_key: str,
    marker_value: str,
    exclude: Callable[[list[str]], Collection[str]] = lambda room_ids: (),
    timeout: float | None = None,
    lookup_timeout: float | None = None,
    lookup_attempts: int | None = 4,
) -> str:
    """Create a room with POST /createRoom, never twice, and return its id.

    body["creation_content"] must contain marker_key: marker_value, a value
    unique to this room. Each attempt is one request. After an attempt whose
    outcome is unknown, the joined rooms are searched for the marker before
    the next attempt. A 429 created nothing, so it is retried without a
    search. Raises the last error after CREATE_ATTEMPTS attempts, or the
    search's ConnectionFailed. timeout is in seconds for createRoom, and
    lookup_timeout and lookup_attempts limit each request of the search.
    """
    creation = body.get("creation_content")
    if not isinstance(creation, dict) or creation.get(marker_key) != marker_value:
        raise ValueError(
            f"body['creation_content'] must contain {marker_key!r}: {marker_value!r}, "
            "so that the room can be found after a lost response."
        )
    path = f"{_CLIENT_API}/createRoom"
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            response = await client.request(
                "POST", path, json=body, max_attempts=1, timeout=timeout
            )
        except (ConnectionFailed, RateLimited) as error:
            if attempt == CREATE_ATTEMPTS and isinstance(error, RateLimited):
                raise
            delay = http.retry_delay(error, attempt)
            log.warning(
                "createRoom failed (attempt %d of %d): %s %s; %s in %.1f s",
                attempt,
                CREATE_ATTEMPTS,
                type(error).__name__,
                error.details or error.message,
                "looking for the room" if attempt == CREATE_ATTEMPTS else "retrying",
                delay,
            )
            await http._sleep(delay)
            if isinstance(error, ConnectionFailed):
                found = await find_room_by_marker(
                    client,
                    marker_key,
                    marker_value,
                    exclude=exclude,
                    timeout=lookup_timeout,
                    max_attempts=lookup_attempts,
                )
                if found is not None:
                    log.info("createRoom had succeeded: found %s by its marker", found)
                    return found
            if attempt == CREATE_ATTEMPTS:
                raise
            continue
        room_id = response.get("room_id")
        if not isinstance(room_id, str) or not room_id.startswith("!"):
            raise NotMatrixServer(
                f"{client.host} created the room but returned no room id.",
                details=f"Response keys: {sorted(response)}",
            )
        return room_id
    raise AssertionError("unreachable: the last attempt returns or raises")
