"""The sync loop: long-polls /sync, fills timeline gaps and writes to the store.

Each response is translated to records and written in one transaction together
with its next_batch token, so a crash can never store events without the token
that covers them, or the token without its events.
"""

import asyncio
import enum
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.follows import follows_from_sync
from app.matrix.errors import AuthExpired, MatrixError
from app.records import Changes, RoomBatch
from app.store import Store
from app.store.follows_store import save_follows
from app.store.sync_write import apply_sync_response
from app.store.writes import SYNC_TOKEN_KEY, get_meta
from app.sync.own_receipts import ServerReceipt, own_receipts
from app.sync.translate import (
    MAX_SAFE_INTEGER,
    direct_invites,
    parse_direct_rooms,
    parse_thread_counts,
    translate_events,
    valid_room_id,
)

log = logging.getLogger(__name__)

# Events per room in a sync response; older ones are fetched with /messages.
TIMELINE_LIMIT = 50
# /messages pages per room gap, at MESSAGES_PAGE events a page. Past this the
# oldest part of a very long gap is not fetched.
MAX_GAP_PAGES = 100
MESSAGES_PAGE = 100
LONG_POLL_MS = 30_000
# Seconds to wait after a sync failure that the network layer does not retry.
FAILED_SYNC_PAUSE = 30

# unread_thread_notifications makes the server count each thread apart from
# the main timeline. Read receipts are the only ephemeral events asked for:
# without them, a receipt sent by the user's other device would not bring
# the room's new counts (Synapse 1.163 leaves a room with no events out).
SYNC_FILTER = {
    "presence": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": TIMELINE_LIMIT, "unread_thread_notifications": True},
        "ephemeral": {"types": ["m.receipt"]},
        "state": {"lazy_load_members": False},
    },
}


class SyncState(enum.Enum):
    SYNCING = "syncing"
    ONLINE = "online"
    OFFLINE = "offline"
    SIGNED_OUT = "signed_out"


@dataclass(frozen=True, slots=True)
class SyncStatus:
    state: SyncState
    last_sync_finished: float | None = None
    retry_in: float | None = None
    message: str = ""


