"""Desktop notifications for new activity: gather, decide, deliver, open on click.

Notifier reads the activity items that the sync stored since its last check,
adds what the rules need (mentions, replies to the user's posts, followed
discussions, read positions), lets app.notification_rules.decide choose
which to show, and hands them to a backend. On Linux the backend speaks the
freedesktop notification interface (org.freedesktop.Notifications) over
D-Bus with dbus-fast. Elsewhere desktop-notifier sends through the system's own service.

A click on a notification (its "default" action) calls Notifier.on_clicked
with the Notification, which names the room, discussion and post to open.
Titles and bodies are plain text. When the server renders markup in bodies
(the "body-markup" capability), the body is escaped so that a post's text
cannot add markup, links or images.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from xml.sax.saxutils import escape

from app.notification_rules import (
    BURST_WINDOW_SECONDS,
    DEFAULT_LEVEL,
    LEVELS,
    READ_EVERYTHING,
    Candidate,
    Decision,
    Notification,
    ReadPositions,
    decide,
    summary,
)
from app.records import Changes
from app.store.activity import (
    DISCUSSION_KINDS,
    StreamFilter,
    StreamItem,
    followed_discussions_sql,
    latest_item_id,
    listed_event_ids,
    named_in,
    read_new_items,
)
from app.store.direct_store import direct_room_people
from app.store.follows_store import cached_follows
from app.store.lookups import chunks, placeholders
from app.store.read_state_store import thread_unread_counts
from app.store.writes import SYNC_TOKEN_KEY, get_meta

log = logging.getLogger(__name__)

APP_NAME = "Commonplace"
DESKTOP_ENTRY = "app.commonplace.client"
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
DEFAULT_ACTION = "default"
# Milliseconds a notification stays up; -1 lets the server decide.
EXPIRE_TIMEOUT = -1
# Collected notifications kept for the panel while do-not-disturb is on.
MAX_COLLECTED = 200
# Shown notifications remembered for a click, oldest forgotten first.
MAX_CLICKABLE = 100

# The posts that can notify: every joined room's, direct rooms included.
NOTIFYING_STREAM = StreamFilter(include_direct=True)

# Returns the read positions for the rooms and discussions of the new items,
# given the cache connection and their ids (server_read_positions is one).
ReadPositionSource = Callable[[sqlite3.Connection, set[str], set[str]], ReadPositions]


class NotificationServiceError(Exception):
    """The desktop's notification service could not be reached or refused a call."""


