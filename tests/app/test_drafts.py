"""Drafts: saved per composer, kept until queued or discarded, durable on kill."""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from app import drafts
from app.outbox import Outbox
from app.store import Store, outbox_store
from app.store.writes import apply_sync
from tests.factories import discussion, member, room_batch

ME = "@me:test"
BOARD = "!board:test"


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(
        apply_sync,
        [room_batch(BOARD, [member(ME)], [discussion(ME, "Q", event_id="$q")])],
        "token",
    )
    yield store
    store.close()


def test_draft_saved_loaded_and_listed(store):
    run(
        drafts.save_draft(
            store,
            "discussion",
            BOARD,
            room_id=BOARD,
            title="Half a title",
            body="Some *text*",
            tags=["sql"],
            kind="question",
        )
    )
    run(
        drafts.save_draft(store, "reply", "$q", room_id=BOARD, body="Re", quote_id="$q")
    )

    draft = drafts.load_draft(store, "discussion", BOARD)
    assert (draft.title, draft.body, draft.tags, draft.kind) == (
        "Half a title",
        "Some *text*",
        ("sql",),
        "question",
    )
    reply = drafts.load_draft(store, "reply", "$q")
    assert (reply.body, reply.quote_id, reply.room_id) == ("Re", "$q", BOARD)
    listed = drafts.list_drafts(store)
    assert [(d.composer, d.target_id) for d in listed] == [
        ("reply", "$q"),
        ("discussion", BOARD),
    ]
    assert drafts.load_draft(store, "edit", "$q") is None


def test_saving_again_replaces_draft(store):
    for text in ("a", "ab", "abc"):
        run(drafts.save_draft(store, "reply", "$q", room_id=BOARD, body=text))
    assert drafts.load_draft(store, "reply", "$q").body == "abc"
    assert len(drafts.list_drafts(store)) == 1


def test_emptied_draft_is_deleted(store):
    run(drafts.save_draft(store, "reply", "$q", room_id=BOARD, body="typed"))
    run(drafts.save_draft(store, "reply", "$q", room_id=BOARD, body="   \n"))
    assert drafts.load_draft(store, "reply", "$q") is None


def test_discard_draft(store):
    run(drafts.save_draft(store, "edit", "$q", room_id=BOARD, body="changed"))
    assert run(drafts.discard_draft(store, "edit", "$q")) is True
    assert run(drafts.discard_draft(store, "edit", "$q")) is False
    assert drafts.list_drafts(store) == []


def test_unknown_composer_rejected(store):
    with pytest.raises(ValueError):
        run(drafts.save_draft(store, "chat", BOARD, room_id=BOARD, body="x"))
    with pytest.raises(ValueError):
        drafts.load_draft(store, "chat", BOARD)


def test_draft_cleared_only_when_queued(store):
    outbox = Outbox(store, ME)
    run(drafts.save_draft(store, "reply", "$q", room_id=BOARD, body="Answer"))
    run(drafts.save_draft(store, "discussion", BOARD, room_id=BOARD, title="Other"))

    run(outbox.queue_reply("$q", "Answer"))

    assert drafts.load_draft(store, "reply", "$q") is None
    assert drafts.load_draft(store, "discussion", BOARD).title == "Other"


def test_reply_draft_follows_sent_post(store):
    outbox = Outbox(store, ME)
    root = run(outbox.queue_discussion(BOARD, "New", ""))
    run(drafts.save_draft(store, "reply", root, room_id=BOARD, body="Reply later"))
    item = store.write_blocking(outbox_store.claim_next, BOARD, "session")
    store.write_blocking(outbox_store.mark_sent, item.id, "$new")

    assert drafts.load_draft(store, "reply", "$new").body == "Reply later"
    # A view that still holds the local id finds it too.
    assert drafts.load_draft(store, "reply", root).target_id == "$new"


# Saves a draft as a composer would while the user types, printing each saved
# text, until it is killed.
TYPING_SCRIPT = """
import asyncio, itertools, sys
from app import drafts
from app.store import Store

async def main(path):
    store = Store(path)
    for count in itertools.count(1):
        text = "x" * count
        await drafts.save_draft(store, "reply", "$q", room_id="!board:test", body=text)
        print(count, flush=True)
        await asyncio.sleep(0.005)

asyncio.run(main(sys.argv[1]))
"""


def test_drafts_survive_sigkill(tmp_path):
    path = tmp_path / "cache.sqlite3"
    Store(path).close()
    environment = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen(
        [sys.executable, "-c", TYPING_SCRIPT, str(path)],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    last_saved = 0
    try:
        for line in process.stdout:
            last_saved = int(line)
            if last_saved >= 50:
                break
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    store = Store(path)
    try:
        draft = drafts.load_draft(store, "reply", "$q")
        integrity = store.reader().execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        store.close()
    # The kill may land after a later save committed but before its line
    # was printed, so the draft is at least as long as the last printed count.
    assert len(draft.body) >= last_saved
    assert integrity == "ok"


def test_draft_changes_announced(store):
    announced = []
    run(
        drafts.save_draft(
            store,
            "discussion",
            BOARD,
            room_id=BOARD,
            body="b",
            on_changes=announced.append,
        )
    )
    assert [changes.drafts for changes in announced] == [True]

    assert run(
        drafts.discard_draft(store, "discussion", BOARD, on_changes=announced.append)
    )
    assert len(announced) == 2
    assert not run(
        drafts.discard_draft(store, "discussion", BOARD, on_changes=announced.append)
    )
    assert len(announced) == 2
