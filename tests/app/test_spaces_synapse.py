"""Group spaces against a real Synapse: create, find, join, knock, leave.

A second person acts either through another Commonplace core (its own cache
and client) or through tests.other_client, which writes and reads as any
Matrix client would.
"""

import asyncio
import contextlib
import urllib.parse
from types import SimpleNamespace

import pytest

from app import namespace as ns
from app.matrix import MatrixClient
from app.matrix import http as matrix_http
from app.records import RoomBatch, RoomState
from app.spaces import SpaceActionError, Spaces
from app.store import Store, queries
from app.store.writes import apply_sync
from app.sync import SyncLoop
from app.sync.translate import translate_events
from devtools.synapse import free_port
from tests.app.loopback_proxy import DROP, LoopbackProxy
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse

CREATE_PATH = "/_matrix/client/v3/createRoom"


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    async def no_sleep(seconds):
        return None

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


@contextlib.asynccontextmanager
async def commonplace(base_url, user, tmp_path):
    """Yield the space actions, sync loop and cache of user, as the app builds them."""
    store = Store(tmp_path / f"{user.localpart}.sqlite3")
    changes = []
    try:
        async with MatrixClient(base_url, user.access_token) as client:
            yield SimpleNamespace(
                spaces=Spaces(client, store, user.user_id, changes.append),
                sync=SyncLoop(client, store),
                store=store,
                client=client,
                changes=changes,
            )
    finally:
        store.close()


def other(synapse, user) -> OtherClient:
    return OtherClient(synapse.base_url, user.access_token, user.user_id)


def state_of(client: OtherClient, room_id: str) -> list[dict]:
    response = client.http.get(f"/_matrix/client/v3/rooms/{quote(room_id)}/state")
    response.raise_for_status()
    return response.json()


def room_types(client: OtherClient) -> dict[str, str | None]:
    """Return {room id: creation type} of the rooms the client has joined."""
    types = {}
    for room_id in client.call("GET", "/joined_rooms")["joined_rooms"]:
        create = client.call("GET", f"/rooms/{quote(room_id)}/state/m.room.create/")
        types[room_id] = create.get("type")
    return types


@pytest.fixture
def owner(make_user):
    return make_user("owner", displayname="Olga Owner")


@pytest.fixture
def bob(make_user):
    return make_user("bob", displayname="Bob Builder")


def test_create_seen_by_other_client(synapse, owner, bob, tmp_path):
    async def scenario():
        async with commonplace(synapse.base_url, owner, tmp_path) as me:
            space_id = await me.spaces.create(
                "Seen Guild", topic="Data people", visibility="public"
            )
            return space_id, me.spaces.space_home(space_id)

    space_id, home = asyncio.run(scenario())

    assert home.name == "Seen Guild"
    assert home.own_role == "owner"
    assert [room.name for room in home.boards] == ["Discussions"]
    assert [room.name for room in home.files_areas] == ["Files"]

    client = other(synapse, bob)
    try:
        client.join(space_id)
        space_state = state_of(client, space_id)
        children = {
            event["state_key"]
            for event in space_state
            if event["type"] == "m.space.child" and event["content"].get("via")
        }
        assert len(children) == 2
        kinds = set()
        for child in children:
            client.join(child)
            child_state = {
                (e["type"], e["state_key"]): e for e in state_of(client, child)
            }
            parent = child_state[("m.space.parent", space_id)]
            assert parent["content"]["canonical"] is True
            rule = child_state[("m.room.join_rules", "")]["content"]
            assert rule["join_rule"] == "public"
            kinds.add(child_state[(ns.ROOM_KIND_EVENT, "")]["content"]["kind"])
        assert kinds == {"board", "files"}
        listed = client.call(
            "POST", "/publicRooms", json={"filter": {"room_types": ["m.space"]}}
        )["chunk"]
        entry = next(room for room in listed if room["room_id"] == space_id)
        assert entry["canonical_alias"] == f"#seen-guild:{synapse.server_name}"
        assert entry["topic"] == "Data people"
    finally:
        client.close()


class CreateCutProxy(LoopbackProxy):
    """A proxy that lets the cut_at-th createRoom reach the server, drops its
    response, and from then on drops every request until open()."""

    def __init__(self, upstream_url: str, cut_at: int):
        super().__init__(upstream_url, DROP)
        self.cut_at = cut_at
        self.creates = 0

    def _route(self, method: str, path: str) -> str:
        with self._lock:
            self.requests.append((method, path))
            if self._blocked:
                return "block"
            if method == "POST" and path.startswith(CREATE_PATH):
                self.creates += 1
                if self.creates == self.cut_at:
                    self._blocked = True
                    return "lose"
            return "forward"


