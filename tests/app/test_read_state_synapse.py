"""Read state against a real Synapse: thread counts, receipts, other devices."""

import asyncio

import httpx
import pytest

from app.matrix import MatrixClient
from app.matrix import http as matrix_http
from app.matrix.errors import ConnectionFailed
from app.read_state import ReadState
from app.store import Store, queries
from app.store.read_state_store import (
    new_discussions,
    thread_unread_counts,
    unsent_receipts,
)
from app.sync import SyncLoop
from tests.conftest import TEST_PASSWORD
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    async def no_sleep(seconds):
        return None

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


@pytest.fixture
def stores(tmp_path):
    opened = []

    def make(name: str) -> Store:
        store = Store(tmp_path / f"{name}.sqlite3")
        opened.append(store)
        return store

    yield make
    for store in opened:
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


def joined_space(synapse, author, reader, name: str) -> tuple[str, str]:
    space, board = author.create_space_with_board(name, invite=[reader.user_id])
    other = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    other.join(space)
    other.join(board)
    other.close()
    return space, board


async def sync(synapse, token: str, store: Store, user_id: str | None = None) -> None:
    async with MatrixClient(synapse.base_url, token) as client:
        await SyncLoop(client, store, user_id=user_id).sync_once()


async def mark_read(synapse, token: str, store: Store, *, root=None, space=None):
    """Mark a discussion or a space read, send the receipts; return how many."""
    async with MatrixClient(synapse.base_url, token) as client:
        read_state = ReadState(client, store)
        if root is not None:
            await read_state.mark_discussion_read(root)
        if space is not None:
            await read_state.mark_space_read(space)
        return await read_state.send_pending()


def space_unread(store: Store, space_id: str) -> int:
    for space in queries.list_spaces(store.reader()):
        if space.room_id == space_id:
            return space.unread_count
    raise AssertionError(f"space {space_id} is not cached")


def test_thread_counts_come_from_the_server(synapse, author, reader, stores):
    space, board = joined_space(synapse, author, reader, "Thread counts")
    store = stores("cache")
    asyncio.run(sync(synapse, reader.access_token, store))
    root = author.discussion(board, "Indexes?")
    author.reply(board, root, "Use a covering index")
    author.reply(board, root, "And check the plan")
    quiet = author.discussion(board, "Nobody answered")

    asyncio.run(sync(synapse, reader.access_token, store))

    counts = thread_unread_counts(store.reader(), [root, quiet])
    assert counts[root] == (2, 0)
    assert quiet not in counts
    # Two roots in the main timeline and two replies in the thread.
    assert space_unread(store, space) == 4


def test_open_discussion_reads_on_every_device(synapse, author, reader, stores):
    _space, board = joined_space(synapse, author, reader, "Two devices")
    laptop = stores("laptop")
    phone = stores("phone")
    _user, phone_token, _device = synapse.login(reader.localpart, TEST_PASSWORD)
    asyncio.run(sync(synapse, reader.access_token, laptop))
    asyncio.run(sync(synapse, phone_token, phone))
    root = author.discussion(board, "Release notes")
    author.reply(board, root, "Draft is up")
    other_root = author.discussion(board, "Lunch")
    author.reply(board, other_root, "Friday?")
    asyncio.run(sync(synapse, reader.access_token, laptop))
    asyncio.run(sync(synapse, phone_token, phone))
    assert thread_unread_counts(phone.reader(), [root])[root] == (1, 0)

    sent = asyncio.run(mark_read(synapse, reader.access_token, laptop, root=root))
    asyncio.run(sync(synapse, reader.access_token, laptop))
    asyncio.run(sync(synapse, phone_token, phone))

    assert sent == 2
    for device in (laptop, phone):
        counts = thread_unread_counts(device.reader(), [root, other_root])
        assert root not in counts
        assert counts[other_root] == (1, 0)


