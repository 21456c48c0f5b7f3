import logging

import pytest

from app.records import Discussion, Reply, SharedFile
from app.sync.translate import parse_profile, translate_events
from tests.factories import discussion, event, reply

ROOM = "!room:test"

MALFORMED = [
    pytest.param("not an event", id="not-an-object"),
    pytest.param({"type": "m.room.message"}, id="no-event-id"),
    pytest.param(
        {"event_id": "$a", "sender": "@a:test", "type": "m.room.message",
         "origin_server_ts": 1}, id="no-content"),
    pytest.param(event("@a:test", {"body": "no msgtype"}), id="no-msgtype"),
    pytest.param(event("@a:test", {"msgtype": "m.text", "body": 7}), id="body-not-text"),
    pytest.param(event("not-a-user", {"msgtype": "m.text", "body": "x"}), id="bad-sender"),
    pytest.param(event("@a:test", {"msgtype": "m.text", "body": "x"}, ts="yesterday"),
                 id="bad-timestamp"),
    pytest.param(event("@a:test", {"msgtype": "m.file", "body": "f", "url": "https://x"}),
                 id="file-not-mxc"),
    pytest.param(event("@a:test", {"m.relates_to": {"rel_type": "m.annotation"}},
                       type="m.reaction"), id="reaction-without-target"),
    pytest.param(event("@a:test", {"msgtype": "m.text", "body": "x",
                                   "m.relates_to": {"rel_type": "m.thread"}}),
                 id="thread-without-root"),
]  # fmt: skip


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_event_is_logged_and_skipped(bad, caplog):
    good = discussion("@ann:test", "Still here")
    with caplog.at_level(logging.WARNING):
        records = translate_events(ROOM, [bad, good])
    assert [r.title for r in records if isinstance(r, Discussion)] == ["Still here"]
    assert "Skipped malformed event" in caplog.text


def test_discussion_block_gives_title_kind_and_tags():
    records = translate_events(
        ROOM, [discussion("@a:test", "Why SQL?", "Body", kind="question", tags=["sql"])]
    )
    item = records[1]
    assert (item.title, item.kind, item.tags, item.body) == (
        "Why SQL?",
        "question",
        ("sql",),
        "Body",
    )


def test_invalid_block_fields_fall_back():
    content = {
        "msgtype": "m.text",
        "body": "First line\nmore",
        "app.commonplace.discussion": {
            "title": "x" * 400,
            "kind": "rant",
            "tags": [1, "ok"],
        },
    }
    item = translate_events(ROOM, [event("@a:test", content)])[1]
    assert item.title == "First line"
    assert item.kind == "discussion"
    assert item.tags == ("ok",)


def test_message_from_other_client_is_a_discussion():
    item = translate_events(
        ROOM, [event("@a:test", {"msgtype": "m.text", "body": "Hi all"})]
    )[1]
    assert isinstance(item, Discussion)
    assert item.title == "Hi all"


def test_thread_reply_names_its_root():
    item = translate_events(ROOM, [reply("@b:test", "$root", "Agreed")])[1]
    assert isinstance(item, Reply)
    assert item.root_id == "$root"


def test_file_prefers_filename_over_body():
    content = {
        "msgtype": "m.file",
        "body": "caption",
        "filename": "report.pdf",
        "url": "mxc://test/abc",
        "info": {"mimetype": "application/pdf", "size": 10},
    }
    item = translate_events(ROOM, [event("@a:test", content)])[1]
    assert isinstance(item, SharedFile)
    assert item.name == "report.pdf"
    assert item.size == 10


def test_profile_ignores_wrong_types_and_cuts_lengths():
    profile = parse_profile(
        "@a:test",
        {
            "displayname": "Ann",
            "avatar_url": "javascript:alert(1)",
            "app.commonplace.title": {"not": "text"},
            "app.commonplace.skills": ["SQL", 5, "x" * 500],
            "app.commonplace.bio": "b" * 5000,
        },
    )
    assert profile.avatar_url is None
    assert profile.title is None
    assert profile.skills == ("SQL", "x" * 100)
    assert len(profile.bio) == 2000


def test_version_12_creators_are_recorded():
    from app.records import RoomCreators

    create = {
        "type": "m.room.create",
        "state_key": "",
        "sender": "@owner:test",
        "content": {"room_version": "12", "additional_creators": ["@co:test", 5]},
    }
    old = {**create, "content": {"room_version": "10"}}

    [record] = translate_events(ROOM, [create], state=True)
    assert isinstance(record, RoomCreators)
    assert record.user_ids == ("@owner:test", "@co:test")
    assert translate_events(ROOM, [old], state=True) == []
