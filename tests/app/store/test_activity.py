"""The activity stream read from the cache: items, scopes, paging and upkeep."""

import json

import pytest

from app.store import Store
from app.store.activity import (
    ALL,
    FOLLOWING,
    MENTIONS,
    UNANSWERED,
    StreamFilter,
    latest_item_id,
    read_new_items,
    read_stream,
    reload_items,
)
from app.store.mentions import MAX_MENTIONS, mentioned_user_ids_json
from app.store.writes import apply_sync
from app.sync.translate import parse_direct_rooms
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

ME = "@me:test"
ANN = "@ann:test"
BOB = "@bob:test"
SPACE = "!space:test"
BOARD = "!board:test"
FILES = "!files:test"
OTHER_SPACE = "!other-space:test"
OTHER_BOARD = "!other-board:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(
        apply_sync,
        [
            space_batch(SPACE, "Data Guild", [BOARD, FILES]),
            space_batch(OTHER_SPACE, "Design", [OTHER_BOARD]),
            room_batch(
                BOARD,
                [
                    state("m.room.name", {"name": "Questions"}),
                    member(ANN, "Ann Smith"),
                    member(BOB, "Bob"),
                ],
            ),
            room_batch(FILES, [state("app.commonplace.room", {"kind": "files"})]),
            room_batch(OTHER_BOARD, [state("m.room.name", {"name": "Critique"})]),
        ],
        "token",
    )
    yield store
    store.close()


def write(store, room_id, *timeline, state_events=()):
    batch = room_batch(room_id, list(state_events), list(timeline))
    return store.write_blocking(apply_sync, [batch], "token")


def stream(store, scope=ALL, space_id=None, **options):
    page = read_stream(store.reader(), ME, StreamFilter(scope, space_id), **options)
    return page.items


def kinds(items):
    return [item.kind for item in items]


def file_event(sender, name, **extra):
    content = {"msgtype": "m.file", "body": name, "url": "mxc://test/abc"}
    return event(sender, content, **extra)


def answer_event(sender, question_id, reply_id):
    content = {"event_id": reply_id} if reply_id else {}
    return event(
        sender,
        content,
        type="app.commonplace.accepted_answer",
        state_key=question_id,
    )


def redaction(sender, target_id):
    return event(sender, {"redacts": target_id}, type="m.room.redaction")


def test_stream_lists_each_kind_newest_first(store):
    question = discussion(ANN, "How to index?", "We have slow queries", kind="question")
    answer = reply(BOB, question["event_id"], "Add a covering index")
    write(store, BOARD, question, answer, like(BOB, question["event_id"]))
    write(store, BOARD, answer_event(ANN, question["event_id"], answer["event_id"]))
    write(store, FILES, file_event(ANN, "plan.pdf"))

    items = stream(store)

    assert kinds(items) == ["file", "answer", "like", "reply", "question"]
    file, accepted, liked, replied, question_item = items
    assert question_item.actor_name == "Ann Smith"
    assert question_item.title == "How to index?"
    assert question_item.excerpt == "We have slow queries"
    assert question_item.discussion_id == question["event_id"]
    assert question_item.answered is True
    assert question_item.space_name == "Data Guild"
    assert question_item.room_name == "Questions"
    assert replied.post_id == answer["event_id"]
    assert replied.excerpt == "Add a covering index"
    assert liked.target_kind == "discussion"
    assert liked.subject == "Ann Smith"
    assert accepted.subject == "Bob"
    assert accepted.post_id == answer["event_id"]
    assert file.title == "plan.pdf"
    assert file.target_id == file.event_id
    assert file.room_id == FILES


def test_pages_follow_each_other_without_gaps(store):
    posts = [discussion(ANN, f"Post {n}") for n in range(120)]
    write(store, BOARD, *posts)

    first = read_stream(store.reader(), ME, limit=50)
    second = read_stream(store.reader(), ME, before=first.cursor, limit=50)
    third = read_stream(store.reader(), ME, before=second.cursor, limit=50)

    titles = [item.title for item in first.items + second.items + third.items]
    assert titles == [f"Post {n}" for n in reversed(range(120))]
    assert len(third.items) == 20
    assert third.cursor is None