class FreedesktopBackend:
    """Sends notifications over D-Bus to org.freedesktop.Notifications.

    bus_address picks the bus (the session bus when None). on_action is
    called with the id that show() returned when the user clicks that
    notification.
    """

    def __init__(self, bus_address: str | None = None):
        self.bus_address = bus_address
        self.on_action: Callable[[int], None] = lambda notification_id: None
        self.on_closed: Callable[[int], None] = lambda notification_id: None
        self._bus = None
        self._capabilities: frozenset[str] = frozenset()
        self._lock = asyncio.Lock()

    async def _connect(self):
        from dbus_fast import Message
        from dbus_fast.aio import MessageBus

        try:
            bus = await MessageBus(bus_address=self.bus_address).connect()
        except (OSError, ValueError, EOFError) as error:
            where = self.bus_address or "the session bus"
            raise NotificationServiceError(
                f"cannot connect to D-Bus at {where}: {error}"
            ) from error
        bus.add_message_handler(self._message_received)
        rule = f"type='signal',interface='{INTERFACE}',path='{OBJECT_PATH}'"
        try:
            await self._call(
                bus,
                Message(
                    destination="org.freedesktop.DBus",
                    path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus",
                    member="AddMatch",
                    signature="s",
                    body=[rule],
                ),
            )
            reply = await self._call(bus, self._method("GetCapabilities"))
        except BaseException:
            await _disconnect(bus)
            raise
        self._capabilities = frozenset(reply[0])
        return bus

    @staticmethod
    def _method(member: str, signature: str = "", body: list | None = None):
        from dbus_fast import Message

        return Message(
            destination=BUS_NAME,
            path=OBJECT_PATH,
            interface=INTERFACE,
            member=member,
            signature=signature,
            body=body or [],
        )

    @staticmethod
    async def _call(bus, message) -> list:
        from dbus_fast import MessageType

        reply = await bus.call(message)
        if reply is None:
            raise NotificationServiceError(f"{message.member} got no reply")
        if reply.message_type == MessageType.ERROR:
            detail = reply.body[0] if reply.body else ""
            raise NotificationServiceError(
                f"{message.member} failed: {reply.error_name} {detail}".strip()
            )
        return reply.body

    def _message_received(self, message) -> None:
        from dbus_fast import MessageType

        if message.message_type != MessageType.SIGNAL or message.interface != INTERFACE:
            return
        try:
            if message.member == "ActionInvoked":
                notification_id, action = message.body
                if action == DEFAULT_ACTION:
                    self.on_action(int(notification_id))
            elif message.member == "NotificationClosed":
                self.on_closed(int(message.body[0]))
        except (ValueError, TypeError) as error:
            log.warning("Ignored a malformed %s signal: %s", message.member, error)

    async def show(self, title: str, body: str, replaces_id: int = 0) -> int:
        """Show a notification with a default action; return the server's id.

        With replaces_id, the server updates that notification in place.
        """
        from dbus_fast import Variant

        async with self._lock:
            if self._bus is None or not self._bus.connected:
                self._bus = await self._connect()
        if "body-markup" in self._capabilities:
            body = escape(body)
        hints = {
            "desktop-entry": Variant("s", DESKTOP_ENTRY),
            "category": Variant("s", "im.received"),
            "urgency": Variant("y", 1),
        }
        reply = await self._call(
            self._bus,
            self._method(
                "Notify",
                "susssasa{sv}i",
                # No icon: the desktop entry hint lets the server find the app's.
                [
                    APP_NAME,
                    replaces_id,
                    "",
                    title,
                    body,
                    [DEFAULT_ACTION, "Open"],
                    hints,
                    EXPIRE_TIMEOUT,
                ],
            ),
        )
        return int(reply[0])

    async def withdraw(self, notification_id: int) -> None:
        """Ask the server to take a notification off the screen."""
        async with self._lock:
            if self._bus is None or not self._bus.connected:
                self._bus = await self._connect()
        await self._call(
            self._bus,
            self._method("CloseNotification", "u", [notification_id]),
        )

    async def close(self) -> None:
        if self._bus is not None:
            await _disconnect(self._bus)
            self._bus = None


async def _disconnect(bus) -> None:
    """Close a dbus-fast connection and wait until its socket is closed."""
    bus.disconnect()
    await bus.wait_for_disconnect()


class DesktopNotifierBackend:
    """Sends notifications with desktop-notifier, for Windows and macOS.

    NOTE: only the freedesktop backend is run by the tests; this one has not
    been tried on Windows or macOS.
    """

    def __init__(self):
        from desktop_notifier import DesktopNotifier

        self._notifier = DesktopNotifier(app_name=APP_NAME)
        self._ids = 0
        self.on_action: Callable[[int], None] = lambda notification_id: None
        self.on_closed: Callable[[int], None] = lambda notification_id: None

    async def show(self, title: str, body: str, replaces_id: int = 0) -> int:
        # desktop-notifier cannot update a notification; a new one is shown.
        self._ids += 1
        notification_id = self._ids
        try:
            await self._notifier.send(
                title=title,
                message=body,
                on_clicked=lambda: self.on_action(notification_id),
                on_dismissed=lambda: self.on_closed(notification_id),
            )
        except Exception as error:  # desktop-notifier raises platform errors
            raise NotificationServiceError(str(error)) from error
        return notification_id

    async def withdraw(self, notification_id: int) -> None:
        # desktop-notifier offers no way to take one notification back here.
        return None

    async def close(self) -> None:
        return None


def default_backend():
    """Return the notification backend for this system."""
    if sys.platform.startswith("linux"):
        return FreedesktopBackend()
    return DesktopNotifierBackend()


