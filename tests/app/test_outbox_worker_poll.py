"""The running worker finds items that another process queued in the cache."""

import asyncio

import pytest

from app import outbox_worker
from app.outbox import Outbox, OutboxWorker
from app.store import Store, outbox_queries
from app.store.writes import apply_sync
from tests.factories import member, room_batch

ME = "@me:test"
BOARD = "!board:test"


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "cache.sqlite3"
    store = Store(path)
    store.write_blocking(apply_sync, [room_batch(BOARD, [member(ME)])], "token")
    store.close()
    return path


def test_worker_polls_for_other_process_items(path, monkeypatch):
    sent = []

    async def send_event(client, room_id, event_type, txn_id, content, **retry):
        sent.append((room_id, txn_id))
        return f"$sent{len(sent)}"

    monkeypatch.setattr(outbox_worker.room_events, "send_event", send_event)
    monkeypatch.setattr(outbox_worker, "POLL_SECONDS", 0.05)

    async def scenario():
        store = Store(path)
        other_store = Store(path)
        worker = OutboxWorker(None, store, user_id=ME, session="DEVICE/abc")
        task = asyncio.ensure_future(worker.run())
        try:
            await asyncio.sleep(0.1)
            # Another process queues with its own connection and never
            # calls this worker's wake().
            other = Outbox(other_store, ME)
            await other.queue_discussion(BOARD, "From the command line", "Body")
            for _ in range(100):
                if sent:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        items = outbox_queries.list_items(store.reader(), include_done=True)
        other_store.close()
        store.close()
        return task, items

    task, items = asyncio.run(scenario())

    assert len(sent) == 1
    assert [item.state for item in items] == ["sent"]
    assert task.cancelled()


def test_worker_stops_at_once_while_idle(path, monkeypatch):
    monkeypatch.setattr(outbox_worker, "POLL_SECONDS", 60.0)

    async def scenario():
        store = Store(path)
        worker = OutboxWorker(None, store, user_id=ME, session="DEVICE/abc")
        task = asyncio.ensure_future(worker.run())
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        store.close()
        return loop.time() - started

    assert asyncio.run(scenario()) < 1.0
