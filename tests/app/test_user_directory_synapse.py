"""Searching the server's user directory against a real Synapse, and offline."""

import asyncio
import time

import httpx
import pytest

from app.matrix import ConnectionFailed, MatrixClient
from app.records import Profile
from app.store import Store, queries
from app.store.people_directory import directory
from app.store.writes import save_profiles
from app.sync.translate import MAX_NAME_LENGTH
from app.user_directory import search_user_directory
from devtools.synapse import free_port

pytestmark = pytest.mark.synapse

# Synapse indexes a new account for the directory in the background.
INDEX_WAIT_SECONDS = 15


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


async def search(base_url, user, store, term, **kwargs):
    async with MatrixClient(base_url, user.access_token) as client:
        return await search_user_directory(client, store, term, **kwargs)


def search_until_found(synapse, user, store, term, expected_user_id):
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    while True:
        found = asyncio.run(search(synapse.base_url, user, store, term))
        if expected_user_id in found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_stranger_is_found_and_cached(synapse, make_user, store):
    searcher = make_user("searcher")
    stranger = make_user("stranger", displayname="Zara Stranger")
    term = stranger.localpart

    found = search_until_found(synapse, searcher, store, term, stranger.user_id)

    assert found == [stranger.user_id]
    person = queries.get_person(store.reader(), stranger.user_id)
    assert person is not None
    assert person.display_name == "Zara Stranger"
    assert person.fetched_at is None
    [entry] = directory(store.reader(), "Zara")
    assert entry.user_id == stranger.user_id
    assert entry.shares_space is False


def test_search_keeps_richer_cached_profile(synapse, make_user, store):
    searcher = make_user("searcher")
    stranger = make_user("stranger", displayname="Directory Name")
    cached = Profile(
        stranger.user_id,
        "Cached Name",
        "mxc://example.org/avatar",
        title="Data engineer",
    )
    store.write_blocking(save_profiles, [cached], 1000.0)

    found = search_until_found(
        synapse, searcher, store, stranger.localpart, stranger.user_id
    )

    assert found == [stranger.user_id]
    person = queries.get_person(store.reader(), stranger.user_id)
    assert person.display_name == "Cached Name"
    assert person.avatar_url == "mxc://example.org/avatar"
    assert person.title == "Data engineer"
    assert person.fetched_at == 1000.0


def test_offline_search_raises_connection_failed(make_user, store):
    searcher = make_user("searcher")
    closed = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ConnectionFailed):
        asyncio.run(search(closed, searcher, store, "anyone"))

    assert queries.cache_status(store.reader()).people == 0


def test_blank_term_sends_no_request(store):
    requests = []

    def handler(request):
        requests.append(request)
        return httpx.Response(200, json={"results": [], "limited": False})

    async def run():
        transport = httpx.MockTransport(handler)
        async with MatrixClient(
            "http://127.0.0.1:1", "token", transport=transport
        ) as client:
            return await search_user_directory(client, store, "   ")

    assert asyncio.run(run()) == []
    assert requests == []


def test_malformed_results_are_checked(store):
    """A hostile server's results: bad ids skipped, names cut, avatars checked."""
    long_name = "N" * 5000
    results = [
        {"user_id": "@second:example.org", "display_name": long_name},
        {"user_id": "not a user id", "display_name": "Nobody"},
        {"user_id": "@first:example.org", "avatar_url": "https://evil.example/a.png"},
        {"user_id": "@second:example.org", "display_name": "Repeat"},
        "not an object",
        {"display_name": "No id"},
        {"user_id": "@third:example.org", "avatar_url": "mxc://example.org/ok"},
    ]

    def handler(request):
        return httpx.Response(200, json={"results": results, "limited": False})

    async def run():
        transport = httpx.MockTransport(handler)
        async with MatrixClient(
            "http://127.0.0.1:1", "token", transport=transport
        ) as client:
            return await search_user_directory(client, store, "x", limit=10)

    found = asyncio.run(run())

    assert found == ["@second:example.org", "@first:example.org", "@third:example.org"]
    conn = store.reader()
    second = queries.get_person(conn, "@second:example.org")
    assert len(second.display_name) == MAX_NAME_LENGTH
    first = queries.get_person(conn, "@first:example.org")
    assert first.avatar_url is None
    third = queries.get_person(conn, "@third:example.org")
    assert third.avatar_url == "mxc://example.org/ok"
    assert third.display_name is None


def test_limit_below_one_is_rejected(store):
    async def run():
        async with MatrixClient("http://127.0.0.1:1", "token") as client:
            return await search_user_directory(client, store, "x", limit=0)

    with pytest.raises(ValueError):
        asyncio.run(run())