def test_new_discussions_follow_other_devices(synapse, author, reader, stores):
    _space, board = joined_space(synapse, author, reader, "New on the phone")
    laptop = stores("laptop")
    _user, phone_token, _device = synapse.login(reader.localpart, TEST_PASSWORD)
    phone = stores("phone")
    me = reader.user_id
    asyncio.run(sync(synapse, reader.access_token, laptop, me))
    asyncio.run(sync(synapse, phone_token, phone, me))
    first = author.discussion(board, "First question")
    second = author.discussion(board, "Second question")
    asyncio.run(sync(synapse, reader.access_token, laptop, me))
    asyncio.run(sync(synapse, phone_token, phone, me))
    assert new_discussions(laptop.reader(), [board], me) == {first, second}

    # Opening the first discussion on the phone reads the main timeline up
    # to it; the laptop learns of it from its next sync.
    sent = asyncio.run(mark_read(synapse, phone_token, phone, root=first))
    asyncio.run(sync(synapse, reader.access_token, laptop, me))

    assert sent == 1
    assert new_discussions(laptop.reader(), [board], me) == {second}
    receipt = laptop.reader().execute(
        "SELECT event_id, sent FROM read_receipts WHERE room_id = ? "
        "AND thread_id = 'main'",
        (board,),
    ).fetchone()
    assert tuple(receipt) == (first, 1)
    assert unsent_receipts(laptop.reader()) == []


def test_mark_all_read_clears_space(synapse, author, reader, stores):
    space, board = joined_space(synapse, author, reader, "Mark all")
    store = stores("cache")
    root = author.discussion(board, "First")
    author.reply(board, root, "Reply one")
    author.reply(board, root, "Reply two")
    author.send(board, {"msgtype": "m.text", "body": "A plain message"})
    asyncio.run(sync(synapse, reader.access_token, store))
    assert space_unread(store, space) == 4

    sent = asyncio.run(mark_read(synapse, reader.access_token, store, space=space))
    asyncio.run(sync(synapse, reader.access_token, store))

    # An unthreaded receipt and the read marker for the board. The space room
    # has only state events, which the cache does not keep as timeline events.
    assert sent == 2
    assert space_unread(store, space) == 0
    assert thread_unread_counts(store.reader(), [root]) == {}


class OfflineTransport(httpx.AsyncBaseTransport):
    """Fails every request as a dropped network would, until online() is called."""

    def __init__(self):
        self._real = httpx.AsyncHTTPTransport()
        self.offline = True

    async def handle_async_request(self, request):
        if self.offline:
            raise httpx.ConnectError("network is down", request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self):
        await self._real.aclose()


def test_receipts_queued_offline_are_sent_later(synapse, author, reader, stores):
    space, board = joined_space(synapse, author, reader, "Offline reading")
    store = stores("cache")
    root = author.discussion(board, "Offline")
    author.reply(board, root, "Read me on the train")
    asyncio.run(sync(synapse, reader.access_token, store))
    transport = OfflineTransport()

    async def read_offline_then_online():
        async with MatrixClient(
            synapse.base_url, reader.access_token, transport=transport
        ) as client:
            read_state = ReadState(client, store)
            queued = await read_state.mark_discussion_read(root)
            with pytest.raises(ConnectionFailed):
                await read_state.send_pending()
            still_queued = len(unsent_receipts(store.reader()))
            requeued = await read_state.mark_discussion_read(root)
            transport.offline = False
            sent = await read_state.send_pending()
            return queued, still_queued, requeued, sent

    queued, still_queued, requeued, sent = asyncio.run(read_offline_then_online())
    asyncio.run(sync(synapse, reader.access_token, store))

    assert queued == 2
    assert still_queued == 2
    assert requeued == 0
    assert sent == 2
    assert unsent_receipts(store.reader()) == []
    assert thread_unread_counts(store.reader(), [root]) == {}
    assert space_unread(store, space) == 0
