"""The outbox while the server is down, and across restarts of both sides.

Each test counts the events on the server through /messages, as another
client would, and checks that every action arrived exactly once, in order.
"""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from app import namespace as ns
from app.matrix import http
from app.outbox_worker import OutboxState
from app.store import queries
from tests.app.outbox_support import (
    LosingTransport,
    client_ids,
    make_board,
    open_session,
    register,
    server_events,
    wait_for,
    worker_idle,
)

pytestmark = pytest.mark.synapse


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    # Retries while the server is down wait at most a second, not 30.
    monkeypatch.setattr(http, "BACKOFF_CAP", 1.0)


def test_offline_actions_sent_once_in_order(restartable_synapse, tmp_path):
    server = restartable_synapse
    owner = register(server, "owner")
    me = register(server, "me")
    _space, board = make_board(server, owner, me)
    statuses = []
    shown_titles = []

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        app.add_outbox_status_listener(statuses.append)

        def record_titles(changes):
            listed = queries.list_discussions(app.store.reader(), [board], limit=50)
            shown_titles.append([item.title for item in listed])

        app.add_changes_listener(record_titles)
        await app.sync.sync_once()
        server.stop()

        first = await app.outbox.queue_discussion(board, "First", "Written offline")
        await app.outbox.queue_reply(first, "A reply to my own unsent post")
        await app.outbox.queue_like(first)
        second = await app.outbox.queue_discussion(
            board, "Second", "", kind="question", tags=["offline"]
        )
        await app.outbox.queue_reply(second, "Details")
        pending = queries.list_discussions(app.store.reader(), [board], limit=10)
        assert [(d.title, d.send_state) for d in pending] == [
            ("Second", "pending"),
            ("First", "pending"),
        ]

        app.start()
        await wait_for(
            lambda: any(s.state is OutboxState.OFFLINE for s in statuses), 30
        )
        server.start()
        await wait_for(worker_idle(app), 120)
        await wait_for(lambda: not app.outbox.list_items(), 60)
        items = app.outbox.list_items(include_done=True)
        final = queries.list_discussions(app.store.reader(), [board], limit=10)
        await app.close()
        return items, final

    items, final = asyncio.run(asyncio.wait_for(scenario(), 240))

    messages = server_events(server, me, board)
    mine = [event for event in messages if event["sender"] == me.user_id]
    assert [event["content"]["body"] for event in mine] == [
        "First\n\nWritten offline",
        "A reply to my own unsent post",
        "Second",
        "Details",
    ]
    first_id, reply, second_id, details = (event["event_id"] for event in mine)
    assert mine[1]["content"]["m.relates_to"]["event_id"] == first_id
    assert mine[3]["content"]["m.relates_to"]["event_id"] == second_id
    reactions = server_events(server, me, board, types=("m.reaction",))
    assert [r["content"]["m.relates_to"]["event_id"] for r in reactions] == [first_id]

    sent = sorted(client_ids(mine + reactions))
    assert sent == sorted(item.client_id for item in items)
    assert len(sent) == len(set(sent)) == 5
    assert [item.event_id for item in items] == [
        first_id,
        reply,
        reactions[0]["event_id"],
        second_id,
        details,
    ]
    assert [(d.title, d.send_state) for d in final] == [
        ("Second", None),
        ("First", None),
    ]
    # No refresh ever showed a post twice.
    assert all(len(titles) == len(set(titles)) for titles in shown_titles)
    assert statuses[-1].state is OutboxState.IDLE


# Queues one discussion while the server is down, prints "queued", then sends
# until it is killed.
QUEUE_SCRIPT = """
import asyncio, sys
from app.account import Session
from app.matrix import http
from app.session import AppSession

http.BACKOFF_CAP = 0.5
url, user_id, device_id, token, path, board = sys.argv[1:]

async def main():
    app = AppSession(Session(url, user_id, device_id, token), store_path=path)
    await app.outbox.queue_discussion(board, "Survives a kill", "Queued offline")
    print("queued", flush=True)
    await app.outbox_worker.run()

asyncio.run(main())
"""