def test_same_timestamp_pages_by_id(store):
    posts = [discussion(ANN, f"Same {n}", ts=1_800_000_000_000) for n in range(7)]
    write(store, BOARD, *posts)

    first = read_stream(store.reader(), ME, limit=4)
    second = read_stream(store.reader(), ME, before=first.cursor, limit=4)

    titles = [item.title for item in first.items + second.items]
    assert sorted(titles) == sorted(f"Same {n}" for n in range(7))
    assert len(set(titles)) == 7


def test_deleted_posts_leave_the_stream(store):
    root = discussion(ANN, "Soon gone")
    answer = reply(BOB, root["event_id"], "Kept reply")
    other = reply(BOB, root["event_id"], "Deleted reply")
    write(store, BOARD, root, answer, other, like(BOB, root["event_id"]))

    write(store, BOARD, redaction(BOB, other["event_id"]))
    assert kinds(stream(store)) == ["like", "reply", "discussion"]

    write(store, BOARD, redaction(ANN, root["event_id"]))
    assert kinds(stream(store)) == []


def test_unlike_removes_the_like(store):
    root = discussion(ANN, "Liked twice")
    first = like(BOB, root["event_id"])
    second = like(BOB, root["event_id"])
    write(store, BOARD, root, first, second)
    assert kinds(stream(store)) == ["like", "discussion"]

    write(store, BOARD, redaction(BOB, first["event_id"]))
    assert kinds(stream(store)) == ["like", "discussion"]

    write(store, BOARD, redaction(BOB, second["event_id"]))
    assert kinds(stream(store)) == ["discussion"]


def test_cleared_answer_leaves_the_stream(store):
    question = discussion(ANN, "Which tool?", kind="question")
    answer = reply(BOB, question["event_id"], "This one")
    write(store, BOARD, question, answer)
    write(store, BOARD, answer_event(ANN, question["event_id"], answer["event_id"]))
    assert "answer" in kinds(stream(store))

    write(store, BOARD, answer_event(ANN, question["event_id"], None))

    assert kinds(stream(store)) == ["reply", "question"]
    assert stream(store)[1].answered is False


def test_answer_from_a_stranger_is_not_shown(store):
    question = discussion(ANN, "Whose call?", kind="question")
    answer = reply(BOB, question["event_id"], "Mine")
    write(store, BOARD, question, answer)

    write(store, BOARD, answer_event(BOB, question["event_id"], answer["event_id"]))

    assert kinds(stream(store)) == ["reply", "question"]


def test_joins_shown_for_spaces_only(store):
    write(store, SPACE, state_events=[member("@new:test", "Newcomer")])
    write(store, BOARD, state_events=[member("@new:test", "Newcomer")])

    items = stream(store)
    joins = [item for item in items if item.kind == "join"]

    assert [(item.actor_name, item.title) for item in joins] == [
        ("Newcomer", "Data Guild")
    ]
    assert joins[0].room_id == SPACE


def test_profile_change_shown_once(store):
    renamed = {
        "membership": "join",
        "displayname": "Ann Jones",
    }
    previous = {"membership": "join", "displayname": "Ann Smith"}
    events = [
        event(
            ANN,
            renamed,
            type="m.room.member",
            state_key=ANN,
            unsigned={"prev_content": previous},
        )
        for _ in range(3)
    ]
    for room_id, change in zip((SPACE, BOARD, OTHER_BOARD), events):
        write(store, room_id, change)

    profiles = [item for item in stream(store) if item.kind == "profile"]

    assert len(profiles) == 1
    assert profiles[0].changed == ("name",)
    assert profiles[0].subject == "Ann Jones"
    assert profiles[0].excerpt == "Ann Smith"
    # A change of name within a space is not shown under that space.
    assert "profile" not in kinds(stream(store, space_id=SPACE))


