"""The user's own read receipts are read from a sync's ephemeral events."""

from app.sync.own_receipts import ServerReceipt, own_receipts

ROOM = "!board:x"
ME = "@me:x"


def receipt_event(content) -> dict:
    return {"type": "m.receipt", "content": content}


def test_threaded_unthreaded_and_private_receipts_are_read():
    events = [
        receipt_event(
            {
                "$a": {"m.read": {ME: {"ts": 1, "thread_id": "main"}}},
                "$b": {"m.read.private": {ME: {"ts": 2}}},
                "$c": {"m.read": {ME: {"ts": 3, "thread_id": "$root"}}},
            }
        )
    ]

    assert own_receipts(ROOM, events, ME) == [
        ServerReceipt(ROOM, "main", "$a"),
        ServerReceipt(ROOM, "", "$b"),
        ServerReceipt(ROOM, "$root", "$c"),
    ]


def test_other_people_and_malformed_receipts_are_skipped():
    events = [
        "not an event",
        {"type": "m.typing", "content": {"user_ids": [ME]}},
        receipt_event(None),
        receipt_event({"$a": {"m.read": {"@ana:x": {"ts": 1}}}}),
        receipt_event({"not-an-event-id": {"m.read": {ME: {"ts": 1}}}}),
        receipt_event({"$b": ["m.read"]}),
        receipt_event({"$c": {"m.read": {ME: "yesterday"}}}),
        receipt_event({"$d": {"m.read": {ME: {"thread_id": 7}}}}),
    ]

    assert own_receipts(ROOM, events, ME) == []
