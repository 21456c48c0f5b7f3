"""The outbox against a running Synapse: what each action stores on the server."""

import asyncio

import pytest

from app import compose
from app import namespace as ns
from app.outbox_worker import OutboxState
from app.store import answers, outbox_queries, queries
from tests.app.outbox_support import (
    client_ids,
    make_board,
    open_session,
    quote,
    register,
    server_events,
    wait_for,
    worker_idle,
)
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse


@pytest.fixture
def people(synapse):
    owner = register(synapse, "owner")
    me = register(synapse, "me")
    _space, board = make_board(synapse, owner, me)
    return owner, me, board


def mine(synapse, session, board, reader, types=("m.room.message",)):
    events = server_events(synapse, reader, board, types=types)
    return [event for event in events if event["sender"] == session.user_id]


def test_reply_and_like_follow_pending_post(synapse, people, tmp_path):
    owner, me, board = people

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        root = await app.outbox.queue_discussion(board, "Root", "Body")
        first = await app.outbox.queue_reply(root, "First")
        await app.outbox.queue_reply(root, "Quoting the root", quote_id=root)
        await app.outbox.queue_reply(root, "Second")
        await app.outbox.queue_like(first)
        report = await app.outbox_worker.drain()
        await app.close()
        return report

    report = asyncio.run(scenario())

    assert (report.sent, report.failed) == (5, 0)
    root, first, quoting, second = mine(synapse, me, board, owner)
    relation = first["content"]["m.relates_to"]
    assert relation["event_id"] == root["event_id"]
    assert relation["is_falling_back"] is True
    assert relation["m.in_reply_to"] == {"event_id": root["event_id"]}
    assert quoting["content"]["m.relates_to"]["is_falling_back"] is False
    assert quoting["content"]["m.relates_to"]["m.in_reply_to"] == {
        "event_id": root["event_id"]
    }
    # The latest reply in the thread was the quoting one when this was queued.
    assert second["content"]["m.relates_to"]["m.in_reply_to"] == {
        "event_id": quoting["event_id"]
    }
    [like] = mine(synapse, me, board, owner, types=("m.reaction",))
    assert like["content"]["m.relates_to"] == {
        "rel_type": "m.annotation",
        "event_id": first["event_id"],
        "key": "👍",
    }


def test_echo_replaces_pending_row_once(synapse, people, tmp_path):
    _owner, me, board = people

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        local = await app.outbox.queue_discussion(board, "Echoed", "")
        await app.outbox_worker.drain()
        conn = app.store.reader()
        before = queries.list_discussions(conn, [board], limit=10)
        await app.sync.sync_once()
        after = queries.list_discussions(conn, [board], limit=10)
        resolved = outbox_queries.resolve_id(conn, local)
        items = app.outbox.list_items()
        await app.close()
        return before, after, resolved, items

    before, after, resolved, items = asyncio.run(scenario())

    # Sent but not yet synced: still shown from the outbox, with its event id.
    assert [(d.title, d.send_state) for d in before] == [("Echoed", "pending")]
    assert [(d.title, d.send_state) for d in after] == [("Echoed", None)]
    assert before[0].event_id == after[0].event_id == resolved
    assert items == []


def test_deleting_pending_post_sends_nothing(synapse, people, tmp_path):
    owner, me, board = people

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        root = await app.outbox.queue_discussion(board, "Regretted", "")
        await app.outbox.queue_reply(root, "Also regretted")
        await app.outbox.queue_like(root)
        await app.outbox.queue_delete(root)
        report = await app.outbox_worker.drain()
        listed = queries.list_discussions(app.store.reader(), [board], limit=10)
        items = app.outbox.list_items(include_done=True)
        await app.close()
        return report, listed, items

    report, listed, items = asyncio.run(scenario())

    assert report.sent == 0
    assert listed == []
    assert items == []
    assert mine(synapse, me, board, owner, types=("m.room.message", "m.reaction")) == []


