"""Announcements: only a moderator of the room may queue one.

A moderator's power level reaches the room's redact level. The check reads
the power levels in the cache, so each test syncs before it queues.
"""

import asyncio

import pytest

from app import cli, drafts
from app import namespace as ns
from app.outbox import NotAllowed
from tests.app.outbox_support import (
    make_board,
    open_session,
    quote,
    register,
    server_events,
)
from tests.app.test_cli_outbox import signed_in  # noqa: F401 - a fixture
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse


async def _queue_announcement(session, path, board):
    """Sync, then queue an announcement; return the error, outbox and draft."""
    app = open_session(session, path)
    try:
        await app.sync.sync_once()
        await drafts.save_draft(
            app.store, "discussion", board, room_id=board, title="News", body="Text"
        )
        try:
            await app.outbox.queue_discussion(
                board, "News", "Read this", kind="announcement"
            )
        except NotAllowed as error:
            rejected = error
        else:
            rejected = None
        items = app.outbox.list_items(include_done=True)
        return rejected, items, drafts.load_draft(app.store, "discussion", board)
    finally:
        await app.close()


def test_member_announcement_not_allowed(synapse, tmp_path):
    owner = register(synapse, "owner")
    member = register(synapse, "member")
    _space, board = make_board(synapse, owner, member)

    error, items, draft = asyncio.run(
        _queue_announcement(member, tmp_path / "cache.sqlite3", board)
    )

    assert isinstance(error, NotAllowed)
    assert "moderators" in error.message
    assert items == []
    assert draft is not None
    assert draft.body == "Text"


def test_member_discussion_still_allowed(synapse, tmp_path):
    owner = register(synapse, "owner")
    member = register(synapse, "member")
    _space, board = make_board(synapse, owner, member)

    async def scenario():
        app = open_session(member, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            await app.outbox.queue_discussion(board, "Plain", "", kind="discussion")
            return app.outbox.list_items()
        finally:
            await app.close()

    [item] = asyncio.run(scenario())
    assert item.kind == "discussion"


def _promote(server, owner, board, user_id):
    """Raise user_id to the board's redact level (50 in a default room)."""
    client = OtherClient(server.base_url, owner.access_token, owner.user_id)
    levels = client.call("GET", f"/rooms/{quote(board)}/state/m.room.power_levels/")
    levels["users"][user_id] = levels.get("redact", 50)
    client.state(board, "m.room.power_levels", levels)
    client.close()


async def _announce_and_send(session, path, board):
    app = open_session(session, path)
    try:
        await app.sync.sync_once()
        await app.outbox.queue_discussion(
            board, "News", "Read this", kind="announcement"
        )
        report = await app.outbox_worker.drain()
        return report, app.outbox.list_items(include_done=True)
    finally:
        await app.close()


def test_moderator_announcement_sent(synapse, tmp_path):
    owner = register(synapse, "owner")
    member = register(synapse, "member")
    _space, board = make_board(synapse, owner, member)
    _promote(synapse, owner, board, member.user_id)

    report, [item] = asyncio.run(
        asyncio.wait_for(
            _announce_and_send(member, tmp_path / "cache.sqlite3", board), 60
        )
    )

    assert report.sent == 1
    assert item.kind == "announcement"
    events = server_events(synapse, owner, board)
    [event] = [e for e in events if e["sender"] == member.user_id]
    assert event["content"][ns.DISCUSSION_KEY]["kind"] == "announcement"
    assert event["event_id"] == item.event_id


# Synapse 1.163 creates rooms of version 12, whose creator has unlimited power
# without an entry in the "users" map of m.room.power_levels.
def test_creator_announcement_sent(synapse, tmp_path):
    owner = register(synapse, "owner")
    member = register(synapse, "member")
    _space, board = make_board(synapse, owner, member)

    report, [item] = asyncio.run(
        asyncio.wait_for(
            _announce_and_send(owner, tmp_path / "cache.sqlite3", board), 60
        )
    )

    assert report.sent == 1
    assert item.kind == "announcement"


def test_promoted_moderator_may_announce(synapse, tmp_path):
    owner = register(synapse, "owner")
    member = register(synapse, "member")
    _space, board = make_board(synapse, owner, member)
    path = tmp_path / "cache.sqlite3"

    error, _items, _draft = asyncio.run(_queue_announcement(member, path, board))
    assert isinstance(error, NotAllowed)

    _promote(synapse, owner, board, member.user_id)

    error, items, draft = asyncio.run(_queue_announcement(member, path, board))
    assert error is None
    [item] = items
    assert item.kind == "announcement"
    assert item.state == "queued"
    # Queueing deletes the board's discussion draft.
    assert draft is None


@pytest.mark.keyring
def test_cli_announcement_exit_code(signed_in, capsys):  # noqa: F811
    _author, _writer, _board = signed_in
    arguments = ["post", "data guild", "--title", "News", "--kind", "announcement"]

    code = cli.main([*arguments, "--body", "Read this"])

    assert code == cli.EXIT_REJECTED == 9
    assert "moderators" in capsys.readouterr().err
    assert cli.main(["outbox"]) == cli.EXIT_OK
    assert "News" not in capsys.readouterr().out
