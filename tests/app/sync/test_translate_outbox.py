"""Translation of what the outbox relies on: echoes, accepted answers, power levels."""

from app import namespace as ns
from app.records import AcceptedAnswer, PowerLevels, RawEvent
from app.sync.translate import translate_events
from tests.factories import event, state

ROOM = "!room:test"


def test_echo_keeps_transaction_and_client_ids():
    sent = event(
        "@me:test",
        {"msgtype": "m.text", "body": "hi", ns.CLIENT_ID_KEY: "abc"},
        unsigned={"transaction_id": "cp123"},
    )
    [raw, _reply] = translate_events(ROOM, [sent])
    assert isinstance(raw, RawEvent)
    assert (raw.transaction_id, raw.client_id) == ("cp123", "abc")


def test_malformed_echo_ids_are_dropped():
    odd = event(
        "@me:test",
        {"msgtype": "m.text", "body": "hi", ns.CLIENT_ID_KEY: ["abc"]},
        unsigned={"transaction_id": 5},
    )
    long_id = event(
        "@me:test", {"msgtype": "m.text", "body": "hi", ns.CLIENT_ID_KEY: "x" * 101}
    )
    no_unsigned = event("@me:test", {"msgtype": "m.text", "body": "hi"}, unsigned=[])
    for item in (odd, long_id, no_unsigned):
        raw = translate_events(ROOM, [item])[0]
        assert (raw.transaction_id, raw.client_id) == (None, None)


def test_accepted_answer_state_event():
    answer = state(
        ns.ACCEPTED_ANSWER_EVENT,
        {"event_id": "$reply", ns.CLIENT_ID_KEY: "c1"},
        state_key="$question",
        sender="@ann:test",
    )
    [record] = translate_events(ROOM, [answer], state=True)
    assert record == AcceptedAnswer(
        answer["event_id"],
        ROOM,
        "$question",
        "$reply",
        "@ann:test",
        answer["origin_server_ts"],
        "c1",
    )


def test_accepted_answer_without_valid_reply_clears():
    for content in ({}, {"event_id": 5}, {"event_id": "not an id"}):
        answer = state(ns.ACCEPTED_ANSWER_EVENT, content, state_key="$question")
        [record] = translate_events(ROOM, [answer], state=True)
        assert record.reply_id is None


def test_accepted_answer_with_bad_key_skipped():
    answer = state(ns.ACCEPTED_ANSWER_EVENT, {"event_id": "$r"}, state_key="")
    assert translate_events(ROOM, [answer], state=True) == []


def test_power_levels_keep_users_and_redact():
    levels = state(
        "m.room.power_levels",
        {
            "users": {"@mod:test": 50, "@old:test": "75", "@bad:test": "x", 5: 100},
            "users_default": "10",
            "redact": 60,
        },
    )
    [record, _rules] = translate_events(ROOM, [levels], state=True)
    assert record == PowerLevels(
        ROOM, {"@mod:test": 50, "@old:test": 75, "@bad:test": 0}, 10, 60
    )


def test_power_levels_defaults():
    [record, _rules] = translate_events(
        ROOM, [state("m.room.power_levels", {})], state=True
    )
    assert (record.users, record.users_default, record.redact) == ({}, 0, 50)
