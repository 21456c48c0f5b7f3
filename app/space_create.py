"""Creating a group space and its standard rooms, never twice.

``POST /createRoom`` has no transaction id, so each room carries a marker in
its m.room.create content and is sent by app.matrix.rooms.create_room_once.
The space's marker is the creation's client id, and its rooms' markers are
the client id + "/board" and "/files". Each finished step is recorded in the
cache's space_creations table before the next one starts. A creation cut
short (a lost response, a crash, going offline) is resumed by the next call
with the same name and visibility: rooms recorded as made are reused, and a
room whose request may have reached the server is looked for by its marker
before it is requested again.

Every room gives owners 100, moderators 50 and members 0, with
``power_level_content_override``:

- inviting (and so approving a request to join), removing people, deleting
  others' posts, pinning and linking rooms need a moderator;
- changing roles, the history setting, encryption and upgrades need an owner;
- in the space room itself only moderators may send messages, as other
  clients treat a space as a list of rooms, not a chat;
- in a board any member may set the accepted answer of their own question.

In room version 12 and later the creator has unlimited power and is not
listed in the power levels.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import uuid

from app import namespace as ns
from app.matrix.client import MatrixClient
from app.matrix.errors import RequestFailed
from app.matrix.room_events import set_state
from app.matrix.rooms import create_room_once, find_room_by_marker
from app.matrix.space_requests import alias_room, create_alias
from app.store import Store, space_store

log = logging.getLogger(__name__)

_BASE_LEVELS = {
    "users_default": 0,
    "events_default": 0,
    "state_default": 50,
    "invite": 50,
    "kick": 50,
    "ban": 50,
    "redact": 50,
}
_OWNER_EVENTS = {
    "m.room.power_levels": 100,
    "m.room.history_visibility": 100,
    "m.room.encryption": 100,
    "m.room.tombstone": 100,
    "m.room.server_acl": 100,
}
SPACE_LEVELS = {**_BASE_LEVELS, "events_default": 50, "events": dict(_OWNER_EVENTS)}
BOARD_LEVELS = {
    **_BASE_LEVELS,
    "events": {**_OWNER_EVENTS, ns.ACCEPTED_ANSWER_EVENT: 0},
}
FILES_LEVELS = {**_BASE_LEVELS, "events": dict(_OWNER_EVENTS)}

# The standard rooms: (kind, name, m.space.child order key, power levels).
STANDARD_ROOMS = (
    ("board", "Discussions", "a", BOARD_LEVELS),
    ("files", "Files", "b", FILES_LEVELS),
)
# Limits on the requests of a creation, so that a server that stops
# responding gives the offline message within about 30 s. createRoom waits
# CREATE_ROOM_TIMEOUT, then one look-up for its marker waits STEP_TIMEOUT.
# Each other step makes two attempts of STEP_TIMEOUT. Back-off adds under a
# second. The timeouts are the longest silence per read or write, in
# seconds. The createRoom one is longer, because Synapse builds the whole
# room before it responds.
CREATE_ROOM_TIMEOUT = 20.0
STEP_TIMEOUT = 10.0
STEP_ATTEMPTS = 2
LOOKUP_ATTEMPTS = 1
_STEP = {"timeout": STEP_TIMEOUT, "max_attempts": STEP_ATTEMPTS}
# Room aliases tried for a listed space: the name's slug, then slug-2 and so on.
ALIAS_ATTEMPTS = 5
_MAX_SLUG = 40


async def create_space(
    client: MatrixClient,
    store: Store,
    server_name: str,
    *,
    name: str,
    topic: str,
    visibility: str,
    avatar: bytes | None,
    avatar_name: str | None,
) -> tuple[str, list[str]]:
    """Create or finish creating a space; return its id and its rooms' ids."""
    creation = space_store.unfinished_creation(store.reader(), name, visibility)
    resuming = creation is not None
    if creation is None:
        client_id = uuid.uuid4().hex
        # Stored before the first request, so that a crash or a lost response
        # leaves a marker that the next call looks for.
        await store.write(
            space_store.start_creation, client_id, name, topic, visibility
        )
        creation = {"client_id": client_id}
    else:
        log.info("Resuming the creation of space %r (%s)", name, creation["client_id"])
    client_id = creation["client_id"]

    async def record(**values) -> None:
        await store.write(space_store.update_creation, client_id, values)
        creation.update(values)

    avatar_url = creation.get("avatar_url")
    if avatar is not None and avatar_url is None:
        content_type = mimetypes.guess_type(avatar_name or "")[0] or "image/png"
        avatar_url = await client.upload_media(
            avatar, content_type, avatar_name, **_STEP
        )
        await record(avatar_url=avatar_url)

    space_id = creation.get("space_id")
    if space_id is None:
        body = _space_body(name, topic, visibility, avatar_url, client_id)
        space_id = await _create_once(client, body, client_id, look_first=resuming)
        await record(space_id=space_id)

    rooms = []
    for kind, room_name, order, levels in STANDARD_ROOMS:
        column = f"{kind}_id"
        room_id = creation.get(column)
        if room_id is None:
            marker = f"{client_id}/{kind}"
            body = _room_body(
                room_name, kind, levels, space_id, server_name, marker, visibility
            )
            room_id = await _create_once(client, body, marker, look_first=resuming)
            await record(**{column: room_id})
        # Setting the same state again changes nothing, so a resumed
        # creation sends the link again rather than remembering it.
        await set_state(
            client,
            space_id,
            "m.space.child",
            room_id,
            {"via": [server_name], "order": order},
            **_STEP,
        )
        rooms.append(room_id)

    if visibility != "invite" and creation.get("alias") is None:
        alias = await _publish_alias(client, space_id, name, server_name)
        await record(alias=alias)
    await record(finished=1)
    return space_id, rooms