def test_edit_unlike_and_delete_reach_server(synapse, people, tmp_path):
    owner, me, board = people

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        root = await app.outbox.queue_discussion(board, "Draft title", "v1")
        answer = await app.outbox.queue_reply(root, "Gone soon")
        await app.outbox.queue_like(root)
        await app.outbox_worker.drain()
        await app.sync.sync_once()
        root = outbox_queries.resolve_id(app.store.reader(), root)
        answer = outbox_queries.resolve_id(app.store.reader(), answer)
        await app.outbox.queue_edit(root, "v2", title="Final title", tags=["t"])
        await app.outbox.queue_unlike(root)
        await app.outbox.queue_delete(answer)
        await app.outbox_worker.drain()
        await app.sync.sync_once()
        conn = app.store.reader()
        summary = queries.get_discussion_summary(conn, root)
        likes = queries.reactions_for(conn, [root], me.user_id)
        replies = queries.list_replies(conn, root, limit=10)
        await app.close()
        return root, answer, summary, likes, replies

    root, answer, summary, likes, replies = asyncio.run(scenario())

    events = mine(synapse, me, board, owner, ("m.room.message", "m.room.redaction"))
    edit = next(e for e in events if "m.new_content" in e["content"])
    assert edit["content"]["m.relates_to"] == {
        "rel_type": "m.replace",
        "event_id": root,
    }
    assert edit["content"]["m.new_content"][ns.DISCUSSION_KEY]["title"] == "Final title"
    redactions = [e for e in events if e["type"] == "m.room.redaction"]
    like_id = mine(synapse, me, board, owner, types=("m.reaction",))[0]["event_id"]
    assert sorted(e["redacts"] for e in redactions) == sorted([answer, like_id])
    assert all(ns.CLIENT_ID_KEY in e["content"] for e in redactions)
    assert (summary.title, summary.tags, summary.send_state) == (
        "Final title",
        ("t",),
        None,
    )
    assert likes == {}
    assert [(r.redacted, r.send_state) for r in replies] == [(True, None)]


def test_accepted_answer_set_and_cleared(synapse, people, tmp_path):
    owner, me, board = people
    helper = OtherClient(synapse.base_url, owner.access_token, owner.user_id)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        question = await app.outbox.queue_discussion(board, "How?", "", kind="question")
        await app.outbox_worker.drain()
        await app.sync.sync_once()
        question = outbox_queries.resolve_id(app.store.reader(), question)
        answer = helper.reply(board, question, "Like this")
        await app.sync.sync_once()
        await app.outbox.queue_accept_answer(question, answer)
        await app.outbox_worker.drain()
        state = helper.call(
            "GET",
            f"/rooms/{quote(board)}/state/{ns.ACCEPTED_ANSWER_EVENT}/{quote(question)}",
        )
        await app.sync.sync_once()
        accepted = answers.accepted_answers(app.store.reader(), [question])
        await app.outbox.queue_accept_answer(question, None)
        await app.outbox_worker.drain()
        await app.sync.sync_once()
        cleared = answers.accepted_answers(app.store.reader(), [question])
        items = app.outbox.list_items()
        await app.close()
        return answer, state, accepted[question], cleared, items

    answer, state, accepted, cleared, items = asyncio.run(scenario())
    helper.close()

    assert state["event_id"] == answer
    assert (accepted.reply_id, accepted.pending, accepted.sender) == (
        answer,
        False,
        me.user_id,
    )
    assert cleared == {}
    assert items == []


