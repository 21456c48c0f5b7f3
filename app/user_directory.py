"""Searching the server's user directory and caching the people it finds.

The server's directory finds people who share no room with the user (Synapse
searches every local user when ``user_directory.search_all_users`` is set),
but only by user id and display name. The people directory of
app.store.people_directory then lists them from the cache with
``shares_space`` false, and the profile fetcher fills in their other fields.
"""

from __future__ import annotations

import logging

from app.matrix.client import MatrixClient
from app.store import Store
from app.store.writes import save_directory_people
from app.sync.translate import MAX_NAME_LENGTH, valid_mxc, valid_user_id

log = logging.getLogger(__name__)

SEARCH_PATH = "/_matrix/client/v3/user_directory/search"
DEFAULT_LIMIT = 20
# Maximum results requested. The spec sets no maximum, and a larger page
# would only make the list longer than anyone reads.
MAX_LIMIT = 100
# Attempts per search. The user is typing, so a second attempt is enough
# before the caller falls back to the cache.
SEARCH_ATTEMPTS = 2


async def search_user_directory(
    client: MatrixClient, store: Store, term: str, limit: int = DEFAULT_LIMIT
) -> list[str]:
    """Search the server's user directory, cache the people found, return their ids.

    POST /user_directory/search. The ids come in the server's order (its
    rank). Results with an invalid user id are skipped, a display name is
    cut at MAX_NAME_LENGTH characters, and an avatar that is not an mxc://
    URI is dropped. A blank term returns [] without a request. Raises
    ConnectionFailed when the server cannot be reached, so the caller can
    show cached people only, and ValueError when limit is below 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    term = term.strip()
    if not term:
        return []
    response = await client.request(
        "POST",
        SEARCH_PATH,
        json={"search_term": term, "limit": min(limit, MAX_LIMIT)},
        max_attempts=SEARCH_ATTEMPTS,
    )
    people = parse_directory_results(response.get("results"))
    if people:
        await store.write(save_directory_people, people)
    return [user_id for user_id, _name, _avatar in people]


def parse_directory_results(
    results: object,
) -> list[tuple[str, str | None, str | None]]:
    """Return (user id, display name, avatar) of each valid result, without repeats."""
    if not isinstance(results, list):
        return []
    people: dict[str, tuple[str, str | None, str | None]] = {}
    skipped = 0
    for result in results:
        user_id = result.get("user_id") if isinstance(result, dict) else None
        if not valid_user_id(user_id):
            skipped += 1
            continue
        if user_id in people:
            continue
        name = result.get("display_name")
        name = name.strip()[:MAX_NAME_LENGTH] if isinstance(name, str) else ""
        people[user_id] = (user_id, name or None, valid_mxc(result.get("avatar_url")))
    if skipped:
        log.warning(
            "Skipped %d user directory results without a valid user id", skipped
        )
    return list(people.values())
