"""Finding, joining, creating and running group spaces.

Every action here needs the server: none is queued in the outbox, because
joining, inviting or changing roles offline and sending it hours later would
surprise the people involved. An action that cannot reach the server raises
SpaceActionError with a plain message, and one that the user's role does not
allow raises it before any request. Reads (``role``, ``join_requests``,
``pinned``, ``space_home``) come from the cache and work offline.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from app.errors import CommonplaceError
from app.matrix import space_requests as requests
from app.matrix.errors import (
    ConnectionFailed,
    Forbidden,
    MatrixError,
    NotFound,
    RequestFailed,
    ServerUnavailable,
)
from app.matrix.room_events import redact_event, set_state
from app.records import Changes, RawEvent, Redaction, RoomBatch
from app.space_create import create_space
from app.space_records import PinnedEvents
from app.store import space_queries, space_store
from app.store.space_queries import (
    ROLE_LEVELS,
    JoinRequest,
    Permissions,
    PinnedItem,
    RecentFile,
    SpaceHome,
    SpaceMember,
    SpaceRoom,
)
from app.store.writes import apply_sync
from app.sync.translate import translate_events, valid_room_id, valid_user_id

log = logging.getLogger(__name__)

__all__ = [
    "ROLE_LEVELS",
    "DirectoryEntry",
    "DirectoryPage",
    "JoinRequest",
    "Permissions",
    "PinnedItem",
    "RecentFile",
    "SpaceActionError",
    "SpaceChild",
    "SpaceHome",
    "SpaceMember",
    "SpaceRoom",
    "Spaces",
]

T = TypeVar("T")
Visibility = Literal["public", "invite", "knock"]
Role = Literal["owner", "moderator", "member"]
VISIBILITIES = ("public", "invite", "knock")
MAX_NAME_LENGTH = 255
# Synapse 1.163 accepts knock reasons of any length; this keeps one readable.
MAX_REASON_LENGTH = 500
PINNED_EVENTS = "m.room.pinned_events"
POWER_LEVELS = "m.room.power_levels"


class SpaceActionError(CommonplaceError):
    """A space action failed or is not allowed; ``message`` gives the reason and the fix."""


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """A space listed in the server's public room directory."""

    room_id: str
    name: str | None
    topic: str | None
    avatar_url: str | None
    member_count: int
    join_rule: str | None
    alias: str | None
    # The user's membership from the cache: "join", "invite", "knock" or None.
    membership: str | None

    @property
    def joined(self) -> bool:
        return self.membership == "join"


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    """One page of the directory; pass ``next_batch`` as ``since`` for the next page."""

    entries: list[DirectoryEntry]
    next_batch: str | None
    total_estimate: int | None = None


@dataclass(frozen=True, slots=True)
class SpaceChild:
    """A room of a space as the server's hierarchy describes it."""

    room_id: str
    name: str | None
    topic: str | None
    avatar_url: str | None
    member_count: int
    join_rule: str | None
    room_type: str | None
    # Whether the user can join it without an invitation: public, or
    # restricted to members of the space or of another room the user is in.
    joinable: bool
    membership: str | None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: object) -> int:
    valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if valid else 0


