"""A hostile or broken server cannot stop the sync loop or poison the cache.

These responses are ones a real Synapse never sends, so a MockTransport
serves them.
"""

import asyncio
import json

import httpx
import pytest

from app.matrix import MatrixClient
from app.store import Store, queries
from app.sync import SyncLoop, SyncState
from app.sync.translate import MAX_BODY_LENGTH
from tests.factories import discussion, event

BOARD = "!board:test"


def sync_body(timeline, *, counts=None, token="t1", extra_rooms=None):
    rooms = {
        BOARD: {
            "timeline": {"events": timeline, "limited": False},
            "unread_notifications": counts or {},
        }
    }
    rooms.update(extra_rooms or {})
    return {"next_batch": token, "rooms": {"join": rooms}}


def serve(*bodies):
    """Return a transport that serves each body to /sync in turn, then the last."""
    responses = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        body = responses.pop(0) if len(responses) > 1 else responses[0]
        if isinstance(body, bytes):
            return httpx.Response(200, content=body)
        return httpx.Response(200, content=json.dumps(body).encode())

    return httpx.MockTransport(handler)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


async def sync_once(store, transport):
    async with MatrixClient(
        "http://127.0.0.1:1", "token", transport=transport
    ) as client:
        return await SyncLoop(client, store).sync_once()


def titles(store):
    return [
        item.title
        for item in queries.list_discussions(store.reader(), [BOARD], limit=50)
    ]


def test_out_of_range_numbers_are_skipped(store):
    good = discussion("@ann:test", "Survivor")
    future = discussion("@ann:test", "Year 33658", ts=10**15)
    huge = discussion("@ann:test", "Overflow", ts=10**30)
    body = sync_body([future, huge, good], counts={"notification_count": 2**70})

    asyncio.run(sync_once(store, serve(body)))

    assert titles(store) == ["Survivor"]
    assert queries.get_room(store.reader(), BOARD).unread_count == 0


def test_lone_surrogate_event_is_skipped(store):
    # json.dumps escapes the surrogate, as a hostile server's JSON would carry it.
    bad = discussion("@ann:test", "bad \ud800 title")
    good = discussion("@ann:test", "Fine")

    asyncio.run(sync_once(store, serve(sync_body([bad, good]))))

    assert titles(store) == ["Fine"]


def test_huge_file_size_is_dropped(store):
    content = {
        "msgtype": "m.file",
        "body": "big.bin",
        "url": "mxc://test/abc",
        "info": {"size": 2**70},
    }
    asyncio.run(sync_once(store, serve(sync_body([event("@ann:test", content)]))))

    [row] = queries.list_files(store.reader(), BOARD)
    assert row["size"] is None


def test_long_body_is_cut(store):
    long_word = "x" * (MAX_BODY_LENGTH * 3)
    post = discussion("@ann:test", "Long", long_word)

    asyncio.run(sync_once(store, serve(sync_body([post]))))

    stored = queries.get_discussion_post(store.reader(), post["event_id"])
    assert len(stored.body) <= MAX_BODY_LENGTH


def test_invalid_room_ids_are_ignored(store):
    good = discussion("@ann:test", "Kept")
    body = sync_body([good], extra_rooms={"not-a-room": {}, "!bad\ud800:x": {}})

    asyncio.run(sync_once(store, serve(body)))

    assert titles(store) == ["Kept"]


def test_deeply_nested_json_raises_matrix_error(store):
    from app.matrix import NotMatrixServer

    nested = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(NotMatrixServer):
        asyncio.run(sync_once(store, serve(nested)))


def test_loop_survives_unexpected_error_and_recovers(store, monkeypatch):
    import app.sync.loop as loop_module

    monkeypatch.setattr(loop_module, "FAILED_SYNC_PAUSE", 0.01)
    good = sync_body([discussion("@ann:test", "After the fault")], token="t2")
    transport = serve(sync_body([]), good)
    statuses = []
    calls = {"count": 0}
    original = loop_module.apply_sync_response

    def broken_once(*args):
        calls["count"] += 1
        if calls["count"] == 1:
            raise RuntimeError("disk on fire")
        return original(*args)

    monkeypatch.setattr(loop_module, "apply_sync_response", broken_once)

    async def scenario():
        async with MatrixClient(
            "http://127.0.0.1:1", "t", transport=transport
        ) as client:
            loop = SyncLoop(client, store, on_status=statuses.append)
            task = asyncio.ensure_future(loop.run())
            while not any(s.state is SyncState.ONLINE for s in statuses):
                await asyncio.sleep(0.01)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), 10))

    offline = [s for s in statuses if s.state is SyncState.OFFLINE]
    assert offline
    assert "unexpected error" in offline[0].message
    assert titles(store) == ["After the fault"]