def test_kicked_room_fails_other_room_sends(synapse, people, tmp_path):
    owner, me, board = people
    _space, other_board = make_board(synapse, owner, me)
    admin = OtherClient(synapse.base_url, owner.access_token, owner.user_id)
    changes = []

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        app.add_changes_listener(changes.append)
        await app.sync.sync_once()
        admin.call(
            "POST",
            f"/rooms/{quote(board)}/kick",
            json={"user_id": me.user_id, "reason": "test"},
        )
        await app.outbox.queue_discussion(board, "After the kick", "")
        await app.outbox.queue_discussion(other_board, "Elsewhere", "")
        report = await app.outbox_worker.drain()
        listed = queries.list_discussions(app.store.reader(), [board], limit=5)
        items = app.outbox.list_items()
        await app.close()
        return report, listed, items

    report, listed, items = asyncio.run(scenario())
    admin.close()

    assert (report.sent, report.failed) == (1, 1)
    failed = [item for item in items if item.state == "failed"]
    assert [item.title for item in failed] == ["After the kick"]
    assert "no longer be a member of the room" in failed[0].error
    assert "M_FORBIDDEN" in failed[0].error_details
    assert [(d.title, d.send_state) for d in listed] == [("After the kick", "failed")]
    assert listed[0].send_error == failed[0].error
    assert any(change.outbox and board in change.rooms for change in changes)
    assert [e["content"]["body"] for e in mine(synapse, me, other_board, owner)] == [
        "Elsewhere"
    ]


def test_too_large_fails_later_item_sends(synapse, people, tmp_path, monkeypatch):
    owner, me, board = people

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        # Queue content that only the server's check catches.
        monkeypatch.setattr(compose, "MAX_CONTENT_BYTES", 10**6)
        await app.outbox.queue_discussion(board, "Huge", "x " * 40_000)
        monkeypatch.undo()
        await app.outbox.queue_discussion(board, "Small", "")
        report = await app.outbox_worker.drain()
        items = app.outbox.list_items()
        # Shortened, the same item goes through with its ids.
        [failed] = [item for item in items if item.state == "failed"]
        await app.outbox.revise(failed.id, "Short now")
        second = await app.outbox_worker.drain()
        done = app.outbox.get_item(failed.id)
        await app.close()
        return report, failed, second, done

    report, failed, second, done = asyncio.run(scenario())

    assert (report.sent, report.failed) == (1, 1)
    assert "too large" in failed.error
    assert failed.error_details.startswith("HTTP 413")
    assert second.sent == 1
    bodies = [e["content"]["body"] for e in mine(synapse, me, board, owner)]
    assert bodies == ["Small", "Huge\n\nShort now"]
    assert done.state == "sent"
    assert client_ids(mine(synapse, me, board, owner))[1] == failed.client_id


def test_ended_session_stops_worker_keeps_items(synapse, people, tmp_path):
    _owner, me, board = people
    statuses = []

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        app.add_outbox_status_listener(statuses.append)
        await app.sync.sync_once()
        await app.client.logout()
        await app.outbox.queue_discussion(board, "Kept", "")
        app.start()
        await wait_for(
            lambda: statuses and statuses[-1].state is OutboxState.SIGNED_OUT, 30
        )
        items = app.outbox.list_items()
        listed = queries.list_discussions(app.store.reader(), [board], limit=5)
        await app.close()
        return items, listed

    items, listed = asyncio.run(asyncio.wait_for(scenario(), 60))

    assert [(item.title, item.state) for item in items] == [("Kept", "queued")]
    assert [(d.title, d.send_state) for d in listed] == [("Kept", "pending")]
    assert statuses[-1].queued == 1
    assert "Sign in again" in statuses[-1].message


def test_running_worker_sends_as_queued(synapse, people, tmp_path):
    owner, me, board = people

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        app.start()
        await wait_for(worker_idle(app), 30)
        for number in range(3):
            await app.outbox.queue_discussion(board, f"Live {number}", "")
        await wait_for(lambda: not app.outbox.list_items(), 60)
        listed = queries.list_discussions(app.store.reader(), [board], limit=5)
        await app.close()
        return listed

    listed = asyncio.run(asyncio.wait_for(scenario(), 90))

    assert [(d.title, d.send_state) for d in listed] == [
        ("Live 2", None),
        ("Live 1", None),
        ("Live 0", None),
    ]
    assert len(mine(synapse, me, board, owner)) == 3
