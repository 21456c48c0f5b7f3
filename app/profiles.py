"""Fetching people's profiles into the cache, politely.

At most MAX_IN_FLIGHT profile requests run at once, and each person is
fetched at most once per MAX_AGE_SECONDS unless a membership event changed
their name or avatar (the store marks them stale).
"""

import asyncio
import logging
import time
from collections.abc import Callable

from app.matrix.errors import ConnectionFailed, MatrixError
from app.records import Changes, Profile
from app.store import Store
from app.store.queries import people_due_for_fetch
from app.store.writes import mark_profile_fetch_failed, save_profiles
from app.sync.translate import parse_profile

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 4
MAX_AGE_SECONDS = 3600


class ProfileFetcher:
    def __init__(
        self,
        client,
        store: Store,
        on_changes: Callable[[Changes], None] = lambda changes: None,
    ):
        self.client = client
        self.store = store
        self.on_changes = on_changes
        self._semaphore = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._in_flight: set[str] = set()

    async def refresh(self, user_ids: list[str]) -> Changes:
        """Fetch the profiles among user_ids that are due, and store them."""
        due = people_due_for_fetch(self.store.reader(), user_ids, MAX_AGE_SECONDS)
        due = [user_id for user_id in due if user_id not in self._in_flight]
        if not due:
            return Changes()
        self._in_flight.update(due)
        try:
            results = await asyncio.gather(*(self._fetch(user_id) for user_id in due))
        finally:
            self._in_flight.difference_update(due)

        now = time.time()
        profiles = [result for result in results if isinstance(result, Profile)]
        failed = [user_id for user_id, result in zip(due, results) if result is False]
        if failed:
            await self.store.write(mark_profile_fetch_failed, failed, now)
        changes = await self.store.write(save_profiles, profiles, now)
        if changes:
            self.on_changes(changes)
        return changes

    async def _fetch(self, user_id: str) -> Profile | bool | None:
        """Return the profile, False when the server refused it, None when offline."""
        async with self._semaphore:
            try:
                data = await self.client.get_profile(user_id)
            except ConnectionFailed as error:
                log.info("Profile of %s not fetched: %s", user_id, error)
                return None
            except MatrixError as error:
                log.warning("Profile of %s not available: %s", user_id, error)
                return False
        return parse_profile(user_id, data if isinstance(data, dict) else {})
