"""Seed a homeserver with the demo organisation through the client-server API.

Everything is written as another Matrix client would write it (see
docs/formats.md): people with extended profiles and avatars, group spaces with
a discussion board and a files area each, threaded discussions with replies
and likes, and files. The texts come from ``devtools/demo_data``.

Accounts are made with a ``register(localpart, password, admin=False,
displayname=None) -> user_id`` callable such as ``SynapseServer.register``,
because creating accounts is the one step that the client-server API does not
offer on a server with open registration turned off.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import inspect
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from markdown_it import MarkdownIt

from app.namespace import (
    ACCEPTED_ANSWER_EVENT,
    CLIENT_ID_KEY,
    DISCUSSION_KEY,
    LIKE_KEY,
    PROFILE_LIST_FIELDS,
    PROFILE_TEXT_FIELDS,
    ROOM_KIND_EVENT,
    SUPERSEDES_KEY,
)
from devtools import seed_media
from devtools.seed_content import (
    Content,
    DemoFile,
    Discussion,
    Person,
    Space,
    load_content,
)

log = logging.getLogger(__name__)

DEMO_USER = "maya"
# Every demo account has this password, so any of them can be tried out.
DEMO_PASSWORD = "commonplace-demo"
# Alias that seeding adds to the first space when it has finished.
# is_seeded() checks for it.
MARKER_ALIAS = "commonplace-demo"
SEED_DEVICE_ID = "DEMO_SEED"

MAX_CONCURRENT_REQUESTS = 8
MIN_DISCUSSIONS_PER_BOARD = 2
RANDOM_SEED = 20240611  # fixed, so every seed run writes the same organisation

MIME_TYPES = {
    ".pdf": "application/pdf",
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".png": "image/png",
}

_markdown = MarkdownIt("commonmark", {"html": False})
_markdown.enable(["table", "strikethrough"])

RegisterFunction = Callable[..., str | Awaitable[str]]


class SeedError(RuntimeError):
    """The server rejected a seeding request, or contains an unfinished seed."""


@dataclass
class SeededSpace:
    space_id: str
    board_id: str
    files_id: str


@dataclass
class SeedResult:
    """Accounts, rooms and counts made by one seed run.

    ``created`` is False when the server was seeded already, and the counts
    and room ids are then empty.
    """

    created: bool
    demo_user_id: str
    password: str = DEMO_PASSWORD
    user_ids: dict[str, str] = field(default_factory=dict)  # by content localpart
    spaces: dict[str, SeededSpace] = field(default_factory=dict)  # by space key
    discussions: int = 0
    replies: int = 0
    likes: int = 0
    files: int = 0
    seconds: float = 0.0


@dataclass
class _User:
    localpart: str  # as in the content, without the prefix
    user_id: str
    token: str


def _txn_id() -> str:
    return f"seed-{uuid.uuid4().hex}"


def _alias(localpart: str, server_name: str) -> str:
    return f"#{localpart}:{server_name}"


class _Api:
    """Client-server requests as one user or another, a few at a time."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.slots = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)

    async def request(
        self, method: str, path: str, user: _User | None = None, **kwargs
    ) -> dict:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {user.token}"
        async with self.slots:
            response = await self.client.request(
                method, path, headers=headers, **kwargs
            )
        if response.status_code != 200:
            requester = user.user_id if user else "anonymous"
            raise SeedError(
                f"{method} {path} as {requester} failed with HTTP "
                f"{response.status_code}: {response.text[:500]}"
            )
        return response.json()

    async def alias_room(self, alias: str) -> str | None:
        path = f"/_matrix/client/v3/directory/room/{quote(alias, safe='')}"
        response = await self.client.get(path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SeedError(f"Looking up {alias} failed: {response.text[:500]}")
        return response.json()["room_id"]

    async def send(
        self, user: _User, room_id: str, event_type: str, content: dict
    ) -> str:
        path = f"/_matrix/client/v3/rooms/{room_id}/send/{event_type}/{_txn_id()}"
        return (await self.request("PUT", path, user, json=content))["event_id"]

    async def put_state(
        self, user: _User, room_id: str, event_type: str, key: str, content: dict
    ) -> str:
        path = (
            f"/_matrix/client/v3/rooms/{room_id}/state/{event_type}/"
            f"{quote(key, safe='')}"
        )
        return (await self.request("PUT", path, user, json=content))["event_id"]

    async def upload(self, user: _User, name: str, mimetype: str, data: bytes) -> str:
        response = await self.request(
            "POST",
            "/_matrix/media/v3/upload",
            user,
            params={"filename": name},
            headers={"Content-Type": mimetype},
            content=data,
        )
        return response["content_uri"]

    async def create_room(self, user: _User, body: dict) -> str:
        return (
            await self.request("POST", "/_matrix/client/v3/createRoom", user, json=body)
        )["room_id"]

    async def join(self, user: _User, room_id: str) -> None:
        await self.request("POST", f"/_matrix/client/v3/join/{room_id}", user, json={})


# -- people -------------------------------------------------------------------


async def _register(register: RegisterFunction, *args) -> str:
    if inspect.iscoroutinefunction(register):
        return await register(*args)
    result = await asyncio.to_thread(register, *args)
    return await result if inspect.isawaitable(result) else result


async def _login(api: _Api, localpart: str, prefix: str) -> _User | None:
    """Sign in as ``prefix + localpart``; return None if the password fails."""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": prefix + localpart},
        "password": DEMO_PASSWORD,
        "device_id": SEED_DEVICE_ID,
    }
    response = await api.client.post("/_matrix/client/v3/login", json=body)
    if response.status_code != 200:
        return None
    result = response.json()
    return _User(localpart, result["user_id"], result["access_token"])


