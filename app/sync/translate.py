"""Translation of untrusted Matrix events into validated records.

Each parser either returns records or raises MalformedEvent; the caller logs
and skips the event, so one bad event never stops a sync. The formats are
described in docs/formats.md.
"""

import json
import logging
import re
from collections.abc import Iterable

from app import namespace as ns
from app.records import (
    AcceptedAnswer,
    DirectInvite,
    DirectRooms,
    Discussion,
    Edit,
    Membership,
    PowerLevels,
    Profile,
    RawEvent,
    Reaction,
    Redaction,
    Reply,
    RoomCreators,
    RoomState,
    SharedFile,
    SpaceChild,
)
from app.space_records import JoinRuleAllow, Knock, PinnedEvents, PowerLevelRules
from app.text import derive_title

log = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 300
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_PROFILE_TEXT = 2000
MAX_PROFILE_LIST = 50
MAX_PROFILE_LIST_ITEM = 100
MAX_NAME_LENGTH = 1000
# Longest room name kept, in code points; a longer one is cut.
MAX_ROOM_NAME_LENGTH = 1000
MAX_CLIENT_ID_LENGTH = 100
# Synapse rejects events over 64 KiB, so a longer body comes from a broken or
# hostile server. Cutting it keeps Qt's text layout from stalling the window.
MAX_BODY_LENGTH = 65_536
# Timestamps up to the end of year 9999 in milliseconds, the range that date
# formatting can show. Integers in Matrix JSON fit in 53 bits anyway.
MAX_TIMESTAMP_MS = 253_402_300_799_999
MAX_SAFE_INTEGER = 2**53 - 1
# Bounds on m.direct account data, which only the user's own clients write.
# They are estimates, far above real use and low enough that a broken client
# cannot bloat the cache.
MAX_DIRECT_PEOPLE = 10_000
MAX_DIRECT_ROOMS_PER_PERSON = 100
# Pinned events and restricted-join rooms kept per room: estimates far above
# real use that keep a broken server from bloating the cache.
MAX_PINNED_EVENTS = 500
MAX_ALLOWED_ROOMS = 100
MAX_REASON_LENGTH = 1000
# Threads with unread counts kept per room and sync: an estimate far above
# real use that keeps a broken server from bloating the cache.
MAX_THREAD_COUNTS = 10_000

# Event ids, room ids and user ids: a sigil and printable ASCII without spaces.
_ID_PATTERN = re.compile(r"^[$!@#][\x21-\x7e]{1,254}$")
_MXC_PATTERN = re.compile(r"^mxc://[A-Za-z0-9.\-:\[\]]+/[A-Za-z0-9_\-]+$")


class MalformedEvent(ValueError):
    """An event is missing a required key or has one of the wrong type."""


def _require_str(mapping: dict, key: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str):
        raise MalformedEvent(f"'{key}' is missing or not a string")
    return value


def _require_id(mapping: dict, key: str, sigil: str) -> str:
    value = _require_str(mapping, key)
    if not value.startswith(sigil) or not _ID_PATTERN.match(value):
        raise MalformedEvent(f"'{key}' is not a valid identifier")
    return value


def _optional_str(mapping: dict, key: str, limit: int = MAX_PROFILE_TEXT) -> str | None:
    value = mapping.get(key)
    if isinstance(value, str):
        return value[:limit]
    return None


def _string_list(value: object, max_items: int, max_length: int) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    items = [item.strip()[:max_length] for item in value if isinstance(item, str)]
    return tuple(item for item in items if item)[:max_items]


def valid_mxc(value: object) -> str | None:
    """Return value if it is a well-formed mxc:// URI, else None."""
    if isinstance(value, str) and _MXC_PATTERN.match(value):
        return value
    return None


def _timestamp(event: dict) -> int:
    ts = event.get("origin_server_ts")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise MalformedEvent("'origin_server_ts' is missing or not an integer")
    if not 0 <= ts <= MAX_TIMESTAMP_MS:
        raise MalformedEvent(f"'origin_server_ts' {ts} is out of range")
    return ts


