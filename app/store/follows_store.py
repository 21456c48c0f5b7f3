"""The cache's copy of the user's explicit follows and unfollows.

The lists live on the server as global account data (app.follows), and here
as validated JSON in the ``meta`` table under FOLLOWS_KEY:
{"follow": [event id, ...], "unfollow": [event id, ...]}, newest last.
app.store.activity.followed_discussions_sql reads them with SQLite's JSON
functions, so the Following filter and the notification rules agree.

Write functions run inside ``Store.write``, and read functions take any connection.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass

from app.records import Changes
from app.store.lookups import chunks, placeholders

log = logging.getLogger(__name__)

FOLLOWS_KEY = "account_data.app.commonplace.follows"
FOLLOW = "follow"
UNFOLLOW = "unfollow"
# Event ids kept in each list, at most. The oldest are dropped first.
MAX_ENTRIES = 1_000
# Matrix event ids are at most 255 bytes (the spec's limit on identifiers).
MAX_EVENT_ID_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Follows:
    """Discussions followed and unfollowed explicitly, by root event id, oldest first."""

    follow: tuple[str, ...] = ()
    unfollow: tuple[str, ...] = ()

    def to_content(self) -> dict:
        """Return the account data content for these lists."""
        return {FOLLOW: list(self.follow), UNFOLLOW: list(self.unfollow)}

    def with_choice(self, discussion_id: str, following: bool) -> Follows:
        """Return the lists with discussion_id moved to the end of the chosen one.

        The other list loses it, so the newest choice wins, and each list
        keeps its newest MAX_ENTRIES ids.
        """
        follow = [entry for entry in self.follow if entry != discussion_id]
        unfollow = [entry for entry in self.unfollow if entry != discussion_id]
        (follow if following else unfollow).append(discussion_id)
        return Follows(tuple(follow[-MAX_ENTRIES:]), tuple(unfollow[-MAX_ENTRIES:]))


def _valid_event_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("$")
        and len(value.encode()) <= MAX_EVENT_ID_LENGTH
    )


def parse_follows(content: object) -> Follows:
    """Return the valid part of follows content.

    Entries that are not event ids are dropped, duplicates kept once, and
    each list cut to its newest MAX_ENTRIES. An id in both lists counts as
    unfollowed. Content that is not an object gives empty lists.
    """
    if not isinstance(content, dict):
        return Follows()
    lists = {}
    for key in (FOLLOW, UNFOLLOW):
        entries = content.get(key)
        if not isinstance(entries, list):
            entries = []
        valid = [entry for entry in entries if _valid_event_id(entry)]
        if len(valid) < len(entries):
            log.warning(
                "Ignored %d invalid entries in the %s list of the follows account data",
                len(entries) - len(valid),
                key,
            )
        # dict.fromkeys keeps the last position of each id, so newest last.
        unique = list(reversed(dict.fromkeys(reversed(valid))))
        lists[key] = unique[-MAX_ENTRIES:]
    unfollowed = set(lists[UNFOLLOW])
    follow = [entry for entry in lists[FOLLOW] if entry not in unfollowed]
    return Follows(tuple(follow), tuple(lists[UNFOLLOW]))


def cached_follows(conn: sqlite3.Connection) -> Follows:
    """Return the lists as the cache has them, empty before the first sync."""
    row = conn.execute(
        "SELECT value FROM meta WHERE key = ?", (FOLLOWS_KEY,)
    ).fetchone()
    if row is None:
        return Follows()
    try:
        return parse_follows(json.loads(row[0]))
    except ValueError:
        return Follows()


def save_follows(conn: sqlite3.Connection, follows: Follows) -> Changes:
    """Store follows; return the discussions and rooms whose following changed."""
    previous = cached_follows(conn)
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (FOLLOWS_KEY, json.dumps(follows.to_content(), ensure_ascii=False)),
    )
    changed = (set(previous.follow) ^ set(follows.follow)) | (
        set(previous.unfollow) ^ set(follows.unfollow)
    )
    changes = Changes(discussions=changed)
    for chunk in chunks(sorted(changed)):
        rows = conn.execute(
            f"SELECT DISTINCT room_id FROM discussions "
            f"WHERE event_id IN ({placeholders(chunk)})",
            list(chunk),
        )
        changes.rooms.update(row[0] for row in rows)
    return changes