def test_killed_process_post_sent_once(restartable_synapse, tmp_path):
    server = restartable_synapse
    owner = register(server, "owner")
    me = register(server, "me")
    _space, board = make_board(server, owner, me)
    path = tmp_path / "cache.sqlite3"

    async def first_sync():
        app = open_session(me, path)
        await app.sync.sync_once()
        await app.close()

    asyncio.run(first_sync())
    server.stop()
    environment = {**os.environ, "PYTHONPATH": os.getcwd()}
    arguments = [me.homeserver_url, me.user_id, me.device_id, me.access_token]
    process = subprocess.Popen(
        [sys.executable, "-c", QUEUE_SCRIPT, *arguments, str(path), board],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "queued"
        # Let it fail a few connection attempts before it dies.
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    server.start()

    async def restart():
        app = open_session(me, path)
        [item] = app.outbox.list_items()
        assert item.state == "sending"
        report = await app.outbox_worker.drain()
        done = app.outbox.list_items(include_done=True)
        await app.close()
        return item, report, done

    item, report, done = asyncio.run(asyncio.wait_for(restart(), 120))

    assert (report.sent, report.failed) == (1, 0)
    mine = [e for e in server_events(server, me, board) if e["sender"] == me.user_id]
    assert client_ids(mine) == [item.client_id]
    assert mine[0]["content"][ns.DISCUSSION_KEY]["title"] == "Survives a kill"
    assert done[0].event_id == mine[0]["event_id"]


def test_transaction_id_reused_after_restart(restartable_synapse, tmp_path):
    server = restartable_synapse
    owner = register(server, "owner")
    me = register(server, "me")
    _space, board = make_board(server, owner, me)
    path = tmp_path / "cache.sqlite3"
    losing = LosingTransport(lose=lambda request: request.method == "PUT")

    async def lost_response():
        app = open_session(me, path, transport=losing)
        await app.sync.sync_once()
        await app.outbox.queue_discussion(board, "Sent once", "")
        report = await app.outbox_worker.drain(max_attempts=1)
        items = app.outbox.list_items()
        await app.close()
        return report, items

    report, [item] = asyncio.run(lost_response())
    assert report.offline_rooms == [board]
    assert item.state == "queued"
    assert item.first_attempt_at is not None
    # The server stored the event although the client never heard of it.
    on_server = [
        e for e in server_events(server, me, board) if e["sender"] == me.user_id
    ]
    assert client_ids(on_server) == [item.client_id]

    # A server restart empties Synapse's in-memory response cache, so only
    # its stored transaction ids can prevent a second event.
    server.stop()
    server.start()
    counting = LosingTransport()

    async def resend():
        app = open_session(me, path, transport=counting)
        report = await app.outbox_worker.drain()
        [done] = app.outbox.list_items(include_done=True)
        await app.close()
        return report, done

    report, done = asyncio.run(asyncio.wait_for(resend(), 120))

    assert report.sent == 1
    assert counting.lookups() == []
    assert counting.sends() == losing.sends()[:1]
    assert item.txn_id in counting.sends()[0]
    mine = [e for e in server_events(server, me, board) if e["sender"] == me.user_id]
    assert len(mine) == 1
    assert done.event_id == mine[0]["event_id"] == on_server[0]["event_id"]


def test_server_restart_mid_drain_sends_each_once(restartable_synapse, tmp_path):
    server = restartable_synapse
    owner = register(server, "owner")
    me = register(server, "me")
    _space, board = make_board(server, owner, me)
    count = 40

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        for number in range(count):
            await app.outbox.queue_discussion(board, f"Queued {number}", "")
        app.start()
        # Restart the server once a few items are through, so the rest of the
        # queue meets a dead server in the middle of the drain.
        await wait_for(lambda: _sent(app) >= 5, 60)
        server.stop()
        server.start()
        await wait_for(worker_idle(app), 180)
        await wait_for(lambda: not app.outbox.list_items(), 60)
        items = app.outbox.list_items(include_done=True)
        await app.close()
        return items

    items = asyncio.run(asyncio.wait_for(scenario(), 300))

    mine = [e for e in server_events(server, me, board) if e["sender"] == me.user_id]
    assert [e["content"]["body"] for e in mine] == [f"Queued {n}" for n in range(count)]
    ids = client_ids(mine)
    assert len(ids) == len(set(ids)) == count
    assert [item.event_id for item in items] == [e["event_id"] for e in mine]


def _sent(app) -> int:
    items = app.outbox.list_items(include_done=True)
    return sum(item.event_id is not None for item in items)