def test_joins_from_invitations_and_repeated_joins(store):
    invited = {"membership": "join", "displayname": "Eve"}
    join = event(
        "@eve:test",
        invited,
        type="m.room.member",
        state_key="@eve:test",
        unsigned={"prev_content": {"membership": "invite"}},
    )
    same = event(
        "@eve:test",
        invited,
        type="m.room.member",
        state_key="@eve:test",
        unsigned={"prev_content": invited},
    )
    write(store, SPACE, join, same)

    assert kinds(stream(store)) == ["join"]


def test_space_filter_keeps_its_rooms(store):
    write(store, BOARD, discussion(ANN, "In the guild"))
    write(store, OTHER_BOARD, discussion(BOB, "In design"))
    write(store, FILES, file_event(ANN, "guild.pdf"))

    guild = [item.title for item in stream(store, space_id=SPACE)]
    design = [item.title for item in stream(store, space_id=OTHER_SPACE)]

    assert guild == ["guild.pdf", "In the guild"]
    assert design == ["In design"]
    assert stream(store, space_id="!unknown:test") == []


def test_following_covers_started_and_replied(store):
    mine = discussion(ME, "Mine")
    joined_in = discussion(ANN, "Joined in")
    elsewhere = discussion(BOB, "Not followed")
    write(store, BOARD, mine, joined_in, elsewhere)
    write(
        store,
        BOARD,
        reply(ME, joined_in["event_id"], "My reply"),
        reply(ANN, mine["event_id"], "Reply to mine"),
        reply(BOB, joined_in["event_id"], "Another reply"),
        reply(ANN, elsewhere["event_id"], "Unrelated reply"),
        like(BOB, mine["event_id"]),
    )

    items = stream(store, FOLLOWING)

    assert [(item.kind, item.title) for item in items] == [
        ("like", "Mine"),
        ("reply", "Joined in"),
        ("reply", "Mine"),
        ("discussion", "Joined in"),
    ]
    assert items[1].excerpt == "Another reply"
    assert items[2].excerpt == "Reply to mine"


def test_early_like_joins_followed_thread(store):
    mine = discussion(ME, "Mine")
    answer = reply(ANN, mine["event_id"], "Answer", event_id="$late-reply")
    write(store, BOARD, mine, like(BOB, "$late-reply"))
    assert kinds(stream(store, FOLLOWING)) == []

    write(store, BOARD, answer)

    assert kinds(stream(store, FOLLOWING)) == ["like", "reply"]


def test_mentions_from_each_source(store):
    by_field = discussion(ANN, "Field")
    by_field["content"]["m.mentions"] = {"user_ids": [ME]}
    by_text = reply(BOB, by_field["event_id"], f"Ask {ME} about it.")
    by_pill = reply(BOB, by_field["event_id"], "Ask Me")
    by_pill["content"].update(
        format="org.matrix.custom.html",
        formatted_body='Ask <a href="https://matrix.to/#/%40me%3Atest">Me</a>',
    )
    not_me = reply(BOB, by_field["event_id"], "Ask @meg:test")
    own = reply(ME, by_field["event_id"], f"I am {ME}")
    write(store, BOARD, by_field, by_text, by_pill, not_me, own)

    items = stream(store, MENTIONS)

    assert [item.event_id for item in items] == [
        by_pill["event_id"],
        by_text["event_id"],
        by_field["event_id"],
    ]


