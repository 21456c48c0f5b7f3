"""The sync loop against a real Synapse: what another client writes is cached."""

import asyncio
import json

import httpx
import pytest

from app.matrix import MatrixClient
from app.profiles import ProfileFetcher
from app.store import Store, queries
from app.sync import SyncLoop, SyncState
from app.sync.loop import TIMELINE_LIMIT
from devtools.synapse import unique_localpart
from tests.conftest import TEST_PASSWORD
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


@pytest.fixture
def author(synapse, make_user):
    user = make_user("author", displayname="Ann Author")
    client = OtherClient(synapse.base_url, user.access_token, user.user_id)
    yield client
    client.close()


@pytest.fixture
def reader(make_user):
    return make_user("reader", displayname="Rita Reader")


def run(coroutine):
    return asyncio.run(coroutine)


async def sync_once(synapse, reader, store, **loop_options):
    async with MatrixClient(synapse.base_url, reader.access_token) as client:
        loop = SyncLoop(client, store, **loop_options)
        changes = await loop.sync_once()
        await loop.wait_for_background()
        return changes


def test_space_board_and_thread_reach_the_cache(synapse, author, reader, store):
    space, board = author.create_space_with_board("Data Guild", invite=[reader.user_id])
    other = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    other.join(space)
    other.join(board)
    root = author.discussion(board, "Window functions?", "How do I rank rows?")
    author.reply(board, root, "Use ROW_NUMBER() OVER (...)")
    other.like(board, root)
    other.close()

    run(sync_once(synapse, reader, store))

    conn = store.reader()
    spaces = queries.list_spaces(conn)
    assert [s.name for s in spaces] == ["Data Guild"]
    boards = queries.room_ids_of_space(conn, space)
    assert boards == [board]
    [summary] = queries.list_discussions(conn, boards, limit=10)
    assert summary.title == "Window functions?"
    assert summary.reply_count == 1
    assert summary.sender_name == "Ann Author"
    [answer] = queries.list_replies(conn, root, limit=10)
    assert answer.body == "Use ROW_NUMBER() OVER (...)"
    likes = queries.reactions_for(conn, [root], reader.user_id)[root]
    assert (likes[0].key, likes[0].count, likes[0].mine) == ("👍", 1, True)


def test_unread_counts_come_from_the_server(synapse, author, reader, store):
    space, board = author.create_space_with_board("Counts", invite=[reader.user_id])
    other = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    other.join(space)
    other.join(board)
    other.close()
    for number in range(3):
        author.send(board, {"msgtype": "m.text", "body": f"news {number}"})

    run(sync_once(synapse, reader, store))

    [summary] = queries.list_spaces(store.reader())
    assert summary.unread_count == 3


def test_limited_timeline_is_back_filled(synapse, author, reader, store):
    space, board = author.create_space_with_board("Busy", invite=[reader.user_id])
    other = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    other.join(space)
    other.join(board)
    other.close()
    run(sync_once(synapse, reader, store))

    root = author.discussion(board, "Long thread")
    count = TIMELINE_LIMIT * 2 + 7
    for number in range(count):
        author.reply(board, root, f"reply {number}")
    run(sync_once(synapse, reader, store))

    replies = queries.list_replies(store.reader(), root, limit=1000)
    assert [post.body for post in replies] == [f"reply {n}" for n in range(count)]


def test_malformed_events_from_server_are_skipped(synapse, author, reader, store):
    space, board = author.create_space_with_board("Odd", invite=[reader.user_id])
    other = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    other.join(space)
    other.join(board)
    other.close()
    # Synapse checks msgtype and body of m.room.message; the rest is unchecked.
    thread_without_root = {"rel_type": "m.thread", "is_falling_back": True}
    author.send(
        board, {"msgtype": "m.text", "body": "x", "m.relates_to": thread_without_root}
    )
    author.send(board, {"msgtype": "m.file", "body": "x", "url": "../../etc/passwd"})
    author.send(board, {"m.relates_to": {"rel_type": "m.annotation"}}, "m.reaction")
    author.discussion(board, "Fine")

    run(sync_once(synapse, reader, store))

    listed = queries.list_discussions(store.reader(), [board], limit=10)
    assert [item.title for item in listed] == ["Fine"]


