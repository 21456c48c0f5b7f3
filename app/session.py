"""A signed-in user's working set: client, cache, sync loop, outbox and media.

The GUI and the command line both build one of these after sign-in, so they
share exactly the same core. Listeners are plain callables, called on the
event loop's thread; the GUI turns them into Qt signals.
"""

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from app import paths
from app.file_transfers import FileTransfers
from app.matrix import MatrixClient
from app.media import ThumbnailCache
from app.outbox import Outbox, OutboxStatus, OutboxWorker, session_fingerprint
from app.policy import Policy, system_policy
from app.profiles import ProfileFetcher
from app.read_state import ReadState
from app.records import Changes
from app.spaces import Spaces
from app.store import Store
from app.store.retention import (
    DAY_SECONDS,
    RemovedContent,
    cutoff_ms,
    remove_expired,
    remove_file_copies,
    remove_old_media,
)
from app.sync import SyncLoop, SyncState, SyncStatus
from app.user_directory import search_user_directory

log = logging.getLogger(__name__)

# People asked of the server's user directory per search: two pages of the
# People window, so a common name still shows everyone who shares it.
DIRECTORY_SEARCH_LIMIT = 50


class AppSession:
    """``policy`` defaults to this computer's system-wide policy."""

    def __init__(
        self,
        session,
        *,
        store_path: Path | None = None,
        transport=None,
        policy: Policy | None = None,
    ):
        self.session = session
        self.user_id: str = session.user_id
        self.policy = policy if policy is not None else system_policy()
        self.store = Store(
            store_path or paths.database_path(session.user_id, session.homeserver_url)
        )
        self.client = MatrixClient(
            session.homeserver_url,
            session.access_token,
            transport=transport,
            network=self.policy.network_options(),
        )
        self.thumbnails = ThumbnailCache(self.client)

        self._change_listeners: list[Callable[[Changes], None]] = []
        self._status_listeners: list[Callable[[SyncStatus], None]] = []
        self._outbox_status_listeners: list[Callable[[OutboxStatus], None]] = []
        self._account_data_listeners: list[Callable[[list[dict]], None]] = []

        self.profiles = ProfileFetcher(self.client, self.store, self._changed)
        self.sync = SyncLoop(
            self.client,
            self.store,
            on_changes=self._changed,
            on_status=self._status,
            profile_fetcher=self.profiles,
            user_id=self.user_id,
            on_account_data=self._account_data,
        )

        # The worker is the outbox's sender; the Outbox API wakes it on queueing.
        self.outbox_worker = OutboxWorker(
            self.client,
            self.store,
            user_id=session.user_id,
            session=session_fingerprint(session.device_id, session.access_token),
            on_changes=self._changed,
            on_status=self._outbox_status,
        )
        self.outbox = Outbox(
            self.store,
            session.user_id,
            on_changes=self._changed,
            on_queued=self.outbox_worker.wake,
        )

        self.read_state = ReadState(self.client, self.store)
        self.spaces = Spaces(
            self.client, self.store, self.user_id, self._changed, policy=self.policy
        )
        self.files = FileTransfers(
            self.client, self.store, self.user_id, self.policy, self._changed
        )
        self.files.connect_outbox(self.outbox_worker)
        self.add_changes_listener(self.files.notice_changes)

        self._task: asyncio.Task | None = None
        self._read_state_task: asyncio.Task | None = None
        self._outbox_task: asyncio.Task | None = None
        self._retention_task: asyncio.Task | None = None
        self.last_status: SyncStatus | None = None

    async def search_user_directory(self, term: str) -> list[str]:
        """Find people on the server by name or id and cache them with their profiles.

        The user directory has names and avatars only, so the profiles of the
        people found are fetched too, within the fetcher's limits, for their
        titles and departments.
        """
        found = await search_user_directory(
            self.client, self.store, term, limit=DIRECTORY_SEARCH_LIMIT
        )
        await self.profiles.refresh(found)
        return found

    def add_changes_listener(self, listener: Callable[[Changes], None]) -> None:
        self._change_listeners.append(listener)

    def add_status_listener(self, listener: Callable[[SyncStatus], None]) -> None:
        self._status_listeners.append(listener)

    def add_outbox_status_listener(
        self, listener: Callable[[OutboxStatus], None]
    ) -> None:
        """Call listener with the outbox worker's state (sending, offline, ...)."""
        self._outbox_status_listeners.append(listener)

    def add_account_data_listener(self, listener: Callable[[list[dict]], None]) -> None:
        """Call listener with the global account data events that a sync brings.

        The server sends them at the first sync and then when they change,
        for example when another sign-in changes a setting.
        """
        self._account_data_listeners.append(listener)

    def _account_data(self, events: list[dict]) -> None:
        for listener in self._account_data_listeners:
            listener(events)

    def _outbox_status(self, status: OutboxStatus) -> None:
        for listener in self._outbox_status_listeners:
            listener(status)

    def _changed(self, changes: Changes) -> None:
        for listener in self._change_listeners:
            listener(changes)

    def _status(self, status: SyncStatus) -> None:
        self.last_status = status
        if status.state is SyncState.ONLINE:
            # The server is reachable again: send receipts queued offline.
            self.read_state.wake()
        for listener in self._status_listeners:
            listener(status)

    def start(self) -> None:
        """Start syncing and sending in the background; the cache is readable at once.

        With a policy's ``retention_days``, old content is also removed now
        and once a day.
        """
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self.sync.run())
        if self._outbox_task is None or self._outbox_task.done():
            self._outbox_task = asyncio.ensure_future(self.outbox_worker.run())
        if self._read_state_task is None or self._read_state_task.done():
            self._read_state_task = asyncio.ensure_future(self.read_state.run())
        self.files.start()
        if self.policy.retention_days and (
            self._retention_task is None or self._retention_task.done()
        ):
            self._retention_task = asyncio.ensure_future(self._retention_loop())

    async def remove_expired_content(self) -> RemovedContent | None:
        """Remove cached content and media older than the policy's retention_days.

        Returns what was removed, or None when the policy sets no limit.
        """
        days = self.policy.retention_days
        if not days:
            return None
        cutoff = cutoff_ms(days)
        removed = await self.store.write(remove_expired, cutoff)
        media = await asyncio.to_thread(
            remove_old_media, self.thumbnails.folder, cutoff / 1000
        )
        media += await asyncio.to_thread(remove_file_copies, removed.file_copies)
        log.info(
            "Removed content older than %d days: %d discussions, %d replies, "
            "%d files, %d events, %d media files",
            days,
            removed.discussions,
            removed.replies,
            removed.files,
            removed.events,
            media,
        )
        if removed.changes:
            self._changed(removed.changes)
        return removed

    async def _retention_loop(self) -> None:
        # NOTE: content older than the limit that a sync brings in (a quiet
        # room's first sync) stays until the next daily pass.
        while True:
            try:
                await self.remove_expired_content()
            except (sqlite3.Error, OSError) as error:
                log.error("Removing old content failed: %s", error)
            await asyncio.sleep(DAY_SECONDS)

    async def close(self) -> None:
        tasks = (
            self._task,
            self._outbox_task,
            self._read_state_task,
            self._retention_task,
        )
        for task in tasks:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.files.close()
        await self.outbox_worker.close()
        await self.read_state.close()
        await self.sync.close()
        await self.client.aclose()
        self.store.close()