async def _logout(api: _Api, user: _User) -> None:
    # Deletes the seeding device, so that it does not show in the person's
    # list of sessions.
    await api.request("POST", "/_matrix/client/v3/logout", user, json={})


async def _add_person(
    api: _Api, register: RegisterFunction, person: Person, prefix: str
) -> _User:
    # An account left by an interrupted run has the demo password: sign in.
    user = await _login(api, person.localpart, prefix)
    if user is None:
        localpart = prefix + person.localpart
        await _register(register, localpart, DEMO_PASSWORD, False, person.name)
        user = await _login(api, person.localpart, prefix)
    if user is None:
        raise SeedError(
            f"Signing in as {prefix}{person.localpart} failed after registering it"
        )
    await _set_profile(api, user, person)
    return user


async def _set_profile(api: _Api, user: _User, person: Person) -> None:
    initials = person.initials or seed_media.initials_of(person.name)
    avatar = seed_media.avatar_png(initials, person.color)
    avatar_url = await api.upload(user, f"{person.localpart}.png", "image/png", avatar)
    values = {
        "displayname": person.name,
        "avatar_url": avatar_url,
        **{key: getattr(person, name) for name, key in PROFILE_TEXT_FIELDS.items()},
        **{key: getattr(person, name) for name, key in PROFILE_LIST_FIELDS.items()},
    }
    profile = f"/_matrix/client/v3/profile/{quote(user.user_id, safe='')}"
    await asyncio.gather(
        *(
            api.request("PUT", f"{profile}/{key}", user, json={key: value})
            for key, value in values.items()
        )
    )


# -- spaces and their rooms ---------------------------------------------------


async def _create_space(
    api: _Api, space: Space, users: dict[str, _User], prefix: str, server: str
) -> SeededSpace:
    owner = users[space.owner]
    public = space.join_rule == "public"
    icon = seed_media.avatar_png(seed_media.initials_of(space.name), space.color)
    icon_url = await api.upload(owner, f"{space.key}.png", "image/png", icon)
    others = [users[name].user_id for name in space.members if name != space.owner]
    space_id = await api.create_room(
        owner,
        {
            "name": space.name,
            "topic": space.topic,
            "room_alias_name": prefix + space.key,
            "creation_content": {"type": "m.space"},
            "preset": "public_chat" if public else "private_chat",
            "visibility": "public" if public else "private",
            "invite": [] if public else others,
            # Only the owner posts in the space room itself; members talk in
            # its child rooms.
            "power_level_content_override": {"events_default": 100},
            "initial_state": [
                {"type": "m.room.avatar", "state_key": "", "content": {"url": icon_url}}
            ],
        },
    )
    board_id = await _create_child(api, owner, space, space_id, "board", server)
    files_id = await _create_child(api, owner, space, space_id, "files", server)
    await _allow_accepting_answers(api, owner, board_id)
    for order, child_id in enumerate((board_id, files_id)):
        child = {"via": [server], "suggested": True, "order": f"{order:02d}"}
        await api.put_state(owner, space_id, "m.space.child", child_id, child)

    members = [users[name] for name in space.members if name != space.owner]
    await asyncio.gather(
        *(_join_space(api, user, space_id, board_id, files_id) for user in members)
    )
    return SeededSpace(space_id, board_id, files_id)