def _body(mapping: dict) -> str:
    return _require_str(mapping, "body")[:MAX_BODY_LENGTH]


def _content(event: dict) -> dict:
    content = event.get("content")
    if not isinstance(content, dict):
        raise MalformedEvent("'content' is missing or not an object")
    return content


def _relation(content: dict) -> dict:
    relation = content.get("m.relates_to")
    return relation if isinstance(relation, dict) else {}


def _formatted_body(content: dict) -> str | None:
    if content.get("format") != "org.matrix.custom.html":
        return None
    value = content.get("formatted_body")
    return value[:MAX_BODY_LENGTH] if isinstance(value, str) else None


def parse_discussion_block(
    block: object, body: str
) -> tuple[str, str, tuple[str, ...]]:
    """Return (title, kind, tags) from a discussion block, with fallbacks."""
    block = block if isinstance(block, dict) else {}
    title = block.get("title")
    if isinstance(title, str) and 0 < len(title.strip()) <= MAX_TITLE_LENGTH:
        title = title.strip()
    else:
        title = derive_title(body)
    kind = block.get("kind")
    if kind not in ns.DISCUSSION_KINDS:
        kind = "discussion"
    tags = _string_list(block.get("tags"), MAX_TAGS, MAX_TAG_LENGTH)
    tags = tuple(tag for tag in tags if len(tag) <= MAX_TAG_LENGTH)
    return title, kind, tags


def _body_without_discussion_title(body: str, title: str) -> str:
    """Drop the title line and blank line that the plain body starts with."""
    if body.startswith(title):
        return body[len(title) :].lstrip("\n")
    return body


def translate_timeline_event(room_id: str, event: dict) -> list:
    """Return the records for one timeline event: its RawEvent and what it means."""
    event_id = _require_id(event, "event_id", "$")
    sender = _require_id(event, "sender", "@")
    event_type = _require_str(event, "type")
    ts = _timestamp(event)
    content = _content(event)
    relation = _relation(content)
    target = (
        relation.get("event_id") if isinstance(relation.get("event_id"), str) else None
    )

    if "state_key" in event:
        return translate_state_event(room_id, event)
    if not content and _is_redacted(event):
        # A deleted post has empty content. The m.room.redaction event
        # marks it deleted in the cache, so there is nothing to store.
        return []

    raw = RawEvent(
        event_id,
        room_id,
        sender,
        event_type,
        ts,
        target,
        json.dumps(content),
        transaction_id=_transaction_id(event),
        client_id=_client_id(content),
    )
    meaning = _timeline_meaning(
        room_id, event_id, sender, event_type, ts, event, content
    )
    if meaning is None:
        return []
    return [raw, meaning]


def _is_redacted(event: dict) -> bool:
    unsigned = event.get("unsigned")
    return isinstance(unsigned, dict) and isinstance(
        unsigned.get("redacted_because"), dict
    )


def _transaction_id(event: dict) -> str | None:
    unsigned = event.get("unsigned")
    if not isinstance(unsigned, dict):
        return None
    value = unsigned.get("transaction_id")
    return value if isinstance(value, str) and value else None


def _client_id(content: dict) -> str | None:
    value = content.get(ns.CLIENT_ID_KEY)
    if isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_ID_LENGTH:
        return value
    return None


def _timeline_meaning(room_id, event_id, sender, event_type, ts, event, content):
    if event_type == "m.room.redaction":
        redacts = event.get("redacts", content.get("redacts"))
        if not isinstance(redacts, str):
            raise MalformedEvent("redaction without 'redacts'")
        return Redaction(event_id, room_id, redacts)
    if event_type == "m.reaction":
        return _reaction(room_id, event_id, sender, content)
    if event_type != "m.room.message":
        return None
    relation = _relation(content)
    rel_type = relation.get("rel_type")
    if rel_type == "m.replace":
        return _edit(room_id, event_id, sender, ts, content, relation)
    msgtype = _require_str(content, "msgtype")
    body = _body(content)
    if msgtype in ("m.file", "m.image", "m.video", "m.audio"):
        return _shared_file(room_id, event_id, sender, ts, content, msgtype, body)
    formatted = _formatted_body(content)
    in_reply_to = _in_reply_to(relation)
    if rel_type == "m.thread":
        root_id = relation.get("event_id")
        if not isinstance(root_id, str):
            raise MalformedEvent("thread relation without 'event_id'")
        return Reply(
            event_id, room_id, root_id, sender, ts, body, formatted, in_reply_to
        )
    if in_reply_to is not None:
        return Reply(event_id, room_id, None, sender, ts, body, formatted, in_reply_to)
    title, kind, tags = parse_discussion_block(content.get(ns.DISCUSSION_KEY), body)
    if ns.DISCUSSION_KEY in content:
        body = _body_without_discussion_title(body, title)
    return Discussion(
        event_id,
        room_id,
        sender,
        ts,
        title or "(untitled)",
        kind,
        tags,
        body,
        formatted,
    )


