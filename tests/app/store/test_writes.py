import pytest

from app.store import Store, queries
from app.store.writes import apply_sync
from tests.factories import (
    discussion,
    event,
    like,
    member,
    reply,
    room_batch,
    space_batch,
    state,
)

SPACE = "!space:test"
BOARD = "!board:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


def write(store, *batches, token="token"):
    return store.write_blocking(apply_sync, list(batches), token)


def test_space_lists_children_and_adds_unread_counts(store):
    board = room_batch(
        BOARD,
        [state("m.room.name", {"name": "Questions"})],
        unread_count=4,
        highlight_count=1,
    )
    write(store, space_batch(SPACE, "Data Guild", [BOARD]), board)

    spaces = queries.list_spaces(store.reader())
    assert [space.name for space in spaces] == ["Data Guild"]
    assert spaces[0].unread_count == 4
    assert spaces[0].highlight_count == 1
    rooms = queries.list_space_rooms(store.reader(), SPACE)
    assert [room.name for room in rooms] == ["Questions"]


def test_discussions_sort_by_latest_activity(store):
    first = discussion("@ann:test", "First")
    second = discussion("@ann:test", "Second")
    answer = reply("@bob:test", first["event_id"], "Late answer")
    write(
        store, space_batch(SPACE, "S", [BOARD]), room_batch(BOARD, [], [first, second])
    )
    write(store, room_batch(BOARD, [], [answer]))

    listed = queries.list_discussions(store.reader(), [BOARD], limit=10)
    assert [item.title for item in listed] == ["First", "Second"]
    assert listed[0].reply_count == 1


def test_replies_follow_timeline_not_timestamps(store):
    root = discussion("@ann:test", "Clock skew")
    # The second reply's sender has a clock an hour behind.
    early = reply("@bob:test", root["event_id"], "one", ts=2_000_000_000_000)
    late = reply("@eve:test", root["event_id"], "two", ts=1_999_996_400_000)
    write(store, room_batch(BOARD, [], [root, early, late]))

    replies = queries.list_replies(store.reader(), root["event_id"], limit=10)
    assert [post.body for post in replies] == ["one", "two"]


def test_repeated_events_are_stored_once(store):
    root = discussion("@ann:test", "Once")
    answer = reply("@bob:test", root["event_id"], "reply")
    write(store, room_batch(BOARD, [], [root, answer]))
    write(store, room_batch(BOARD, [], [root, answer]))

    assert queries.count_discussions(store.reader(), [BOARD]) == 1
    summary = queries.get_discussion_summary(store.reader(), root["event_id"])
    assert summary.reply_count == 1


def test_reply_before_its_root_is_counted(store):
    root = discussion("@ann:test", "Late root")
    answer = reply("@bob:test", root["event_id"], "early reply")
    write(store, room_batch(BOARD, [], [answer]))
    write(store, room_batch(BOARD, [], [root]))

    summary = queries.get_discussion_summary(store.reader(), root["event_id"])
    assert summary.reply_count == 1


def test_likes_count_each_person_once(store):
    root = discussion("@ann:test", "Liked")
    likes = [like("@bob:test", root["event_id"]), like("@bob:test", root["event_id"])]
    likes.append(like("@eve:test", root["event_id"]))
    write(store, room_batch(BOARD, [], [root, *likes]))

    reactions = queries.reactions_for(store.reader(), [root["event_id"]], "@eve:test")
    assert reactions[root["event_id"]][0].count == 2
    assert reactions[root["event_id"]][0].mine


def test_redacted_like_is_removed(store):
    root = discussion("@ann:test", "Unliked")
    reaction = like("@bob:test", root["event_id"])
    redaction = event(
        "@bob:test", {}, type="m.room.redaction", redacts=reaction["event_id"]
    )
    write(store, room_batch(BOARD, [], [root, reaction, redaction]))

    assert queries.reactions_for(store.reader(), [root["event_id"]], None) == {}


def test_edit_by_author_changes_body_and_title(store):
    root = discussion("@ann:test", "Old title", "old")
    new_content = {
        "msgtype": "m.text",
        "body": "New title\n\nnew",
        "app.commonplace.discussion": {"title": "New title", "kind": "question"},
    }
    edit = event(
        "@ann:test",
        {
            "msgtype": "m.text",
            "body": "* New title",
            "m.new_content": new_content,
            "m.relates_to": {"rel_type": "m.replace", "event_id": root["event_id"]},
        },
    )
    write(store, room_batch(BOARD, [], [root, edit]))

    summary = queries.get_discussion_summary(store.reader(), root["event_id"])
    assert summary.title == "New title"
    assert summary.kind == "question"
    post = queries.get_discussion_post(store.reader(), root["event_id"])
    assert post.body == "new"
    assert post.edited


def test_edit_by_someone_else_is_ignored(store):
    root = discussion("@ann:test", "Mine", "original")
    edit = event(
        "@mallory:test",
        {
            "msgtype": "m.text",
            "body": "* hijacked",
            "m.new_content": {"msgtype": "m.text", "body": "hijacked"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": root["event_id"]},
        },
    )
    write(store, room_batch(BOARD, [], [root, edit]))

    assert (
        queries.get_discussion_post(store.reader(), root["event_id"]).body == "original"
    )


def test_member_names_are_used_until_profiles_arrive(store):
    root = discussion("@ann:test", "Named")
    write(store, room_batch(BOARD, [member("@ann:test", "Ann Lee")], [root]))

    listed = queries.list_discussions(store.reader(), [BOARD], limit=1)
    assert listed[0].sender_name == "Ann Lee"


def test_encrypted_room_is_marked(store):
    write(store, room_batch(BOARD, [state("m.room.encryption", {"algorithm": "x"})]))
    assert queries.get_room(store.reader(), BOARD).encrypted


def test_sync_token_commits_with_events(store):
    write(store, room_batch(BOARD, [], [discussion("@ann:test", "T")]), token="s42")
    status = queries.cache_status(store.reader())
    assert status.sync_token == "s42"
    assert status.discussions == 1


def test_failed_write_keeps_previous_token(store):
    write(store, room_batch(BOARD, [], [discussion("@ann:test", "T")]), token="s1")

    def broken(conn):
        apply_sync(conn, [room_batch(BOARD, [], [discussion("@ann:test", "U")])], "s2")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.write_blocking(broken)
    status = queries.cache_status(store.reader())
    assert status.sync_token == "s1"
    assert status.discussions == 1


def test_discussion_prefix_lookup(store):
    posts = [
        discussion("@ann:test", "One", event_id="$ab_c1"),
        discussion("@ann:test", "Two", event_id="$ab_c2"),
        discussion("@ann:test", "Three", event_id="$abXc3"),
    ]
    write(store, room_batch(BOARD, [], posts))
    conn = store.reader()

    assert queries.find_discussions(conn, "$ab_c") == ["$ab_c1", "$ab_c2"]
    assert queries.find_discussions(conn, "$ab_c2") == ["$ab_c2"]
    assert queries.find_discussions(conn, "$AB_C") == []
    assert queries.find_discussions(conn, "$ab%") == []