async def _create_once(
    client: MatrixClient, body: dict, marker: str, *, look_first: bool
) -> str:
    if look_first:
        found = await find_room_by_marker(
            client,
            ns.CLIENT_ID_KEY,
            marker,
            timeout=STEP_TIMEOUT,
            max_attempts=LOOKUP_ATTEMPTS,
        )
        if found is not None:
            log.info("Found room %s from an unfinished space creation", found)
            return found
    return await create_room_once(
        client,
        body,
        marker_key=ns.CLIENT_ID_KEY,
        marker_value=marker,
        timeout=CREATE_ROOM_TIMEOUT,
        lookup_timeout=STEP_TIMEOUT,
        lookup_attempts=LOOKUP_ATTEMPTS,
    )


def _space_body(
    name: str, topic: str, visibility: str, avatar_url: str | None, client_id: str
) -> dict:
    initial_state = []
    if visibility == "knock":
        initial_state.append(
            {
                "type": "m.room.join_rules",
                "state_key": "",
                "content": {"join_rule": "knock"},
            }
        )
    if avatar_url:
        initial_state.append(
            {"type": "m.room.avatar", "state_key": "", "content": {"url": avatar_url}}
        )
    body = {
        "preset": "public_chat" if visibility == "public" else "private_chat",
        # Listed spaces are published in the server's room directory.
        "visibility": "private" if visibility == "invite" else "public",
        "name": name,
        "creation_content": {"type": "m.space", ns.CLIENT_ID_KEY: client_id},
        "power_level_content_override": SPACE_LEVELS,
        "initial_state": initial_state,
    }
    if topic:
        body["topic"] = topic
    return body


def _room_body(
    name: str,
    kind: str,
    levels: dict,
    space_id: str,
    server_name: str,
    marker: str,
    visibility: str,
) -> dict:
    # The rooms of a public space are public too, because Synapse 1.163 hides
    # rooms restricted to a space from the hierarchy that people outside the
    # space see, so they could not look inside before joining.
    if visibility == "public":
        join_rule = {"join_rule": "public"}
    else:
        join_rule = {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": space_id}],
        }
    return {
        "preset": "private_chat",
        "name": name,
        "creation_content": {ns.CLIENT_ID_KEY: marker},
        "power_level_content_override": levels,
        "initial_state": [
            {"type": "m.room.join_rules", "state_key": "", "content": join_rule},
            {
                "type": "m.space.parent",
                "state_key": space_id,
                "content": {"via": [server_name], "canonical": True},
            },
            {"type": ns.ROOM_KIND_EVENT, "state_key": "", "content": {"kind": kind}},
        ],
    }


def alias_slug(name: str) -> str:
    """Return the local part of a room alias made from a space's name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:_MAX_SLUG]
    return slug.strip("-") or "space"


async def _publish_alias(
    client: MatrixClient, space_id: str, name: str, server_name: str
) -> str | None:
    """Give a listed space a room alias and make it canonical; return the alias.

    Tries the name's slug, then slug-2 and so on. An alias that already
    points to this space (an earlier attempt) is kept. Returns None when all
    are taken, since the directory lists the space without an alias too.
    """
    slug = alias_slug(name)
    for attempt in range(1, ALIAS_ATTEMPTS + 1):
        local = slug if attempt == 1 else f"{slug}-{attempt}"
        alias = f"#{local}:{server_name}"
        owner = await alias_room(client, alias, **_STEP)
        if owner is None:
            try:
                await create_alias(client, alias, space_id, **_STEP)
            except RequestFailed as error:
                # Taken between the look-up and the request.
                log.info("Room alias %s is taken: %s", alias, error.errcode)
                continue
        elif owner != space_id:
            continue
        await set_state(
            client,
            space_id,
            "m.room.canonical_alias",
            "",
            {"alias": alias},
            **_STEP,
        )
        return alias
    log.warning(
        "No free room alias for space %s after %d tries", space_id, ALIAS_ATTEMPTS
    )
    return None
