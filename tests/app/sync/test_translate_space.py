"""Translation of what space moderation needs: pins, knocks, levels, deleted posts."""

from app.records import Membership, PowerLevels, RoomState
from app.space_records import JoinRuleAllow, Knock, PinnedEvents, PowerLevelRules
from app.sync.translate import MAX_PINNED_EVENTS, translate_events
from tests.factories import state

ROOM = "!board:test"
SPACE = "!space:test"


def translate(*events):
    return translate_events(ROOM, list(events), state=True)


def test_pinned_events_keep_valid_ids_in_order():
    pins = state(
        "m.room.pinned_events",
        {"pinned": ["$b", "$a", "not an id", 5, "$b", "$has space"]},
        sender="@mod:test",
    )
    assert translate(pins) == [PinnedEvents(ROOM, "@mod:test", ("$b", "$a"))]


def test_pinned_events_without_list_clear_pins():
    assert translate(state("m.room.pinned_events", {"pinned": "$a"})) == [
        PinnedEvents(ROOM, "@admin:test", ())
    ]


def test_pinned_events_capped():
    ids = [f"$event{number}" for number in range(MAX_PINNED_EVENTS + 10)]
    [record] = translate(state("m.room.pinned_events", {"pinned": ids}))
    assert len(record.event_ids) == MAX_PINNED_EVENTS


def test_knock_gives_membership_and_request():
    knock = state(
        "m.room.member",
        {"membership": "knock", "displayname": "Kim", "reason": "I do data"},
        state_key="@kim:test",
        sender="@kim:test",
    )
    member, request = translate(knock)
    assert isinstance(member, Membership)
    assert member.membership == "knock"
    assert request == Knock(ROOM, "@kim:test", "I do data", knock["origin_server_ts"])


def test_knock_reason_of_wrong_type_ignored():
    knock = state(
        "m.room.member",
        {"membership": "knock", "reason": ["list"]},
        state_key="@kim:test",
        sender="@kim:test",
    )
    [_member, request] = translate(knock)
    assert request.reason is None


def test_join_is_no_request():
    join = state("m.room.member", {"membership": "join"}, state_key="@kim:test")
    assert [type(record) for record in translate(join)] == [Membership]


def test_power_level_rules_with_defaults_and_strings():
    levels = state(
        "m.room.power_levels",
        {
            "invite": "25",
            "kick": True,
            "events": {"m.room.pinned_events": 40, "m.room.name": "x"},
        },
    )
    [levels_record, rules] = translate(levels)
    assert isinstance(levels_record, PowerLevels)
    assert rules == PowerLevelRules(
        ROOM,
        invite=25,
        kick=50,
        ban=50,
        state_default=50,
        events_default=0,
        events={"m.room.pinned_events": 40, "m.room.name": 50},
    )


def test_restricted_join_rule_lists_allowed_rooms():
    rule = state(
        "m.room.join_rules",
        {
            "join_rule": "restricted",
            "allow": [
                {"type": "m.room_membership", "room_id": SPACE},
                {"type": "m.room_membership", "room_id": "space"},
                {"type": "org.example.other", "room_id": "!other:test"},
                "junk",
            ],
        },
    )
    assert translate(rule) == [
        RoomState(ROOM, join_rule="restricted"),
        JoinRuleAllow(ROOM, (SPACE,)),
    ]


def test_public_join_rule_clears_allowed_rooms():
    rule = state(
        "m.room.join_rules",
        {
            "join_rule": "public",
            "allow": [{"type": "m.room_membership", "room_id": SPACE}],
        },
    )
    assert translate(rule)[1] == JoinRuleAllow(ROOM, ())


def test_deleted_post_skipped_quietly(caplog):
    event = {
        "type": "m.room.message",
        "event_id": "$root",
        "sender": "@bob:localhost",
        "origin_server_ts": 1,
        "content": {},
        "unsigned": {"redacted_because": {"event_id": "$redaction"}},
    }

    assert translate_events(ROOM, [event]) == []
    assert "Skipped malformed event" not in caplog.text