class SyncLoop:
    """Keeps the store current with the server and reports its state."""

    def __init__(
        self,
        client,
        store: Store,
        *,
        on_changes: Callable[[Changes], None] = lambda changes: None,
        on_status: Callable[[SyncStatus], None] = lambda status: None,
        profile_fetcher=None,
        user_id: str | None = None,
        on_account_data: Callable[[list[dict]], None] = lambda events: None,
    ):
        self.client = client
        # Called with the global account data events of each sync that has
        # any, after the batch is stored: settings changed on other sign-ins.
        self.on_account_data = on_account_data
        # Whose receipts in the sync mark posts read; None ignores receipts.
        self.user_id = user_id
        self.store = store
        self.on_changes = on_changes
        self.on_status = on_status
        self.profile_fetcher = profile_fetcher
        self._last_sync_finished: float | None = None
        self._background: set[asyncio.Task] = set()

    def _report(self, state: SyncState, **fields) -> None:
        status = SyncStatus(state, self._last_sync_finished, **fields)
        self.on_status(status)

    def _on_retry(self, error: MatrixError, delay: float) -> None:
        self._report(SyncState.OFFLINE, retry_in=delay, message=error.message)

    async def sync_once(self, *, timeout_ms: int = 0, retry_forever=False) -> Changes:
        """Run one /sync request and store what it returns."""
        since = get_meta(self.store.reader(), SYNC_TOKEN_KEY)
        if since is None or timeout_ms == 0:
            self._report(SyncState.SYNCING)
        response = await self.client.sync(
            since=since,
            timeout_ms=timeout_ms if since else 0,
            filter=json.dumps(SYNC_FILTER),
            max_attempts=None if retry_forever else 4,
            on_retry=self._on_retry if retry_forever else None,
        )
        next_batch = response.get("next_batch")
        if not isinstance(next_batch, str):
            raise MatrixError("The server's sync response has no next_batch token.")
        batches, left = await self._room_batches(response, since)
        direct = _direct_rooms(response)
        receipts = self._own_receipts(response)
        # Stored before the batch and its token: after a crash in between,
        # the same sync brings the lists again.
        follows = follows_from_sync(response)
        follow_changes = Changes()
        if follows is not None:
            follow_changes = await self.store.write(save_follows, follows)
        changes = await self.store.write(
            apply_sync_response,
            batches,
            next_batch,
            left,
            direct,
            receipts,
            time.time(),
        )
        changes.merge(follow_changes)
        self._last_sync_finished = time.time()
        self._report(SyncState.ONLINE)
        if changes:
            self.on_changes(changes)
        account_data = [
            event
            for event in _events(response.get("account_data"))
            if isinstance(event, dict) and isinstance(event.get("type"), str)
        ]
        if account_data:
            self.on_account_data(account_data)
        self._refresh_profiles(changes.people | changes.senders)
        return changes

    async def run(self) -> None:
        """Sync until cancelled; stop with a SIGNED_OUT status if the token ends."""
        while True:
            try:
                await self.sync_once(timeout_ms=LONG_POLL_MS, retry_forever=True)
            except AuthExpired as error:
                log.warning("Sync stopped: the session has ended (%s)", error.errcode)
                self._report(SyncState.SIGNED_OUT, message=error.message)
                return
            except MatrixError as error:
                # Not retryable (4xx other than 429, malformed response): wait
                # before the next attempt so a persistent fault cannot spin.
                log.warning("Sync failed: %s", error)
                self._report(
                    SyncState.OFFLINE, retry_in=FAILED_SYNC_PAUSE, message=error.message
                )
                await asyncio.sleep(FAILED_SYNC_PAUSE)
            except Exception:
                log.exception("Sync failed with an unexpected error; retrying")
                self._report(
                    SyncState.OFFLINE,
                    retry_in=FAILED_SYNC_PAUSE,
                    message="Sync failed with an unexpected error (details in the "
                    "log file). Commonplace will try again.",
                )
                await asyncio.sleep(FAILED_SYNC_PAUSE)

    def _refresh_profiles(self, user_ids: set[str]) -> None:
        if not self.profile_fetcher or not user_ids:
            return
        task = asyncio.ensure_future(self.profile_fetcher.refresh(sorted(user_ids)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait_for_background(self) -> None:
        """Wait for profile fetches started by earlier syncs to finish."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _own_receipts(self, response: dict) -> list[ServerReceipt]:
        if self.user_id is None:
            return []
        rooms = response.get("rooms")
        rooms = rooms if isinstance(rooms, dict) else {}
        receipts = []
        for room_id, room in _sections(rooms, "join"):
            events = _events(room.get("ephemeral"))
            receipts.extend(own_receipts(room_id, events, self.user_id))
        return receipts

    async def _room_batches(
        self, response: dict, since: str | None
    ) -> tuple[list[RoomBatch], list[str]]:
        rooms = response.get("rooms")
        rooms = rooms if isinstance(rooms, dict) else {}
        batches = []
        for room_id, room in _sections(rooms, "join"):
            batches.append(await self._joined_room(room_id, room, since))
        for room_id, room in _sections(rooms, "invite"):
            events = _events(room.get("invite_state"))
            batch = RoomBatch(room_id, "invite")
            batch.items = translate_events(room_id, events, state=True)
            batch.items.extend(direct_invites(room_id, events))
            batches.append(batch)
        for room_id, room in _sections(rooms, "knock"):
            events = _events(room.get("knock_state"))
            batch = RoomBatch(room_id, "knock")
            batch.items = translate_events(room_id, events, state=True)
            batches.append(batch)
        left = [room_id for room_id, _ in _sections(rooms, "leave")]
        return batches, left

    async def _joined_room(self, room_id: str, room: dict, since: str | None):
        timeline = (
            room.get("timeline") if isinstance(room.get("timeline"), dict) else {}
        )
        counts = room.get("unread_notifications")
        counts = counts if isinstance(counts, dict) else {}
        summary = room.get("summary") if isinstance(room.get("summary"), dict) else {}

        batch = RoomBatch(
            room_id,
            "join",
            joined_member_count=_count(summary.get("m.joined_member_count")),
        )
        _add_counts(batch, counts, room.get("unread_thread_notifications"))
        prev_batch = timeline.get("prev_batch")
        if timeline.get("limited") and isinstance(prev_batch, str):
            gap = await self._fill_gap(room_id, prev_batch, since)
            batch.items.extend(translate_events(room_id, gap))
        batch.items.extend(
            translate_events(room_id, _events(room.get("state")), state=True)
        )
        batch.items.extend(translate_events(room_id, _events(timeline)))
        return batch

    async def _fill_gap(self, room_id: str, from_token: str, to_token: str | None):
        """Fetch the events between two tokens with /messages, oldest first."""
        collected: list = []
        token = from_token
        for _ in range(MAX_GAP_PAGES):
            page = await self.client.messages(
                room_id,
                from_token=token,
                to_token=to_token,
                direction="b",
                limit=MESSAGES_PAGE,
            )
            chunk = page.get("chunk")
            if isinstance(chunk, list):
                collected.extend(chunk)
            end = page.get("end")
            if not chunk or not isinstance(end, str) or end == token:
                break
            token = end
        else:
            log.warning(
                "Gap in %s longer than %d events; older events were not fetched",
                room_id,
                MAX_GAP_PAGES * MESSAGES_PAGE,
            )
        collected.reverse()
        return collected


def _add_counts(batch: RoomBatch, counts: dict, thread_counts: object) -> None:
    """Set a batch's counts: the main timeline's plus every thread's.

    With unread_thread_notifications in the filter, unread_notifications
    counts the main timeline only. The room's totals stay the server's counts
    added up, and the threads are kept apart for the discussion list.
    """
    notifications = _count(counts.get("notification_count"))
    highlights = _count(counts.get("highlight_count"))
    if notifications is None and highlights is None:
        return
    threads = parse_thread_counts(thread_counts)
    batch.thread_counts = threads
    thread_notifications = sum(count for count, _ in threads.values())
    thread_highlights = sum(count for _, count in threads.values())
    batch.unread_count = min(
        (notifications or 0) + thread_notifications, MAX_SAFE_INTEGER
    )
    batch.highlight_count = min((highlights or 0) + thread_highlights, MAX_SAFE_INTEGER)


def _direct_rooms(response: dict):
    """Return the m.direct account data of a sync response, or None without it.

    The server sends global account data on the first sync and then only when
    it changes, so None means "unchanged".
    """
    for event in _events(response.get("account_data")):
        if isinstance(event, dict) and event.get("type") == "m.direct":
            return parse_direct_rooms(event.get("content"))
    return None


def _sections(rooms: dict, name: str):
    section = rooms.get(name)
    if not isinstance(section, dict):
        return []
    return [
        (room_id, room)
        for room_id, room in section.items()
        if valid_room_id(room_id) and isinstance(room, dict)
    ]


def _events(container) -> list:
    if not isinstance(container, dict):
        return []
    events = container.get("events")
    return events if isinstance(events, list) else []


def _count(value) -> int | None:
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    if is_integer and 0 <= value <= MAX_SAFE_INTEGER:
        return value
    return None
