"""Interoperability with matrix-nio, a Matrix client library written elsewhere.

Posts that nio sends must read correctly in Commonplace, and posts that
Commonplace sends must parse as the expected event classes in nio. Both sides
talk to the same real Synapse.
"""

import asyncio

import nio
import pytest

from app import namespace as ns
from app.store import outbox_queries, queries
from tests.app.outbox_support import make_board, open_session, register
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.synapse


@pytest.fixture
def people(synapse):
    owner = register(synapse, "owner")
    me = register(synapse, "me")
    other = register(synapse, "nio")
    _space, board = make_board(synapse, owner, me, other)
    return me, other, board


async def nio_login(synapse, session) -> nio.AsyncClient:
    """Return a nio client signed in as session's user with the test password."""
    client = nio.AsyncClient(synapse.base_url, session.user_id)
    response = await client.login(TEST_PASSWORD, device_name="nio interop")
    assert isinstance(response, nio.LoginResponse), response
    return client


async def nio_send(
    client: nio.AsyncClient, room_id: str, content: dict, event_type="m.room.message"
):
    """Send content with nio and return the new event id."""
    response = await client.room_send(room_id, event_type, content)
    assert isinstance(response, nio.RoomSendResponse), response
    return response.event_id


async def nio_events(client: nio.AsyncClient, room_id: str) -> dict[str, nio.Event]:
    """Return the room's events as nio parsed them, by event id."""
    sync = await client.sync(timeout=0, full_state=True)
    assert isinstance(sync, nio.SyncResponse), sync
    response = await client.room_messages(room_id, limit=200)
    assert isinstance(response, nio.RoomMessagesResponse), response
    return {event.event_id: event for event in response.chunk}


def test_nio_posts_read_by_commonplace(synapse, people, tmp_path):
    me, other, board = people

    async def scenario():
        client = await nio_login(synapse, other)
        plain = await nio_send(
            client,
            board,
            {"msgtype": "m.text", "body": "Plain question\n\nHow do we deploy?"},
        )
        html = await nio_send(
            client,
            board,
            {
                "msgtype": "m.text",
                "body": "HTML post\n\nSee **this**",
                "format": "org.matrix.custom.html",
                "formatted_body": "<p>HTML post</p><p>See <strong>this</strong></p>",
            },
        )
        thread = {
            "rel_type": "m.thread",
            "event_id": plain,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": plain},
        }
        reply = await nio_send(
            client,
            board,
            {"msgtype": "m.text", "body": "Reply from nio", "m.relates_to": thread},
        )
        doomed = await nio_send(
            client,
            board,
            {"msgtype": "m.text", "body": "Reply to delete", "m.relates_to": thread},
        )
        await nio_send(
            client,
            board,
            {
                "m.relates_to": {
                    "rel_type": "m.annotation",
                    "event_id": plain,
                    "key": ns.LIKE_KEY,
                }
            },
            "m.reaction",
        )

        # Commonplace syncs before the edit and the redaction, as a running
        # client would. Redaction strips m.relates_to from the content, so a
        # reply redacted before any sync no longer names its thread.
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        html_before_edit = queries.get_discussion_post(app.store.reader(), html)

        await nio_send(
            client,
            board,
            {
                "msgtype": "m.text",
                "body": "* HTML post\n\nEdited text",
                "m.new_content": {
                    "msgtype": "m.text",
                    "body": "HTML post\n\nEdited text",
                },
                "m.relates_to": {"rel_type": "m.replace", "event_id": html},
            },
        )
        redacted = await client.room_redact(board, doomed, reason="mistake")
        assert isinstance(redacted, nio.RoomRedactResponse), redacted
        await client.close()

        await app.sync.sync_once()
        conn = app.store.reader()
        listed = queries.list_discussions(conn, [board], limit=10)
        html_post = queries.get_discussion_post(conn, html)
        replies = queries.list_replies(conn, plain, limit=10)
        likes = queries.reactions_for(conn, [plain], me.user_id)
        await app.close()
        return (
            plain,
            html,
            reply,
            doomed,
            listed,
            html_before_edit,
            html_post,
            replies,
            likes,
        )

    result = asyncio.run(scenario())
    plain, html, reply, doomed, listed, html_before_edit, html_post, replies, likes = (
        result
    )

    by_id = {summary.event_id: summary for summary in listed}
    assert set(by_id) == {plain, html}
    assert by_id[plain].title == "Plain question"
    assert by_id[plain].kind == "discussion"
    assert by_id[plain].sender == other.user_id
    assert by_id[plain].reply_count == 1
    assert by_id[html].title == "HTML post"
    assert "<strong>this</strong>" in html_before_edit.formatted_body
    assert html_before_edit.edited is False
    assert html_post.body == "HTML post\n\nEdited text"
    assert html_post.edited is True
    assert html_post.formatted_body is None
    assert [r.event_id for r in replies] == [reply, doomed]
    assert replies[0].body == "Reply from nio"
    assert replies[0].redacted is False
    assert replies[1].redacted is True
    assert replies[1].body == ""
    assert [(r.key, r.count, r.mine) for r in likes[plain]] == [(ns.LIKE_KEY, 1, False)]