def test_edit_that_adds_a_mention(store):
    root = discussion(ANN, "Edited")
    answer = reply(BOB, root["event_id"], "Before")
    write(store, BOARD, root, answer)
    assert stream(store, MENTIONS) == []

    edit = event(
        BOB,
        {
            "msgtype": "m.text",
            "body": f"* After, cc {ME}",
            "m.new_content": {"msgtype": "m.text", "body": f"After, cc {ME}"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": answer["event_id"]},
        },
    )
    write(store, BOARD, edit)

    items = stream(store, MENTIONS)
    assert [item.excerpt for item in items] == [f"After, cc {ME}"]


def test_unanswered_lists_open_questions(store):
    answered = discussion(ANN, "Answered", kind="question")
    open_question = discussion(BOB, "Open", kind="question")
    plain = discussion(BOB, "Plain")
    answer = reply(BOB, answered["event_id"], "Answer")
    write(store, BOARD, answered, open_question, plain, answer)
    write(store, BOARD, answer_event(ANN, answered["event_id"], answer["event_id"]))

    assert [item.title for item in stream(store, UNANSWERED)] == ["Open"]


def test_unanswered_skips_many_answered_questions(store):
    posts = []
    for number in range(60):
        question = discussion(ANN, f"Q{number}", kind="question")
        answer = reply(BOB, question["event_id"], "A")
        posts += [question, answer]
    open_question = discussion(ANN, "Still open", kind="question", ts=1)
    write(store, BOARD, open_question, *posts)
    answers = [
        answer_event(ANN, posts[i]["event_id"], posts[i + 1]["event_id"])
        for i in range(0, len(posts), 2)
    ]
    write(store, BOARD, *answers)

    page = read_stream(store.reader(), ME, StreamFilter(UNANSWERED), limit=10)

    assert [item.title for item in page.items] == ["Still open"]
    assert page.cursor is None


def test_hostile_titles_are_plain_one_line_text(store):
    title = "<b>Bold</b>\u202eevil\u200b\nsecond line"
    body = "<img src=https://tracker.example/x.png>\x1b[31m red"
    post = discussion("@mallory:test", title, body)
    name = "Mal\u202elory\u0007"
    write(store, BOARD, post, state_events=[member("@mallory:test", name)])

    item = stream(store)[0]

    assert item.title == "<b>Bold</b>evil second line"
    assert item.excerpt == "<img src=https://tracker.example/x.png>[31m red"
    assert item.actor_name == "Mallory"


def test_direct_and_left_rooms_are_left_out(store):
    direct = "!direct:test"
    write(store, direct, discussion(ANN, "Private"))
    account = event(ME, {"@ann:test": [direct]}, type="m.direct")
    direct_rooms = parse_direct_rooms(account["content"])
    store.write_blocking(apply_sync, [], "token", [], direct_rooms)
    write(store, OTHER_BOARD, discussion(ANN, "Design talk"))
    assert [item.title for item in stream(store)] == ["Design talk"]

    store.write_blocking(apply_sync, [], "token", [OTHER_BOARD])

    assert stream(store) == []


def test_new_items_after_a_known_id(store):
    write(store, BOARD, discussion(ANN, "Old"))
    seen = latest_item_id(store.reader())
    write(store, BOARD, discussion(BOB, "New one"), discussion(BOB, "Newer"))

    items = read_new_items(store.reader(), ME, StreamFilter(), seen)

    assert [item.title for item in items] == ["Newer", "New one"]


def test_reload_drops_deleted_and_shows_edits(store):
    kept = discussion(ANN, "Kept")
    gone = discussion(BOB, "Gone")
    write(store, BOARD, kept, gone)
    ids = [item.id for item in stream(store)]

    write(store, BOARD, redaction(BOB, gone["event_id"]))
    rename = event(
        ANN,
        {
            "msgtype": "m.text",
            "body": "* Renamed",
            "m.new_content": {
                "msgtype": "m.text",
                "body": "Renamed\n\ntext",
                "app.commonplace.discussion": {"title": "Renamed", "kind": "question"},
            },
            "m.relates_to": {"rel_type": "m.replace", "event_id": kept["event_id"]},
        },
    )
    write(store, BOARD, rename)

    reloaded = reload_items(store.reader(), ME, StreamFilter(), ids)

    assert [(item.kind, item.title) for item in reloaded.values()] == [
        ("question", "Renamed")
    ]


def test_migration_fills_an_existing_cache(tmp_path, monkeypatch):
    from app.store import database, writes
    from app.store.schema import MIGRATIONS

    def fill(store):
        root = discussion(ANN, "Before the upgrade", event_id="$root")
        root["content"]["m.mentions"] = {"user_ids": [ME]}
        answer = reply(BOB, "$root", "Reply", event_id="$reply")
        store.write_blocking(
            apply_sync,
            [
                space_batch(SPACE, "Data Guild", [BOARD]),
                room_batch(
                    BOARD,
                    [],
                    [
                        root,
                        answer,
                        {**like(BOB, "$root"), "event_id": "$like1"},
                        {**like(BOB, "$root"), "event_id": "$like2"},
                        file_event(ANN, "old.pdf", event_id="$file"),
                    ],
                ),
            ],
            "token",
        )

    with monkeypatch.context() as patch:
        patch.setattr(database, "MIGRATIONS", MIGRATIONS[:5])
        patch.setattr(database, "LATEST_VERSION", 5)
        patch.setattr(writes, "record_member_event", lambda conn, member: None)
        old = Store(tmp_path / "old.sqlite3")
        fill(old)
        old.close()

    migrated = Store(tmp_path / "old.sqlite3")
    fresh = Store(tmp_path / "fresh.sqlite3")
    try:
        fill(fresh)
        found = [
            (item.kind, item.event_id, item.title)
            for item in read_stream(migrated.reader(), ME).items
        ]
        expected = [
            (item.kind, item.event_id, item.title)
            for item in read_stream(fresh.reader(), ME).items
        ]
        mentions = read_stream(migrated.reader(), ME, StreamFilter(MENTIONS)).items
    finally:
        migrated.close()
        fresh.close()

    assert sorted(found) == sorted(expected)
    assert [kind for kind, _, _ in found].count("like") == 1
    assert {kind for kind, _, _ in found} == {"file", "like", "reply", "discussion"}
    assert [item.event_id for item in mentions] == ["$root"]


def test_malformed_profile_detail_is_skipped(store):
    write(store, SPACE, state_events=[member("@new:test", "New")])
    store.write_blocking(
        lambda conn: conn.execute(
            "INSERT INTO activity (kind, event_id, room_id, actor, ts, detail) "
            "VALUES ('profile', '$bad', ?, '@new:test', 1, ?)",
            (SPACE, json.dumps(["not", "an", "object"])),
        )
    )

    assert kinds(stream(store)) == ["join"]


@pytest.mark.parametrize(
    ("content", "body", "formatted", "expected"),
    [
        ("not json", None, None, []),
        ('["a list"]', None, None, []),
        ('{"m.mentions": {"user_ids": "@me:test"}}', None, None, []),
        (
            '{"m.mentions": {"user_ids": [1, "@me:test", "me", "@bad id:x"]}}',
            None,
            None,
            [ME],
        ),
        (None, "cc @me:test.", None, [ME]),
        (None, None, '<a href="matrix:u/me:test">Me</a>', [ME]),
        (None, None, "<a href='https://matrix.to/#/@me:test?via=test'>Me</a>", [ME]),
        (None, "email@me:test", None, []),
        (b"bytes", 7, 3.5, []),
    ],
)
def test_mention_function_reads_untrusted_content(content, body, formatted, expected):
    assert json.loads(mentioned_user_ids_json(content, body, formatted)) == expected


def test_mention_function_caps_long_lists():
    users = [f"@user{number}:test" for number in range(MAX_MENTIONS * 3)]
    content = json.dumps({"m.mentions": {"user_ids": users}})

    assert (
        json.loads(mentioned_user_ids_json(content, None, None)) == users[:MAX_MENTIONS]
    )


def test_mentions_display_name(store):
    from app.records import Profile
    from app.store.writes import save_profiles

    store.write_blocking(save_profiles, [Profile(ME, "Maya Okafor", None)], 1.0)
    root = discussion(ANN, "Review needed")
    named = reply(BOB, root["event_id"], "maya okáfor, could you review this?")
    intentional = reply(BOB, root["event_id"], "Maya Okafor wrote the first draft")
    intentional["content"]["m.mentions"] = {"user_ids": []}
    other = reply(BOB, root["event_id"], "Maya alone is not the name")
    write(store, BOARD, root, named, intentional, other)

    items = stream(store, MENTIONS)

    # The first names the user as the server's display-name rule matches.
    # The second carries m.mentions with no one in it, so it mentions no one.
    assert [item.event_id for item in items] == [named["event_id"]]
