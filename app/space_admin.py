"""Roles, moderation and pins of group spaces: the moderators' actions.

Each action checks the user's cached power level first and raises
SpaceActionError before any request when it is too low.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Literal

from app.matrix import space_requests as requests
from app.matrix.errors import Forbidden, MatrixError, NotFound, RequestFailed
from app.matrix.room_events import redact_event, set_state
from app.records import RawEvent, Redaction, RoomBatch
from app.space_base import SpaceActionError, SpaceActionsBase
from app.space_records import PinnedEvents
from app.store import space_queries, space_store
from app.store.space_queries import ROLE_LEVELS, JoinRequest, Permissions, PinnedItem
from app.store.writes import apply_sync
from app.sync.translate import pinned_event_ids, valid_user_id

log = logging.getLogger(__name__)

Role = Literal["owner", "moderator", "member"]
PINNED_EVENTS = "m.room.pinned_events"
POWER_LEVELS = "m.room.power_levels"


class SpaceModeration(SpaceActionsBase):
    """Roles, moderation and pins; part of app.spaces.Spaces."""

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
        # The level is written even when it equals users_default, because
        # clients that merge a new users map into the old one (matrix-nio
        # 0.26's PowerLevels.update) would keep reading a removed key's level.
        users[user_id] = level
        if users == content.get("users"):
            return
        content = {**content, "users": users}
        await set_state(self.client, room_id, POWER_LEVELS, "", content, max_attempts=4)
        await self._cache_state(room_id, POWER_LEVELS, content)

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
        doing = f"Inviting {self._person(user_id)} to {name}"
        # Synapse 1.163 accepts an invitation of a user id that has no
        # account, so the profile is read first: a 404 means no such user.
        # Other refusals (profiles hidden by the server's settings) let the
        # invitation go ahead.
        try:
            await self._online(doing, self.client.get_profile(user_id))
        except NotFound as error:
            raise SpaceActionError(
                f"There is no user {user_id}. Check the user id and try again."
            ) from error
        except RequestFailed as error:
            log.info("Could not read the profile of %s: %s", user_id, error)
        try:
            await self._online(
                doing,
                requests.invite(self.client, space_id, user_id),
            )
        except Forbidden as error:
            raise SpaceActionError(
                f"{self._person(user_id)} cannot be invited to {name}: {error.message}"
            ) from error
        await self._write(space_store.forget_join_request, space_id, user_id)

    async def cancel_invite(self, space_id: str, user_id: str) -> None:
        """Withdraw an invitation to the space that the person has not accepted yet.

        Matrix withdraws an invitation with a kick of the invited member.
        """
        name = self._name(space_id)
        person = self._person(user_id)
        self._require(
            space_id, "kick", f"Only moderators can cancel invitations to {name}."
        )
        conn = self.store.reader()
        if space_queries.membership_of(conn, space_id, user_id) != "invite":
            raise SpaceActionError(
                f"{person} has no open invitation to {name}; they may have "
                "accepted or declined it already."
            )
        try:
            await self._online(
                f"Cancelling the invitation of {person} to {name}",
                requests.kick(self.client, space_id, user_id),
            )
        except Forbidden as error:
            raise SpaceActionError(
                f"The invitation of {person} to {name} could not be cancelled: "
                f"{error.message}"
            ) from error

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
        """Delete a post or file, and a discussion's replies, with redactions.

        A moderator removing a discussion (a thread root) removes every reply
        that the cache or the server's thread relations list, then the root,
        so that other clients see the whole discussion gone. The author of a
        post without the redact level removes that post only. A reply that
        arrives after the server's list was read (sent at the same moment, or
        from another server later) is not removed and stays under the
        removed discussion. Calling again is safe: deleted replies are no
        longer listed, and a second redaction of an event changes nothing.
        The cache shows everything removed at once.
        """
        conn = self.store.reader()
        name = self._name(room_id)
        found = space_queries.room_of_event(conn, event_id)
        own_post = found is not None and found[1] == self.user_id
        moderator = space_queries.may(conn, room_id, self.user_id, "redact")
        if not own_post and not moderator:
            raise SpaceActionError(f"Only moderators can remove posts in {name}.")
        reason = reason.strip()
        doing = f"Removing the post from {name}"
        replies: list[str] = []
        if moderator:
            replies = space_queries.thread_reply_ids(conn, event_id)
            try:
                listed = await self._online(
                    doing, requests.thread_reply_ids(self.client, room_id, event_id)
                )
            except NotFound:
                listed = []
            replies = list(dict.fromkeys([*replies, *listed]))
        # The replies go first, so that a removal cut short leaves the
        # discussion visible, and removing it again finds the rest.
        items: list = []
        for target in [*replies, event_id]:
            try:
                redaction_id = await self._online(
                    doing, self._redact(room_id, target, reason)
                )
            except NotFound:
                log.info("Did not remove %s from %s: not found", target, room_id)
                continue
            items += [
                RawEvent(
                    redaction_id,
                    room_id,
                    self.user_id,
                    "m.room.redaction",
                    int(time.time() * 1000),
                    None,
                    "{}",
                ),
                Redaction(redaction_id, room_id, target),
            ]
        if replies:
            log.info("Removed %s and %d replies in %s", event_id, len(replies), room_id)
        batch = RoomBatch(room_id, "join", items=items)
        await self._write(apply_sync, [batch], None)
        await self._unpin_removed(room_id, event_id)

    async def _unpin_removed(self, room_id: str, event_id: str) -> None:
        """Unpin a removed post, so other clients do not list a deleted pin."""
        conn = self.store.reader()
        if event_id not in space_queries.pinned_event_ids(conn, room_id):
            return
        if not space_queries.may(conn, room_id, self.user_id, f"state:{PINNED_EVENTS}"):
            return
        try:
            async with self._lock(f"pins {room_id}"):
                await self._put_pins(room_id, event_id, False)
        except MatrixError as error:
            # The post is gone either way; the home leaves out deleted pins.
            log.warning("Removed %s stayed pinned in %s: %s", event_id, room_id, error)

    async def _redact(self, room_id: str, event_id: str, reason: str) -> str:
        content = {"reason": reason} if reason else {}
        return await redact_event(
            self.client,
            room_id,
            event_id,
            uuid.uuid4().hex,
            content,
            max_attempts=4,
        )

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
        # NOTE: state events have no compare-and-swap, so a pin that another
        # moderator adds between this read and the write below is lost. The
        # same holds for the power levels that set_role writes.
        content = await requests.get_state(self.client, room_id, PINNED_EVENTS) or {}
        current = pinned_event_ids(content)
        if pin and event_id not in current:
            pinned = [*current, event_id]
        elif not pin and event_id in current:
            pinned = [item for item in current if item != event_id]
        else:
            pinned = current
        if pinned != current or content.get("pinned", []) != current:
            # Written also when only invalid entries were dropped, so that
            # other clients read the same list as Commonplace.
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