@pytest.mark.parametrize("cut_at", [1, 2, 3], ids=["space", "board", "files"])
def test_create_retried_after_cut_makes_one_space(synapse, owner, tmp_path, cut_at):
    async def scenario():
        with CreateCutProxy(synapse.base_url, cut_at) as proxy:
            async with commonplace(proxy.base_url, owner, tmp_path) as me:
                with pytest.raises(SpaceActionError) as failure:
                    await me.spaces.create("Cut Guild", visibility="invite")
                assert proxy.send_reached_server.is_set()
                unfinished = me.spaces.unfinished_creations()
                proxy.open()
                space_id = await me.spaces.create("Cut Guild", visibility="invite")
                return (
                    failure.value.message,
                    space_id,
                    me.spaces.space_home(space_id),
                    unfinished,
                    me.spaces.unfinished_creations(),
                )

    message, space_id, home, unfinished, after = asyncio.run(scenario())

    assert message.startswith("Commonplace is offline. Creating Cut Guild needs")
    client = other(synapse, owner)
    try:
        types = room_types(client)
    finally:
        client.close()
    assert [room for room, kind in types.items() if kind == "m.space"] == [space_id]
    assert len(types) == 3
    assert len(home.boards) == 1
    assert len(home.files_areas) == 1
    assert [(item.name, item.visibility) for item in unfinished] == [
        ("Cut Guild", "invite")
    ]
    assert after == []


def test_knock_approved_then_joined(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as mod,
            commonplace(synapse.base_url, bob, tmp_path) as knocker,
        ):
            space_id = await mod.spaces.create("Knock Guild", visibility="knock")
            await knocker.sync.sync_once()
            page = await knocker.spaces.browse("Knock")
            entry = next(e for e in page.entries if e.room_id == space_id)
            assert entry.join_rule == "knock"
            assert entry.membership is None
            # Synapse 1.163 hides rooms restricted to a space from people
            # outside it, so a knock space shows no rooms before joining.
            assert await knocker.spaces.hierarchy(space_id) == []

            await knocker.spaces.knock(space_id, "I work on data pipelines")
            await mod.sync.sync_once()
            requests = mod.spaces.join_requests(space_id)
            home = mod.spaces.space_home(space_id)
            rules = {
                row[0]: row[1]
                for row in mod.store.reader().execute(
                    "SELECT room_id, allowed_room_id FROM join_rule_allow"
                )
            }
            children = [r.room_id for r in home.boards + home.files_areas]
            assert [rules.get(child) for child in children] == [space_id, space_id]

            await mod.spaces.approve_request(space_id, bob.user_id)
            after_approval = mod.spaces.join_requests(space_id)
            await knocker.sync.sync_once()
            invited = queries.get_space(knocker.store.reader(), space_id)
            await knocker.spaces.accept_invite(space_id)
            rooms = queries.list_space_rooms(knocker.store.reader(), space_id)
            space = queries.get_space(knocker.store.reader(), space_id)
            return requests, home, after_approval, invited, rooms, space

    requests, home, after_approval, invited, rooms, space = asyncio.run(scenario())

    assert [(r.user_id, r.reason) for r in requests] == [
        (bob.user_id, "I work on data pipelines")
    ]
    assert home.join_request_count == 1
    assert after_approval == []
    assert invited.membership == "invite"
    assert space.membership == "join"
    assert sorted(room.kind for room in rooms) == ["board", "files"]
    assert {room.membership for room in rooms} == {"join"}


def test_refused_request_leaves_knocker_out(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as mod,
            commonplace(synapse.base_url, bob, tmp_path) as knocker,
        ):
            space_id = await mod.spaces.create("Closed Guild", visibility="knock")
            await knocker.spaces.knock(space_id)
            await mod.sync.sync_once()
            before = mod.spaces.join_requests(space_id)
            await mod.spaces.refuse_request(space_id, bob.user_id, "Members only")
            await mod.sync.sync_once()
            return space_id, before, mod.spaces.join_requests(space_id)

    space_id, before, after = asyncio.run(scenario())

    assert [request.user_id for request in before] == [bob.user_id]
    assert after == []
    client = other(synapse, owner)
    try:
        member = client.call(
            "GET", f"/rooms/{quote(space_id)}/state/m.room.member/{quote(bob.user_id)}"
        )
    finally:
        client.close()
    assert member["membership"] == "leave"
    assert member["reason"] == "Members only"