class Spaces:
    """Space actions of the signed-in user; ``on_changes`` gets a Changes.

    ``policy`` is the organisation's policy, whose ``disable_uploads`` turns
    off a new space's picture.
    """

    def __init__(self, client, store, user_id: str, on_changes, *, policy=None):
        self.client = client
        self.store = store
        self.user_id = user_id
        self.policy = policy
        self._on_changes = on_changes
        self._locks: dict[str, asyncio.Lock] = {}
        self._creating: dict[tuple[str, str], asyncio.Future] = {}

    # Helpers

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]

    def _name(self, room_id_or_alias: str) -> str:
        """Return the cached name of a room for messages, else its id or alias."""
        name = space_queries.room_name(self.store.reader(), room_id_or_alias)
        return name or room_id_or_alias

    def _person(self, user_id: str) -> str:
        return space_queries.person_name(self.store.reader(), user_id) or user_id

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _online(self, doing: str, action: Awaitable[T]) -> T:
        """Await action; turn a missing connection into a SpaceActionError.

        doing completes "... needs a connection", as in "Joining Data Guild".
        """
        try:
            return await action
        except ServerUnavailable as error:
            raise SpaceActionError(
                f"The server is not responding ({error.message}). {doing} did not "
                "finish; try again in a few minutes."
            ) from error
        except ConnectionFailed as error:
            raise SpaceActionError(
                f"Commonplace is offline. {doing} needs a connection; try again "
                "when online."
            ) from error

    def _require(self, room_id: str, action: str, refusal: str) -> None:
        """Raise SpaceActionError(refusal) unless the user's cached level allows action."""
        if not space_queries.may(self.store.reader(), room_id, self.user_id, action):
            raise SpaceActionError(refusal)

    async def _write(self, function, *args) -> Changes:
        changes = await self.store.write(function, *args)
        if changes:
            self._on_changes(changes)
        return changes

    async def _cache_rooms(self, room_ids: list[str]) -> None:
        """Fetch the current state of joined rooms and cache them as joined.

        The sync brings the same state later; this makes the rooms appear at
        once. A room whose state cannot be read is left to the sync.
        """
        batches = []
        for room_id in room_ids:
            try:
                events = await requests.room_state(self.client, room_id)
            except (RequestFailed, ConnectionFailed) as error:
                log.warning("Could not read the state of %s: %s", room_id, error)
                continue
            batch = RoomBatch(room_id, "join")
            batch.items = translate_events(room_id, events, state=True)
            batches.append(batch)
        if batches:
            await self._write(apply_sync, batches, None)

    async def _cache_membership(self, room_id: str, membership: str) -> None:
        await self._write(apply_sync, [RoomBatch(room_id, membership)], None)

    # Finding and joining

    async def browse(self, term: str = "", since: str | None = None) -> DirectoryPage:
        """List the spaces in the server's public directory whose text contains term.

        Raises SpaceActionError when offline.
        """
        response = await self._online(
            "Browsing the spaces",
            requests.public_spaces(self.client, term.strip(), since),
        )
        chunk = response.get("chunk")
        rooms = [room for room in chunk or [] if isinstance(room, dict)]
        rooms = [room for room in rooms if valid_room_id(room.get("room_id"))]
        known = space_queries.memberships(
            self.store.reader(), [room["room_id"] for room in rooms]
        )
        entries = [
            DirectoryEntry(
                room_id=room["room_id"],
                name=_text(room.get("name")),
                topic=_text(room.get("topic")),
                avatar_url=_text(room.get("avatar_url")),
                member_count=_count(room.get("num_joined_members")),
                join_rule=_text(room.get("join_rule")) or "public",
                alias=_text(room.get("canonical_alias")),
                membership=known.get(room["room_id"]),
            )
            for room in rooms
        ]
        total = response.get("total_room_count_estimate")
        return DirectoryPage(
            entries,
            _text(response.get("next_batch")),
            total if isinstance(total, int) else None,
        )

    async def hierarchy(self, space_id: str) -> list[SpaceChild]:
        """List a space's rooms (GET /v1/rooms/{id}/hierarchy), before or after joining.

        Raises SpaceActionError when offline or when the server does not let
        the user see the space's rooms (a private space they are not in).
        """
        doing = f"Listing the rooms of {self._name(space_id)}"
        try:
            rooms = await self._online(
                doing, requests.space_hierarchy(self.client, space_id)
            )
        except (Forbidden, NotFound) as error:
            raise SpaceActionError(
                f"{self._name(space_id)} does not show its rooms to people outside "
                "it. Join the space or ask to join it first."
            ) from error
        children = [
            room
            for room in rooms
            if valid_room_id(room.get("room_id")) and room.get("room_id") != space_id
        ]
        known = space_queries.memberships(
            self.store.reader(), [space_id] + [room["room_id"] for room in children]
        )
        joined = {room_id for room_id, state in known.items() if state == "join"}
        joined.add(space_id)
        return [
            SpaceChild(
                room_id=room["room_id"],
                name=_text(room.get("name")),
                topic=_text(room.get("topic")),
                avatar_url=_text(room.get("avatar_url")),
                member_count=_count(room.get("num_joined_members")),
                join_rule=_text(room.get("join_rule")),
                room_type=_text(room.get("room_type")),
                joinable=_joinable(room, joined),
                membership=known.get(room["room_id"]),
            )
            for room in children
        ]

    async def join(self, room_id_or_alias: str) -> str:
        """Join a space and its rooms (see _standard_room_of); return the space's id.

        Raises SpaceActionError when offline or when the space needs an
        invitation or a knock.
        """
        name = self._name(room_id_or_alias)
        async with self._lock(room_id_or_alias):
            try:
                space_id = await self._online(
                    f"Joining {name}", requests.join(self.client, room_id_or_alias)
                )
            except Forbidden as error:
                raise SpaceActionError(
                    f"{name} does not let people join on their own. Ask to join it, "
                    "or ask one of its moderators for an invitation."
                ) from error
            except NotFound as error:
                raise SpaceActionError(
                    f"No space {room_id_or_alias} was found on the server. Check the "
                    "address, or find the space in the directory."
                ) from error
            await self._join_rooms_of(space_id, name)
        log.info("Joined space %s", space_id)
        return space_id

    async def _join_rooms_of(self, space_id: str, name: str) -> None:
        """Join the rooms of a just-joined space that admit its members, and cache all."""
        joined = [space_id]
        public_space = False
        try:
            rooms = await requests.space_hierarchy(self.client, space_id)
        except (RequestFailed, ConnectionFailed) as error:
            # The space is joined; its rooms can be joined from its page later.
            log.warning("Could not list the rooms of %s: %s", space_id, error)
            rooms = []
        for room in rooms:
            if room.get("room_id") == space_id:
                public_space = room.get("join_rule") == "public"
        for room in rooms:
            room_id = room.get("room_id")
            if room_id == space_id or not valid_room_id(room_id):
                continue
            if room.get("room_type") == "m.space":
                continue
            if not _standard_room_of(room, space_id, public_space):
                continue
            try:
                joined.append(await requests.join(self.client, room_id))
            except (RequestFailed, ConnectionFailed) as error:
                log.warning(
                    "Could not join %s of space %s: %s", room_id, space_id, error
                )
        await self._cache_rooms(joined)

    async def knock(self, room_id_or_alias: str, reason: str = "") -> str:
        """Ask to join a space whose join rule is knock; return the space's id.

        Its moderators see the request and may approve it with an invitation,
        which accept_invite then accepts.
        """
        name = self._name(room_id_or_alias)
        reason = reason.strip()[:MAX_REASON_LENGTH]
        try:
            room_id = await self._online(
                f"Asking to join {name}",
                requests.knock(self.client, room_id_or_alias, reason),
            )
        except Forbidden as error:
            raise SpaceActionError(
                f"{name} does not take requests to join. Join it directly if it is "
                "public, or ask one of its members for an invitation."
            ) from error
        except NotFound as error:
            raise SpaceActionError(
                f"No space {room_id_or_alias} was found on the server. Check the "
                "address, or find the space in the directory."
            ) from error
        await self._cache_membership(room_id, "knock")
        log.info("Asked to join %s", room_id)
        return room_id

    async def accept_invite(self, room_id: str) -> str:
        """Accept an invitation to a space and join its rooms that admit its members."""
        name = self._name(room_id)
        async with self._lock(room_id):
            try:
                space_id = await self._online(
                    f"Accepting the invitation to {name}",
                    requests.join(self.client, room_id),
                )
            except (Forbidden, NotFound) as error:
                raise SpaceActionError(
                    f"The invitation to {name} is no longer valid. Ask for a new one."
                ) from error
            await self._join_rooms_of(space_id, name)
        return space_id

    async def decline_invite(self, room_id: str) -> None:
        """Decline an invitation (leave the invited room); the sidebar drops it."""
        name = self._name(room_id)
        await self._online(
            f"Declining the invitation to {name}", requests.leave(self.client, room_id)
        )
        await self._write(apply_sync, [], None, [room_id])

    async def leave(self, space_id: str) -> None:
        """Leave a space and those of its rooms that no other joined space links to.

        The cache marks them as left, so the sidebar drops them at once.
        """
        name = self._name(space_id)
        rooms = space_queries.rooms_left_with_space(self.store.reader(), space_id)
        left: list[str] = []
        try:
            for room_id in rooms:
                await self._online(
                    f"Leaving {name}", requests.leave(self.client, room_id)
                )
                left.append(room_id)
            await self._online(f"Leaving {name}", requests.leave(self.client, space_id))
            left.append(space_id)
        finally:
            if left:
                await self._write(apply_sync, [], None, left)
        log.info("Left space %s and %d of its rooms", space_id, len(left) - 1)

    # Creating

    async def create(
        self,
        name: str,
        topic: str = "",
        avatar_path: Path | None = None,
        visibility: Visibility = "invite",
    ) -> str:
        """Create a space with a discussion board and a files area; return its id.

        visibility is "public" (listed in the directory, anyone may join),
        "knock" (listed, people ask to join) or "invite" (not listed). A
        creation cut short resumes on the next call with the same name and
        visibility, so no second space or room is made.
        """
        name = name.strip()
        if not name:
            raise SpaceActionError("A space needs a name. Type one and try again.")
        if len(name) > MAX_NAME_LENGTH:
            raise SpaceActionError(
                f"The name is {len(name)} characters long; a space name can have at "
                f"most {MAX_NAME_LENGTH}. Choose a shorter one."
            )
        if visibility not in VISIBILITIES:
            raise ValueError(
                f"invalid visibility {visibility!r}: expected one of {VISIBILITIES}"
            )
        avatar = None
        if avatar_path is not None:
            if getattr(self.policy, "disable_uploads", False):
                raise SpaceActionError(
                    "Uploading pictures is turned off by your organisation. Create "
                    "the space without a picture."
                )
            try:
                avatar = Path(avatar_path).read_bytes()
            except OSError as error:
                raise SpaceActionError(
                    f"Could not read the picture {avatar_path} ({error.strerror}). "
                    "Choose another picture, or create the space without one."
                ) from error
        # A second call for the same space while the first runs (a double
        # click) shares the first one's result instead of making another.
        key = (name, visibility)
        running = self._creating.get(key)
        if running is None:
            running = asyncio.ensure_future(
                self._create(name, topic.strip(), visibility, avatar, avatar_path)
            )
            self._creating[key] = running
            running.add_done_callback(lambda _task: self._creating.pop(key, None))
        return await asyncio.shield(running)

    async def _create(
        self,
        name: str,
        topic: str,
        visibility: str,
        avatar: bytes | None,
        avatar_path: Path | None,
    ) -> str:
        async with self._lock("create"):
            space_id, rooms = await self._online(
                f"Creating {name}",
                create_space(
                    self.client,
                    self.store,
                    self.server_name,
                    name=name,
                    topic=topic,
                    visibility=visibility,
                    avatar=avatar,
                    avatar_name=Path(avatar_path).name if avatar_path else None,
                ),
            )
        await self._cache_rooms([space_id, *rooms])
        log.info("Created space %s with rooms %s", space_id, rooms)
        return space_id

    # Roles

    def role(self, room_id: str, user_id: str) -> str:
        """Return "owner", "moderator" or "member" from the cached power levels."""
        return space_queries.role(self.store.reader(), room_id, user_id)

    def permissions(self, room_id: str) -> Permissions:
        """Return what the user may do in a space or room, from the cache.

        The views use it to show only the actions that will not be rejected.
        """
        return space_queries.permissions(self.store.reader(), room_id, self.user_id)

    async def set_role(self, space_id: str, user_id: str, role: Role) -> None:
        """Give user_id a role in the space and in its joined rooms.

        Only owners change roles. A creator of a room version that gives
        creators unlimited power stays an owner. Raises SpaceActionError
        before any request when the change is not allowed.
        """
        if role not in ROLE_LEVELS:
            raise ValueError(
                f"invalid role {role!r}: expected one of {list(ROLE_LEVELS)}"
            )
        conn = self.store.reader()
        name = self._name(space_id)
        self._require(
            space_id,
            f"state:{POWER_LEVELS}",
            f"Only owners can change roles in {name}.",
        )
        person = self._person(user_id)
        if space_queries.is_creator(conn, space_id, user_id):
            raise SpaceActionError(
                f"{person} created {name}, so they stay an owner. Their role cannot "
                "be changed."
            )
        own = space_queries.user_level(conn, space_id, self.user_id)
        theirs = space_queries.user_level(conn, space_id, user_id)
        if user_id != self.user_id and theirs >= own:
            raise SpaceActionError(
                f"{person} has as much power in {name} as you, so only they can "
                "change their role."
            )
        rooms = [space_id] + [
            room.room_id
            for room in space_queries.space_rooms(conn, space_id)
            if room.membership == "join"
        ]
        level = ROLE_LEVELS[role]
        for room_id in rooms:
            if room_id != space_id and not space_queries.may(
                conn, room_id, self.user_id, f"state:{POWER_LEVELS}"
            ):
                log.warning("Not allowed to change roles in %s; skipped", room_id)
                continue
            await self._online(
                f"Changing the role of {person} in {name}",
                self._set_level(room_id, user_id, level),
            )
        log.info("Set the role of %s in %s to %s", user_id, space_id, role)

    async def _set_level(self, room_id: str, user_id: str, level: int) -> None:
        # Read from the server, not the cache, so that a change another
        # moderator made since the last sync is kept.
        content = await requests.get_state(self.client, room_id, POWER_LEVELS) or {}
        users = content.get("users")
        users = dict(users) if isinstance(users, dict) else {}
        default = content.get("users_default", 0)
        if level == default:
            users.pop(user_id, None)
        else:
            users[user_id] = level
        if users == content.get("users", {}):
            return
        content = {**content, "users": users}
        await set_state(self.client, room_id, POWER_LEVELS, "", content, max_attempts=4)
        await self._cache_state(room_id, POWER_LEVELS, content)

    async def _cache_state(self, room_id: str, event_type: str, content: dict) -> None:
        event = {
            "type": event_type,
            "state_key": "",
            "sender": self.user_id,
            "content": content,
        }
        batch = RoomBatch(room_id, "join")
        batch.items = translate_events(room_id, [event], state=True)
        await self._write(apply_sync, [batch], None)

    # Moderation

    async def invite(self, space_id: str, user_id: str) -> None:
        """Invite someone to the space; its rooms admit them once they join it."""
        if not valid_user_id(user_id):
            raise SpaceActionError(
                f"'{user_id}' is not a Matrix user id. A user id looks like "
                "@name:example.org."
            )
        name = self._name(space_id)
        self._require(
            space_id, "invite", f"Only moderators can invite people to {name}."
        )
        try:
            await self._online(
                f"Inviting {self._person(user_id)} to {name}",
                requests.invite(self.client, space_id, user_id),
            )
        except Forbidden as error:
            raise SpaceActionError(
                f"{self._person(user_id)} cannot be invited to {name}: {error.message}"
            ) from error
        await self._write(space_store.forget_join_request, space_id, user_id)

    def join_requests(self, space_id: str) -> list[JoinRequest]:
        """Return the open requests to join the space, oldest first, from the cache."""
        return space_queries.join_requests(self.store.reader(), space_id)

    async def approve_request(self, space_id: str, user_id: str) -> None:
        """Approve a request to join: invite the person, who then accepts."""
        name = self._name(space_id)
        self._require(
            space_id, "invite", f"Only moderators can approve requests to join {name}."
        )
        await self.invite(space_id, user_id)

    async def refuse_request(
        self, space_id: str, user_id: str, reason: str = ""
    ) -> None:
        """Reject a request to join (a kick of the knock); the reason goes to the person."""
        name = self._name(space_id)
        self._require(
            space_id, "kick", f"Only moderators can refuse requests to join {name}."
        )
        await self._online(
            f"Refusing the request of {self._person(user_id)} to join {name}",
            requests.kick(self.client, space_id, user_id, reason.strip()),
        )
        await self._write(space_store.forget_join_request, space_id, user_id)

    async def remove_member(
        self, space_id: str, user_id: str, reason: str = ""
    ) -> None:
        """Remove someone from the space and from its rooms where they are a member."""
        conn = self.store.reader()
        name = self._name(space_id)
        person = self._person(user_id)
        self._require(
            space_id, "kick", f"Only moderators can remove people from {name}."
        )
        own = space_queries.user_level(conn, space_id, self.user_id)
        if space_queries.user_level(conn, space_id, user_id) >= own:
            raise SpaceActionError(
                f"{person} has as much power in {name} as you, so you cannot "
                "remove them."
            )
        rooms = [
            room.room_id
            for room in space_queries.space_rooms(conn, space_id)
            if room.membership == "join"
            and space_queries.may(conn, room.room_id, self.user_id, "kick")
        ]
        for room_id in [*rooms, space_id]:
            try:
                await self._online(
                    f"Removing {person} from {name}",
                    requests.kick(self.client, room_id, user_id, reason.strip()),
                )
            except Forbidden as error:
                # Not a member of that room: nothing to remove there.
                if room_id == space_id:
                    raise SpaceActionError(
                        f"{person} could not be removed from {name}: {error.message}"
                    ) from error
                log.info("Did not remove %s from %s: %s", user_id, room_id, error)

    async def remove_post(self, room_id: str, event_id: str, reason: str = "") -> None:
        """Delete someone's post or file as a moderator (a redaction).

        The cache shows it removed at once.
        """
        conn = self.store.reader()
        name = self._name(room_id)
        found = space_queries.room_of_event(conn, event_id)
        own_post = found is not None and found[1] == self.user_id
        if not own_post:
            self._require(
                room_id, "redact", f"Only moderators can remove posts in {name}."
            )
        content = {"reason": reason.strip()} if reason.strip() else {}
        redaction_id = await self._online(
            f"Removing the post from {name}",
            redact_event(
                self.client,
                room_id,
                event_id,
                uuid.uuid4().hex,
                content,
                max_attempts=4,
            ),
        )
        batch = RoomBatch(room_id, "join")
        batch.items = [
            RawEvent(
                redaction_id,
                room_id,
                self.user_id,
                "m.room.redaction",
                int(time.time() * 1000),
                None,
                "{}",
            ),
            Redaction(redaction_id, room_id, event_id),
        ]
        await self._write(apply_sync, [batch], None)

    async def pin(self, room_id: str, event_id: str) -> None:
        """Pin a discussion or file in its room (m.room.pinned_events)."""
        await self._change_pins(room_id, event_id, pin=True)

    async def unpin(self, room_id: str, event_id: str) -> None:
        await self._change_pins(room_id, event_id, pin=False)

    async def _change_pins(self, room_id: str, event_id: str, *, pin: bool) -> None:
        conn = self.store.reader()
        spaces = space_queries.spaces_of_room(conn, room_id)
        where = self._name(spaces[0]) if spaces else self._name(room_id)
        verb = "pin" if pin else "unpin"
        self._require(
            room_id,
            f"state:{PINNED_EVENTS}",
            f"Only moderators can {verb} items in {where}.",
        )
        async with self._lock(f"pins {room_id}"):
            await self._online(
                f"{'Pinning' if pin else 'Unpinning'} an item in {where}",
                self._put_pins(room_id, event_id, pin),
            )

    async def _put_pins(self, room_id: str, event_id: str, pin: bool) -> None:
        # Read from the server, so that pins made since the last sync are kept.
        content = await requests.get_state(self.client, room_id, PINNED_EVENTS) or {}
        current = content.get("pinned")
        current = [item for item in current or [] if isinstance(item, str)]
        if pin and event_id not in current:
            pinned = [*current, event_id]
        elif not pin and event_id in current:
            pinned = [item for item in current if item != event_id]
        else:
            pinned = current
        if pinned != current:
            await set_state(
                self.client,
                room_id,
                PINNED_EVENTS,
                "",
                {"pinned": pinned},
                max_attempts=4,
            )
        record = PinnedEvents(room_id, self.user_id, tuple(pinned))
        batch = RoomBatch(room_id, "join", items=[record])
        await self._write(apply_sync, [batch], None)

    def pinned(self, space_id: str) -> list[PinnedItem]:
        """Return the pinned items of the space's joined rooms, from the cache."""
        conn = self.store.reader()
        rooms = [
            room.room_id
            for room in space_queries.space_rooms(conn, space_id)
            if room.membership == "join"
        ]
        return space_queries.pinned(conn, rooms)

    # Space home

    def space_home(self, space_id: str) -> SpaceHome | None:
        """Return what the space's home page shows, or None for an unknown space."""
        return space_queries.space_home(self.store.reader(), space_id, self.user_id)


def _joinable(room: dict, joined: set[str]) -> bool:
    """Return whether the user may join a hierarchy room without an invitation."""
    rule = room.get("join_rule")
    if rule == "public":
        return True
    if rule in ("restricted", "knock_restricted"):
        allowed = room.get("allowed_room_ids")
        return isinstance(allowed, list) and any(item in joined for item in allowed)
    return False


def _standard_room_of(room: dict, space_id: str, public_space: bool) -> bool:
    """Return whether a hierarchy room is one that joining the space joins too.

    Those are the rooms restricted to the space's members and, in a public
    space, the public rooms.
    """
    if room.get("join_rule") == "public":
        return public_space
    if room.get("join_rule") not in ("restricted", "knock_restricted"):
        return False
    allowed = room.get("allowed_room_ids")
    return isinstance(allowed, list) and space_id in allowed
