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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app import text as app_text
from app.matrix import space_requests as requests
from app.matrix.errors import (
    ConnectionFailed,
    Forbidden,
    MatrixError,
    NotFound,
    RequestFailed,
)
from app.space_admin import PINNED_EVENTS, POWER_LEVELS, Role, SpaceModeration
from app.space_base import SpaceActionError
from app.space_create import create_space
from app.store import space_queries
from app.store.space_queries import (
    ROLE_LEVELS,
    JoinRequest,
    Permissions,
    PinnedItem,
    RecentFile,
    SpaceHome,
    SpaceMember,
    SpaceRoom,
    UnfinishedCreation,
)
from app.store.writes import apply_sync
from app.sync.translate import MAX_ROOM_NAME_LENGTH, valid_room_id, valid_user_id

log = logging.getLogger(__name__)

__all__ = [
    "PINNED_EVENTS",
    "POWER_LEVELS",
    "ROLE_LEVELS",
    "DirectoryEntry",
    "DirectoryPage",
    "JoinRefusal",
    "JoinRequest",
    "Permissions",
    "PinnedItem",
    "RecentFile",
    "Role",
    "SpaceActionError",
    "SpaceChild",
    "SpaceHome",
    "SpaceMember",
    "SpaceRoom",
    "Spaces",
    "UnfinishedCreation",
    "Visibility",
]

Visibility = Literal["public", "invite", "knock"]
VISIBILITIES = ("public", "invite", "knock")
MAX_NAME_LENGTH = 255
# Longest knock reason sent: an estimate that keeps one readable in a
# moderator's list of requests.
MAX_REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class JoinRefusal:
    """A moderator's refusal of the user in a space: a ban, a refused request, a removal.

    banned is True for a ban, whose reason the server does not show to the
    banned person. Otherwise a moderator refused the user's request to join
    or removed them, and reason is the text they gave, if any.
    """

    banned: bool
    reason: str | None
    moderator_id: str | None


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
    # The user's membership from the cache: "join", "invite", "knock",
    # "leave" or None.
    membership: str | None
    # Set when the cached membership is "leave" and a moderator turned the
    # user away (a refused request to join, a removal or a ban).
    refusal: JoinRefusal | None = None

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