def _in_reply_to(relation: dict) -> str | None:
    in_reply_to = relation.get("m.in_reply_to")
    if isinstance(in_reply_to, dict) and isinstance(in_reply_to.get("event_id"), str):
        return in_reply_to["event_id"]
    return None


def _reaction(room_id, event_id, sender, content) -> Reaction:
    relation = _relation(content)
    if relation.get("rel_type") != "m.annotation":
        raise MalformedEvent("reaction without an m.annotation relation")
    target = relation.get("event_id")
    key = relation.get("key")
    if not isinstance(target, str) or not isinstance(key, str) or not key:
        raise MalformedEvent("reaction without 'event_id' or 'key'")
    return Reaction(event_id, room_id, target, sender, key[:64])


def _edit(room_id, event_id, sender, ts, content, relation) -> Edit:
    target = relation.get("event_id")
    new_content = content.get("m.new_content")
    if not isinstance(target, str) or not isinstance(new_content, dict):
        raise MalformedEvent("edit without 'event_id' or 'm.new_content'")
    body = _body(new_content)
    formatted = _formatted_body(new_content)
    title = kind = tags = None
    if ns.DISCUSSION_KEY in new_content:
        title, kind, tags = parse_discussion_block(new_content[ns.DISCUSSION_KEY], body)
        body = _body_without_discussion_title(body, title)
    return Edit(
        event_id, room_id, target, sender, ts, body, formatted, title, kind, tags
    )


def _shared_file(room_id, event_id, sender, ts, content, msgtype, body) -> SharedFile:
    url = valid_mxc(content.get("url"))
    if url is None:
        raise MalformedEvent("file without a valid mxc:// 'url'")
    filename = content.get("filename")
    name = filename if isinstance(filename, str) and filename.strip() else body
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    mimetype = info.get("mimetype") if isinstance(info.get("mimetype"), str) else None
    size = info.get("size")
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or not 0 <= size <= MAX_SAFE_INTEGER
    ):
        size = None
    supersedes = content.get(ns.SUPERSEDES_KEY)
    supersedes = supersedes if isinstance(supersedes, str) else None
    return SharedFile(
        event_id,
        room_id,
        sender,
        ts,
        name[:MAX_NAME_LENGTH] or "(unnamed file)",
        msgtype,
        mimetype,
        size,
        url,
        supersedes,
    )


