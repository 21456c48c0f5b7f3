"""Client-server endpoints for the directory, hierarchy, membership and room state.

Each function is one request through ``HttpClient.request``, which owns
retries. Membership changes and state writes are idempotent on the server
(joining twice, inviting someone already invited, setting the same state
again), so retrying them is safe.
"""

from __future__ import annotations

import json
from typing import Any

from app.matrix.client import MatrixClient
from app.matrix.errors import NotFound, NotMatrixServer
from app.matrix.urls import path_segment

_V3 = "/_matrix/client/v3"
_V1 = "/_matrix/client/v1"

# Directory entries asked for per page.
DIRECTORY_PAGE_SIZE = 30
# Rooms asked for per page of a space's hierarchy; one page covers any
# space that Commonplace creates.
HIERARCHY_PAGE_SIZE = 50
# Replies asked for per page of a thread's relations, and the pages read at
# most: 100 pages cover threads of 10,000 replies.
RELATIONS_PAGE_SIZE = 100
RELATIONS_MAX_PAGES = 100
# Largest room state read at once: an estimate far above a space or board
# of a few thousand members.
ROOM_STATE_MAX_BYTES = 32 * 1024 * 1024


def _room(room_id: str) -> str:
    return f"{_V3}/rooms/{path_segment(room_id)}"


async def public_spaces(
    client: MatrixClient,
    term: str = "",
    since: str | None = None,
    limit: int = DIRECTORY_PAGE_SIZE,
) -> dict:
    """POST /publicRooms filtered to spaces whose name, topic or alias contains term."""
    body: dict[str, Any] = {"limit": limit, "filter": {"room_types": ["m.space"]}}
    if term:
        body["filter"]["generic_search_term"] = term
    if since:
        body["since"] = since
    return await client.request("POST", f"{_V3}/publicRooms", json=body)


async def space_hierarchy(
    client: MatrixClient, space_id: str, *, max_depth: int = 1
) -> list[dict]:
    """Return the rooms of GET /v1/rooms/{id}/hierarchy: the space first, then its children."""
    path = f"{_V1}/rooms/{path_segment(space_id)}/hierarchy"
    params: dict[str, Any] = {"max_depth": max_depth, "limit": HIERARCHY_PAGE_SIZE}
    rooms: list[dict] = []
    # NOTE: a space with more than 10 pages of rooms is listed in part.
    for _ in range(10):
        page = await client.request("GET", path, params=params)
        chunk = page.get("rooms")
        rooms.extend(room for room in chunk or [] if isinstance(room, dict))
        next_batch = page.get("next_batch")
        if not isinstance(next_batch, str) or not next_batch:
            break
        params["from"] = next_batch
    return rooms


async def thread_reply_ids(
    client: MatrixClient, room_id: str, root_id: str
) -> list[str]:
    """Return the ids of a thread's replies (GET /v1/.../relations/{id}/m.thread).

    Synapse 1.163 lists the newest first and leaves out deleted replies,
    because a redaction removes their m.relates_to.
    """
    path = (
        f"{_V1}/rooms/{path_segment(room_id)}/relations/{path_segment(root_id)}"
        "/m.thread"
    )
    params: dict[str, Any] = {"limit": RELATIONS_PAGE_SIZE}
    replies: list[str] = []
    # NOTE: a thread of more than RELATIONS_MAX_PAGES pages is listed in part.
    for _ in range(RELATIONS_MAX_PAGES):
        page = await client.request("GET", path, params=params)
        chunk = page.get("chunk")
        for event in chunk if isinstance(chunk, list) else []:
            event_id = event.get("event_id") if isinstance(event, dict) else None
            if isinstance(event_id, str) and event_id.startswith("$"):
                replies.append(event_id)
        next_batch = page.get("next_batch")
        if not isinstance(next_batch, str) or not next_batch:
            break
        params["from"] = next_batch
    return list(dict.fromkeys(replies))


async def join(client: MatrixClient, room_id_or_alias: str) -> str:
    """POST /join/{roomIdOrAlias}; return the room id."""
    response = await client.request(
        "POST", f"{_V3}/join/{path_segment(room_id_or_alias)}", json={}
    )
    room_id = response.get("room_id")
    return room_id if isinstance(room_id, str) else room_id_or_alias


