"""The cache's pins, join requests, roles and space home, without a server."""

import pytest

from app.store import Store, space_queries, space_store
from app.store.writes import apply_sync
from tests.factories import member, room_batch, space_batch, state

SPACE = "!space:test"
BOARD = "!board:test"
FILES = "!files:test"
OWNER = "@olga:test"
MOD = "@mo:test"
KIM = "@kim:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


def write(store, *batches):
    return store.write_blocking(apply_sync, list(batches), None)


def pins(*event_ids, sender=MOD):
    return state("m.room.pinned_events", {"pinned": list(event_ids)}, sender=sender)


def pinned_rows(store):
    rows = store.reader().execute(
        "SELECT event_id, pinned_by FROM pinned_events WHERE room_id = ? ORDER BY seq",
        (BOARD,),
    )
    return [tuple(row) for row in rows]


def test_first_single_pin_credited_to_sender(store):
    changes = write(store, room_batch(BOARD, [pins("$a")]))
    assert pinned_rows(store) == [("$a", MOD)]
    assert changes.administration == {BOARD}


def test_first_list_of_several_pins_unattributed(store):
    write(store, room_batch(BOARD, [pins("$a", "$b")]))
    assert pinned_rows(store) == [("$a", None), ("$b", None)]


def test_later_pin_credited_and_earlier_kept(store):
    write(store, room_batch(BOARD, [pins("$a", sender=OWNER)]))
    write(store, room_batch(BOARD, [pins("$a", "$b", sender=MOD)]))
    write(store, room_batch(BOARD, [pins("$b", sender=OWNER)]))
    assert pinned_rows(store) == [("$b", MOD)]


def test_pins_cleared_then_added_again_credited(store):
    write(store, room_batch(BOARD, [pins("$a", "$b")]))
    write(store, room_batch(BOARD, [pins()]))
    write(store, room_batch(BOARD, [pins("$a", "$c", sender=OWNER)]))
    assert pinned_rows(store) == [("$a", OWNER), ("$c", OWNER)]


def knock(user_id, reason="Hello"):
    content = {"membership": "knock", "reason": reason}
    return state("m.room.member", content, state_key=user_id, sender=user_id)


def test_knock_listed_until_invited(store):
    write(store, room_batch(SPACE, [state("m.room.create", {"type": "m.space"})]))
    changes = write(store, room_batch(SPACE, timeline=[knock(KIM)]))
    requests = space_queries.join_requests(store.reader(), SPACE)
    assert [(r.user_id, r.reason) for r in requests] == [(KIM, "Hello")]
    assert changes.administration == {SPACE}

    changes = write(
        store, room_batch(SPACE, timeline=[member(KIM, membership="invite")])
    )
    assert space_queries.join_requests(store.reader(), SPACE) == []
    assert changes.administration == {SPACE}


def test_refused_knock_dropped(store):
    write(store, room_batch(SPACE, timeline=[knock(KIM)]))
    write(store, room_batch(SPACE, timeline=[member(KIM, membership="leave")]))
    assert space_queries.join_requests(store.reader(), SPACE) == []


def test_forget_join_request(store):
    write(store, room_batch(SPACE, timeline=[knock(KIM)]))
    changes = store.write_blocking(space_store.forget_join_request, SPACE, KIM)
    assert space_queries.join_requests(store.reader(), SPACE) == []
    assert changes.administration == {SPACE}


def levels(users, **rules):
    return state("m.room.power_levels", {"users": users, **rules})


def test_roles_from_levels_and_creators(store):
    create = state("m.room.create", {"room_version": "12"}, sender=OWNER)
    write(store, room_batch(BOARD, [create, levels({MOD: 50, "@top:test": 100})]))
    conn = store.reader()
    assert space_queries.role(conn, BOARD, OWNER) == "owner"
    assert space_queries.role(conn, BOARD, "@top:test") == "owner"
    assert space_queries.role(conn, BOARD, MOD) == "moderator"
    assert space_queries.role(conn, BOARD, KIM) == "member"


def test_old_room_version_creator_needs_levels(store):
    create = state("m.room.create", {"room_version": "10"}, sender=OWNER)
    write(store, room_batch(BOARD, [create, levels({})]))
    assert space_queries.role(store.reader(), BOARD, OWNER) == "member"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("invite", 30),
        ("kick", 60),
        ("ban", 50),
        ("redact", 40),
        ("state:m.room.pinned_events", 70),
        ("state:m.room.topic", 45),
        ("event:m.room.message", 5),
    ],
)
def test_required_levels(store, action, expected):
    rules = {
        "invite": 30,
        "kick": 60,
        "redact": 40,
        "state_default": 45,
        "events_default": 5,
        "events": {"m.room.pinned_events": 70},
    }
    write(store, room_batch(BOARD, [levels({}, **rules)]))
    assert space_queries.required_level(store.reader(), BOARD, action) == expected


