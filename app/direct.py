"""Direct rooms: a private room with one other person, as in m.direct.

open_direct_room reuses, accepts or creates such a room, in this order:

1. a joined room that the cached m.direct lists for the person, unless the
   cache shows that the person has left it;
2. a room whose set-up an earlier call began but could not finish (see
   app.store.direct_store), found again by the marker in its m.room.create;
3. an invitation from the person marked ``is_direct``, which is accepted;
4. a joined room that the server's m.direct lists (a cache that has not
   synced yet does not know it);
5. a new room, once the person's profile shows that they exist: createRoom
   with the ``trusted_private_chat`` preset, ``is_direct`` and an invitation,
   sent by app.matrix.rooms.create_room_once so that a lost response never
   leaves two rooms.

Cases 2, 3 and 5 then add the room to the server's m.direct, keeping every
other entry, and cache it as joined so the sidebar lists it at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref

from app import namespace as ns
from app.matrix.client import MatrixClient
from app.matrix.errors import Forbidden, NotFound, RequestFailed
from app.matrix.rooms import (
    create_room_once,
    find_room_by_marker,
    get_account_data,
    join_room,
    joined_rooms,
    set_account_data,
)
from app.store import Store, direct_store
from app.sync.translate import parse_direct_rooms, valid_user_id

log = logging.getLogger(__name__)

DIRECT_EVENT_TYPE = "m.direct"

# One lock per cache and person, so two calls for the same person (a double
# click) cannot both create a room.
_locks: weakref.WeakKeyDictionary[Store, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


async def open_direct_room(
    client: MatrixClient, store: Store, own_user_id: str, other_user_id: str
) -> str:
    """Return the id of a joined direct room with other_user_id.

    Raises ValueError for an invalid user id or one's own, ConnectionFailed
    when the server cannot be reached and no cached room can be reused, and
    other MatrixError subclasses when the server rejects a step. A step that
    failed is resumed by the next call.
    """
    if not valid_user_id(other_user_id):
        raise ValueError(
            f"'{other_user_id}' is not a Matrix user id. A user id looks like "
            "@name:example.org."
        )
    if other_user_id == own_user_id:
        raise ValueError("A direct room needs another person, not your own account.")
    lock = _locks.setdefault(store, {}).setdefault(other_user_id, asyncio.Lock())
    async with lock:
        return await _open(client, store, own_user_id, other_user_id)


async def _open(
    client: MatrixClient, store: Store, own_user_id: str, other_user_id: str
) -> str:
    conn = store.reader()
    room_id = direct_store.joined_direct_room(conn, other_user_id)
    if room_id is not None:
        return room_id

    pending = direct_store.pending_direct(conn, other_user_id)
    room_id = pending.get("room_id")
    client_id = pending.get("client_id")
    if room_id is None and client_id is not None:
        room_id = await find_room_by_marker(
            client,
            ns.CLIENT_ID_KEY,
            client_id,
            exclude=_rooms_without(store, other_user_id),
        )
        if room_id is not None:
            log.info("Found direct room %s from an unfinished creation", room_id)
    if room_id is None:
        room_id = await _accept_invite(client, store, own_user_id, other_user_id)

    if room_id is None:
        server_direct = await _server_direct(client, own_user_id)
        room_id = await _listed_on_server(client, store, server_direct, other_user_id)
    if room_id is None:
        room_id = await _create(client, store, other_user_id, client_id)

    await _mark_direct(client, store, own_user_id, other_user_id, room_id)
    return room_id


async def _server_direct(client: MatrixClient, own_user_id: str) -> dict:
    content = await get_account_data(client, own_user_id, DIRECT_EVENT_TYPE)
    return content if isinstance(content, dict) else {}


def _rooms_without(store: Store, other_user_id: str):
    def exclude(room_ids: list[str]) -> set[str]:
        return direct_store.rooms_without_member(
            store.reader(), room_ids, other_user_id
        )

    return exclude


async def _accept_invite(
    client: MatrixClient, store: Store, own_user_id: str, other_user_id: str
) -> str | None:
    room_id = direct_store.direct_invite_from(
        store.reader(), own_user_id, other_user_id
    )
    if room_id is None:
        return None
    try:
        await join_room(client, room_id)
    except (NotFound, Forbidden) as error:
        # The invitation was withdrawn or the room is gone, so a new room is made.
        log.warning("Could not accept the direct invitation to %s: %s", room_id, error)
        return None
    await store.write(direct_store.save_pending_direct, other_user_id, None, room_id)
    return room_id


async def _listed_on_server(
    client: MatrixClient, store: Store, server_direct: dict, other_user_id: str
) -> str | None:
    """Return a joined room that the server's m.direct lists for the person."""
    listed = parse_direct_rooms(server_direct).rooms.get(other_user_id, ())
    if not listed:
        return None
    joined = set(await joined_rooms(client))
    left = direct_store.rooms_left_by(store.reader(), list(listed), other_user_id)
    for room_id in listed:
        if room_id in joined and room_id not in left:
            return room_id
    return None


async def _create(
    client: MatrixClient, store: Store, other_user_id: str, client_id: str | None
) -> str:
    if client_id is None:
        # Synapse 1.163 creates a room for a user id that does not exist and
        # "invites" it. The profile request raises NotFound for such an id.
        await client.get_profile(other_user_id)
    client_id = client_id or uuid.uuid4().hex
    # Stored before the request, so that a crash or a lost response leaves a
    # marker that the next call looks for before it creates anything.
    await store.write(direct_store.save_pending_direct, other_user_id, client_id, None)
    body = {
        "preset": "trusted_private_chat",
        "is_direct": True,
        "invite": [other_user_id],
        "creation_content": {ns.CLIENT_ID_KEY: client_id},
    }
    try:
        room_id = await create_room_once(
            client,
            body,
            marker_key=ns.CLIENT_ID_KEY,
            marker_value=client_id,
            exclude=_rooms_without(store, other_user_id),
        )
    except RequestFailed:
        # The server rejected the request, so it made no room to look for.
        await store.write(direct_store.forget_pending_direct, other_user_id)
        raise
    await store.write(direct_store.save_pending_direct, other_user_id, None, room_id)
    log.info("Created direct room %s", room_id)
    return room_id


async def _mark_direct(
    client: MatrixClient,
    store: Store,
    own_user_id: str,
    other_user_id: str,
    room_id: str,
) -> None:
    """Add room_id to m.direct on the server unless listed, then cache the room."""
    server_direct = await _server_direct(client, own_user_id)
    merged = merge_direct(server_direct, other_user_id, room_id)
    # NOTE: account data has no compare-and-swap, so an m.direct change that
    # another client makes between the read above and this write is lost.
    if merged != server_direct:
        await set_account_data(client, own_user_id, DIRECT_EVENT_TYPE, merged)
    await store.write(
        direct_store.record_direct_room,
        room_id,
        other_user_id,
        parse_direct_rooms(merged),
    )


def merge_direct(content: dict, user_id: str, room_id: str) -> dict:
    """Return m.direct content with room_id added under user_id.

    Every other entry is kept as the server had it, even one that this
    client cannot parse, because other clients wrote it.
    """
    merged = dict(content)
    rooms = merged.get(user_id)
    rooms = list(rooms) if isinstance(rooms, list) else []
    if room_id not in rooms:
        rooms.append(room_id)
    merged[user_id] = rooms
    return merged
