"""Records of space administration that the sync makes and the store writes.

They extend ``app.records`` with the state that moderation needs: pins,
knocks, the rest of m.room.power_levels and the restricted join rule's allow
list. Every field is already validated.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PinnedEvents:
    """A room's m.room.pinned_events: the pinned event ids, in order."""

    room_id: str
    sender: str | None
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Knock:
    """A knock membership: a request by user_id to join room_id."""

    room_id: str
    user_id: str
    reason: str | None
    ts: int | None


@dataclass(frozen=True, slots=True)
class PowerLevelRules:
    """The levels of m.room.power_levels that PowerLevels lacks.

    ``events`` maps an event type to the level needed to send it; a type
    not listed needs ``state_default`` (state events) or ``events_default``.
    """

    room_id: str
    invite: int
    kick: int
    ban: int
    state_default: int
    events_default: int
    events: dict[str, int]


@dataclass(frozen=True, slots=True)
class JoinRuleAllow:
    """The rooms whose members may join room_id under the restricted join rule."""

    room_id: str
    allowed_room_ids: tuple[str, ...]
