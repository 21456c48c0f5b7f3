import pytest

from app.store import Store
from app.store.profile_activity import person_activity, shared_spaces
from app.store.writes import apply_sync
from tests.factories import (
    discussion,
    event,
    member,
    reply,
    room_batch,
    space_batch,
    state,
)

GUILD = "!guild:test"
GUILD_BOARD = "!guild-board:test"
GUILD_FILES = "!guild-files:test"
DESIGN = "!design:test"
DESIGN_BOARD = "!design-board:test"
LEFT = "!left:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(
        apply_sync,
        [
            space_batch(GUILD, "Data Guild", [GUILD_BOARD, GUILD_FILES]),
            space_batch(DESIGN, "Design Practice", [DESIGN_BOARD]),
            room_batch(
                GUILD_BOARD,
                [member("@ann:test", "Ann"), member("@bob:test", "Bob")],
            ),
            room_batch(GUILD_FILES, [member("@ann:test", "Ann")]),
            room_batch(DESIGN_BOARD, [member("@bob:test", "Bob")]),
        ],
        "t0",
    )
    yield store
    store.close()


def write(store, room_id, *events):
    store.write_blocking(apply_sync, [room_batch(room_id, [], list(events))], None)


def file_event(sender, name, ts=None):
    content = {"msgtype": "m.file", "body": name, "url": "mxc://test/abc"}
    return event(sender, content, ts=ts)


def accept(question, answer, sender=None):
    return state(
        "app.commonplace.accepted_answer",
        {"event_id": answer["event_id"]},
        state_key=question["event_id"],
        sender=sender or question["sender"],
    )


def test_shared_spaces_child_room(store):
    assert [space.name for space in shared_spaces(store.reader(), "@ann:test")] == [
        "Data Guild"
    ]
    assert [space.name for space in shared_spaces(store.reader(), "@bob:test")] == [
        "Data Guild",
        "Design Practice",
    ]
    assert shared_spaces(store.reader(), "@nobody:test") == ()


def test_shared_spaces_left_space(store):
    left = room_batch(DESIGN)
    left.membership = "leave"
    store.write_blocking(apply_sync, [left], None)

    names = [space.name for space in shared_spaces(store.reader(), "@bob:test")]
    assert names == ["Data Guild"]


def test_activity_newest_discussions(store):
    older = discussion("@ann:test", "Indexing tips", ts=1_000)
    newer = discussion("@ann:test", "Vacuum schedule", ts=2_000)
    write(store, GUILD_BOARD, older, newer, discussion("@bob:test", "Not Ann's"))

    activity = person_activity(store.reader(), "@ann:test")

    assert [item.title for item in activity.discussions] == [
        "Vacuum schedule",
        "Indexing tips",
    ]
    assert {item.place for item in activity.discussions} == {"Data Guild"}
    assert activity.discussions[0].discussion_id == newer["event_id"]


def test_activity_limit(store):
    write(
        store,
        GUILD_BOARD,
        *[discussion("@ann:test", f"Post {n}", ts=1_000 + n) for n in range(8)],
    )

    activity = person_activity(store.reader(), "@ann:test", limit=3)

    assert [item.title for item in activity.discussions] == [
        "Post 7",
        "Post 6",
        "Post 5",
    ]


def test_activity_accepted_answers(store):
    question = discussion("@bob:test", "How to index JSON?", kind="question")
    answer = reply("@ann:test", question["event_id"], "Use a generated column.")
    other = reply("@ann:test", question["event_id"], "Or an expression index.")
    write(store, GUILD_BOARD, question, answer, other, accept(question, answer))

    answers = person_activity(store.reader(), "@ann:test").answers

    assert [(item.title, item.event_id) for item in answers] == [
        ("How to index JSON?", answer["event_id"])
    ]
    assert answers[0].discussion_id == question["event_id"]


def test_activity_unauthorised_acceptance(store):
    question = discussion("@bob:test", "Who may accept?", kind="question")
    answer = reply("@ann:test", question["event_id"], "I may not.")
    write(
        store,
        GUILD_BOARD,
        question,
        answer,
        accept(question, answer, sender="@ann:test"),
    )

    assert person_activity(store.reader(), "@ann:test").answers == ()


def test_activity_replaced_answer(store):
    question = discussion("@bob:test", "Which backup tool?", kind="question")
    first = reply("@ann:test", question["event_id"], "pg_dump")
    second = reply("@bob:test", question["event_id"], "pgBackRest")
    write(
        store,
        GUILD_BOARD,
        question,
        first,
        second,
        accept(question, first),
        accept(question, second),
    )

    assert person_activity(store.reader(), "@ann:test").answers == ()
    assert [
        item.event_id for item in person_activity(store.reader(), "@bob:test").answers
    ] == [second["event_id"]]


def test_activity_files_skip_deleted(store):
    kept = file_event("@ann:test", "schema.pdf", ts=1_000)
    deleted = file_event("@ann:test", "draft.pdf", ts=2_000)
    redaction = event(
        "@ann:test", {}, type="m.room.redaction", redacts=deleted["event_id"]
    )
    write(store, GUILD_FILES, kept, deleted, redaction)

    files = person_activity(store.reader(), "@ann:test").files

    assert [item.title for item in files] == ["schema.pdf"]
    assert files[0].discussion_id is None
    assert files[0].place == "Data Guild"


def test_activity_stranger_empty(store):
    activity = person_activity(store.reader(), "@stranger:test")

    assert activity.spaces == activity.discussions == activity.answers == ()
    assert activity.files == ()