def translate_state_event(room_id: str, event: dict) -> list:
    """Return records for a state event; unknown types give none."""
    event_type = _require_str(event, "type")
    state_key = event.get("state_key")
    if not isinstance(state_key, str):
        raise MalformedEvent("state event without a string 'state_key'")
    content = _content(event)

    if event_type == "m.room.create":
        records: list = []
        if content.get("type") == "m.space":
            records.append(RoomState(room_id, kind="space"))
        creators = _privileged_creators(event, content)
        if creators:
            records.append(RoomCreators(room_id, creators))
        return records
    if event_type == "m.room.name":
        name = _optional_str(content, "name", MAX_ROOM_NAME_LENGTH)
        return [RoomState(room_id, name=name or "")]
    if event_type == "m.room.topic":
        return [RoomState(room_id, topic=(_optional_str(content, "topic") or ""))]
    if event_type == "m.room.avatar":
        return [RoomState(room_id, avatar_url=valid_mxc(content.get("url")) or "")]
    if event_type == "m.room.canonical_alias":
        return [
            RoomState(room_id, canonical_alias=_optional_str(content, "alias") or "")
        ]
    if event_type == "m.room.join_rules":
        return [
            RoomState(room_id, join_rule=_optional_str(content, "join_rule") or ""),
            JoinRuleAllow(room_id, _allowed_rooms(content)),
        ]
    if event_type == "m.room.pinned_events":
        return [_pinned_events(room_id, event, content)]
    if event_type == "m.room.encryption":
        return [RoomState(room_id, encrypted=True)]
    if event_type == ns.ROOM_KIND_EVENT:
        kind = content.get("kind")
        return [RoomState(room_id, kind=kind if kind in ns.ROOM_KINDS else "board")]
    if event_type == "m.space.child":
        via = content.get("via")
        removed = not (isinstance(via, list) and via)
        order = content.get("order")
        order = order if isinstance(order, str) and len(order) <= 50 else None
        return [SpaceChild(room_id, state_key, order, removed)]
    if event_type == "m.room.member":
        member = _membership(room_id, state_key, content, event)
        if member.membership != "knock":
            return [member]
        reason = _optional_str(content, "reason", MAX_REASON_LENGTH)
        return [member, Knock(room_id, member.user_id, reason, member.ts)]
    if event_type == "m.room.power_levels":
        return [_power_levels(room_id, content), _power_level_rules(room_id, content)]
    if event_type == ns.ACCEPTED_ANSWER_EVENT:
        return [_accepted_answer(room_id, event, state_key, content)]
    return []


def _accepted_answer(
    room_id: str, event: dict, question_id: str, content: dict
) -> AcceptedAnswer:
    if not question_id.startswith("$") or not _ID_PATTERN.match(question_id):
        raise MalformedEvent("accepted answer keyed by an invalid event id")
    reply_id = content.get("event_id")
    if reply_id is not None and (
        not isinstance(reply_id, str)
        or not reply_id.startswith("$")
        or not _ID_PATTERN.match(reply_id)
    ):
        # Anything but a valid event id names no answer, like an empty content.
        reply_id = None
    return AcceptedAnswer(
        _require_id(event, "event_id", "$"),
        room_id,
        question_id,
        reply_id,
        _require_id(event, "sender", "@"),
        _timestamp(event),
        _client_id(content),
    )


def _power_level(value: object, default: int) -> int:
    # Rooms before version 10 may give levels as strings of digits.
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            return default
    return default


def _power_levels(room_id: str, content: dict) -> PowerLevels:
    users = content.get("users") if isinstance(content.get("users"), dict) else {}
    levels = {}
    for user_id, level in users.items():
        if isinstance(user_id, str) and _ID_PATTERN.match(user_id):
            levels[user_id] = _power_level(level, 0)
    return PowerLevels(
        room_id,
        levels,
        _power_level(content.get("users_default"), 0),
        _power_level(content.get("redact"), 50),
    )


def _power_level_rules(room_id: str, content: dict) -> PowerLevelRules:
    events = content.get("events") if isinstance(content.get("events"), dict) else {}
    levels = {
        event_type: _power_level(level, 50)
        for event_type, level in events.items()
        if isinstance(event_type, str) and len(event_type) <= 255
    }
    return PowerLevelRules(
        room_id,
        invite=_power_level(content.get("invite"), 0),
        kick=_power_level(content.get("kick"), 50),
        ban=_power_level(content.get("ban"), 50),
        state_default=_power_level(content.get("state_default"), 50),
        events_default=_power_level(content.get("events_default"), 0),
        events=levels,
    )


def _allowed_rooms(content: dict) -> tuple[str, ...]:
    """Return the room ids of a join rule's m.room_membership allow entries."""
    if content.get("join_rule") not in ("restricted", "knock_restricted"):
        return ()
    allow = content.get("allow")
    if not isinstance(allow, list):
        return ()
    rooms = [
        entry.get("room_id")
        for entry in allow
        if isinstance(entry, dict) and entry.get("type") == "m.room_membership"
    ]
    valid = [room for room in rooms if valid_room_id(room)]
    return tuple(dict.fromkeys(valid))[:MAX_ALLOWED_ROOMS]