async def _create_child(
    api: _Api, owner: _User, space: Space, space_id: str, kind: str, server: str
) -> str:
    label = "discussions" if kind == "board" else "files"
    # As in spaces that Commonplace creates: the rooms of a public space are
    # public, because servers hide rooms restricted to a space from people
    # outside it; a private space's rooms are open to its members.
    join_rules = {"join_rule": "public"}
    if space.join_rule != "public":
        allow = [{"type": "m.room_membership", "room_id": space_id}]
        join_rules = {"join_rule": "restricted", "allow": allow}
    state = [
        {"type": ROOM_KIND_EVENT, "state_key": "", "content": {"kind": kind}},
        {
            "type": "m.space.parent",
            "state_key": space_id,
            "content": {"via": [server], "canonical": True},
        },
        {
            "type": "m.room.join_rules",
            "state_key": "",
            "content": join_rules,
        },
    ]
    body = {
        "name": f"{space.name} {label}",
        "topic": f"The {label} of {space.name}.",
        "preset": "private_chat",
        "visibility": "private",
        "initial_state": state,
    }
    return await api.create_room(owner, body)


async def _allow_accepting_answers(api: _Api, owner: _User, board_id: str) -> None:
    # A question's author, who needs no power, marks its accepted answer.
    path = f"/_matrix/client/v3/rooms/{board_id}/state/m.room.power_levels/"
    levels = await api.request("GET", path, owner)
    levels.setdefault("events", {})[ACCEPTED_ANSWER_EVENT] = 0
    await api.put_state(owner, board_id, "m.room.power_levels", "", levels)


async def _join_space(
    api: _Api, user: _User, space_id: str, board_id: str, files_id: str
) -> None:
    await api.join(user, space_id)
    # The child rooms of a private space are restricted to its members, so
    # these joins only work after the space join.
    await asyncio.gather(api.join(user, board_id), api.join(user, files_id))


# -- discussions ----------------------------------------------------------------


def _scaled(discussions: list[Discussion], scale: float) -> list[Discussion]:
    """Take part of the discussions, or repeat them under numbered titles."""
    count = max(MIN_DISCUSSIONS_PER_BOARD, round(len(discussions) * scale))
    result = list(discussions[:count])
    round_number = 2
    while len(result) < count:
        for item in discussions[: count - len(result)]:
            title = f"{item.title} (round {round_number})"
            result.append(dataclasses.replace(item, title=title))
        round_number += 1
    return result


def _rendered(markdown: str) -> str:
    return _markdown.render(markdown).strip()


def _root_content(discussion: Discussion) -> dict:
    body = discussion.body.strip()
    heading = f"<h3>{html.escape(discussion.title)}</h3>"
    return {
        "msgtype": "m.text",
        "body": f"{discussion.title}\n\n{body}",
        "format": "org.matrix.custom.html",
        "formatted_body": heading + _rendered(body),
        DISCUSSION_KEY: {
            "title": discussion.title,
            "kind": discussion.kind,
            "tags": discussion.tags,
        },
        CLIENT_ID_KEY: str(uuid.uuid4()),
    }


def _reply_content(body: str, root_id: str, in_reply_to: str, quoting: bool):
    return {
        "msgtype": "m.text",
        "body": body.strip(),
        "format": "org.matrix.custom.html",
        "formatted_body": _rendered(body),
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root_id,
            "is_falling_back": not quoting,
            "m.in_reply_to": {"event_id": in_reply_to},
        },
        CLIENT_ID_KEY: str(uuid.uuid4()),
    }


@dataclass
class _BoardCounts:
    discussions: int = 0
    replies: int = 0
    likes: int = 0


