"""Resending when the server's deduplication cannot be trusted.

Synapse deletes transaction ids with the device (sign-out, an administrator
revoking the session) and after a day. An item that may have reached the
server then must be looked up by its client id before it is sent again.
"""

import asyncio
import time

import httpx
import pytest

from app.matrix import http
from app.outbox_worker import LOOKUP_AFTER_SECONDS, OutboxState
from tests.app.outbox_support import (
    LosingTransport,
    client_ids,
    make_board,
    open_session,
    register,
    server_events,
    sign_in_again,
)

pytestmark = pytest.mark.synapse


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    monkeypatch.setattr(http, "BACKOFF_CAP", 1.0)


class RevokingTransport(LosingTransport):
    """Loses the response of the first send and ends the session right after.

    The server stores the event, then the token is logged out (which deletes
    the device and its transaction ids) before the client's retry.
    """

    def __init__(self, base_url: str, token: str):
        super().__init__(lose=self._first_send)
        self.base_url = base_url
        self.token = token
        self.revoked = False

    def _first_send(self, request: httpx.Request) -> bool:
        return request.method == "PUT" and not self.revoked

    async def handle_async_request(self, request):
        try:
            return await super().handle_async_request(request)
        except httpx.RemoteProtocolError:
            async with httpx.AsyncClient(base_url=self.base_url) as client:
                response = await client.post(
                    "/_matrix/client/v3/logout",
                    headers={"Authorization": f"Bearer {self.token}"},
                    json={},
                )
                response.raise_for_status()
            self.revoked = True
            raise


@pytest.mark.parametrize("same_device", [True, False], ids=["same", "new"])
def test_revoked_session_items_looked_up(restartable_synapse, tmp_path, same_device):
    server = restartable_synapse
    owner = register(server, "owner")
    me = register(server, "me")
    _space, board = make_board(server, owner, me)
    path = tmp_path / "cache.sqlite3"
    revoking = RevokingTransport(server.base_url, me.access_token)
    statuses = []

    async def until_revoked():
        app = open_session(me, path, transport=revoking)
        app.add_outbox_status_listener(statuses.append)
        await app.sync.sync_once()
        first = await app.outbox.queue_discussion(board, "Reached the server", "")
        await app.outbox.queue_reply(first, "Waited for it")
        await app.outbox.queue_like(first)
        report = await app.outbox_worker.drain()
        items = app.outbox.list_items()
        await app.close()
        return report, items

    report, items = asyncio.run(asyncio.wait_for(until_revoked(), 120))

    assert report.signed_out is not None
    assert statuses[-1].state is OutboxState.SIGNED_OUT
    assert "Sign in again" in statuses[-1].message
    assert [item.state for item in items] == ["queued", "queued", "queued"]
    on_server = server_events(server, owner, board)
    assert client_ids(on_server) == [items[0].client_id]

    # A restart empties Synapse's in-memory response cache, as an hour would.
    server.stop()
    server.start()
    if same_device:
        again = sign_in_again(server, me)
        assert again.device_id == me.device_id
    else:
        again = register_new_device(server, me)
        assert again.device_id != me.device_id
    counting = LosingTransport()

    async def after_sign_in():
        app = open_session(again, path, transport=counting)
        report = await app.outbox_worker.drain()
        done = app.outbox.list_items(include_done=True)
        await app.close()
        return report, done

    report, done = asyncio.run(asyncio.wait_for(after_sign_in(), 120))

    assert report.sent == 3
    assert len(counting.lookups()) >= 1
    mine = [e for e in server_events(server, owner, board) if e["sender"] == me.user_id]
    assert client_ids(mine) == [items[0].client_id, items[1].client_id]
    assert done[0].event_id == on_server[0]["event_id"]
    assert mine[1]["content"]["m.relates_to"]["event_id"] == on_server[0]["event_id"]
    likes = server_events(server, owner, board, types=("m.reaction",))
    assert client_ids(likes) == [items[2].client_id]
    # Only the first item was looked up: the others never reached the server.
    assert len(counting.sends()) == 2


def register_new_device(server, session):
    from tests.app.outbox_support import Session
    from tests.conftest import TEST_PASSWORD

    localpart = session.user_id[1:].split(":", 1)[0]
    user_id, token, device = server.login(localpart, TEST_PASSWORD)
    return Session(server.base_url, user_id, device, token)


def test_day_old_item_looked_up_first(restartable_synapse, tmp_path):
    server = restartable_synapse
    owner = register(server, "owner")
    me = register(server, "me")
    _space, board = make_board(server, owner, me)
    path = tmp_path / "cache.sqlite3"
    losing = LosingTransport(lose=lambda request: request.method == "PUT")

    async def first_attempt():
        app = open_session(me, path, transport=losing)
        await app.sync.sync_once()
        await app.outbox.queue_discussion(board, "Sent yesterday", "")
        await app.outbox_worker.drain(max_attempts=1)
        [item] = app.outbox.list_items()
        await app.close()
        return item

    item = asyncio.run(first_attempt())
    counting = LosingTransport()

    async def next_day():
        app = open_session(me, path, transport=counting)
        app.outbox_worker.clock = lambda: time.time() + LOOKUP_AFTER_SECONDS + 60
        report = await app.outbox_worker.drain()
        [done] = app.outbox.list_items(include_done=True)
        await app.close()
        return report, done

    report, done = asyncio.run(asyncio.wait_for(next_day(), 120))

    assert report.sent == 1
    assert len(counting.lookups()) == 1
    assert counting.sends() == []
    mine = [e for e in server_events(server, owner, board) if e["sender"] == me.user_id]
    assert client_ids(mine) == [item.client_id]
    assert done.event_id == mine[0]["event_id"]


def test_lookup_misses_then_sends(restartable_synapse, tmp_path):
    server = restartable_synapse
    owner = register(server, "owner")
    me = register(server, "me")
    _space, board = make_board(server, owner, me)
    path = tmp_path / "cache.sqlite3"
    # The first attempt never reaches the server: the server is down.
    server.stop()

    async def offline_attempt():
        app = open_session(me, path)
        app.store.write_blocking(
            lambda conn: conn.execute(
                "INSERT INTO rooms (room_id, membership) VALUES (?, 'join')", (board,)
            )
        )
        await app.outbox.queue_discussion(board, "Never arrived", "")
        report = await app.outbox_worker.drain(max_attempts=1)
        await app.close()
        return report

    assert asyncio.run(offline_attempt()).offline_rooms == [board]
    server.start()
    again = register_new_device(server, me)
    counting = LosingTransport()

    async def resend():
        app = open_session(again, path, transport=counting)
        report = await app.outbox_worker.drain()
        await app.close()
        return report

    assert asyncio.run(asyncio.wait_for(resend(), 120)).sent == 1
    assert len(counting.lookups()) == 1
    assert len(counting.sends()) == 1
    mine = [e for e in server_events(server, owner, board) if e["sender"] == me.user_id]
    assert len(mine) == 1
