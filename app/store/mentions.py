"""Mentions in posts, for the activity stream's "Mentions of me" filter.

The cache registers mentioned_user_ids_json as the SQL function
``mentioned_user_ids`` on every connection, and the activity triggers call it
in the same transaction as the post, so the mention rows cannot drift from
the posts.
"""

import json
import re
from urllib.parse import unquote

# Mentions kept per post: an estimate far above real posts, so a post that
# lists thousands of user ids cannot bloat the cache.
MAX_MENTIONS = 100

# A Matrix user id in running text, as app.compose finds it when it writes
# m.mentions: @localpart:server, with an optional port.
_USER_ID_IN_TEXT = re.compile(
    r"(?<![\w@/])@[a-z0-9._=\-/+]+:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*(?::\d{1,5})?",
    re.IGNORECASE,
)
# A user pill in HTML: a link to https://matrix.to/#/@user:server (the "@"
# and ":" may be percent-encoded) or to matrix:u/user:server.
_PILL = re.compile(
    r"""href\s*=\s*["']?(?:https://matrix\.to/#/(?:@|%40)|matrix:u/)"""
    r"""([^"'\s<>?/]+)""",
    re.IGNORECASE,
)
# The shape of a valid user id, checked on every candidate.
_USER_ID = re.compile(r"^@[\x21-\x7e]{1,254}$")


def mentioned_user_ids(
    content_json: str | None, body: str | None, formatted_body: str | None
) -> list[str]:
    """Return the user ids a post mentions, without repeats.

    They come from the event's m.mentions.user_ids, from user ids written in
    the text (as Commonplace writes them), and from user pills in the HTML
    (as Element and other clients write them). A display name written
    without a pill is not a mention.
    """
    found: list[str] = []
    found += _from_content(content_json)
    if body:
        found += [m.group(0).rstrip(".") for m in _USER_ID_IN_TEXT.finditer(body)]
    if formatted_body:
        found += ["@" + unquote(m.group(1)) for m in _PILL.finditer(formatted_body)]
    valid = [user for user in found if _USER_ID.match(user) and ":" in user]
    return list(dict.fromkeys(valid))[:MAX_MENTIONS]


def _from_content(content_json: str | None) -> list[str]:
    if not content_json:
        return []
    try:
        content = json.loads(content_json)
    except (ValueError, RecursionError):
        return []
    if not isinstance(content, dict):
        return []
    mentions = content.get("m.mentions")
    if not isinstance(mentions, dict):
        return []
    users = mentions.get("user_ids")
    if not isinstance(users, list):
        return []
    return [user for user in users if isinstance(user, str)]


def mentioned_user_ids_json(content_json, body, formatted_body) -> str:
    """Return mentioned_user_ids as a JSON list; "[]" for any value it cannot read.

    SQLite calls this from triggers during a sync write, where an exception
    would roll the whole write back, so it catches every Exception.
    """
    try:
        users = mentioned_user_ids(
            content_json if isinstance(content_json, str) else None,
            body if isinstance(body, str) else None,
            formatted_body if isinstance(formatted_body, str) else None,
        )
        return json.dumps(users)
    except Exception:  # noqa: BLE001 - see the docstring
        return "[]"
