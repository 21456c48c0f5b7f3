"""The shared part of the space actions: messages, permission checks, cache writes.

Every action needs the server and raises SpaceActionError with a plain
message when it cannot reach it, or before any request when the user's
cached power level does not allow it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from app.errors import CommonplaceError
from app.matrix import space_requests as requests
from app.matrix.errors import ConnectionFailed, RequestFailed, ServerUnavailable
from app.records import Changes, RoomBatch
from app.store import space_queries
from app.store.writes import apply_sync
from app.sync.translate import translate_events

log = logging.getLogger(__name__)

T = TypeVar("T")

# Limits on reading the state of rooms just joined or created, which the
# sync also brings: seconds of silence per read, and attempts per room.
CACHE_STATE_TIMEOUT = 10.0
CACHE_STATE_ATTEMPTS = 2


class SpaceActionError(CommonplaceError):
    """A space action failed or is not allowed; ``message`` gives the reason and the fix."""


class SpaceActionsBase:
    """The state and helpers that the space actions share; see app.spaces.Spaces."""

    def __init__(self, client, store, user_id: str, on_changes, *, policy=None):
        self.client = client
        self.store = store
        self.user_id = user_id
        self.policy = policy
        self._on_changes = on_changes
        self._locks: dict[str, asyncio.Lock] = {}

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
                f"{doing} did not finish. {error.message}"
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
        once. A room whose state cannot be read is left to the sync, and so
        are all the rooms after one that the server did not respond for.
        """
        batches = []
        for index, room_id in enumerate(room_ids):
            try:
                events = await requests.room_state(
                    self.client,
                    room_id,
                    timeout=CACHE_STATE_TIMEOUT,
                    max_attempts=CACHE_STATE_ATTEMPTS,
                )
            except RequestFailed as error:
                log.warning("Could not read the state of %s: %s", room_id, error)
                continue
            except ConnectionFailed as error:
                log.warning(
                    "Could not read the state of %s, left %d rooms to the sync: %s",
                    room_id,
                    len(room_ids) - index,
                    error,
                )
                break
            batch = RoomBatch(room_id, "join")
            batch.items = translate_events(room_id, events, state=True)
            batches.append(batch)
        if batches:
            await self._write(apply_sync, batches, None)

    async def _cache_membership(self, room_id: str, membership: str) -> None:
        await self._write(apply_sync, [RoomBatch(room_id, membership)], None)

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
