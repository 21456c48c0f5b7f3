"""Finding, joining, creating and running group spaces.

Every action here needs the server: none is queued in the outbox, because
joining, inviting or changing roles offline and sending it hours later would
surprise the people involved. An action that cannot reach the server raises
SpaceActionError with a plain message, and one that the user's role does not
allow raises it before any request. Reads (``role``, ``join_requests``,
``pinned``, ``space_home``) come from the cache and work offline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.errors import CommonplaceError

log = logging.getLogger(__name__)

Visibility = Literal["public", "invite", "knock"]
Role = Literal["owner", "moderator", "member"]

# Power levels of the three roles in m.room.power_levels.
ROLE_LEVELS: dict[str, int] = {"owner": 100, "moderator": 50, "member": 0}


class SpaceActionError(CommonplaceError):
    """A space action failed or is not allowed; ``message`` says why and what to do."""


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
    """One page of the directory; ``next_batch`` asks for the next page."""

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
    # restricted to members of a room the user is in or is about to join.
    joinable: bool
    membership: str | None


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A knock on a space: someone asking to join it."""

    space_id: str
    user_id: str
    display_name: str | None
    avatar_url: str | None
    reason: str | None
    ts: int | None


@dataclass(frozen=True, slots=True)
class PinnedItem:
    """A discussion or file pinned in one of a space's rooms."""

    room_id: str
    room_name: str | None
    event_id: str
    # "discussion", "file", or "unknown" while the event is not in the cache.
    kind: str
    title: str
    # Who added the pin, when the cache saw the change that added it.
    pinned_by: str | None
    pinned_by_name: str | None


@dataclass(frozen=True, slots=True)
class SpaceMember:
    user_id: str
    display_name: str | None
    avatar_url: str | None
    role: str


@dataclass(frozen=True, slots=True)
class SpaceRoom:
    """A board or files area of a space."""

    room_id: str
    kind: str
    name: str | None
    topic: str | None
    membership: str | None


@dataclass(frozen=True, slots=True)
class RecentFile:
    event_id: str
    room_id: str
    name: str
    sender: str
    sender_name: str | None
    ts: int
    mimetype: str | None
    size: int | None


@dataclass(frozen=True, slots=True)
class SpaceHome:
    """What a space's home page shows, read from the cache."""

    space_id: str
    name: str | None
    topic: str | None
    avatar_url: str | None
    join_rule: str | None
    member_count: int
    own_role: str
    members: list[SpaceMember] = field(default_factory=list)
    boards: list[SpaceRoom] = field(default_factory=list)
    files_areas: list[SpaceRoom] = field(default_factory=list)
    recent_files: list[RecentFile] = field(default_factory=list)
    pinned: list[PinnedItem] = field(default_factory=list)
    # Open join requests; 0 for a user who cannot approve them.
    join_request_count: int = 0


class Spaces:
    """Space actions of the signed-in user; ``on_changes`` gets a Changes."""

    def __init__(self, client, store, user_id: str, on_changes):
        self.client = client
        self.store = store
        self.user_id = user_id
        self._on_changes = on_changes

    # Finding and joining

    async def browse(self, term: str = "", since: str | None = None) -> DirectoryPage:
        """List the spaces in the server's public directory whose text contains term."""
        raise NotImplementedError

    async def hierarchy(self, space_id: str) -> list[SpaceChild]:
        """List a space's rooms (GET /v1/rooms/{id}/hierarchy), before or after joining."""
        raise NotImplementedError

    async def join(self, room_id_or_alias: str) -> str:
        """Join a space and its standard rooms that admit its members; return its id."""
        raise NotImplementedError

    async def knock(self, room_id_or_alias: str, reason: str = "") -> None:
        """Ask to join a space whose join rule is knock."""
        raise NotImplementedError

    async def accept_invite(self, room_id: str) -> str:
        """Accept an invitation to a space and join its standard rooms."""
        raise NotImplementedError

    async def decline_invite(self, room_id: str) -> None:
        """Decline an invitation (leave the invited room)."""
        raise NotImplementedError

    async def leave(self, space_id: str) -> None:
        """Leave a space and the rooms of it that no other joined space links to."""
        raise NotImplementedError

    # Creating

    async def create(
        self,
        name: str,
        topic: str = "",
        avatar_path: Path | None = None,
        visibility: Visibility = "invite",
    ) -> str:
        """Create a space with a discussion board and a files area; return its id."""
        raise NotImplementedError

    # Roles

    def role(self, room_id: str, user_id: str) -> str:
        """Return "owner", "moderator" or "member" from the cached power levels."""
        raise NotImplementedError

    async def set_role(self, space_id: str, user_id: str, role: Role) -> None:
        """Give user_id a role in the space and in its rooms."""
        raise NotImplementedError

    # Moderation

    async def invite(self, space_id: str, user_id: str) -> None:
        raise NotImplementedError

    def join_requests(self, space_id: str) -> list[JoinRequest]:
        raise NotImplementedError

    async def approve_request(self, space_id: str, user_id: str) -> None:
        raise NotImplementedError

    async def refuse_request(self, space_id: str, user_id: str, reason: str = "") -> None:
        raise NotImplementedError

    async def remove_member(self, space_id: str, user_id: str, reason: str = "") -> None:
        raise NotImplementedError

    async def remove_post(self, room_id: str, event_id: str, reason: str = "") -> None:
        raise NotImplementedError

    async def pin(self, room_id: str, event_id: str) -> None:
        raise NotImplementedError

    async def unpin(self, room_id: str, event_id: str) -> None:
        raise NotImplementedError

    def pinned(self, space_id: str) -> list[PinnedItem]:
        raise NotImplementedError

    # Space home

    def space_home(self, space_id: str) -> SpaceHome:
        raise NotImplementedError
