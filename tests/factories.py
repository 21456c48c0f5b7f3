"""Builders of Matrix events and sync records for tests that need no server."""

import itertools

from app.records import RoomBatch
from app.sync.translate import translate_events

_counter = itertools.count(1)


def event(sender, content, *, type="m.room.message", ts=None, event_id=None, **extra):
    number = next(_counter)
    result = {
        "event_id": event_id or f"$event{number}",
        "sender": sender,
        "type": type,
        "origin_server_ts": 1_700_000_000_000 + number * 1000 if ts is None else ts,
        "content": content,
    }
    result.update(extra)
    return result


def state(type, content, state_key="", sender="@admin:test"):
    return event(sender, content, type=type, state_key=state_key)


def discussion(sender, title, body="", *, kind="discussion", tags=(), **extra):
    content = {
        "msgtype": "m.text",
        "body": f"{title}\n\n{body}",
        "app.commonplace.discussion": {
            "title": title,
            "kind": kind,
            "tags": list(tags),
        },
    }
    return event(sender, content, **extra)


def reply(sender, root_id, body, **extra):
    content = {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root_id,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root_id},
        },
    }
    return event(sender, content, **extra)


def like(sender, target_id, key="👍"):
    relation = {"rel_type": "m.annotation", "event_id": target_id, "key": key}
    return event(sender, {"m.relates_to": relation}, type="m.reaction")


def member(user_id, name=None, membership="join"):
    content = {"membership": membership}
    if name is not None:
        content["displayname"] = name
    return state("m.room.member", content, state_key=user_id, sender=user_id)


def space_batch(space_id, name, children):
    batch = RoomBatch(space_id, "join")
    batch.items = translate_events(
        space_id,
        [
            state("m.room.create", {"type": "m.space"}),
            state("m.room.name", {"name": name}),
            *[state("m.space.child", {"via": ["test"]}, state_key=c) for c in children],
        ],
        state=True,
    )
    return batch


def room_batch(room_id, state_events=(), timeline=(), **counts):
    batch = RoomBatch(room_id, "join", **counts)
    batch.items = translate_events(room_id, list(state_events), state=True)
    batch.items += translate_events(room_id, list(timeline))
    return batch