def test_required_levels_default_without_levels(store):
    conn = store.reader()
    assert space_queries.required_level(conn, BOARD, "invite") == 0
    assert space_queries.required_level(conn, BOARD, "kick") == 50
    assert space_queries.required_level(conn, BOARD, "state:m.room.pinned_events") == 50


def test_space_home_sorts_members_and_splits_rooms(store):
    write(
        store,
        space_batch(SPACE, "Data Guild", [BOARD, FILES]),
        room_batch(
            SPACE,
            [
                levels({OWNER: 100, MOD: 50}),
                member(KIM, "Aaron Kim"),
                member(MOD, "Mo"),
                member(OWNER, "Olga"),
                member("@zed:test", "Zed"),
            ],
        ),
        room_batch(BOARD, [state("m.room.name", {"name": "Questions"})]),
        room_batch(
            FILES,
            [
                state("m.room.name", {"name": "Shared files"}),
                state("app.commonplace.room", {"kind": "files"}),
            ],
        ),
    )
    home = space_queries.space_home(store.reader(), SPACE, MOD)
    assert [(m.display_name, m.role) for m in home.members] == [
        ("Olga", "owner"),
        ("Mo", "moderator"),
        ("Aaron Kim", "member"),
        ("Zed", "member"),
    ]
    assert [room.name for room in home.boards] == ["Questions"]
    assert [room.name for room in home.files_areas] == ["Shared files"]
    assert home.own_role == "moderator"
    assert home.member_count == 4


def test_space_home_unknown_space(store):
    assert space_queries.space_home(store.reader(), SPACE, MOD) is None


def test_pinned_items_skip_deleted_and_mark_unknown(store):
    from tests.factories import discussion, event

    post = discussion(KIM, "Style guide")
    gone = discussion(KIM, "Old news")
    redaction = event(MOD, {}, type="m.room.redaction", redacts=gone["event_id"])
    write(
        store,
        room_batch(
            BOARD,
            [pins(post["event_id"], gone["event_id"], "$missing")],
            timeline=[post, gone, redaction],
        ),
    )
    items = space_queries.pinned(store.reader(), [BOARD])
    assert [(item.event_id, item.kind, item.title) for item in items] == [
        (post["event_id"], "discussion", "Style guide"),
        ("$missing", "unknown", "(not loaded yet)"),
    ]


def test_permissions_follow_levels(store):
    rules = {
        "invite": 0,
        "events": {"m.room.pinned_events": 50, "m.room.power_levels": 100},
    }
    write(store, room_batch(BOARD, [levels({OWNER: 100, MOD: 50}, **rules)]))
    conn = store.reader()
    assert space_queries.permissions(conn, BOARD, OWNER) == space_queries.Permissions(
        invite=True, remove_members=True, remove_posts=True, pin=True, change_roles=True
    )
    assert space_queries.permissions(conn, BOARD, MOD) == space_queries.Permissions(
        invite=True,
        remove_members=True,
        remove_posts=True,
        pin=True,
        change_roles=False,
    )
    assert space_queries.permissions(conn, BOARD, KIM) == space_queries.Permissions(
        invite=True,
        remove_members=False,
        remove_posts=False,
        pin=False,
        change_roles=False,
    )


def test_leaving_keeps_rooms_of_other_space(store):
    other_space = "!other:test"
    write(
        store,
        space_batch(SPACE, "Data Guild", [BOARD, FILES]),
        space_batch(other_space, "Ops Guild", [BOARD]),
        room_batch(BOARD),
        room_batch(FILES),
    )
    assert space_queries.rooms_left_with_space(store.reader(), SPACE) == [FILES]


def test_leaving_takes_rooms_of_left_other_space(store):
    other_space = "!other:test"
    left_space = space_batch(other_space, "Ops Guild", [BOARD])
    left_space.membership = "leave"
    write(
        store,
        space_batch(SPACE, "Data Guild", [BOARD]),
        left_space,
        room_batch(BOARD),
    )
    assert space_queries.rooms_left_with_space(store.reader(), SPACE) == [BOARD]
