"""A thousand queued items drained against Synapse: none lost, none doubled."""

import asyncio
import collections

import pytest

from app.matrix import http
from tests.app.outbox_support import (
    LosingTransport,
    client_ids,
    make_board,
    open_session,
    register,
    server_events,
)

pytestmark = pytest.mark.synapse

ITEMS = 1000


def test_thousand_items_drained_exactly_once(synapse, tmp_path, monkeypatch):
    monkeypatch.setattr(http, "BACKOFF_CAP", 0.2)
    owner = register(synapse, "owner")
    me = register(synapse, "me")
    _space, first_board = make_board(synapse, owner, me)
    _space, second_board = make_board(synapse, owner, me)
    boards = [first_board, second_board]
    # Every 50th send loses its response after the server stored the event,
    # so the retry must be deduplicated by its transaction id.
    sends = collections.Counter()

    def lose(request):
        if request.method != "PUT":
            return False
        sends["total"] += 1
        return sends["total"] % 50 == 0

    transport = LosingTransport(lose=lose)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3", transport=transport)
        await app.sync.sync_once()
        roots = {}
        for number in range(ITEMS):
            board = boards[(number // 10) % 2]
            if number % 10 == 0:
                roots[board] = await app.outbox.queue_discussion(
                    board, f"Topic {number}", ""
                )
            elif number % 10 == 9:
                await app.outbox.queue_like(roots[board])
            else:
                await app.outbox.queue_reply(roots[board], f"Reply {number}")
        queued = app.outbox.list_items()
        report = await app.outbox_worker.drain()
        done = app.outbox.list_items(include_done=True)
        await app.close()
        return queued, report, done

    queued, report, done = asyncio.run(asyncio.wait_for(scenario(), 600))

    assert len(queued) == ITEMS
    assert (report.sent, report.failed) == (ITEMS, 0)
    assert all(item.state == "sent" and item.event_id for item in done)
    on_server = []
    for board in boards:
        events = server_events(
            synapse, owner, board, types=("m.room.message", "m.reaction")
        )
        on_server += client_ids(e for e in events if e["sender"] == me.user_id)
    assert len(on_server) == ITEMS
    assert sorted(on_server) == sorted(item.client_id for item in queued)
    assert sends["total"] > ITEMS
