"""Which new activity items become desktop notifications, one rule per test."""

import itertools

from app.notification_rules import (
    ALL_POSTS,
    ANNOUNCEMENT,
    BURST_WINDOW_SECONDS,
    DIRECT,
    FOLLOWED,
    MENTION,
    MENTIONS_AND_REPLIES,
    NEW_POST,
    NOTHING,
    READ_EVERYTHING,
    REPLY_TO_USER,
    Candidate,
    ReadPositions,
    decide,
)
from app.store.activity import StreamItem

ME = "@me:example.org"
ANA = "@ana:example.org"
GUILD = "!guild:example.org"
GUILD_BOARD = "!guild-board:example.org"
ROOT = "$root"

_ids = itertools.count(1)


def post(
    kind="reply",
    *,
    actor=ANA,
    ts=1_000,
    room_id=GUILD_BOARD,
    space_id=GUILD,
    space_name="Data Guild",
    discussion_id=ROOT,
    title="Kubernetes tips",
    excerpt="Try kubectl rollout",
) -> StreamItem:
    number = next(_ids)
    event_id = f"$event{number}"
    if kind != "reply" and discussion_id == ROOT:
        # A discussion, question or announcement is its own discussion.
        discussion_id = event_id
    return StreamItem(
        id=number,
        kind=kind,
        event_id=event_id,
        room_id=room_id,
        actor=actor,
        actor_name="Ana Lima" if actor == ANA else actor,
        ts=ts,
        target_id=event_id,
        discussion_id=discussion_id,
        post_id=event_id if kind == "reply" else None,
        title=title,
        excerpt=excerpt,
        space_name=space_name,
        space_id=space_id,
    )


def run(candidates, **options):
    settings = {
        "user_id": ME,
        "levels": {},
        "read_positions": ReadPositions(),
    }
    settings.update(options)
    return decide(candidates, **settings)


def test_mention_notifies_with_title():
    item = post()
    decision = run([Candidate(item, mentions_user=True)])
    assert len(decision.shown) == 1
    shown = decision.shown[0]
    assert shown.title == "Ana Lima mentioned you in Data Guild"
    assert shown.body == "Kubernetes tips\nTry kubectl rollout"
    assert shown.reason == MENTION
    assert (shown.room_id, shown.discussion_id, shown.event_id) == (
        GUILD_BOARD,
        ROOT,
        item.event_id,
    )


DIRECT_ROOM = "!direct-ana:example.org"


def direct_message(**fields) -> StreamItem:
    """A plain message in a direct room, which belongs to no space."""
    options = {
        "room_id": DIRECT_ROOM,
        "space_id": DIRECT_ROOM,
        "space_name": "",
        "title": "Lunch on Friday?",
        "excerpt": "Lunch on Friday? The usual place.",
    }
    options.update(fields)
    return post("discussion", **options)


def test_direct_message_notifies_at_default_level():
    decision = run([Candidate(direct_message(), in_direct_room=True)])
    assert [n.reason for n in decision.shown] == [DIRECT]
    shown = decision.shown[0]
    assert shown.title == "Message from Ana Lima"
    assert shown.body == "Lunch on Friday?\nThe usual place."
    assert shown.room_id == DIRECT_ROOM


def test_direct_message_mentioning_user_is_still_a_message():
    decision = run(
        [Candidate(direct_message(), in_direct_room=True, mentions_user=True)]
    )
    assert [n.title for n in decision.shown] == ["Message from Ana Lima"]


def test_muted_direct_room_stays_quiet():
    decision = run(
        [Candidate(direct_message(), in_direct_room=True)],
        levels={DIRECT_ROOM: NOTHING},
    )
    assert decision.shown == []


def test_own_direct_message_stays_quiet():
    mine = direct_message(actor=ME)
    assert run([Candidate(mine, in_direct_room=True)]).shown == []


def test_summary_names_direct_messages():
    candidates = [
        Candidate(direct_message(ts=1_000 + n), in_direct_room=True) for n in range(4)
    ]
    candidates.append(Candidate(post(ts=2_000), mentions_user=True))
    decision = run(candidates)
    assert [n.title for n in decision.shown] == [
        "5 new posts in direct messages and 1 other space"
    ]
    assert decision.shown[0].reason == DIRECT


def test_reply_to_own_post_notifies():
    decision = run([Candidate(post(), replies_to_user=True)])
    assert [n.title for n in decision.shown] == ["Ana Lima replied in Data Guild"]
    assert decision.shown[0].reason == REPLY_TO_USER


def test_followed_discussion_post_notifies():
    decision = run([Candidate(post(), in_followed_discussion=True)])
    assert [n.reason for n in decision.shown] == [FOLLOWED]


def test_announcement_notifies_at_default_level():
    decision = run([Candidate(post("announcement", title="Office closed"))])
    assert [n.title for n in decision.shown] == [
        "Ana Lima posted an announcement in Data Guild"
    ]
    assert decision.shown[0].reason == ANNOUNCEMENT


def test_own_posts_never_notify():
    # Sent from another device, the post still has the user as its sender.
    mine = post(actor=ME)
    decision = run([Candidate(mine, mentions_user=True, replies_to_user=True)])
    assert decision.shown == []
    assert decision.collected == []


def test_muted_space_stays_quiet():
    candidates = [
        Candidate(post(), mentions_user=True),
        Candidate(post("announcement")),
    ]
    decision = run(candidates, levels={GUILD: NOTHING})
    assert decision.shown == []


