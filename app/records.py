"""Typed records that the sync layer makes from Matrix events and the store writes.

They are the contract between ``app.sync`` (which parses untrusted events) and
``app.store`` (which alone writes SQLite). Every field is already validated.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A timeline event as received, kept for rebuilding derived rows.

    ``transaction_id`` is the event's ``unsigned.transaction_id``, which the
    server sets only for the device that sent it. ``client_id`` is the
    content's client id. The outbox recognises its own items by either.
    """

    event_id: str
    room_id: str
    sender: str
    type: str
    ts: int
    relates_to: str | None
    content_json: str
    transaction_id: str | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class RoomState:
    """Changed room attributes; None means unchanged."""

    room_id: str
    kind: str | None = None
    name: str | None = None
    topic: str | None = None
    avatar_url: str | None = None
    canonical_alias: str | None = None
    join_rule: str | None = None
    encrypted: bool | None = None


@dataclass(frozen=True, slots=True)
class SpaceChild:
    space_id: str
    child_id: str
    order_key: str | None
    removed: bool


@dataclass(frozen=True, slots=True)
class Membership:
    """An m.room.member event; the event fields are None for stripped state.

    The previous_* fields come from the event's unsigned.prev_content: what
    the member event replaced, which distinguishes a join from a name change.
    """

    room_id: str
    user_id: str
    membership: str
    display_name: str | None
    avatar_url: str | None
    event_id: str | None = None
    ts: int | None = None
    previous_membership: str | None = None
    previous_display_name: str | None = None
    previous_avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class Discussion:
    event_id: str
    room_id: str
    sender: str
    ts: int
    title: str
    kind: str
    tags: tuple[str, ...]
    body: str
    formatted_body: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply; root_id is None when only m.in_reply_to names its target."""

    event_id: str
    room_id: str
    root_id: str | None
    sender: str
    ts: int
    body: str
    formatted_body: str | None
    in_reply_to: str | None


@dataclass(frozen=True, slots=True)
class Reaction:
    event_id: str
    room_id: str
    target_id: str
    sender: str
    key: str


@dataclass(frozen=True, slots=True)
class SharedFile:
    event_id: str
    room_id: str
    sender: str
    ts: int
    name: str
    msgtype: str
    mimetype: str | None
    size: int | None
    url: str
    supersedes: str | None


@dataclass(frozen=True, slots=True)
class Edit:
    """An m.replace edit; title, kind and tags are None unless the edit sets them."""

    event_id: str
    room_id: str
    target_id: str
    sender: str
    ts: int
    body: str
    formatted_body: str | None
    title: str | None = None
    kind: str | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Redaction:
    event_id: str
    room_id: str
    target_id: str


@dataclass(frozen=True, slots=True)
class AcceptedAnswer:
    """An accepted-answer state event; reply_id None clears the answer.

    Whether the sender may set it is decided when it is read, because the
    question may not be in the cache yet when the state event arrives.
    """

    event_id: str
    room_id: str
    question_id: str
    reply_id: str | None
    sender: str
    ts: int
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class RoomCreators:
    """Users whose room version gives them unlimited power in the room.

    From room version 12 on, the sender of m.room.create and the users in its
    ``additional_creators`` outrank every power level and are not listed in
    m.room.power_levels.
    """

    room_id: str
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PowerLevels:
    """The parts of m.room.power_levels that the reader needs.

    ``users`` maps user id to power level; ``redact`` is the level needed to
    remove other people's events, which Commonplace treats as moderating.
    """

    room_id: str
    users: dict[str, int]
    users_default: int
    redact: int


@dataclass(frozen=True, slots=True)
class DirectRooms:
    """The user's m.direct account data: each person's direct rooms, validated.

    ``rooms`` maps a user id to the room ids that the user's clients marked
    as direct rooms with that person, in the order the server gave them.
    """

    rooms: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class DirectInvite:
    """An invitation marked ``is_direct``, from inviter to invitee, to a direct room."""

    room_id: str
    invitee: str
    inviter: str


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: str
    display_name: str | None
    avatar_url: str | None
    title: str | None = None
    department: str | None = None
    location: str | None = None
    pronouns: str | None = None
    skills: tuple[str, ...] = ()
    ask_me_about: tuple[str, ...] = ()
    bio: str | None = None


@dataclass(slots=True)
class RoomBatch:
    """The records of one room from one sync response or back-fill, in timeline order.

    ``items`` contains RawEvent and the records above; the store gives each event
    a position in the order of this list. The counts are the server's;
    ``unread_count`` and ``highlight_count`` include the threads' counts.
    """

    room_id: str
    membership: str
    items: list = field(default_factory=list)
    unread_count: int | None = None
    highlight_count: int | None = None
    joined_member_count: int | None = None
    # The server's (notification count, highlight count) per thread root, or
    # None when the response carried no counts for the room.
    thread_counts: dict[str, tuple[int, int]] | None = None


@dataclass(slots=True)
class Changes:
    """The rows a write changed, so views can re-read just those."""

    rooms: set[str] = field(default_factory=set)
    spaces: bool = False
    discussions: set[str] = field(default_factory=set)
    people: set[str] = field(default_factory=set)
    senders: set[str] = field(default_factory=set)
    # True when items of the outbox were added, changed state or removed.
    outbox: bool = False
    # True when a draft was saved or deleted.
    drafts: bool = False
    # Rooms whose file transfers (uploads, downloads, offline copies) changed.
    transfers: set[str] = field(default_factory=set)
    # Rooms whose pins or join requests changed.
    administration: set[str] = field(default_factory=set)

    def merge(self, other: "Changes") -> None:
        self.rooms |= other.rooms
        self.spaces = self.spaces or other.spaces
        self.discussions |= other.discussions
        self.people |= other.people
        self.senders |= other.senders
        self.outbox = self.outbox or other.outbox
        self.drafts = self.drafts or other.drafts
        self.transfers |= other.transfers
        self.administration |= other.administration

    def __bool__(self) -> bool:
        return bool(
            self.rooms
            or self.spaces
            or self.discussions
            or self.people
            or self.outbox
            or self.drafts
            or self.transfers
            or self.administration
        )