async def knock(client: MatrixClient, room_id_or_alias: str, reason: str = "") -> str:
    """POST /knock/{roomIdOrAlias}; return the room id."""
    body = {"reason": reason} if reason else {}
    response = await client.request(
        "POST", f"{_V3}/knock/{path_segment(room_id_or_alias)}", json=body
    )
    room_id = response.get("room_id")
    return room_id if isinstance(room_id, str) else room_id_or_alias


async def leave(client: MatrixClient, room_id: str, reason: str = "") -> None:
    """POST /rooms/{id}/leave; also declines an invitation or withdraws a knock."""
    body = {"reason": reason} if reason else {}
    await client.request("POST", f"{_room(room_id)}/leave", json=body)


async def invite(client: MatrixClient, room_id: str, user_id: str) -> None:
    await client.request("POST", f"{_room(room_id)}/invite", json={"user_id": user_id})


async def kick(
    client: MatrixClient, room_id: str, user_id: str, reason: str = ""
) -> None:
    """POST /rooms/{id}/kick: removes a member, or rejects a knock."""
    body = {"user_id": user_id}
    if reason:
        body["reason"] = reason
    await client.request("POST", f"{_room(room_id)}/kick", json=body)


async def get_state(
    client: MatrixClient, room_id: str, event_type: str, state_key: str = ""
) -> dict | None:
    """Return the content of a state event, or None when the room has none."""
    path = (
        f"{_room(room_id)}/state/{path_segment(event_type)}/{path_segment(state_key)}"
    )
    try:
        return await client.request("GET", path)
    except NotFound:
        return None


async def member_event(client: MatrixClient, room_id: str, user_id: str) -> dict:
    """Return the whole m.room.member event of user_id (GET .../state ?format=event).

    Synapse 1.163 shows a user their own event after they left or were
    removed, but raises Forbidden once they are banned.
    """
    path = f"{_room(room_id)}/state/m.room.member/{path_segment(user_id)}"
    return await client.request("GET", path, params={"format": "event"})


async def room_summary(client: MatrixClient, room_id_or_alias: str) -> dict:
    """Return GET /v1/room_summary/{roomIdOrAlias}, with the user's membership."""
    return await client.request(
        "GET", f"{_V1}/room_summary/{path_segment(room_id_or_alias)}"
    )


async def alias_room(
    client: MatrixClient,
    alias: str,
    *,
    timeout: float | None = None,
    max_attempts: int | None = 4,
) -> str | None:
    """Return the room id that a room alias points to, or None if it is free."""
    try:
        response = await client.request(
            "GET",
            f"{_V3}/directory/room/{path_segment(alias)}",
            timeout=timeout,
            max_attempts=max_attempts,
        )
    except NotFound:
        return None
    room_id = response.get("room_id")
    return room_id if isinstance(room_id, str) else None


async def create_alias(
    client: MatrixClient,
    alias: str,
    room_id: str,
    *,
    timeout: float | None = None,
    max_attempts: int | None = 4,
) -> None:
    """PUT /directory/room/{alias}; raises RequestFailed (409) when it is taken."""
    await client.request(
        "PUT",
        f"{_V3}/directory/room/{path_segment(alias)}",
        json={"room_id": room_id},
        timeout=timeout,
        max_attempts=max_attempts,
    )


async def room_state(
    client: MatrixClient,
    room_id: str,
    *,
    timeout: float | None = None,
    max_attempts: int | None = 4,
) -> list[dict]:
    """Return GET /rooms/{id}/state: the room's current state events."""
    # The endpoint returns a JSON array, which request() rejects as not an
    # object, so the body is read as bytes and decoded here.
    body, _ = await client.request_bytes(
        "GET",
        f"{_room(room_id)}/state",
        max_bytes=ROOM_STATE_MAX_BYTES,
        timeout=timeout,
        max_attempts=max_attempts,
    )
    try:
        events = json.loads(body)
    except ValueError as error:
        raise NotMatrixServer(
            f"{client.host} returned room state that is not JSON.", details=str(error)
        ) from error
    if not isinstance(events, list):
        raise NotMatrixServer(
            f"{client.host} returned room state that is not a list of events."
        )
    return events