async def _fill_board(
    api: _Api,
    space: Space,
    room_id: str,
    users: dict[str, _User],
    scale: float,
) -> _BoardCounts:
    # One generator per board: the boards are filled concurrently, and a
    # shared one would make the likes depend on the order of the requests.
    rng = random.Random(f"{RANDOM_SEED}-{space.key}")
    counts = _BoardCounts()
    for discussion in _scaled(space.discussions, scale):
        await _post_discussion(api, space, room_id, discussion, users, rng, counts)
    return counts


async def _post_discussion(
    api: _Api,
    space: Space,
    room_id: str,
    discussion: Discussion,
    users: dict[str, _User],
    rng: random.Random,
    counts: _BoardCounts,
) -> None:
    author = users[discussion.author]
    root_id = await api.send(
        author, room_id, "m.room.message", _root_content(discussion)
    )
    counts.discussions += 1

    reply_ids: list[str] = []
    previous = discussion.author
    for reply in discussion.replies:
        name = reply.author or rng.choice(
            [member for member in space.members if member != previous]
        )
        quoting = reply.quote is not None
        target = reply_ids[reply.quote] if quoting else (reply_ids or [root_id])[-1]
        content = _reply_content(reply.body, root_id, target, quoting)
        reply_ids.append(
            await api.send(users[name], room_id, "m.room.message", content)
        )
        previous = name
    counts.replies += len(reply_ids)

    if discussion.accepted is not None:
        accepted = {"event_id": reply_ids[discussion.accepted]}
        await api.put_state(author, room_id, ACCEPTED_ANSWER_EVENT, root_id, accepted)

    likes = _pick_likes(space, discussion, root_id, reply_ids, rng)
    await asyncio.gather(
        *(_like(api, users[name], room_id, target) for name, target in likes)
    )
    counts.likes += len(likes)


def _pick_likes(
    space: Space,
    discussion: Discussion,
    root_id: str,
    reply_ids: list[str],
    rng: random.Random,
) -> list[tuple[str, str]]:
    others = [member for member in space.members if member != discussion.author]
    likers = rng.sample(others, rng.randint(1, min(5, len(others))))
    likes = [(name, root_id) for name in likers]
    for reply_id in reply_ids:
        if rng.random() < 0.4:
            likes += [
                (name, reply_id) for name in rng.sample(others, rng.randint(1, 2))
            ]
    return likes


async def _like(api: _Api, user: _User, room_id: str, target: str) -> None:
    relation = {"rel_type": "m.annotation", "event_id": target, "key": LIKE_KEY}
    await api.send(user, room_id, "m.reaction", {"m.relates_to": relation})


# -- files ----------------------------------------------------------------------


def _file_data(item: DemoFile) -> tuple[bytes, dict]:
    """Return the bytes of a demo file and the extra fields of its info block."""
    suffix = item.name[item.name.rfind(".") :].lower()
    if suffix == ".png" and item.colors:
        data, width, height = seed_media.swatches_png(item.text, item.colors)
        return data, {"w": width, "h": height}
    if suffix == ".png":
        data, width, height = seed_media.flow_diagram_png(item.text, item.steps)
        return data, {"w": width, "h": height}
    if suffix == ".pdf":
        return seed_media.markdown_pdf(item.name.removesuffix(".pdf"), item.text), {}
    return item.text.encode("utf-8"), {}


async def _fill_files(
    api: _Api, space: Space, room_id: str, users: dict[str, _User]
) -> int:
    event_ids: dict[str, str] = {}
    for item in space.files:
        user = users[item.author]
        mimetype = MIME_TYPES[item.name[item.name.rfind(".") :].lower()]
        data, extra_info = _file_data(item)
        url = await api.upload(user, item.name, mimetype, data)
        content = {
            "msgtype": "m.image" if mimetype.startswith("image/") else "m.file",
            "body": item.name,
            "filename": item.name,
            "url": url,
            "info": {"mimetype": mimetype, "size": len(data), **extra_info},
        }
        if item.supersedes in event_ids:
            content[SUPERSEDES_KEY] = event_ids[item.supersedes]
        event_ids[item.name] = await api.send(user, room_id, "m.room.message", content)
    return len(space.files)