def test_join_public_space_joins_its_rooms(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as joiner,
        ):
            space_id = await creator.spaces.create("Open Guild", visibility="public")
            page = await joiner.spaces.browse("open guild")
            entry = next(e for e in page.entries if e.room_id == space_id)
            preview = await joiner.spaces.hierarchy(space_id)
            assert sorted(room.name for room in preview) == ["Discussions", "Files"]
            assert all(room.joinable for room in preview)
            joined = await joiner.spaces.join(entry.alias)
            rooms = queries.list_space_rooms(joiner.store.reader(), space_id)
            spaces = queries.list_spaces(joiner.store.reader())
            return space_id, joined, rooms, spaces, joiner.changes

    space_id, joined, rooms, spaces, changes = asyncio.run(scenario())

    assert joined == space_id
    assert space_id in [space.room_id for space in spaces]
    assert sorted((room.kind, room.membership) for room in rooms) == [
        ("board", "join"),
        ("files", "join"),
    ]
    assert any(change.spaces for change in changes)


def test_leave_drops_space_and_rooms(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id = await creator.spaces.create("Leave Guild", visibility="public")
            await member.spaces.join(space_id)
            await member.spaces.leave(space_id)
            spaces = queries.list_spaces(member.store.reader())
            ungrouped = queries.list_space_rooms(
                member.store.reader(), queries.UNGROUPED_SPACE_ID
            )
            await member.sync.sync_once()
            spaces_after_sync = queries.list_spaces(member.store.reader())
            return space_id, spaces, ungrouped, spaces_after_sync

    space_id, spaces, ungrouped, spaces_after_sync = asyncio.run(scenario())

    assert space_id not in [space.room_id for space in spaces]
    assert ungrouped == []
    assert space_id not in [space.room_id for space in spaces_after_sync]
    client = other(synapse, bob)
    try:
        assert client.call("GET", "/joined_rooms")["joined_rooms"] == []
    finally:
        client.close()


def test_invitation_declined(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as guest,
        ):
            space_id = await creator.spaces.create("Quiet Guild")
            await creator.spaces.invite(space_id, bob.user_id)
            await guest.sync.sync_once()
            invited = queries.get_space(guest.store.reader(), space_id)
            await guest.spaces.decline_invite(space_id)
            return invited, queries.get_space(guest.store.reader(), space_id)

    invited, after = asyncio.run(scenario())

    assert invited.membership == "invite"
    assert after is None


def test_offline_join_raises_plain_error(tmp_path, owner):
    async def scenario():
        store = Store(tmp_path / "offline.sqlite3")
        space_id = "!guild:localhost"
        batch = RoomBatch(
            space_id, "leave", items=[RoomState(space_id, name="Data Guild")]
        )
        store.write_blocking(apply_sync, [batch], None)
        try:
            base_url = f"http://127.0.0.1:{free_port()}"
            async with MatrixClient(base_url, owner.access_token) as client:
                spaces = Spaces(client, store, owner.user_id, lambda changes: None)
                with pytest.raises(SpaceActionError) as failure:
                    await spaces.join(space_id)
                return failure.value.message
        finally:
            store.close()

    message = asyncio.run(scenario())

    assert message == (
        "Commonplace is offline. Joining Data Guild needs a connection; "
        "try again when online."
    )


def test_taken_alias_gets_number(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as first,
            commonplace(synapse.base_url, bob, tmp_path) as second,
        ):
            one = await first.spaces.create("Twin Guild!", visibility="public")
            two = await second.spaces.create("Twin  Guild", visibility="knock")
            return (
                first.store.reader()
                .execute("SELECT canonical_alias FROM rooms WHERE room_id = ?", (one,))
                .fetchone()[0],
                second.store.reader()
                .execute("SELECT canonical_alias FROM rooms WHERE room_id = ?", (two,))
                .fetchone()[0],
            )

    first_alias, second_alias = asyncio.run(scenario())

    assert first_alias == f"#twin-guild:{synapse.server_name}"
    assert second_alias == f"#twin-guild-2:{synapse.server_name}"


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_create_with_picture(synapse, owner, tmp_path):
    picture = tmp_path / "guild.png"
    picture.write_bytes(PNG)

    async def scenario():
        async with commonplace(synapse.base_url, owner, tmp_path) as me:
            space_id = await me.spaces.create("Picture Guild", avatar_path=picture)
            return space_id, me.spaces.space_home(space_id)

    space_id, home = asyncio.run(scenario())

    assert home.avatar_url.startswith("mxc://")
    client = other(synapse, owner)
    try:
        avatar = client.call("GET", f"/rooms/{quote(space_id)}/state/m.room.avatar/")
    finally:
        client.close()
    assert avatar["url"] == home.avatar_url


def test_picture_refused_by_policy(tmp_path, owner):
    picture = tmp_path / "guild.png"
    picture.write_bytes(PNG)

    async def scenario():
        store = Store(tmp_path / "policy.sqlite3")
        try:
            # Nothing listens on this port, so any request would fail as offline.
            base_url = f"http://127.0.0.1:{free_port()}"
            async with MatrixClient(base_url, owner.access_token) as client:
                spaces = Spaces(
                    client,
                    store,
                    owner.user_id,
                    lambda changes: None,
                    policy=SimpleNamespace(disable_uploads=True),
                )
                with pytest.raises(SpaceActionError) as failure:
                    await spaces.create("Guild", avatar_path=picture)
                return failure.value.message
        finally:
            store.close()

    assert asyncio.run(scenario()) == (
        "Uploading pictures is turned off by your organisation. Create the space "
        "without a picture."
    )


def test_double_create_makes_one_space(synapse, owner, tmp_path):
    async def scenario():
        async with commonplace(synapse.base_url, owner, tmp_path) as me:
            return await asyncio.gather(
                me.spaces.create("Twice Guild"), me.spaces.create("Twice Guild")
            )

    first, second = asyncio.run(scenario())

    assert first == second
    client = other(synapse, owner)
    try:
        types = room_types(client)
    finally:
        client.close()
    assert list(types.values()).count("m.space") == 1
    assert len(types) == 3


OFFLINE_ACTIONS = {
    "browse": (lambda spaces: spaces.browse("data"), "Browsing the spaces"),
    "hierarchy": (
        lambda spaces: spaces.hierarchy("!guild:localhost"),
        "Listing the rooms of Data Guild",
    ),
    "knock": (
        lambda spaces: spaces.knock("!guild:localhost"),
        "Asking to join Data Guild",
    ),
    "accept": (
        lambda spaces: spaces.accept_invite("!guild:localhost"),
        "Accepting the invitation to Data Guild",
    ),
    "leave": (lambda spaces: spaces.leave("!guild:localhost"), "Leaving Data Guild"),
    "create": (lambda spaces: spaces.create("New Guild"), "Creating New Guild"),
    "invite": (
        lambda spaces: spaces.invite("!guild:localhost", "@kim:localhost"),
        "Inviting @kim:localhost to Data Guild",
    ),
    "pin": (
        lambda spaces: spaces.pin("!guild:localhost", "$post"),
        "Pinning an item in Data Guild",
    ),
}


@pytest.mark.parametrize("action", list(OFFLINE_ACTIONS))
def test_offline_action_raises_plain_error(tmp_path, owner, action):
    call, doing = OFFLINE_ACTIONS[action]

    async def scenario():
        store = Store(tmp_path / "offline.sqlite3")
        space_id = "!guild:localhost"
        levels = {
            "type": "m.room.power_levels",
            "state_key": "",
            "sender": owner.user_id,
            "content": {"users": {owner.user_id: 100}},
        }
        batch = RoomBatch(space_id, "join")
        batch.items = [
            RoomState(space_id, kind="space", name="Data Guild"),
            *translate_events(space_id, [levels], state=True),
        ]
        store.write_blocking(apply_sync, [batch], None)
        try:
            base_url = f"http://127.0.0.1:{free_port()}"
            async with MatrixClient(base_url, owner.access_token) as client:
                spaces = Spaces(client, store, owner.user_id, lambda changes: None)
                with pytest.raises(SpaceActionError) as failure:
                    await call(spaces)
                return failure.value.message
        finally:
            store.close()

    message = asyncio.run(scenario())

    assert message == (
        f"Commonplace is offline. {doing} needs a connection; try again when online."
    )