def pinned_event_ids(content: dict) -> list[str]:
    """Return the event ids of m.room.pinned_events content, in order, without repeats.

    A ``pinned`` value that is not a list reads as no pins, and entries that
    are not event ids are dropped, so a string is never read letter by letter.
    """
    pinned = content.get("pinned")
    if not isinstance(pinned, list):
        return []
    valid = [
        event_id
        for event_id in pinned
        if isinstance(event_id, str)
        and event_id.startswith("$")
        and _ID_PATTERN.match(event_id)
    ]
    return list(dict.fromkeys(valid))


def _pinned_events(room_id: str, event: dict, content: dict) -> PinnedEvents:
    sender = event.get("sender")
    sender = sender if valid_user_id(sender) else None
    valid = pinned_event_ids(content)
    return PinnedEvents(room_id, sender, tuple(valid)[:MAX_PINNED_EVENTS])


def _privileged_creators(event: dict, content: dict) -> tuple[str, ...]:
    """Return the creators who outrank power levels, per the room version.

    Room versions 12 and later (and the pre-release "org.matrix.hydra.11")
    give the creators unlimited power. Older versions list them in
    m.room.power_levels like anyone else, so none is returned for those.
    """
    version = content.get("room_version", "1")
    if not isinstance(version, str):
        return ()
    privileged = version == "org.matrix.hydra.11" or (
        version.isdigit() and int(version) >= 12
    )
    if not privileged:
        return ()
    creators = [event.get("sender")]
    additional = content.get("additional_creators")
    if isinstance(additional, list):
        creators.extend(additional)
    valid = [
        user
        for user in creators
        if isinstance(user, str) and user.startswith("@") and _ID_PATTERN.match(user)
    ]
    return tuple(dict.fromkeys(valid))


def _membership(room_id: str, user_id: str, content: dict, event: dict) -> Membership:
    if not _ID_PATTERN.match(user_id) or not user_id.startswith("@"):
        raise MalformedEvent("member event with an invalid user id")
    membership = _require_str(content, "membership")
    # Stripped state (invitations) has no event id or time; such a member
    # event changes the member rows but is no activity.
    event_id = event.get("event_id")
    ts = event.get("origin_server_ts")
    if not (isinstance(event_id, str) and _ID_PATTERN.match(event_id)):
        event_id = None
    if (
        not isinstance(ts, int)
        or isinstance(ts, bool)
        or not 0 <= ts <= MAX_TIMESTAMP_MS
    ):
        ts = None
    unsigned = event.get("unsigned")
    previous = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
    previous = previous if isinstance(previous, dict) else {}
    previous_membership = previous.get("membership")
    return Membership(
        room_id,
        user_id,
        membership,
        _optional_str(content, "displayname", MAX_NAME_LENGTH),
        valid_mxc(content.get("avatar_url")),
        event_id,
        ts,
        previous_membership if isinstance(previous_membership, str) else None,
        _optional_str(previous, "displayname", MAX_NAME_LENGTH),
        valid_mxc(previous.get("avatar_url")),
    )


def _check_unicode(event: dict) -> None:
    """Raise MalformedEvent if the event contains a lone surrogate.

    JSON can carry "\\ud800" escapes that Python decodes into strings which
    cannot be encoded as UTF-8, so SQLite would refuse to store them.
    """
    try:
        json.dumps(event, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise MalformedEvent("contains invalid Unicode (a lone surrogate)") from error
    except (TypeError, ValueError, RecursionError) as error:
        raise MalformedEvent(f"cannot be serialised: {error}") from error


def valid_room_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("!")
        and bool(_ID_PATTERN.match(value))
    )


def valid_user_id(value: object) -> bool:
    """Return whether value looks like a Matrix user id: "@localpart:server"."""
    return (
        isinstance(value, str)
        and value.startswith("@")
        and ":" in value
        and bool(_ID_PATTERN.match(value))
    )


def _count(value: object) -> int | None:
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    if is_integer and 0 <= value <= MAX_SAFE_INTEGER:
        return value
    return None


