"""A sync process killed with SIGKILL loses nothing it committed and resumes."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from app.store import Store, queries
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse

REPLIES = 300

# Syncs forever. With "slow" as its last argument, every record written
# takes 10 ms longer and the first one prints "writing", so the test can
# kill the process in the middle of a large transaction.
SYNC_SCRIPT = """
import asyncio, sys, time
from app.matrix import MatrixClient
from app.store import Store, writes
from app.sync import SyncLoop

if sys.argv[4] == "slow":
    original = writes._apply_record
    started = []

    def slow_apply_record(*args):
        if not started:
            started.append(True)
            print("writing", flush=True)
        time.sleep(0.01)
        return original(*args)

    writes._apply_record = slow_apply_record

async def main(base_url, token, path, mode):
    store = Store(path)
    async with MatrixClient(base_url, token) as client:
        loop = SyncLoop(client, store)
        while True:
            await loop.sync_once(timeout_ms=1000)
            print("synced", flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


def _snapshot(path):
    conn = sqlite3.connect(path)
    try:
        token = conn.execute("SELECT value FROM meta WHERE key = 'sync_token'")
        token = token.fetchone()
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return (token[0] if token else None), events, integrity
    finally:
        conn.close()


def _start(arguments, mode):
    environment = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen(
        [*arguments, mode], env=environment, stdout=subprocess.PIPE, text=True
    )


def _wait_for_line(process, expected):
    for line in process.stdout:
        if line.strip() == expected:
            return
    raise AssertionError(f"sync process exited before printing {expected!r}")


def _stop(process, sig=signal.SIGKILL):
    os.kill(process.pid, sig)
    process.wait()
    process.stdout.close()


def test_sigkill_during_large_sync_loses_nothing(synapse, make_user, tmp_path):
    author_user = make_user("crash-author")
    reader = make_user("crash-reader")
    author = OtherClient(
        synapse.base_url, author_user.access_token, author_user.user_id
    )
    space, board = author.create_space_with_board("Crash", invite=[reader.user_id])
    joiner = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    joiner.join(space)
    joiner.join(board)
    joiner.close()
    root = author.discussion(board, "Many replies")

    path = tmp_path / "cache.sqlite3"
    arguments = [sys.executable, "-c", SYNC_SCRIPT, synapse.base_url]
    arguments += [reader.access_token, str(path)]

    # A first, small sync commits the discussion and a token.
    process = _start(arguments, "fast")
    _wait_for_line(process, "synced")
    _stop(process, signal.SIGTERM)
    token_before, events_before, _ = _snapshot(path)
    assert token_before is not None

    # A large sync is killed while its transaction is being written.
    for number in range(REPLIES):
        author.reply(board, root, f"reply {number}")
    author.close()
    process = _start(arguments, "slow")
    _wait_for_line(process, "writing")
    time.sleep(0.5)
    _stop(process)

    token_after, events_after, integrity = _snapshot(path)
    assert integrity == "ok"
    assert token_after == token_before
    assert events_after == events_before

    # After a restart, sync resumes from the stored token to the end.
    process = _start(arguments, "fast")
    _wait_for_line(process, "synced")
    _stop(process, signal.SIGTERM)
    store = Store(path)
    try:
        replies = queries.list_replies(store.reader(), root, limit=REPLIES + 10)
        summary = queries.get_discussion_summary(store.reader(), root)
    finally:
        store.close()
    assert [post.body for post in replies] == [f"reply {n}" for n in range(REPLIES)]
    assert summary.reply_count == REPLIES