class Spaces(SpaceModeration):
    """Space actions of the signed-in user; ``on_changes`` gets a Changes.

    ``policy`` is the organisation's policy, whose ``disable_uploads`` turns
    off a new space's picture. Roles, moderation and pins come from
    app.space_admin.SpaceModeration.
    """

    def __init__(self, client, store, user_id: str, on_changes, *, policy=None):
        super().__init__(client, store, user_id, on_changes, policy=policy)
        self._creating: dict[tuple[str, str], asyncio.Future] = {}

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
        entries = []
        for room in rooms:
            membership = known.get(room["room_id"])
            refusal = None
            if membership == "leave":
                refusal = await self._refusal_or_none(room["room_id"])
            entries.append(
                DirectoryEntry(
                    room_id=room["room_id"],
                    name=_text(room.get("name")),
                    topic=_text(room.get("topic")),
                    avatar_url=_text(room.get("avatar_url")),
                    member_count=_count(room.get("num_joined_members")),
                    join_rule=_text(room.get("join_rule")) or "public",
                    alias=_text(room.get("canonical_alias")),
                    membership=membership,
                    refusal=refusal,
                )
            )
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
                await self._raise_if_banned(room_id_or_alias, name, error)
                raise SpaceActionError(
                    f"{name} does not let people join on their own. Ask to join it, "
                    "or ask one of its moderators for an invitation."
                ) from error
            except NotFound as error:
                raise _space_not_found(room_id_or_alias) from error
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
            await self._raise_if_banned(room_id_or_alias, name, error)
            raise SpaceActionError(
                f"{name} does not take requests to join. Join it directly if it is "
                "public, or ask one of its members for an invitation."
            ) from error
        except NotFound as error:
            raise _space_not_found(room_id_or_alias) from error
        await self._cache_membership(room_id, "knock")
        log.info("Asked to join %s", room_id)
        return room_id

    async def join_refusal(self, space_id: str) -> JoinRefusal | None:
        """Return how a moderator last turned the user away from a space, or None.

        None means the user was not turned away: they never joined, left on
        their own, or are a member. Raises SpaceActionError when offline.
        """
        doing = f"Checking your membership of {self._name(space_id)}"
        try:
            event = await self._online(
                doing, requests.member_event(self.client, space_id, self.user_id)
            )
        except NotFound:
            return None
        except Forbidden:
            # Synapse hides the event from a banned user, but the room
            # summary still gives their membership.
            try:
                summary = await self._online(
                    doing, requests.room_summary(self.client, space_id)
                )
            except (Forbidden, NotFound):
                return None
            if summary.get("membership") == "ban":
                return JoinRefusal(banned=True, reason=None, moderator_id=None)
            return None
        content = event.get("content")
        content = content if isinstance(content, dict) else {}
        membership = content.get("membership")
        sender = event.get("sender")
        if membership not in ("leave", "ban") or not valid_user_id(sender):
            return None
        if sender == self.user_id:
            return None
        reason = content.get("reason")
        reason = app_text.clean_text(reason) if isinstance(reason, str) else ""
        return JoinRefusal(
            banned=membership == "ban",
            reason=reason[:MAX_REASON_LENGTH] or None,
            moderator_id=sender,
        )

    async def _refusal_or_none(self, space_id: str) -> JoinRefusal | None:
        try:
            return await self.join_refusal(space_id)
        except (SpaceActionError, MatrixError) as error:
            log.warning(
                "Could not read why %s turned the user away: %s", space_id, error
            )
            return None

    async def _raise_if_banned(
        self, room_id_or_alias: str, name: str, error: Exception
    ) -> None:
        """Raise a SpaceActionError that names the ban when the user is banned.

        The room summary takes a room alias too and gives the membership,
        because Synapse 1.163 rejects a banned user's join or knock with the
        same 403 as a join rule that does not allow it.
        """
        try:
            summary = await requests.room_summary(self.client, room_id_or_alias)
        except MatrixError as summary_error:
            log.warning(
                "Could not read the summary of %s: %s", room_id_or_alias, summary_error
            )
            return
        if summary.get("membership") == "ban":
            if name == room_id_or_alias and isinstance(summary.get("name"), str):
                name = app_text.clean_name(summary["name"], fallback=name)
            raise SpaceActionError(
                f"A moderator has banned you from {name}, so you cannot join it "
                "or ask to join it. Only its moderators can lift the ban."
            ) from error

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
        name = checked_space_name(name)
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
                self._create(
                    name, app_text.clean_text(topic), visibility, avatar, avatar_path
                )
            )
            self._creating[key] = running
            running.add_done_callback(lambda _task: self._creating.pop(key, None))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            if not running.cancelled():
                raise
            raise SpaceActionError(
                f"Creating {name} was cancelled. What the server made so far stays "
                "unfinished; create the space again with the same name and "
                "visibility to finish it."
            ) from None

    def cancel_create(self, name: str, visibility: Visibility) -> bool:
        """Stop a running creation; return whether one was running.

        The calls waiting in create raise SpaceActionError. A request already
        sent may still take effect on the server, so the creation stays in
        unfinished_creations, and create with the same name and visibility
        finishes it.
        """
        try:
            key = (checked_space_name(name), visibility)
        except SpaceActionError:
            return False
        running = self._creating.get(key)
        if running is None or running.done():
            return False
        running.cancel()
        log.info("Cancelled the creation of space %r", key[0])
        return True

    def unfinished_creations(self) -> list[UnfinishedCreation]:
        """Return the space creations cut short, newest first, from the cache.

        Calling create with an entry's name and visibility finishes it
        without making a second space.
        """
        return space_queries.unfinished_creations(self.store.reader())

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

    # Space home

    def space_home(self, space_id: str) -> SpaceHome | None:
        """Return what the space's home page shows, or None for an unknown space."""
        return space_queries.space_home(self.store.reader(), space_id, self.user_id)


def _space_not_found(room_id_or_alias: str) -> SpaceActionError:
    return SpaceActionError(
        f"No space {room_id_or_alias} was found on the server. Check the "
        "address, or find the space in the directory."
    )


def checked_space_name(name: str) -> str:
    """Return name as it will be sent, or raise SpaceActionError.

    Control, bidirectional and invisible characters are removed and line
    breaks become spaces (app.text.clean_name, the display names' cleaning),
    and the text is NFC-normalised. The length is counted in user-perceived
    characters.
    """
    cleaned = app_text.clean_name(name)
    if not app_text.has_visible_character(cleaned):
        raise SpaceActionError(
            "A space needs a name with at least one visible letter, digit or "
            "symbol. Type one and try again."
        )
    length = app_text.character_count(cleaned)
    if length > MAX_NAME_LENGTH:
        raise SpaceActionError(
            f"The name is {length} characters long; a space name can have at "
            f"most {MAX_NAME_LENGTH}. Choose a shorter one."
        )
    # Many accents or joined emoji on few characters could pass the count
    # above and still be cut when the name is read back.
    if len(cleaned) > MAX_ROOM_NAME_LENGTH:
        raise SpaceActionError(
            f"The name has {len(cleaned)} Unicode code points, more than the "
            f"{MAX_ROOM_NAME_LENGTH} a space name can have. Remove some accents or "
            "emoji."
        )
    return cleaned


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
