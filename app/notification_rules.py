"""Which new activity items become desktop notifications, and with what text.

A pure module: it reads no cache and sends nothing. The notifier gathers the
new items with the facts the rules need (Candidate), the user's settings
and read positions, and shows what decide() returns.

Rules, in order:

- Only posts notify: discussions, questions, announcements and replies.
  Likes, files, accepted answers, joins and profile changes never do.
- The user's own posts never notify, whichever device sent them.
- A post at or before the user's read position in its room or discussion
  does not notify, so what was read on another device stays quiet.
- A post in a direct room notifies like a mention: it is addressed to the
  user. Direct rooms belong to no space, so only the level of no space ("")
  can mute them.
- Each space has a level. NOTHING mutes it. MENTIONS_AND_REPLIES (the
  default) notifies for mentions, replies to the user's posts, new posts in
  discussions the user follows and new announcements. ALL_POSTS adds every
  other new discussion, question and reply.
- More than BURST_LIMIT notifications within BURST_WINDOW_SECONDS (a sync
  catching up after being offline) become one summary notification.
- While do-not-disturb is on, nothing is shown, but the notifications are
  returned as collected so that a panel can list them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.store.activity import StreamItem

# Levels of a space.
ALL_POSTS = "all"
MENTIONS_AND_REPLIES = "mentions"
NOTHING = "nothing"
LEVELS = (ALL_POSTS, MENTIONS_AND_REPLIES, NOTHING)
DEFAULT_LEVEL = MENTIONS_AND_REPLIES

# Reasons an item notifies, strongest first.
DIRECT = "direct"
MENTION = "mention"
REPLY_TO_USER = "reply_to_user"
FOLLOWED = "followed"
ANNOUNCEMENT = "announcement"
NEW_POST = "new_post"

# Notifications shown one by one within BURST_WINDOW_SECONDS at most; past
# that, the new ones are put together in one summary.
BURST_LIMIT = 3
BURST_WINDOW_SECONDS = 10.0
# Discussion titles listed in a summary's body, at most.
SUMMARY_TITLES = 3

NOTIFYING_KINDS = ("discussion", "question", "announcement", "reply")
# A read position after every post: nothing there is unread.
READ_EVERYTHING = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A new stream item with the facts about it that the rules need.

    mentions_user: the post mentions the user. replies_to_user: a reply in a
    discussion the user started, or one quoting the user's post.
    in_followed_discussion: the post belongs to a discussion the user follows.
    in_direct_room: the post is in a direct room (a conversation with one person).
    """

    item: StreamItem
    mentions_user: bool = False
    replies_to_user: bool = False
    in_followed_discussion: bool = False
    in_direct_room: bool = False


