"""The notifications panel's list: the posts that notified or would notify.

The list is derived from the activity table each time, with the rules of
app.notification_rules, so it is the same offline and after a restart as it
was when the posts arrived. Do-not-disturb and the burst summary change only
how notifications are shown, so they play no part here.

A listed post is read in three cases. The server's read position is past it
(server_read_positions: nothing unread is left in its timeline or thread).
The user posted after it in that timeline (an implicit receipt). Or a
receipt queued or sent from this device covers it, so that marking read
shows at once, offline too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from app.notification_rules import (
    FOLLOWED,
    NOTIFYING_KINDS,
    Notification,
    ReadPositions,
    notification_for,
)
from app.notifier import (
    NOTIFYING_STREAM,
    ReadPositionSource,
    gather_candidates,
    implicit_read_positions,
)
from app.store.activity import PAGE_SIZE, StreamItem, read_stream
from app.store.lookups import chunks, placeholders
from app.store.read_state_store import MAIN_THREAD, READ, UNTHREADED

# Notifications listed at most, newest first.
MAX_LISTED = 100
# Stream pages read at most to fill the list, so that a user whom nothing
# notifies does not make the panel read the whole cache.
MAX_PAGES = 20
# "Mark all read" looks further back than the list shows: up to this many
# notifications in this many stream pages (10,000 items).
MAX_MARKED = 5_000
MAX_MARK_PAGES = 200


@dataclass(frozen=True, slots=True)
class ListedNotification:
    """A notification of one post in the panel, and whether the post is read."""

    notification: Notification
    read: bool

    @property
    def item(self) -> StreamItem:
        return self.notification.items[0]


def read_notifications(
    conn: sqlite3.Connection,
    user_id: str,
    *,
    levels: Mapping[str, str],
    read_positions: ReadPositionSource | None,
    limit: int = MAX_LISTED,
    max_pages: int = MAX_PAGES,
) -> list[ListedNotification]:
    """Return up to limit notifications of past posts, newest first.

    At most max_pages pages of the activity stream are read to find them.

    levels maps a space id to its notification level, as in decide().
    read_positions supplies the server's read positions. With None, only
    the user's own posts and local receipts count.
    """
    found: list[Notification] = []
    cursor = None
    for _page in range(max_pages):
        page = read_stream(
            conn, user_id, NOTIFYING_STREAM, before=cursor, limit=PAGE_SIZE
        )
        posts = [
            item
            for item in page.items
            if item.kind in NOTIFYING_KINDS and item.actor != user_id
        ]
        for candidate in gather_candidates(conn, user_id, posts):
            # Read or not, a post is listed when it notifies by the rules.
            notification = notification_for(
                candidate,
                user_id=user_id,
                levels=levels,
                read_positions=ReadPositions(),
            )
            if notification is None:
                continue
            # A discussion's first post came before anyone could follow it,
            # so following it later does not list that post.
            if notification.reason == FOLLOWED and candidate.item.kind != "reply":
                continue
            found.append(notification)
        if len(found) >= limit or page.cursor is None:
            break
        cursor = page.cursor
    found = found[:limit]
    items = [notification.items[0] for notification in found]
    positions = _read_positions(conn, user_id, read_positions, items)
    locally_read = _read_by_local_receipts(conn, items)
    return [
        ListedNotification(
            notification,
            read=positions.is_read(notification.items[0])
            or notification.items[0].event_id in locally_read,
        )
        for notification in found
    ]


def unread_count(listed: list[ListedNotification]) -> int:
    """Return how many listed notifications are unread."""
    return sum(1 for entry in listed if not entry.read)


def _read_positions(
    conn: sqlite3.Connection,
    user_id: str,
    source: ReadPositionSource | None,
    items: list[StreamItem],
) -> ReadPositions:
    """Return the server's read positions merged with the implicit ones."""
    rooms = {item.room_id for item in items}
    discussions = {item.discussion_id for item in items if item.discussion_id}
    explicit = ReadPositions()
    if source is not None:
        explicit = source(conn, rooms, discussions)
    implicit = implicit_read_positions(conn, user_id, rooms, discussions)
    main = dict(explicit.main)
    for room_id, position in implicit.main.items():
        main[room_id] = max(position, main.get(room_id, position))
    threads = dict(explicit.threads)
    for root_id, position in implicit.threads.items():
        threads[root_id] = max(position, threads.get(root_id, position))
    return ReadPositions(rooms=dict(explicit.rooms), main=main, threads=threads)


def _read_by_local_receipts(
    conn: sqlite3.Connection, items: list[StreamItem]
) -> set[str]:
    """Return the ids of the posts that a receipt from this device covers.

    A reply is covered by a receipt in its thread, a discussion by one in
    the main timeline, and both by an unthreaded receipt in their room, at
    or after the post's position in the cache's timeline.
    """
    covered: set[str] = set()
    for chunk in chunks([item.event_id for item in items]):
        rows = conn.execute(
            f"""SELECT e.event_id FROM events e
            JOIN activity a ON a.event_id = e.event_id
            WHERE e.event_id IN ({placeholders(chunk)})
            AND EXISTS (SELECT 1 FROM read_receipts r
                WHERE r.room_id = e.room_id AND r.receipt_type = ?
                AND r.position >= e.position
                AND r.thread_id IN (?, CASE WHEN a.kind = 'reply'
                    THEN a.root_id ELSE ? END))""",
            [*chunk, READ, UNTHREADED, MAIN_THREAD],
        )
        covered.update(row[0] for row in rows)
    return covered
