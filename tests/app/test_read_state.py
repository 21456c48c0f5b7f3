"""Read state in the cache: thread counts from sync, and the receipt queue."""

import asyncio

import pytest

from app.outbox import Outbox
from app.records import RoomBatch
from app.store import Store
from app.store.outbox_queries import pending_replies
from app.store.read_state_store import (
    FULLY_READ,
    MAIN_THREAD,
    READ,
    UNTHREADED,
    discussion_read_targets,
    queue_receipts,
    room_read_targets,
    thread_unread_counts,
    unsent_receipts,
)
from app.store.writes import apply_sync
from app.sync.loop import SYNC_FILTER, _add_counts
from app.sync.translate import parse_thread_counts
from tests.factories import discussion, reply, room_batch, space_batch

SPACE = "!space:test"
BOARD = "!board:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


def write(store, *batches):
    return store.write_blocking(apply_sync, list(batches), "token")


def test_sync_filter_asks_for_thread_counts():
    assert SYNC_FILTER["room"]["timeline"]["unread_thread_notifications"] is True
    assert SYNC_FILTER["room"]["ephemeral"]["types"] == ["m.receipt"]


def test_thread_counts_parse_untrusted_input():
    counts = parse_thread_counts(
        {
            "$root:test": {"notification_count": 3, "highlight_count": 1},
            "$partial:test": {"notification_count": 2},
            "$negative:test": {"notification_count": -4, "highlight_count": True},
            "not an event id": {"notification_count": 1},
            "$not-an-object:test": 5,
        }
    )

    assert counts == {
        "$root:test": (3, 1),
        "$partial:test": (2, 0),
        "$negative:test": (0, 0),
    }
    assert parse_thread_counts(["$root:test"]) == {}
    assert parse_thread_counts(None) == {}


def test_room_totals_add_thread_counts():
    batch = RoomBatch(BOARD, "join")
    _add_counts(
        batch,
        {"notification_count": 2, "highlight_count": 0},
        {"$a:test": {"notification_count": 3, "highlight_count": 1}},
    )

    assert batch.unread_count == 5
    assert batch.highlight_count == 1
    assert batch.thread_counts == {"$a:test": (3, 1)}


def test_room_without_counts_keeps_cached_ones():
    batch = RoomBatch(BOARD, "join")
    _add_counts(batch, {}, {"$a:test": {"notification_count": 3}})

    assert batch.unread_count is None
    assert batch.thread_counts is None


def test_sync_replaces_a_rooms_thread_counts(store):
    first = room_batch(BOARD)
    first.thread_counts = {"$a:test": (2, 0), "$b:test": (1, 1)}
    write(store, space_batch(SPACE, "S", [BOARD]), first)
    later = room_batch(BOARD)
    later.thread_counts = {"$b:test": (4, 0)}
    write(store, later)
    unchanged = room_batch(BOARD)
    write(store, unchanged)

    counts = thread_unread_counts(store.reader(), ["$a:test", "$b:test"])
    assert counts == {"$b:test": (4, 0)}


def _board_with_thread(store):
    root = discussion("@ann:test", "Root")
    first = reply("@bob:test", root["event_id"], "First")
    second = reply("@bob:test", root["event_id"], "Second")
    write(store, space_batch(SPACE, "S", [BOARD]), room_batch(BOARD, [], [root]))
    write(store, room_batch(BOARD, [], [first, second]))
    return root["event_id"], second["event_id"]


def test_discussion_targets_root_and_newest_reply(store):
    root, newest = _board_with_thread(store)

    targets = discussion_read_targets(store.reader(), root)

    assert [(t.thread_id, t.event_id) for t in targets] == [
        (MAIN_THREAD, root),
        (root, newest),
    ]
    assert all(t.receipt_type == READ for t in targets)


def test_unsent_discussion_has_no_targets(store):
    assert discussion_read_targets(store.reader(), "pending:1") == []


def test_older_receipt_than_queued_is_dropped(store):
    root, _newest = _board_with_thread(store)
    targets = discussion_read_targets(store.reader(), root)
    older = [targets[0]]

    assert store.write_blocking(queue_receipts, targets, 1.0) == 2
    assert store.write_blocking(queue_receipts, targets, 2.0) == 0
    assert store.write_blocking(queue_receipts, older, 3.0) == 0
    assert len(unsent_receipts(store.reader())) == 2


def test_unthreaded_receipt_covers_queued_threads(store):
    root, newest = _board_with_thread(store)
    store.write_blocking(
        queue_receipts, discussion_read_targets(store.reader(), root), 1.0
    )

    room_targets = room_read_targets(store.reader(), BOARD)
    store.write_blocking(queue_receipts, room_targets, 2.0)

    queued = unsent_receipts(store.reader())
    assert [(t.receipt_type, t.thread_id, t.event_id) for t in queued] == [
        (READ, UNTHREADED, newest),
        (FULLY_READ, UNTHREADED, newest),
    ]


def test_pending_reply_is_never_a_target(store):
    root, newest = _board_with_thread(store)
    outbox = Outbox(store, "@me:test")
    asyncio.run(outbox.queue_reply(root, "Still sending"))
    assert pending_replies(store.reader(), root)

    targets = discussion_read_targets(store.reader(), root)

    assert [t.event_id for t in targets] == [root, newest]
    assert [t.event_id for t in room_read_targets(store.reader(), BOARD)] == [
        newest,
        newest,
    ]