def parse_thread_counts(value: object) -> dict[str, tuple[int, int]]:
    """Return a room's unread_thread_notifications as {root id: (notify, highlight)}.

    Entries whose key is not an event id or whose value is not an object are
    left out, and a missing or invalid count is 0. At most MAX_THREAD_COUNTS
    threads are kept.
    """
    counts: dict[str, tuple[int, int]] = {}
    if not isinstance(value, dict):
        return counts
    for thread_id, entry in value.items():
        if len(counts) >= MAX_THREAD_COUNTS:
            log.warning(
                "A room lists unread counts for more than %d threads; "
                "the rest are ignored",
                MAX_THREAD_COUNTS,
            )
            break
        valid_id = isinstance(thread_id, str) and thread_id.startswith("$")
        if not valid_id or not _ID_PATTERN.match(thread_id):
            continue
        if not isinstance(entry, dict):
            continue
        notifications = _count(entry.get("notification_count")) or 0
        highlights = _count(entry.get("highlight_count")) or 0
        counts[thread_id] = (notifications, highlights)
    return counts


def parse_direct_rooms(content: object) -> DirectRooms:
    """Return the valid part of m.direct content: {user id: [room id, ...]}.

    Entries with an invalid user id, and room ids that are not room ids, are
    left out. A content that is not an object gives no direct rooms.
    """
    rooms: dict[str, tuple[str, ...]] = {}
    if not isinstance(content, dict):
        return DirectRooms(rooms)
    for user_id, room_ids in content.items():
        if len(rooms) >= MAX_DIRECT_PEOPLE:
            log.warning(
                "m.direct lists more than %d people, so the rest are ignored",
                MAX_DIRECT_PEOPLE,
            )
            break
        if not valid_user_id(user_id) or not isinstance(room_ids, list):
            continue
        valid = [room_id for room_id in room_ids if valid_room_id(room_id)]
        valid = list(dict.fromkeys(valid))[:MAX_DIRECT_ROOMS_PER_PERSON]
        if valid:
            rooms[user_id] = tuple(valid)
    return DirectRooms(rooms)


def direct_invites(room_id: str, events: Iterable) -> list[DirectInvite]:
    """Return the invitations marked is_direct in an invited room's stripped state."""
    invites = []
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "m.room.member":
            continue
        content = event.get("content")
        if not isinstance(content, dict):
            continue
        if content.get("membership") != "invite":
            continue
        if content.get("is_direct") is not True:
            continue
        invitee = event.get("state_key")
        inviter = event.get("sender")
        if valid_user_id(invitee) and valid_user_id(inviter):
            invites.append(DirectInvite(room_id, invitee, inviter))
    return invites


def translate_events(room_id: str, events: Iterable, *, state: bool = False) -> list:
    """Translate a list of events, logging and skipping each malformed one."""
    records: list = []
    for event in events:
        try:
            if not isinstance(event, dict):
                raise MalformedEvent("event is not an object")
            _check_unicode(event)
            if state:
                records.extend(translate_state_event(room_id, event))
            else:
                records.extend(translate_timeline_event(room_id, event))
        except MalformedEvent as error:
            event_id = event.get("event_id") if isinstance(event, dict) else None
            log.warning(
                "Skipped malformed event %s in %s: %s", event_id, room_id, error
            )
    return records


def parse_profile(user_id: str, data: dict) -> Profile:
    """Return the profile fields of GET /profile/{userId}, ignoring wrong types."""
    text = {
        name: _optional_str(data, key, MAX_PROFILE_TEXT)
        for name, key in ns.PROFILE_TEXT_FIELDS.items()
    }
    lists = {
        name: _string_list(data.get(key), MAX_PROFILE_LIST, MAX_PROFILE_LIST_ITEM)
        for name, key in ns.PROFILE_LIST_FIELDS.items()
    }
    return Profile(
        user_id=user_id,
        display_name=_optional_str(data, "displayname", MAX_NAME_LENGTH),
        avatar_url=valid_mxc(data.get("avatar_url")),
        **text,
        **lists,
    )