# -- the whole organisation -----------------------------------------------------


async def _seed(
    api: _Api,
    content: Content,
    register: RegisterFunction,
    scale: float,
    prefix: str,
) -> SeedResult:
    started = time.monotonic()
    people = await asyncio.gather(
        *(_add_person(api, register, person, prefix) for person in content.people)
    )
    users = {user.localpart: user for user in people}
    demo = users[DEMO_USER]
    server = demo.user_id.split(":", 1)[1]

    first = content.spaces[0]
    if await api.alias_room(_alias(prefix + first.key, server)):
        raise SeedError(
            f"The server at {api.client.base_url} contains an unfinished demo seed "
            "(its spaces exist, but the seed was not marked as finished). "
            "Delete the server's data and seed again."
        )
    spaces = await asyncio.gather(
        *(_create_space(api, space, users, prefix, server) for space in content.spaces)
    )
    rooms = {space.key: seeded for space, seeded in zip(content.spaces, spaces)}
    log.info("Created %d people and %d spaces", len(users), len(rooms))

    boards = [
        _fill_board(api, space, rooms[space.key].board_id, users, scale)
        for space in content.spaces
    ]
    file_areas = [
        _fill_files(api, space, rooms[space.key].files_id, users)
        for space in content.spaces
    ]
    board_counts = await asyncio.gather(*boards)
    file_counts = await asyncio.gather(*file_areas)

    marker = _alias(prefix + MARKER_ALIAS, server)
    path = f"/_matrix/client/v3/directory/room/{quote(marker, safe='')}"
    await api.request("PUT", path, demo, json={"room_id": rooms[first.key].space_id})
    await asyncio.gather(*(_logout(api, user) for user in users.values()))

    return SeedResult(
        created=True,
        demo_user_id=demo.user_id,
        user_ids={name: user.user_id for name, user in users.items()},
        spaces=rooms,
        discussions=sum(counts.discussions for counts in board_counts),
        replies=sum(counts.replies for counts in board_counts),
        likes=sum(counts.likes for counts in board_counts),
        files=sum(file_counts),
        seconds=time.monotonic() - started,
    )


async def seed_demo(
    base_url: str,
    register: RegisterFunction,
    *,
    scale: float = 1.0,
    prefix: str = "",
) -> SeedResult:
    """Seed the demo organisation into the homeserver at ``base_url``.

    ``scale`` multiplies the number of discussions per board, with at least 2
    per board; at 1.0 every board has all 16. People and files do not scale.
    ``prefix`` goes before every localpart and alias, so that several
    organisations can share one server. Does nothing when the server is seeded
    already. Raises SeedError when a request fails, or when an earlier run was
    interrupted after creating the spaces.
    """
    content = load_content()
    limits = httpx.Limits(max_connections=MAX_CONCURRENT_REQUESTS)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60.0, limits=limits
    ) as client:
        api = _Api(client)
        marker_found = await _marker_room(api, prefix)
        if marker_found:
            return SeedResult(created=False, demo_user_id=marker_found)
        return await _seed(api, content, register, scale, prefix)


async def _marker_room(api: _Api, prefix: str) -> str | None:
    """Return the demo user's id when the marker alias exists, else None."""
    user = await _login(api, DEMO_USER, prefix)
    if user is None:
        return None
    await _logout(api, user)
    server = user.user_id.split(":", 1)[1]
    if await api.alias_room(_alias(prefix + MARKER_ALIAS, server)) is None:
        return None
    return user.user_id


def seed_demo_sync(
    base_url: str, register: RegisterFunction, *, scale: float = 1.0, prefix: str = ""
) -> SeedResult:
    """Run seed_demo() on a new event loop; for callers without one."""
    return asyncio.run(seed_demo(base_url, register, scale=scale, prefix=prefix))


def is_seeded(base_url: str, server_name: str = "localhost", prefix: str = "") -> bool:
    """Return whether the server has a finished demo seed (its marker alias)."""
    alias = _alias(prefix + MARKER_ALIAS, server_name)
    response = httpx.get(
        f"{base_url}/_matrix/client/v3/directory/room/{quote(alias, safe='')}",
        timeout=10.0,
    )
    if response.status_code == 404:
        return False
    response.raise_for_status()
    return True
