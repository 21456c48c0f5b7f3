"""Direct rooms against a real Synapse: reuse, invitations, m.direct, lost responses."""

import asyncio
import urllib.parse

import httpx
import pytest

from app import direct
from app.matrix import ConnectionFailed, MatrixClient, NotFound
from app.matrix import http as matrix_http
from app.records import Profile
from app.store import Store, direct_store, queries
from app.store.writes import save_profiles
from app.sync import SyncLoop
from devtools.synapse import free_port
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse

CREATE_PATH = "/_matrix/client/v3/createRoom"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


@pytest.fixture
def me(make_user):
    return make_user("me", displayname="Mia Me")


@pytest.fixture
def bob(synapse, make_user):
    user = make_user("bob", displayname="Bob Builder")
    client = OtherClient(synapse.base_url, user.access_token, user.user_id)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    async def no_sleep(seconds):
        return None

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


class LosingTransport(httpx.AsyncBaseTransport):
    """The real transport, except that the server's response to the first
    createRoom is read and then lost, as when a connection drops.

    With offline_after_loss, every later request fails too until online().
    With bad_gateway, the lost response is replaced by a 502, as a reverse
    proxy in front of the server would send.
    """

    def __init__(self, *, offline_after_loss: bool = False, bad_gateway=False):
        self._real = httpx.AsyncHTTPTransport()
        self.offline_after_loss = offline_after_loss
        self.bad_gateway = bad_gateway
        self.lost: dict | None = None
        self.creates = 0
        self._offline = False

    def online(self) -> None:
        self._offline = False

    async def handle_async_request(self, request):
        if self._offline:
            raise httpx.ConnectError("network is down", request=request)
        is_create = request.method == "POST" and request.url.path == CREATE_PATH
        response = await self._real.handle_async_request(request)
        if not is_create:
            return response
        self.creates += 1
        if self.lost is not None:
            return response
        await response.aread()
        self.lost = response.json() if response.status_code == 200 else {}
        await response.aclose()
        self._offline = self.offline_after_loss
        if self.bad_gateway:
            return httpx.Response(502, text="Bad gateway", request=request)
        raise httpx.ReadError("connection reset after the request", request=request)

    async def aclose(self):
        await self._real.aclose()


async def open_room(synapse, user, store, other_id, transport=None):
    async with MatrixClient(
        synapse.base_url, user.access_token, transport=transport
    ) as client:
        return await direct.open_direct_room(client, store, user.user_id, other_id)


async def sync(synapse, user, store):
    async with MatrixClient(synapse.base_url, user.access_token) as client:
        loop = SyncLoop(client, store)
        await loop.sync_once()


def run(coroutine):
    return asyncio.run(coroutine)


def joined_rooms(synapse, user):
    client = OtherClient(synapse.base_url, user.access_token, user.user_id)
    try:
        return client.call("GET", "/joined_rooms")["joined_rooms"]
    finally:
        client.close()


def account_direct(synapse, user):
    client = OtherClient(synapse.base_url, user.access_token, user.user_id)
    user_path = urllib.parse.quote(user.user_id, safe="")
    try:
        return client.call("GET", f"/user/{user_path}/account_data/m.direct")
    finally:
        client.close()


def set_account_direct(synapse, user, content):
    client = OtherClient(synapse.base_url, user.access_token, user.user_id)
    user_path = urllib.parse.quote(user.user_id, safe="")
    try:
        client.call("PUT", f"/user/{user_path}/account_data/m.direct", json=content)
    finally:
        client.close()


def test_second_call_returns_same_room(synapse, me, bob, store, tmp_path):
    first = run(open_room(synapse, me, store, bob.user_id))
    again = run(open_room(synapse, me, store, bob.user_id))

    other_store = Store(tmp_path / "other-device.sqlite3")
    try:
        from_new_device = run(open_room(synapse, me, other_store, bob.user_id))
    finally:
        other_store.close()

    assert again == first
    assert from_new_device == first
    assert joined_rooms(synapse, me) == [first]


def test_other_user_sees_direct_invite(synapse, me, bob, store):
    room_id = run(open_room(synapse, me, store, bob.user_id))

    invites = bob.call("GET", "/sync", params={"timeout": "0"})["rooms"]["invite"]
    events = invites[room_id]["invite_state"]["events"]
    [invite] = [
        event
        for event in events
        if event["type"] == "m.room.member" and event["state_key"] == bob.user_id
    ]
    assert invite["sender"] == me.user_id
    assert invite["content"]["membership"] == "invite"
    assert invite["content"]["is_direct"] is True
    assert account_direct(synapse, me) == {bob.user_id: [room_id]}


def test_m_direct_keeps_other_entries(synapse, me, bob, store):
    existing = {
        "@carol:example.org": ["!old:example.org"],
        bob.user_id: ["!gone:example.org"],
        "not a user id": "written by another client",
    }
    set_account_direct(synapse, me, existing)

    room_id = run(open_room(synapse, me, store, bob.user_id))

    assert account_direct(synapse, me) == {
        "@carol:example.org": ["!old:example.org"],
        bob.user_id: ["!gone:example.org", room_id],
        "not a user id": "written by another client",
    }


def test_lost_create_response_makes_one_room(synapse, me, bob, store):
    transport = LosingTransport()

    room_id = run(open_room(synapse, me, store, bob.user_id, transport))

    assert transport.lost["room_id"] == room_id
    assert transport.creates == 1
    assert joined_rooms(synapse, me) == [room_id]
    assert account_direct(synapse, me) == {bob.user_id: [room_id]}