def implicit_read_positions(
    conn: sqlite3.Connection,
    user_id: str,
    room_ids: Iterable[str],
    discussion_ids: Iterable[str],
) -> ReadPositions:
    """Return the times of the user's latest posts, as read positions.

    Sending a post marks everything before it in its timeline as read (an
    implicit receipt, as in the Matrix specification), whichever device
    sent it: a reply reads its thread, a new discussion the room's main
    timeline.
    """
    kinds = ", ".join(f"'{kind}'" for kind in DISCUSSION_KINDS)
    main: dict[str, int] = {}
    for chunk in chunks(sorted(set(room_ids))):
        rows = conn.execute(
            f"""SELECT room_id, MAX(ts) FROM activity WHERE actor = ?
            AND kind IN ({kinds}) AND room_id IN ({placeholders(chunk)})
            GROUP BY room_id""",
            [user_id, *chunk],
        )
        main.update({room: ts for room, ts in rows})
    threads: dict[str, int] = {}
    for chunk in chunks(sorted(set(discussion_ids))):
        rows = conn.execute(
            f"""SELECT root_id, MAX(ts) FROM activity WHERE actor = ?
            AND kind = 'reply' AND root_id IN ({placeholders(chunk)})
            GROUP BY root_id""",
            [user_id, *chunk],
        )
        threads.update({root: ts for root, ts in rows})
    return ReadPositions(main=main, threads=threads)


def server_read_positions(
    conn: sqlite3.Connection, room_ids: set[str], discussion_ids: set[str]
) -> ReadPositions:
    """Return the read positions that the server's unread counts imply.

    The sync stores, with each batch, the server's notification counts for
    each room's main timeline and for each thread with something unread. A
    timeline or thread that the server counts nothing unread in has been
    read, here or elsewhere (its receipt is past every post that notifies).
    NOTE: the counts cover only events that the user's push rules notify
    for, so a room muted with push rules counts as read.
    """
    main: dict[str, int] = {}
    for chunk in chunks(sorted(room_ids)):
        rows = conn.execute(
            f"""SELECT r.room_id FROM rooms r
            WHERE r.room_id IN ({placeholders(chunk)})
            AND r.unread_count - COALESCE((SELECT SUM(t.notification_count)
                FROM thread_unread t WHERE t.room_id = r.room_id), 0) <= 0""",
            list(chunk),
        )
        main.update({row[0]: READ_EVERYTHING for row in rows})
    unread = set(thread_unread_counts(conn, sorted(discussion_ids)))
    threads = {root: READ_EVERYTHING for root in discussion_ids - unread}
    return ReadPositions(main=main, threads=threads)


def _later(first: Mapping[str, int], second: Mapping[str, int]) -> dict[str, int]:
    """Return the later of the two positions for every key of either."""
    merged = dict(first)
    for key, position in second.items():
        merged[key] = max(position, merged.get(key, position))
    return merged


def gather_candidates(
    conn: sqlite3.Connection, user_id: str, items: list[StreamItem]
) -> list[Candidate]:
    """Return items with the facts the notification rules need."""
    ids = [item.id for item in items]
    mentioned: set[int] = set()
    for chunk in chunks(ids):
        rows = conn.execute(
            f"SELECT activity_id FROM activity_mentions WHERE user_id = ? "
            f"AND activity_id IN ({placeholders(chunk)})",
            [user_id, *chunk],
        )
        mentioned.update(row[0] for row in rows)
    # The server highlights posts naming the user, so they notify as mentions.
    mentioned |= named_in(conn, user_id, ids)

    discussion_ids = sorted(
        {item.discussion_id for item in items if item.discussion_id}
    )
    followed: set[str] = set()
    started: set[str] = set()
    for chunk in chunks(discussion_ids):
        rows = conn.execute(
            f"SELECT root_id FROM ({followed_discussions_sql()}) "
            f"WHERE root_id IN ({placeholders(chunk)})",
            [user_id, *chunk],
        )
        followed.update(row[0] for row in rows)
        rows = conn.execute(
            f"SELECT event_id FROM discussions WHERE sender = ? "
            f"AND event_id IN ({placeholders(chunk)})",
            [user_id, *chunk],
        )
        started.update(row[0] for row in rows)

    direct = direct_room_people(conn)

    # In a discussion the user unfollowed, replies to the user stay quiet,
    # and only mentions notify.
    unfollowed = set(cached_follows(conn).unfollow)

    reply_ids = [item.event_id for item in items if item.kind == "reply"]
    quoting_user: set[str] = set()
    for chunk in chunks(reply_ids):
        rows = conn.execute(
            f"""SELECT r.event_id FROM replies r
            LEFT JOIN replies q ON q.event_id = r.in_reply_to
            LEFT JOIN discussions d ON d.event_id = r.in_reply_to
            WHERE r.event_id IN ({placeholders(chunk)})
            AND COALESCE(q.sender, d.sender) = ?""",
            [*chunk, user_id],
        )
        quoting_user.update(row[0] for row in rows)

    return [
        Candidate(
            item,
            mentions_user=item.id in mentioned,
            replies_to_user=item.kind == "reply"
            and item.discussion_id not in unfollowed
            and (item.discussion_id in started or item.event_id in quoting_user),
            in_followed_discussion=item.discussion_id in followed,
            in_direct_room=item.room_id in direct,
        )
        for item in items
    ]