def test_unfollowed_discussion_below_level_stays_quiet():
    decision = run([Candidate(post()), Candidate(post("discussion"))])
    assert decision.shown == []


def test_all_posts_level_notifies_new_posts():
    candidates = [Candidate(post()), Candidate(post("question", title="Why?"))]
    decision = run(candidates, levels={GUILD: ALL_POSTS})
    assert [n.reason for n in decision.shown] == [NEW_POST, NEW_POST]
    assert decision.shown[1].title == "Ana Lima asked a question in Data Guild"


def test_level_is_per_space():
    other = post(space_id="!other:example.org", room_id="!other-board:example.org")
    decision = run(
        [Candidate(post()), Candidate(other)],
        levels={GUILD: ALL_POSTS, "!other:example.org": MENTIONS_AND_REPLIES},
    )
    assert [n.items[0].room_id for n in decision.shown] == [GUILD_BOARD]


def test_membership_and_profile_changes_stay_quiet():
    kinds = ("join", "profile", "like", "file", "answer")
    candidates = [
        Candidate(post(kind, discussion_id=None), mentions_user=True) for kind in kinds
    ]
    decision = run(candidates, levels={GUILD: ALL_POSTS})
    assert decision.shown == []


def test_posts_before_room_read_position_stay_quiet():
    read = post(ts=1_000)
    unread = post(ts=2_000)
    decision = run(
        [Candidate(read, mentions_user=True), Candidate(unread, mentions_user=True)],
        read_positions=ReadPositions(rooms={GUILD_BOARD: 1_000}),
    )
    assert [n.items[0] for n in decision.shown] == [unread]


def test_replies_read_in_thread_stay_quiet():
    # Read on another device while this one was offline: the thread's
    # receipt (or the user's own later reply) is past the post.
    decision = run(
        [Candidate(post(ts=5_000), replies_to_user=True)],
        read_positions=ReadPositions(threads={ROOT: 6_000}),
    )
    assert decision.shown == []


def test_other_thread_read_position_ignored():
    decision = run(
        [Candidate(post(ts=5_000), replies_to_user=True)],
        read_positions=ReadPositions(threads={"$elsewhere": 6_000}),
    )
    assert len(decision.shown) == 1


def test_main_timeline_position_covers_new_discussions():
    positions = ReadPositions(main={GUILD_BOARD: READ_EVERYTHING})
    started = post("announcement", ts=5_000)
    reply = post(ts=5_000)
    decision = run(
        [Candidate(started), Candidate(reply, replies_to_user=True)],
        read_positions=positions,
    )
    # The main timeline's position says nothing about the threads' replies.
    assert [n.items[0] for n in decision.shown] == [reply]


def test_burst_becomes_one_summary():
    spaces = [
        ("!a:x", "Data Guild"),
        ("!a:x", "Data Guild"),
        ("!a:x", "Data Guild"),
        ("!a:x", "Data Guild"),
        ("!b:x", "Platform"),
        ("!c:x", "Design"),
        ("!a:x", "Data Guild"),
    ]
    candidates = [
        Candidate(
            post(ts=1_000 + n, space_id=space, space_name=name, title=f"Topic {n}"),
            mentions_user=True,
        )
        for n, (space, name) in enumerate(spaces)
    ]
    decision = run(candidates)
    assert len(decision.shown) == 1
    shown = decision.shown[0]
    assert shown.title == "7 new posts in Data Guild and 2 other spaces"
    assert shown.is_summary
    assert shown.discussion_id is None
    assert shown.body == "Topic 6\nTopic 5\nTopic 4\nand 4 more"
    assert decision.notified_items == 7


def test_three_notifications_shown_one_by_one():
    candidates = [Candidate(post(ts=n), mentions_user=True) for n in range(3)]
    decision = run(candidates)
    assert len(decision.shown) == 3
    assert not any(n.is_summary for n in decision.shown)


def test_recent_notifications_count_toward_burst():
    candidates = [Candidate(post(ts=n), mentions_user=True) for n in range(2)]
    decision = run(candidates, recent=[100.0, 101.0], now=105.0)
    assert len(decision.shown) == 1
    assert decision.shown[0].title == "2 new posts in Data Guild"


def test_old_notifications_leave_burst_window():
    candidates = [Candidate(post(ts=n), mentions_user=True) for n in range(2)]
    long_ago = 100.0 - BURST_WINDOW_SECONDS
    decision = run(candidates, recent=[long_ago, long_ago], now=100.0)
    assert len(decision.shown) == 2


def test_summary_of_one_other_space():
    candidates = [
        Candidate(post(ts=n, space_id=space, space_name=name), mentions_user=True)
        for n, (space, name) in enumerate(
            [("!a:x", "Data Guild")] * 3 + [("!b:x", "Platform")]
        )
    ]
    decision = run(candidates)
    assert decision.shown[0].title == "4 new posts in Data Guild and 1 other space"


def test_do_not_disturb_collects_instead():
    candidates = [
        Candidate(post(), mentions_user=True),
        Candidate(post(), replies_to_user=True),
        Candidate(post()),  # below the level: neither shown nor collected
    ]
    decision = run(candidates, do_not_disturb=True)
    assert decision.shown == []
    assert [n.reason for n in decision.collected] == [MENTION, REPLY_TO_USER]


def test_discussion_excerpt_drops_repeated_title():
    item = post("announcement", title="Office closed", excerpt="Office closed Friday")
    decision = run([Candidate(item)])
    assert decision.shown[0].body == "Office closed\nFriday"