def test_bad_gateway_on_create_makes_one_room(synapse, me, bob, store):
    transport = LosingTransport(bad_gateway=True)

    room_id = run(open_room(synapse, me, store, bob.user_id, transport))

    assert transport.lost["room_id"] == room_id
    assert transport.creates == 1
    assert joined_rooms(synapse, me) == [room_id]


def test_lost_response_then_offline_resumes(synapse, me, bob, store):
    transport = LosingTransport(offline_after_loss=True)

    with pytest.raises(ConnectionFailed):
        run(open_room(synapse, me, store, bob.user_id, transport))
    pending = direct_store.pending_direct(store.reader(), bob.user_id)
    transport.online()
    room_id = run(open_room(synapse, me, store, bob.user_id, transport))

    assert "client_id" in pending
    assert transport.lost["room_id"] == room_id
    assert transport.creates == 1
    assert joined_rooms(synapse, me) == [room_id]
    assert direct_store.pending_direct(store.reader(), bob.user_id) == {}


def test_direct_invite_is_accepted(synapse, me, bob, store):
    invited = bob.call(
        "POST",
        "/createRoom",
        json={
            "preset": "trusted_private_chat",
            "is_direct": True,
            "invite": [me.user_id],
        },
    )["room_id"]
    run(sync(synapse, me, store))

    room_id = run(open_room(synapse, me, store, bob.user_id))

    assert room_id == invited
    assert joined_rooms(synapse, me) == [invited]
    assert account_direct(synapse, me) == {bob.user_id: [invited]}


def test_direct_room_listed_apart_and_named(synapse, me, bob, store):
    room_id = run(open_room(synapse, me, store, bob.user_id))
    bob.join(room_id)
    bob.send(room_id, {"msgtype": "m.text", "body": "Hello from Bob"})
    other_room = bob.create_room("Plain room", invite=[me.user_id])
    mine = OtherClient(synapse.base_url, me.access_token, me.user_id)
    mine.join(other_room)
    mine.close()
    store.write_blocking(
        save_profiles, [Profile(bob.user_id, "Bob Builder", None)], 1.0
    )

    run(sync(synapse, me, store))

    conn = store.reader()
    spaces = queries.list_spaces(conn)
    assert [space.room_id for space in spaces] == [
        queries.DIRECT_SPACE_ID,
        queries.UNGROUPED_SPACE_ID,
    ]
    assert spaces[0].name == queries.DIRECT_SPACE_NAME
    [room] = queries.list_space_rooms(conn, queries.DIRECT_SPACE_ID)
    assert (room.room_id, room.name) == (room_id, "Bob Builder")
    ungrouped = queries.list_space_rooms(conn, queries.UNGROUPED_SPACE_ID)
    assert [room.room_id for room in ungrouped] == [other_room]
    [discussion] = queries.list_discussions(conn, [room_id], limit=10)
    assert discussion.title == "Hello from Bob"


def test_sync_stores_m_direct_from_other_device(synapse, me, bob, store, tmp_path):
    other_store = Store(tmp_path / "other-device.sqlite3")
    try:
        room_id = run(open_room(synapse, me, other_store, bob.user_id))
    finally:
        other_store.close()

    run(sync(synapse, me, store))

    assert direct_store.direct_rooms(store.reader()) == {bob.user_id: (room_id,)}
    rooms = queries.list_space_rooms(store.reader(), queries.DIRECT_SPACE_ID)
    assert [room.room_id for room in rooms] == [room_id]


def test_room_left_by_other_is_not_reused(synapse, me, bob, store):
    first = run(open_room(synapse, me, store, bob.user_id))
    bob.join(first)
    bob.call("POST", f"/rooms/{urllib.parse.quote(first, safe='')}/leave", json={})
    run(sync(synapse, me, store))

    second = run(open_room(synapse, me, store, bob.user_id))

    assert second != first
    assert account_direct(synapse, me) == {bob.user_id: [first, second]}


def test_cached_room_opens_offline(synapse, me, bob, store):
    room_id = run(open_room(synapse, me, store, bob.user_id))
    offline = f"http://127.0.0.1:{free_port()}"

    async def open_offline():
        async with MatrixClient(offline, me.access_token) as client:
            return await direct.open_direct_room(client, store, me.user_id, bob.user_id)

    assert run(open_offline()) == room_id


def test_invalid_people_are_rejected(me, store):
    async def attempt(other):
        async with MatrixClient("http://127.0.0.1:1", me.access_token) as client:
            return await direct.open_direct_room(client, store, me.user_id, other)

    with pytest.raises(ValueError):
        run(attempt(me.user_id))
    with pytest.raises(ValueError):
        run(attempt("bob"))


def test_malformed_m_direct_is_filtered(synapse, me, bob, store):
    room_id = run(open_room(synapse, me, store, bob.user_id))
    set_account_direct(
        synapse,
        me,
        {
            bob.user_id: [room_id, "not a room", 42, room_id],
            "bob": [room_id],
            "@carol:example.org": "!not-a-list:example.org",
            "@dave:example.org": [],
        },
    )

    run(sync(synapse, me, store))

    assert direct_store.direct_rooms(store.reader()) == {bob.user_id: (room_id,)}
    rooms = queries.list_space_rooms(store.reader(), queries.DIRECT_SPACE_ID)
    assert [room.room_id for room in rooms] == [room_id]


def test_unknown_person_gets_no_room(synapse, me, store):
    server_name = me.user_id.split(":", 1)[1]
    nobody = f"@nobody-{me.localpart}:{server_name}"

    with pytest.raises(NotFound):
        run(open_room(synapse, me, store, nobody))

    assert joined_rooms(synapse, me) == []
    assert direct_store.pending_direct(store.reader(), nobody) == {}
