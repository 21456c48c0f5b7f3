"""Explicit follows and unfollows: parsing, caching, and their effect on Following."""

import asyncio

import pytest

from app.follows import FOLLOWS_EVENT, follows_from_sync, is_following, set_following
from app.notifier import gather_candidates
from app.store import Store
from app.store.activity import ALL, FOLLOWING, StreamFilter, read_stream
from app.store.follows_store import (
    MAX_ENTRIES,
    Follows,
    cached_follows,
    parse_follows,
    save_follows,
)
from app.store.writes import apply_sync
from tests.factories import discussion, reply, room_batch, space_batch, state

ME = "@me:test"
ANN = "@ann:test"
SPACE = "!space:test"
BOARD = "!board:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(
        apply_sync,
        [
            space_batch(SPACE, "Data Guild", [BOARD]),
            room_batch(BOARD, [state("m.room.name", {"name": "Questions"})]),
        ],
        "token",
    )
    yield store
    store.close()


def write(store, *timeline):
    return store.write_blocking(
        apply_sync, [room_batch(BOARD, [], list(timeline))], "token"
    )


def followed_items(store) -> list[tuple[str, str]]:
    page = read_stream(store.reader(), ME, StreamFilter(FOLLOWING))
    return [(item.kind, item.title) for item in page.items]


def test_parse_follows_drops_invalid_entries():
    content = {
        "follow": ["$a", "not-an-id", 7, None, "$b", "$a", "$" + "x" * 300],
        "unfollow": ["$b", {"id": "$c"}],
    }

    follows = parse_follows(content)

    # "$a" is kept once, at its newest place; "$b" is in both, so unfollowed.
    assert follows.follow == ("$a",)
    assert follows.unfollow == ("$b",)


@pytest.mark.parametrize("content", [None, [], "follow", {"follow": "$a"}])
def test_parse_follows_rejects_other_shapes(content):
    assert parse_follows(content) == Follows()


def test_parse_follows_keeps_newest_entries():
    ids = [f"$e{number}" for number in range(MAX_ENTRIES + 5)]

    follows = parse_follows({"follow": ids})

    assert len(follows.follow) == MAX_ENTRIES
    assert follows.follow[-1] == ids[-1]
    assert follows.follow[0] == ids[5]


def test_choice_moves_between_lists():
    follows = Follows(follow=("$a", "$b"), unfollow=("$c",))

    unfollowed = follows.with_choice("$a", False)
    refollowed = unfollowed.with_choice("$c", True)

    assert unfollowed == Follows(follow=("$b",), unfollow=("$c", "$a"))
    assert refollowed == Follows(follow=("$b", "$c"), unfollow=("$a",))


def test_choice_caps_list():
    follows = Follows(follow=tuple(f"$e{number}" for number in range(MAX_ENTRIES)))

    follows = follows.with_choice("$new", True)

    assert len(follows.follow) == MAX_ENTRIES
    assert follows.follow[-1] == "$new"
    assert "$e0" not in follows.follow


def test_explicit_follow_adds_to_following(store):
    other = discussion(ANN, "Release plan")
    write(store, other, reply(ANN, other["event_id"], "Ships Friday"))
    assert followed_items(store) == []
    assert not is_following(store.reader(), ME, other["event_id"])

    changes = store.write_blocking(save_follows, Follows(follow=(other["event_id"],)))

    assert changes.discussions == {other["event_id"]}
    assert changes.rooms == {BOARD}
    assert followed_items(store) == [
        ("reply", "Release plan"),
        ("discussion", "Release plan"),
    ]
    assert is_following(store.reader(), ME, other["event_id"])


def test_unfollow_removes_own_discussion(store):
    mine = discussion(ME, "My question")
    write(store, mine, reply(ANN, mine["event_id"], "An answer"))
    assert followed_items(store) == [("reply", "My question")]

    store.write_blocking(save_follows, Follows(unfollow=(mine["event_id"],)))

    assert followed_items(store) == []
    assert not is_following(store.reader(), ME, mine["event_id"])
    # The discussion is still in the stream, only not followed.
    all_items = read_stream(store.reader(), ME, StreamFilter(ALL)).items
    assert [item.kind for item in all_items] == ["reply", "discussion"]


def test_notification_rules_see_follows(store):
    mine = discussion(ME, "My question")
    other = discussion(ANN, "Release plan")
    write(store, mine, other)
    write(
        store,
        reply(ANN, mine["event_id"], "An answer"),
        reply(ANN, other["event_id"], "Ships Friday"),
    )
    store.write_blocking(
        save_follows,
        Follows(follow=(other["event_id"],), unfollow=(mine["event_id"],)),
    )
    items = read_stream(store.reader(), ME, StreamFilter(ALL)).items
    replies = [item for item in items if item.kind == "reply"]

    candidates = gather_candidates(store.reader(), ME, replies)

    followed = {
        candidate.item.excerpt: candidate.in_followed_discussion
        for candidate in candidates
    }
    replies_to_user = {
        candidate.item.excerpt: candidate.replies_to_user for candidate in candidates
    }
    assert followed == {"An answer": False, "Ships Friday": True}
    # Unfollowing the user's own discussion silences replies to the user.
    assert replies_to_user == {"An answer": False, "Ships Friday": False}


def test_cached_follows_round_trip(store):
    assert cached_follows(store.reader()) == Follows()
    follows = Follows(follow=("$a",), unfollow=("$b",))

    store.write_blocking(save_follows, follows)

    assert cached_follows(store.reader()) == follows


def test_follows_read_from_sync_response():
    response = {
        "account_data": {
            "events": [
                {"type": "m.direct", "content": {}},
                {"type": FOLLOWS_EVENT, "content": {"follow": ["$a"]}},
            ]
        }
    }

    assert follows_from_sync(response) == Follows(follow=("$a",))
    assert follows_from_sync({"account_data": {"events": []}}) is None
    assert follows_from_sync({"account_data": "nonsense"}) is None
    assert follows_from_sync({}) is None


def test_set_following_offline_applies_here(store):
    other = discussion(ANN, "Release plan")
    write(store, other)

    changes = asyncio.run(set_following(None, store, ME, other["event_id"], True))

    assert changes.discussions == {other["event_id"]}
    assert is_following(store.reader(), ME, other["event_id"])
