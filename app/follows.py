"""Following and unfollowing discussions, shared by every sign-in of the user.

A user follows the discussions they start or reply to. Explicit choices are
kept in global account data of type FOLLOWS_EVENT:
{"follow": [event id, ...], "unfollow": [event id, ...]}, each list capped at
follows_store.MAX_ENTRIES ids. The sync caches the latest content
(app.store.follows_store), and app.store.activity.followed_discussions_sql
applies it, so Home's Following filter and the notification rules agree.
"""

from __future__ import annotations

import logging
import sqlite3

from app import namespace as ns
from app.matrix.rooms import get_account_data, set_account_data
from app.records import Changes
from app.store.activity import followed_discussions_sql
from app.store.follows_store import Follows, cached_follows, parse_follows, save_follows

log = logging.getLogger(__name__)

FOLLOWS_EVENT = f"{ns.NAMESPACE}.follows"


def is_following(conn: sqlite3.Connection, user_id: str, discussion_id: str) -> bool:
    """Return whether user_id follows the discussion, by the cached lists."""
    row = conn.execute(
        f"SELECT 1 FROM ({followed_discussions_sql()}) WHERE root_id = ?",
        (user_id, discussion_id),
    ).fetchone()
    return row is not None


def follows_from_sync(response: dict) -> Follows | None:
    """Return the follows account data of a sync response, or None without it.

    The server sends global account data on the first sync and then only
    when it changes, so None means "unchanged".
    """
    account_data = response.get("account_data")
    events = account_data.get("events") if isinstance(account_data, dict) else None
    if not isinstance(events, list):
        return None
    for event in events:
        if isinstance(event, dict) and event.get("type") == FOLLOWS_EVENT:
            return parse_follows(event.get("content"))
    return None


async def set_following(
    client, store, user_id: str, discussion_id: str, following: bool
) -> Changes:
    """Follow or unfollow a discussion, in the cache at once and then on the server.

    Returns the cache's changes. Raises MatrixError when the server cannot
    be reached or rejects the change. The choice then stays in this cache,
    and the next change of the lists from any sign-in replaces it.
    """
    changes = await apply_choice(store, discussion_id, following)
    if client is not None:
        changes.merge(
            await save_choice(client, store, user_id, discussion_id, following)
        )
    return changes


async def apply_choice(store, discussion_id: str, following: bool) -> Changes:
    """Store a follow or unfollow in the cache only; return the cache's changes."""
    follows = cached_follows(store.reader()).with_choice(discussion_id, following)
    return await store.write(save_follows, follows)


async def save_choice(
    client, store, user_id: str, discussion_id: str, following: bool
) -> Changes:
    """Apply a follow or unfollow to the server's lists, then cache them.

    Returns the cache's changes, which include choices from other sign-ins
    that the sync has not brought yet. Raises MatrixError when the server
    cannot be reached or rejects the change.
    """
    # NOTE: account data has no compare-and-swap, so a choice made on another
    # sign-in between this read and write is lost.
    content = await get_account_data(client, user_id, FOLLOWS_EVENT)
    follows = parse_follows(content).with_choice(discussion_id, following)
    await set_account_data(client, user_id, FOLLOWS_EVENT, follows.to_content())
    return await store.write(save_follows, follows)
