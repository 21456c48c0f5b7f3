"""A process killed after its send reached the server, before the response arrived.

A loopback proxy lets the first send reach Synapse and then never delivers
the response: it either keeps the connection open or drops it. The test then
kills the sending process with SIGKILL. A second process sends what is left
in the outbox, and the server must end up with exactly one event, because the
resend reuses the transaction id that Synapse deduplicates.
"""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from app import namespace as ns
from app.account import Session
from tests.app.loopback_proxy import DROP, HOLD, LoopbackProxy
from tests.app.outbox_support import (
    client_ids,
    make_board,
    open_session,
    register,
    server_events,
)

pytestmark = pytest.mark.synapse

# Queues one discussion, prints "queued <client id>", then sends until killed.
SEND_SCRIPT = """
import asyncio, sys
from app.account import Session
from app.matrix import http
from app.session import AppSession

http.BACKOFF_CAP = 0.5
url, user_id, device_id, token, path, board = sys.argv[1:]

async def main():
    app = AppSession(Session(url, user_id, device_id, token), store_path=path)
    await app.outbox.queue_discussion(board, "Sent before the kill", "Once only")
    [item] = app.outbox.list_items()
    print("queued", item.client_id, flush=True)
    await app.outbox_worker.run()

asyncio.run(main())
"""


def _with_url(session: Session, url: str) -> Session:
    return Session(url, session.user_id, session.device_id, session.access_token)


def _first_sync(session: Session, path) -> None:
    async def sync():
        app = open_session(session, path)
        try:
            await app.sync.sync_once()
        finally:
            await app.close()

    asyncio.run(sync())


def _queue_and_kill(proxy: LoopbackProxy, session: Session, path, board) -> str:
    """Run SEND_SCRIPT through proxy and SIGKILL it once the send reached Synapse.

    Returns the client id of the queued item.
    """
    environment = {**os.environ, "PYTHONPATH": os.getcwd()}
    arguments = [proxy.base_url, session.user_id, session.device_id]
    arguments += [session.access_token, str(path), board]
    process = subprocess.Popen(
        [sys.executable, "-c", SEND_SCRIPT, *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        word, client_id = process.stdout.readline().split()
        assert word == "queued"
        assert proxy.send_reached_server.wait(timeout=60), "no send reached Synapse"
        assert process.poll() is None, "the sending process exited by itself"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    return client_id


@pytest.mark.parametrize("mode", [HOLD, DROP])
def test_killed_before_response_sent_once(synapse, tmp_path, mode):
    owner = register(synapse, "owner")
    me = register(synapse, "me")
    _space, board = make_board(synapse, owner, me)
    path = tmp_path / "cache.sqlite3"
    _first_sync(me, path)

    with LoopbackProxy(synapse.base_url, mode) as proxy:
        client_id = _queue_and_kill(proxy, me, path, board)
        lost_event_id = proxy.first_send_response["event_id"]
        first_send = proxy.first_send_path

        # The event is on the server although the process never learned of it.
        mine = [
            e for e in server_events(synapse, owner, board) if e["sender"] == me.user_id
        ]
        assert client_ids(mine) == [client_id]
        assert mine[0]["event_id"] == lost_event_id

        proxy.open()
        sends_before_restart = len(proxy.sends())

        async def restart():
            app = open_session(_with_url(me, proxy.base_url), path)
            try:
                [item] = app.outbox.list_items()
                report = await asyncio.wait_for(app.outbox_worker.drain(), 120)
                done = app.outbox.list_items(include_done=True)
                return item, report, done
            finally:
                await app.close()

        item, report, done = asyncio.run(restart())
        resends = proxy.sends()[sends_before_restart:]

    assert item.client_id == client_id
    assert item.event_id is None
    assert item.first_attempt_at is not None
    if mode == HOLD:
        # Killed while waiting for the response.
        assert item.state == "sending"
    else:
        # Killed while the dropped send waited for a retry, or during one.
        assert item.state in ("queued", "sending")
    assert (report.sent, report.failed) == (1, 0)
    # The resend used the first attempt's transaction id.
    assert resends == [first_send]
    assert item.txn_id in first_send

    events = server_events(synapse, owner, board)
    with_client_id = [
        event
        for event in events
        if event.get("content", {}).get(ns.CLIENT_ID_KEY) == client_id
    ]
    assert len(with_client_id) == 1
    assert with_client_id[0]["event_id"] == lost_event_id
    assert with_client_id[0]["content"][ns.DISCUSSION_KEY]["title"] == (
        "Sent before the kill"
    )
    [sent] = done
    assert sent.client_id == client_id
    assert sent.state == "sent"
    assert sent.event_id == lost_event_id
