"""Directory and hierarchy responses that a real server does not send on demand.

httpx.MockTransport stands in for a broken or hostile server here; the
normal cases run against Synapse in test_spaces_synapse.py.
"""

import asyncio
import json

import httpx
import pytest

from app.matrix import MatrixClient
from app.matrix import http as matrix_http
from app.spaces import SpaceActionError, Spaces
from app.store import Store

SERVER = "http://127.0.0.1:8008"


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    async def no_sleep(seconds):
        return None

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


def run_with(store, routes: dict, action):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=routes[request.url.path])

    async def scenario():
        transport = httpx.MockTransport(handler)
        async with MatrixClient(SERVER, "token", transport=transport) as client:
            spaces = Spaces(client, store, "@me:test", lambda changes: None)
            return await action(spaces)

    return asyncio.run(scenario())


def test_browse_skips_malformed_entries(store):
    chunk = [
        {"room_id": "!good:test", "name": "Good", "num_joined_members": 3},
        {"room_id": "not a room", "name": "Bad id"},
        {"name": "No id"},
        "junk",
        {"room_id": "!odd:test", "name": 5, "num_joined_members": -4, "topic": []},
    ]
    routes = {"/_matrix/client/v3/publicRooms": {"chunk": chunk, "next_batch": "page2"}}

    page = run_with(store, routes, lambda spaces: spaces.browse())

    assert [entry.room_id for entry in page.entries] == ["!good:test", "!odd:test"]
    assert page.entries[0].member_count == 3
    assert page.entries[0].join_rule == "public"
    assert page.entries[1].name is None
    assert page.entries[1].topic is None
    assert page.entries[1].member_count == 0
    assert page.next_batch == "page2"


def test_hierarchy_leaves_out_space_and_bad_rooms(store):
    rooms = [
        {"room_id": "!space:test", "room_type": "m.space", "join_rule": "public"},
        {"room_id": "!board:test", "name": "Board", "join_rule": "public"},
        {
            "room_id": "!files:test",
            "join_rule": "restricted",
            "allowed_room_ids": ["!space:test"],
        },
        {"room_id": "!closed:test", "join_rule": "invite"},
        {"room_id": 7},
        [],
    ]
    path = "/_matrix/client/v1/rooms/!space:test/hierarchy"
    routes = {path: {"rooms": rooms}}

    children = run_with(store, routes, lambda spaces: spaces.hierarchy("!space:test"))

    assert [(child.room_id, child.joinable) for child in children] == [
        ("!board:test", True),
        ("!files:test", True),
        ("!closed:test", False),
    ]


def test_room_state_not_a_list_is_rejected(store):
    from app.matrix import NotMatrixServer
    from app.matrix.space_requests import room_state

    def handler(request):
        return httpx.Response(200, content=json.dumps({"events": []}).encode())

    async def scenario():
        transport = httpx.MockTransport(handler)
        async with MatrixClient(SERVER, "token", transport=transport) as client:
            with pytest.raises(NotMatrixServer):
                await room_state(client, "!room:test")

    asyncio.run(scenario())


def test_server_error_named_in_message(store):
    def handler(request):
        return httpx.Response(502, text="Bad gateway")

    async def scenario():
        transport = httpx.MockTransport(handler)
        async with MatrixClient(SERVER, "token", transport=transport) as client:
            spaces = Spaces(client, store, "@me:test", lambda changes: None)
            with pytest.raises(SpaceActionError) as failure:
                await spaces.browse()
            return failure.value.message

    message = asyncio.run(scenario())

    assert message.startswith("Browsing the spaces did not finish. 127.0.0.1")
    assert "HTTP 502" in message
