"""Notification settings kept on the server, so that every sign-in shares them.

Do-not-disturb is global account data of type SETTINGS_EVENT. A space's
level is a set of push rules on each of its joined rooms (the space itself
included):

- NOTHING: an override rule whose rule_id is the room id, matching the
  room's events, with no actions, so that nothing in the room notifies.
- ALL_POSTS: a room rule for the room with the "notify" action.
- MENTIONS_AND_REPLIES (the default): neither rule.

The server's unread counts then follow the level, and load_space_levels
reads the levels back for the desktop rules.
"""

from __future__ import annotations

import sqlite3

from app import namespace as ns
from app.matrix.errors import NotFound
from app.matrix.rooms import get_account_data, set_account_data
from app.matrix.urls import path_segment
from app.notification_rules import ALL_POSTS, LEVELS, MENTIONS_AND_REPLIES, NOTHING
from app.store.read_state_store import space_room_ids

_CLIENT_API = "/_matrix/client/v3"

# Global account data with the notification settings, so that every
# sign-in of the user sees them: {"do_not_disturb_until": ms since the
# epoch, or null when off}.
SETTINGS_EVENT = f"{ns.NAMESPACE}.notifications"
DO_NOT_DISTURB_KEY = "do_not_disturb_until"
# The account data event in which the server sends the push rules.
PUSH_RULES_EVENT = "m.push_rules"


# -- Do not disturb ------------------------------------------------------------


async def load_do_not_disturb(client, user_id: str) -> float | None:
    """Return when the user's do-not-disturb ends (seconds since the epoch).

    None when it is off or the stored value is invalid. Raises MatrixError
    when the server cannot be reached.
    """
    content = await get_account_data(client, user_id, SETTINGS_EVENT)
    return do_not_disturb_from_content(content)


def do_not_disturb_from_content(content: object) -> float | None:
    """Return when do-not-disturb ends from SETTINGS_EVENT's content, or None."""
    if not isinstance(content, dict):
        return None
    until = content.get(DO_NOT_DISTURB_KEY)
    if isinstance(until, bool) or not isinstance(until, int | float) or until <= 0:
        return None
    return until / 1000


async def save_do_not_disturb(client, user_id: str, until: float | None) -> None:
    """Store when do-not-disturb ends (None: off) in the user's account data.

    Other keys of the settings are kept. Raises MatrixError when the server
    cannot be reached or rejects the change.
    """
    content = await get_account_data(client, user_id, SETTINGS_EVENT)
    content = dict(content) if isinstance(content, dict) else {}
    content[DO_NOT_DISTURB_KEY] = None if until is None else int(until * 1000)
    await set_account_data(client, user_id, SETTINGS_EVENT, content)


# -- Space levels as push rules -----------------------------------------------


def _rule_path(kind: str, room_id: str) -> str:
    return f"{_CLIENT_API}/pushrules/global/{kind}/{path_segment(room_id)}"


async def _delete_rule(client, kind: str, room_id: str) -> None:
    try:
        await client.request("DELETE", _rule_path(kind, room_id))
    except NotFound:
        pass


async def set_space_level(
    client, conn: sqlite3.Connection, space_id: str, level: str
) -> None:
    """Write the push rules of level on every joined room of a space.

    conn reads the space's rooms from the cache. Raises ValueError for an
    unknown level and MatrixError when the server rejects a rule; rooms
    done before the failure keep their new rules.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown notification level {level!r}; use one of {LEVELS}")
    for room_id in space_room_ids(conn, space_id):
        if level == NOTHING:
            await _delete_rule(client, "room", room_id)
            body = {
                "conditions": [
                    {"kind": "event_match", "key": "room_id", "pattern": room_id}
                ],
                "actions": [],
            }
            await client.request("PUT", _rule_path("override", room_id), json=body)
        elif level == ALL_POSTS:
            await _delete_rule(client, "override", room_id)
            body = {"actions": ["notify"]}
            await client.request("PUT", _rule_path("room", room_id), json=body)
        else:
            await _delete_rule(client, "override", room_id)
            await _delete_rule(client, "room", room_id)


def levels_from_push_rules(
    rules: dict, conn: sqlite3.Connection, space_ids: list[str]
) -> dict[str, str]:
    """Return the level of each space whose rooms all share a non-default one.

    rules is the response of GET /pushrules/. A space with a room that has
    no rule, or with rooms that disagree, is left out and so has the
    default level.
    NOTE: a room joined after the level was set has no rule, so the space
    reads as the default until its level is chosen again.
    """
    global_rules = rules.get("global") if isinstance(rules, dict) else None
    global_rules = global_rules if isinstance(global_rules, dict) else {}
    muted = {
        rule.get("rule_id")
        for rule in _rule_list(global_rules, "override")
        if rule.get("enabled", True) and rule.get("actions") == []
    }
    notifying = {
        rule.get("rule_id")
        for rule in _rule_list(global_rules, "room")
        if rule.get("enabled", True) and "notify" in (rule.get("actions") or [])
    }
    levels: dict[str, str] = {}
    for space_id in space_ids:
        rooms = space_room_ids(conn, space_id)
        if not rooms:
            continue
        if all(room in muted for room in rooms):
            levels[space_id] = NOTHING
        elif all(room in notifying and room not in muted for room in rooms):
            levels[space_id] = ALL_POSTS
    return levels


def _rule_list(global_rules: dict, kind: str) -> list[dict]:
    rules = global_rules.get(kind)
    if not isinstance(rules, list):
        return []
    return [rule for rule in rules if isinstance(rule, dict)]


async def load_space_levels(
    client, conn: sqlite3.Connection, space_ids: list[str]
) -> dict[str, str]:
    """Return the levels of spaces that differ from MENTIONS_AND_REPLIES.

    Raises MatrixError when the server cannot be reached.
    """
    rules = await client.request("GET", f"{_CLIENT_API}/pushrules/")
    levels = levels_from_push_rules(rules, conn, space_ids)
    return {
        space: level for space, level in levels.items() if level != MENTIONS_AND_REPLIES
    }