@dataclass(frozen=True, slots=True)
class ReadPositions:
    """The user's read positions, as origin_server_ts in milliseconds.

    rooms maps a room id to the position of an unthreaded receipt, which
    covers the whole room, threads included. main maps a room id to the
    position in its main timeline, where discussions start. threads maps a
    discussion (thread root) id to the position among its replies. A post is
    read when its time is at or before a position that covers it.
    READ_EVERYTHING marks a room, timeline or thread with nothing unread.
    """

    rooms: Mapping[str, int] = field(default_factory=dict)
    main: Mapping[str, int] = field(default_factory=dict)
    threads: Mapping[str, int] = field(default_factory=dict)

    def is_read(self, item: StreamItem) -> bool:
        position = self.rooms.get(item.room_id)
        if position is not None and item.ts <= position:
            return True
        if item.kind == "reply":
            position = self.threads.get(item.discussion_id or "")
        else:
            position = self.main.get(item.room_id)
        return position is not None and item.ts <= position


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification to show: plain-text title and body, and what a click opens.

    A summary has several items and no discussion: a click opens Home.
    For one item, discussion_id is the discussion to open and event_id the
    post to scroll to.
    """

    title: str
    body: str
    reason: str
    items: tuple[StreamItem, ...]
    room_id: str | None = None
    discussion_id: str | None = None
    event_id: str | None = None

    @property
    def is_summary(self) -> bool:
        return len(self.items) > 1 or self.discussion_id is None


@dataclass(slots=True)
class Decision:
    """The notifications to show now, and those that do-not-disturb held back for the panel."""

    shown: list[Notification] = field(default_factory=list)
    collected: list[Notification] = field(default_factory=list)
    # The notifications that a summary in shown stands for.
    summarised: list[Notification] = field(default_factory=list)

    @property
    def notified_items(self) -> int:
        """Return how many items the shown notifications cover."""
        return sum(len(notification.items) for notification in self.shown)


def decide(
    candidates: Sequence[Candidate],
    *,
    user_id: str,
    levels: Mapping[str, str],
    read_positions: ReadPositions,
    do_not_disturb: bool = False,
    recent: Sequence[float] = (),
    now: float = 0.0,
) -> Decision:
    """Return the notifications for candidates, newest last.

    levels maps a space id to its level; spaces not in it have DEFAULT_LEVEL.
    recent holds the times (seconds, any clock that now also uses) at which
    earlier items were notified, one entry per item.
    """
    notifications = []
    for candidate in sorted(candidates, key=lambda c: (c.item.ts, c.item.id)):
        notification = notification_for(
            candidate, user_id=user_id, levels=levels, read_positions=read_positions
        )
        if notification is not None:
            notifications.append(notification)
    if not notifications:
        return Decision()
    if do_not_disturb:
        return Decision(collected=notifications)
    in_window = sum(1 for when in recent if now - when < BURST_WINDOW_SECONDS)
    if in_window + len(notifications) > BURST_LIMIT:
        return Decision(shown=[summary(notifications)], summarised=notifications)
    return Decision(shown=notifications)


def notification_for(
    candidate: Candidate,
    *,
    user_id: str,
    levels: Mapping[str, str],
    read_positions: ReadPositions,
) -> Notification | None:
    """Return the notification of one candidate, or None when it stays quiet."""
    item = candidate.item
    if item.kind not in NOTIFYING_KINDS or item.discussion_id is None:
        return None
    if item.actor == user_id:
        return None
    if read_positions.is_read(item):
        return None
    level = levels.get(item.space_id or "", DEFAULT_LEVEL)
    if level not in LEVELS:
        level = DEFAULT_LEVEL
    reason = _reason(candidate)
    if level == NOTHING:
        return None
    if reason == NEW_POST and level != ALL_POSTS:
        return None
    return Notification(
        title=_title(item, reason),
        body=_body(item),
        reason=reason,
        items=(item,),
        room_id=item.room_id,
        discussion_id=item.discussion_id,
        event_id=item.post_id or item.discussion_id,
    )


def summary(notifications: Sequence[Notification]) -> Notification:
    """Put notifications together in one.

    Its title reads like "7 new posts in Data Guild and 2 other spaces".
    """
    items = tuple(item for notification in notifications for item in notification.items)
    places = [
        _place(item, notification.reason)
        for notification in notifications
        for item in notification.items
    ]
    spaces = Counter(places)
    # The space with the most posts is named; ties go to the newest post's.
    newest_first = places[::-1]
    busiest = max(spaces, key=lambda name: (spaces[name], -newest_first.index(name)))
    count = len(items)
    title = f"{count} new {'post' if count == 1 else 'posts'} in {busiest}"
    others = len(spaces) - 1
    if others == 1:
        title += " and 1 other space"
    elif others > 1:
        title += f" and {others} other spaces"

    titles: list[str] = []
    for item in reversed(items):
        if item.title and item.title not in titles:
            titles.append(item.title)
    body = "\n".join(titles[:SUMMARY_TITLES])
    if len(titles) > SUMMARY_TITLES:
        body += f"\nand {len(titles) - SUMMARY_TITLES} more"
    reasons = {notification.reason for notification in notifications}
    strongest = next(
        (
            reason
            for reason in (DIRECT, MENTION, REPLY_TO_USER, FOLLOWED, ANNOUNCEMENT)
            if reason in reasons
        ),
        NEW_POST,
    )
    return Notification(title=title, body=body, reason=strongest, items=items)


def _reason(candidate: Candidate) -> str:
    if candidate.in_direct_room:
        return DIRECT
    if candidate.mentions_user:
        return MENTION
    if candidate.replies_to_user:
        return REPLY_TO_USER
    if candidate.in_followed_discussion:
        return FOLLOWED
    if candidate.item.kind == "announcement":
        return ANNOUNCEMENT
    return NEW_POST


def _place(item: StreamItem, reason: str) -> str:
    if reason == DIRECT:
        return "direct messages"
    return item.space_name or item.room_name or "a space"


def _title(item: StreamItem, reason: str) -> str:
    who = item.actor_name or item.actor
    place = _place(item, reason)
    if reason == DIRECT:
        return f"Message from {who}"
    if reason == MENTION:
        return f"{who} mentioned you in {place}"
    if item.kind == "reply":
        return f"{who} replied in {place}"
    if item.kind == "announcement":
        return f"{who} posted an announcement in {place}"
    if item.kind == "question":
        return f"{who} asked a question in {place}"
    return f"{who} started a discussion in {place}"


def _body(item: StreamItem) -> str:
    """Return the discussion's title, then the post's excerpt, as plain text."""
    excerpt = item.excerpt
    # A discussion's body starts with its title, for clients without titles.
    if item.title and excerpt.startswith(item.title):
        excerpt = excerpt[len(item.title) :].strip()
    lines = [line for line in (item.title, excerpt) if line]
    return "\n".join(lines)