def test_profiles_are_fetched_once_with_four_in_flight(
    synapse, make_user, reader, store
):
    authors = [make_user("member") for _ in range(10)]
    first = OtherClient(synapse.base_url, authors[0].access_token, authors[0].user_id)
    everyone = [user.user_id for user in authors[1:]] + [reader.user_id]
    space, board = first.create_space_with_board("Crowd", invite=everyone)
    for user in authors[1:] + [reader]:
        client = OtherClient(synapse.base_url, user.access_token, user.user_id)
        client.join(space)
        client.join(board)
        client.call(
            "PUT",
            f"/profile/{user.user_id}/app.commonplace.title",
            json={"app.commonplace.title": "Engineer"},
        )
        client.discussion(board, f"Post by {user.localpart}")
        client.close()
    first.close()

    counter = ProfileRequestCounter()
    transport = counter.transport()

    async def sync_twice():
        async with MatrixClient(
            synapse.base_url, reader.access_token, transport=transport
        ) as client:
            fetcher = ProfileFetcher(client, store)
            loop = SyncLoop(client, store, profile_fetcher=fetcher)
            await loop.sync_once()
            await loop.wait_for_background()
            await loop.sync_once()
            await loop.wait_for_background()

    run(sync_twice())

    assert counter.max_in_flight <= 4
    assert counter.max_in_flight >= 2
    assert sorted(counter.users) == sorted(set(counter.users))
    assert len(counter.users) == len(authors) + 1
    person = queries.get_person(store.reader(), authors[3].user_id)
    assert person.title == "Engineer"


class ProfileRequestCounter:
    """Counts profile requests passing through a real transport."""

    def __init__(self):
        self.users: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def transport(self):
        counter = self
        inner = httpx.AsyncHTTPTransport()

        class Counting(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request):
                is_profile = "/profile/" in request.url.path
                if is_profile:
                    counter.users.append(request.url.path.rsplit("/", 1)[-1])
                    counter.in_flight += 1
                    counter.max_in_flight = max(
                        counter.max_in_flight, counter.in_flight
                    )
                    # Hold the request briefly so overlapping ones are seen.
                    await asyncio.sleep(0.05)
                try:
                    return await inner.handle_async_request(request)
                finally:
                    if is_profile:
                        counter.in_flight -= 1

            async def aclose(self):
                await inner.aclose()

        return Counting()


def test_offline_start_reports_and_recovers(restartable_synapse, tmp_path):
    server = restartable_synapse
    localpart = unique_localpart("offline")
    server.register(localpart, TEST_PASSWORD)
    _user_id, token, _device = server.login(localpart, TEST_PASSWORD)
    store = Store(tmp_path / "cache.sqlite3")
    statuses = []

    async def scenario():
        async with MatrixClient(server.base_url, token) as client:
            loop = SyncLoop(client, store, on_status=statuses.append)
            await loop.sync_once()
            server.stop()
            task = asyncio.ensure_future(loop.run())
            while not any(s.state is SyncState.OFFLINE for s in statuses):
                await asyncio.sleep(0.1)
            server.start()
            online_before = sum(s.state is SyncState.ONLINE for s in statuses)
            while sum(s.state is SyncState.ONLINE for s in statuses) == online_before:
                await asyncio.sleep(0.1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), 120))
    store.close()
    offline = [s for s in statuses if s.state is SyncState.OFFLINE]
    assert offline[0].retry_in is not None
    assert offline[0].message
    assert statuses[-1].state is SyncState.ONLINE


def test_revoked_token_stops_sync_as_signed_out(synapse, make_user, store):
    user = make_user("revoked")
    statuses = []

    async def scenario():
        async with MatrixClient(synapse.base_url, user.access_token) as client:
            loop = SyncLoop(client, store, on_status=statuses.append)
            await loop.sync_once()
            await client.logout()
            await asyncio.wait_for(loop.run(), 60)

    asyncio.run(scenario())
    assert statuses[-1].state is SyncState.SIGNED_OUT
    assert json.dumps(statuses[-1].message)