class Notifier:
    """Shows desktop notifications for the activity that the sync stores.

    Call check() after each stored batch (changes_arrived does it in the
    background). Items already in the cache when the Notifier starts are
    never announced, and neither is the history that a cache's first sync
    brings. read_positions, when given, supplies the read positions from the
    server (server_read_positions). The user's own posts count as read
    positions either way.
    """

    def __init__(
        self,
        store,
        user_id: str,
        backend=None,
        *,
        read_positions: ReadPositionSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.user_id = user_id
        self.backend = backend if backend is not None else default_backend()
        self.backend.on_action = self._action_invoked
        self.backend.on_closed = self._closed
        self.on_clicked: Callable[[Notification], None] = lambda notification: None
        self.on_collected: Callable[[list[Notification]], None] = lambda items: None
        # Returns True for a notification the user is already looking at
        # (its discussion open in the active window), which is not shown.
        self.in_view: Callable[[Notification], bool] = lambda notification: False
        self.levels: dict[str, str] = {}
        self.do_not_disturb_until: float | None = None
        self.collected: list[Notification] = []
        self._read_positions = read_positions
        self._clock = clock
        self._wall_clock = wall_clock
        self._recent: deque[float] = deque()
        # The notifications that the current burst's summary popup stands for.
        self._burst: list[Notification] = []
        self._burst_id = 0
        self._burst_at = 0.0
        self._shown: dict[int, Notification] = {}
        self._check_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._service_failing = False

        conn = store.reader()
        self._last_id = latest_item_id(conn)
        # A cache's first sync brings the history: it is not news.
        self._first_sync_pending = get_meta(conn, SYNC_TOKEN_KEY) is None

    # -- Settings ------------------------------------------------------------

    def set_level(self, space_id: str, level: str) -> None:
        """Set a space's level: ALL_POSTS, MENTIONS_AND_REPLIES or NOTHING."""
        if level not in LEVELS:
            raise ValueError(
                f"unknown notification level {level!r}; use one of {LEVELS}"
            )
        if level == DEFAULT_LEVEL:
            self.levels.pop(space_id, None)
        else:
            self.levels[space_id] = level

    def set_do_not_disturb(self, until: float | None) -> None:
        """Hold notifications back until the time until (seconds since the epoch).

        None turns do-not-disturb off.
        """
        self.do_not_disturb_until = until

    def do_not_disturb(self) -> bool:
        until = self.do_not_disturb_until
        return until is not None and self._wall_clock() < until

    # -- Checking ------------------------------------------------------------

    def changes_arrived(self, changes: Changes) -> None:
        """Check for new items in the background after a stored batch.

        Called right after the write, so the cache contains exactly that batch:
        the batch of a cache's first sync is skipped here, before a later
        batch can be mixed in with it.
        """
        if not (changes.rooms or changes.discussions):
            return
        if self._first_sync_pending:
            conn = self.store.reader()
            self._last_id = latest_item_id(conn)
            self._first_sync_pending = get_meta(conn, SYNC_TOKEN_KEY) is None
            return
        task = asyncio.ensure_future(self.check())
        self._tasks.add(task)
        task.add_done_callback(self._check_finished)

    def _check_finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("Checking for notifications failed: %r", error, exc_info=error)

    async def wait_for_checks(self) -> None:
        """Wait for the checks that changes_arrived started."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def check(self) -> Decision:
        """Read the items stored since the last check and notify for them."""
        async with self._check_lock:
            decision = self._decide()
            await self._deliver(decision)
            await self._withdraw_deleted()
            return decision

    async def _withdraw_deleted(self) -> None:
        """Take back the shown notifications of posts deleted since."""
        single = {
            notification_id: notification.items[0].event_id
            for notification_id, notification in self._shown.items()
            if not notification.is_summary
        }
        if not single:
            return
        existing = listed_event_ids(self.store.reader(), list(single.values()))
        for notification_id, event_id in single.items():
            if event_id in existing:
                continue
            self._shown.pop(notification_id, None)
            try:
                await self.backend.withdraw(notification_id)
            except NotificationServiceError as error:
                log.info("A deleted post's notification stayed: %s", error)

    def _decide(self) -> Decision:
        conn = self.store.reader()
        latest = latest_item_id(conn)
        if self._first_sync_pending:
            self._last_id = latest
            self._first_sync_pending = get_meta(conn, SYNC_TOKEN_KEY) is None
            return Decision()
        if latest <= self._last_id:
            return Decision()
        items = read_new_items(conn, self.user_id, NOTIFYING_STREAM, self._last_id)
        self._last_id = latest
        if not items:
            return Decision()
        candidates = gather_candidates(conn, self.user_id, items)
        now = self._clock()
        while self._recent and now - self._recent[0] >= BURST_WINDOW_SECONDS:
            self._recent.popleft()
        return decide(
            candidates,
            user_id=self.user_id,
            levels=self.levels,
            read_positions=self._positions(conn, items),
            do_not_disturb=self.do_not_disturb(),
            recent=list(self._recent),
            now=now,
        )

    def _positions(
        self, conn: sqlite3.Connection, items: list[StreamItem]
    ) -> ReadPositions:
        discussions = {item.discussion_id for item in items if item.discussion_id}
        rooms = {item.room_id for item in items}
        explicit = ReadPositions()
        if self._read_positions is not None:
            explicit = self._read_positions(conn, rooms, discussions)
        implicit = implicit_read_positions(conn, self.user_id, rooms, discussions)
        return ReadPositions(
            rooms=dict(explicit.rooms),
            main=_later(explicit.main, implicit.main),
            threads=_later(explicit.threads, implicit.threads),
        )

    async def _deliver(self, decision: Decision) -> None:
        if decision.collected:
            self.collected.extend(decision.collected)
            del self.collected[:-MAX_COLLECTED]
            self.on_collected(decision.collected)
        now = self._clock()
        for notification in decision.shown:
            if self.in_view(notification):
                continue
            self._recent.extend([now] * len(notification.items))
            replaces = 0
            if decision.summarised and notification.is_summary:
                notification, replaces = self._extend_burst(decision.summarised, now)
            try:
                notification_id = await self.backend.show(
                    notification.title, notification.body, replaces
                )
            except NotificationServiceError as error:
                # Logged once until the service works again, not per post.
                if not self._service_failing:
                    log.warning("Showing a desktop notification failed: %s", error)
                self._service_failing = True
                continue
            if self._service_failing:
                log.info("Desktop notifications work again")
            self._service_failing = False
            self._shown[notification_id] = notification
            if notification.is_summary:
                self._burst_id = notification_id
            while len(self._shown) > MAX_CLICKABLE:
                del self._shown[next(iter(self._shown))]

    def _extend_burst(
        self, notifications: list[Notification], now: float
    ) -> tuple[Notification, int]:
        """Return the summary of this burst so far, and the popup it replaces.

        Posts that keep arriving within BURST_WINDOW_SECONDS of the last
        summary, often in many small sync batches, update one popup instead
        of adding one per batch.
        """
        if self._burst_id and now - self._burst_at < BURST_WINDOW_SECONDS:
            self._burst.extend(notifications)
            replaces = self._burst_id
        else:
            self._burst = list(notifications)
            replaces = 0
        self._burst_at = now
        return summary(self._burst), replaces

    def _action_invoked(self, notification_id: int) -> None:
        notification = self._shown.pop(notification_id, None)
        if notification is not None:
            self.on_clicked(notification)

    def _closed(self, notification_id: int) -> None:
        self._shown.pop(notification_id, None)
        if notification_id == self._burst_id:
            # A closed popup cannot be updated; the next burst starts anew.
            self._burst_id = 0

    def mark_collected_read(self) -> None:
        """Forget the collected notifications, after the user has seen them."""
        self.collected.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.backend.close()