def test_commonplace_posts_parsed_by_nio(synapse, people, tmp_path):
    me, other, board = people
    markdown = (
        "Steps:\n\n- build\n- ship\n\nSee [the guide](https://example.org/guide)."
        "\n\n<script>alert(1)</script>"
    )

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        await app.sync.sync_once()
        root = await app.outbox.queue_discussion(
            board, "Release checklist", markdown, tags=["release", "ops"]
        )
        reply = await app.outbox.queue_reply(
            root, f"Over to you, {other.user_id}", mentions=[other.user_id]
        )
        doomed = await app.outbox.queue_reply(root, "Sent by mistake")
        await app.outbox.queue_like(root)
        first = await app.outbox_worker.drain()
        await app.sync.sync_once()
        conn = app.store.reader()
        root = outbox_queries.resolve_id(conn, root)
        reply = outbox_queries.resolve_id(conn, reply)
        doomed = outbox_queries.resolve_id(conn, doomed)
        await app.outbox.queue_edit(root, "Now with *emphasis*.", title="Checklist v2")
        await app.outbox.queue_delete(doomed)
        second = await app.outbox_worker.drain()
        await app.close()

        client = await nio_login(synapse, other)
        events = await nio_events(client, board)
        await client.close()
        return first, second, root, reply, doomed, events

    first, second, root, reply, doomed, events = asyncio.run(scenario())

    assert (first.sent, first.failed) == (4, 0)
    assert (second.sent, second.failed) == (2, 0)

    discussion = events[root]
    assert isinstance(discussion, nio.RoomMessageText)
    assert discussion.sender == me.user_id
    assert discussion.body == f"Release checklist\n\n{markdown}"
    assert discussion.format == "org.matrix.custom.html"
    assert "<li>build</li>" in discussion.formatted_body
    assert '<a href="https://example.org/guide"' in discussion.formatted_body
    assert "<script" not in discussion.formatted_body
    block = discussion.source["content"][ns.DISCUSSION_KEY]
    assert block["title"] == "Release checklist"
    assert block["tags"] == ["release", "ops"]

    answer = events[reply]
    assert isinstance(answer, nio.RoomMessageText)
    relation = answer.source["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread"
    assert relation["event_id"] == root
    assert relation["is_falling_back"] is True
    assert relation["m.in_reply_to"] == {"event_id": root}
    assert answer.source["content"]["m.mentions"] == {"user_ids": [other.user_id]}

    [like] = [
        event
        for event in events.values()
        if event.source["type"] == "m.reaction" and event.sender == me.user_id
    ]
    assert isinstance(like, (nio.ReactionEvent, nio.UnknownEvent))
    assert like.source["content"]["m.relates_to"] == {
        "rel_type": "m.annotation",
        "event_id": root,
        "key": "👍",
    }

    [edit] = [
        event for event in events.values() if "m.new_content" in event.source["content"]
    ]
    assert isinstance(edit, nio.RoomMessageText)
    assert edit.source["content"]["m.relates_to"] == {
        "rel_type": "m.replace",
        "event_id": root,
    }
    new_content = edit.source["content"]["m.new_content"]
    assert new_content["body"] == "Checklist v2\n\nNow with *emphasis*."
    assert new_content[ns.DISCUSSION_KEY]["title"] == "Checklist v2"
    assert edit.body.startswith("* ")

    [redaction] = [
        event for event in events.values() if isinstance(event, nio.RedactionEvent)
    ]
    assert redaction.sender == me.user_id
    assert redaction.redacts == doomed
    assert isinstance(events[doomed], nio.RedactedEvent)
