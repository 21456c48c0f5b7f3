"""Roles, moderation and pins of group spaces against a real Synapse."""

import asyncio

import nio
import pytest

from app.spaces import SpaceActionError
from app.store import queries, space_queries
from tests.app.test_spaces_synapse import commonplace, no_back_off, other, quote
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.synapse

__all__ = ["no_back_off"]


@pytest.fixture
def owner(make_user):
    return make_user("owner", displayname="Olga Owner")


@pytest.fixture
def bob(make_user):
    return make_user("bob", displayname="Bob Builder")


@pytest.fixture
def cleo(make_user):
    return make_user("cleo", displayname="Cleo Clerk")


def post_as(synapse, user, room_id: str, title: str) -> str:
    """Start a discussion as user through another client; return its event id."""
    client = other(synapse, user)
    try:
        return client.discussion(room_id, title)
    finally:
        client.close()


async def joined_space(creator, member, name="Data Guild"):
    """Create a public space as creator, join it as member, and sync both."""
    space_id = await creator.spaces.create(name, visibility="public")
    await member.spaces.join(space_id)
    await creator.sync.sync_once()
    await member.sync.sync_once()
    board = next(r.room_id for r in creator.spaces.space_home(space_id).boards)
    return space_id, board


def test_member_without_power_gets_plain_errors(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id, board = await joined_space(creator, member)
            post = post_as(synapse, owner, board, "Roadmap")
            await member.sync.sync_once()
            messages = {}
            actions = {
                "pin": member.spaces.pin(board, post),
                "invite": member.spaces.invite(space_id, "@someone:localhost"),
                "remove_post": member.spaces.remove_post(board, post),
                "set_role": member.spaces.set_role(space_id, bob.user_id, "owner"),
                "remove_member": member.spaces.remove_member(space_id, owner.user_id),
            }
            for name, action in actions.items():
                with pytest.raises(SpaceActionError) as failure:
                    await action
                messages[name] = failure.value.message
            return board, messages

    board, messages = asyncio.run(scenario())

    assert messages == {
        "pin": "Only moderators can pin items in Data Guild.",
        "invite": "Only moderators can invite people to Data Guild.",
        "remove_post": "Only moderators can remove posts in Discussions.",
        "set_role": "Only owners can change roles in Data Guild.",
        "remove_member": "Only moderators can remove people from Data Guild.",
    }
    client = other(synapse, owner)
    try:
        levels = client.call("GET", f"/rooms/{quote(board)}/state/m.room.power_levels/")
        pins = client.http.get(
            f"/_matrix/client/v3/rooms/{quote(board)}/state/m.room.pinned_events/"
        )
    finally:
        client.close()
    assert bob.user_id not in levels.get("users", {})
    assert pins.status_code == 404


def test_roles_apply_to_space_and_rooms(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id, board = await joined_space(creator, member)
            before = creator.spaces.role(space_id, bob.user_id)
            await creator.spaces.set_role(space_id, bob.user_id, "moderator")
            after = {
                room: creator.spaces.role(room, bob.user_id)
                for room in [
                    space_id,
                    *(
                        r.room_id
                        for r in creator.spaces.space_home(space_id).boards
                        + creator.spaces.space_home(space_id).files_areas
                    ),
                ]
            }
            await member.sync.sync_once()
            seen_by_member = member.spaces.role(board, bob.user_id)
            with pytest.raises(SpaceActionError) as failure:
                await member.spaces.set_role(space_id, owner.user_id, "member")
            home = creator.spaces.space_home(space_id)
            await creator.spaces.set_role(space_id, bob.user_id, "member")
            demoted = creator.spaces.role(board, bob.user_id)
            return before, after, seen_by_member, failure.value.message, home, demoted

    before, after, seen_by_member, refusal, home, demoted = asyncio.run(scenario())

    assert before == "member"
    assert set(after.values()) == {"moderator"}
    assert len(after) == 3
    assert seen_by_member == "moderator"
    assert refusal == "Only owners can change roles in Data Guild."
    assert [(m.user_id, m.role) for m in home.members] == [
        (owner.user_id, "owner"),
        (bob.user_id, "moderator"),
    ]
    assert demoted == "member"


def test_creator_role_cannot_change(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id, _board = await joined_space(creator, member)
            await creator.spaces.set_role(space_id, bob.user_id, "owner")
            await member.sync.sync_once()
            with pytest.raises(SpaceActionError) as failure:
                await member.spaces.set_role(space_id, owner.user_id, "member")
            return failure.value.message, member.spaces.role(space_id, owner.user_id)

    message, role = asyncio.run(scenario())

    assert message == (
        "Olga Owner created Data Guild, so they stay an owner. Their role cannot "
        "be changed."
    )
    assert role == "owner"


def test_pins_shared_with_nio(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id, board = await joined_space(creator, member)
            poster = other(synapse, bob)
            first = poster.discussion(board, "Where is the style guide?")
            second = poster.discussion(board, "Welcome, read this first")
            poster.close()
            await creator.sync.sync_once()
            await creator.spaces.pin(board, second)
            await creator.spaces.pin(board, first)
            await creator.spaces.pin(board, first)
            pinned = creator.spaces.pinned(space_id)

            client = nio.AsyncClient(synapse.base_url, bob.user_id)
            await client.login(TEST_PASSWORD, device_name="nio pins")
            state = await client.room_get_state_event(board, "m.room.pinned_events")
            await client.close()

            await member.sync.sync_once()
            seen_by_member = member.spaces.space_home(space_id).pinned
            await creator.spaces.unpin(board, second)
            after_unpin = creator.spaces.pinned(space_id)
            return first, second, pinned, state, seen_by_member, after_unpin

    first, second, pinned, state, seen_by_member, after_unpin = asyncio.run(scenario())

    assert isinstance(state, nio.RoomGetStateEventResponse), state
    assert state.content == {"pinned": [second, first]}
    assert [(item.event_id, item.kind, item.title) for item in pinned] == [
        (second, "discussion", "Welcome, read this first"),
        (first, "discussion", "Where is the style guide?"),
    ]
    assert {item.pinned_by for item in pinned} == {owner.user_id}
    assert pinned[0].pinned_by_name == "Olga Owner"
    assert pinned[0].room_name == "Discussions"
    assert [item.event_id for item in seen_by_member] == [second, first]
    assert [item.event_id for item in after_unpin] == [first]


def test_demoted_moderator_level_written(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id, _board = await joined_space(creator, member)
            await creator.spaces.set_role(space_id, bob.user_id, "moderator")
            await creator.spaces.set_role(space_id, bob.user_id, "member")
            home = creator.spaces.space_home(space_id)
            rooms = [r.room_id for r in home.boards + home.files_areas]
            return [space_id, *rooms]

    rooms = asyncio.run(scenario())

    client = other(synapse, owner)
    try:
        users = {
            room_id: client.call(
                "GET", f"/rooms/{quote(room_id)}/state/m.room.power_levels/"
            )["users"]
            for room_id in rooms
        }
    finally:
        client.close()
    assert len(users) == 3
    for room_id in rooms:
        # Written as 0, not removed, so that clients merging the users map
        # (matrix-nio 0.26) read the demotion too.
        assert users[room_id][bob.user_id] == 0, room_id


@pytest.mark.parametrize("stored", ["abc", {"$a": 1}, 7, ["$x:localhost", 42, "ab"]])
def test_pin_over_invalid_pinned_list(synapse, owner, bob, tmp_path, stored):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id, board = await joined_space(creator, member)
            post = post_as(synapse, bob, board, "Read this first")
            client = other(synapse, owner)
            client.state(board, "m.room.pinned_events", {"pinned": stored})
            client.close()
            await creator.sync.sync_once()
            before = creator.spaces.pinned(space_id)
            await creator.spaces.pin(board, post)
            pinned = creator.spaces.pinned(space_id)
            await creator.spaces.unpin(board, post)
            return board, post, before, pinned

    board, post, before, pinned = asyncio.run(scenario())

    client = other(synapse, owner)
    try:
        state = client.call("GET", f"/rooms/{quote(board)}/state/m.room.pinned_events/")
    finally:
        client.close()
    kept = ["$x:localhost"] if isinstance(stored, list) else []
    assert [item.event_id for item in before] == kept
    assert [item.event_id for item in pinned] == [*kept, post]
    assert state == {"pinned": kept}


def test_moderator_removes_post(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            _space_id, board = await joined_space(creator, member)
            post = post_as(synapse, bob, board, "Buy cheap watches")
            await creator.sync.sync_once()
            await creator.spaces.remove_post(board, post, "Spam")
            cached = queries.get_discussion_post(creator.store.reader(), post)
            await creator.sync.sync_once()
            return board, post, cached

    board, post, cached = asyncio.run(scenario())

    assert cached.redacted
    assert cached.body == ""
    client = other(synapse, bob)
    try:
        event = client.call("GET", f"/rooms/{quote(board)}/event/{quote(post)}")
    finally:
        client.close()
    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["content"]["reason"] == "Spam"


def test_removed_post_is_unpinned(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            _space_id, board = await joined_space(creator, member)
            kept = post_as(synapse, bob, board, "House rules")
            removed = post_as(synapse, bob, board, "Old rules")
            await creator.sync.sync_once()
            await creator.spaces.pin(board, kept)
            await creator.spaces.pin(board, removed)
            await creator.spaces.remove_post(board, removed, "Out of date")
            return board, kept

    board, kept = asyncio.run(scenario())

    client = other(synapse, bob)
    try:
        state = client.call("GET", f"/rooms/{quote(board)}/state/m.room.pinned_events/")
    finally:
        client.close()
    assert state == {"pinned": [kept]}


def test_invite_unknown_user_rejected(synapse, owner, tmp_path):
    async def scenario():
        async with commonplace(synapse.base_url, owner, tmp_path) as creator:
            space_id = await creator.spaces.create("Invite Guild", visibility="invite")
            with pytest.raises(SpaceActionError) as failure:
                await creator.spaces.invite(space_id, "@nobody-at-all:localhost")
            return space_id, failure.value.message

    space_id, message = asyncio.run(scenario())

    assert message == (
        "There is no user @nobody-at-all:localhost. Check the user id and try again."
    )
    client = other(synapse, owner)
    try:
        member = client.http.get(
            f"/_matrix/client/v3/rooms/{quote(space_id)}/state/m.room.member/"
            f"{quote('@nobody-at-all:localhost')}"
        )
    finally:
        client.close()
    assert member.status_code == 404


def test_invitation_listed_then_cancelled(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as invitee,
        ):
            space_id = await creator.spaces.create("Invite Guild", visibility="invite")
            await creator.spaces.invite(space_id, bob.user_id)
            await creator.sync.sync_once()
            invited = creator.spaces.space_home(space_id).invited
            await creator.spaces.cancel_invite(space_id, bob.user_id)
            await creator.sync.sync_once()
            after = creator.spaces.space_home(space_id).invited
            with pytest.raises(SpaceActionError) as failure:
                await creator.spaces.cancel_invite(space_id, bob.user_id)
            await invitee.sync.sync_once()
            with pytest.raises(SpaceActionError):
                await invitee.spaces.accept_invite(space_id)
            return space_id, invited, after, failure.value.message

    space_id, invited, after, message = asyncio.run(scenario())

    assert [(person.user_id, person.display_name) for person in invited] == [
        (bob.user_id, "Bob Builder")
    ]
    assert after == []
    assert message == (
        "Bob Builder has no open invitation to Invite Guild; they may have "
        "accepted or declined it already."
    )
    client = other(synapse, owner)
    try:
        member = client.call(
            "GET", f"/rooms/{quote(space_id)}/state/m.room.member/{quote(bob.user_id)}"
        )
    finally:
        client.close()
    assert member["membership"] == "leave"


def test_removed_discussion_loses_replies(synapse, owner, bob, cleo, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            _space_id, board = await joined_space(creator, member)
            cleo_client = other(synapse, cleo)
            cleo_client.join(board)
            post = post_as(synapse, bob, board, "Buy cheap watches")
            poster = other(synapse, bob)
            cached_reply = poster.reply(board, post, "Really cheap")
            await creator.sync.sync_once()
            cached_before = space_queries.thread_reply_ids(creator.store.reader(), post)
            # Sent after the moderator's last sync: only the server lists it.
            server_reply = cleo_client.reply(board, post, "Where?")
            other_post = poster.discussion(board, "Lunch on Friday")
            kept_reply = poster.reply(board, other_post, "Count me in")
            poster.close()
            cleo_client.close()
            await creator.spaces.remove_post(board, post, "Spam")
            reader = creator.store.reader()
            cached = (cached_before, space_queries.thread_reply_ids(reader, post))
            # Removing again, as a retry after an error would, raises nothing.
            await creator.spaces.remove_post(board, post, "Spam")
            return board, [post, cached_reply, server_reply], kept_reply, cached

    board, removed, kept_reply, cached = asyncio.run(scenario())

    client = other(synapse, bob)
    try:
        events = {
            event_id: client.call(
                "GET", f"/rooms/{quote(board)}/event/{quote(event_id)}"
            )
            for event_id in [*removed, kept_reply]
        }
    finally:
        client.close()
    for event_id in removed:
        assert events[event_id]["content"] == {}, event_id
        because = events[event_id]["unsigned"]["redacted_because"]
        assert because["content"]["reason"] == "Spam", event_id
    assert events[kept_reply]["content"]["body"] == "Count me in"
    assert cached == ([removed[1]], [])


def test_remove_member_from_space_and_rooms(synapse, owner, bob, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
        ):
            space_id, _board = await joined_space(creator, member)
            await creator.spaces.remove_member(space_id, bob.user_id, "Left the team")
            await creator.sync.sync_once()
            return creator.spaces.space_home(space_id)

    home = asyncio.run(scenario())

    assert [member.user_id for member in home.members] == [owner.user_id]
    client = other(synapse, bob)
    try:
        assert client.call("GET", "/joined_rooms")["joined_rooms"] == []
    finally:
        client.close()


def test_space_home_lists_rooms_files_and_requests(synapse, owner, bob, cleo, tmp_path):
    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as creator,
            commonplace(synapse.base_url, bob, tmp_path) as member,
            commonplace(synapse.base_url, cleo, tmp_path) as knocker,
        ):
            space_id = await creator.spaces.create(
                "Home Guild", topic="All about homes", visibility="knock"
            )
            await creator.spaces.invite(space_id, bob.user_id)
            await member.sync.sync_once()
            await member.spaces.accept_invite(space_id)
            await knocker.spaces.knock(space_id, "Hello")
            home = creator.spaces.space_home(space_id)
            files = next(room.room_id for room in home.files_areas)
            uploader = other(synapse, bob)
            names = [f"report-{number}.pdf" for number in range(7)]
            for name in names:
                uploader.send(
                    files,
                    {
                        "msgtype": "m.file",
                        "body": name,
                        "url": "mxc://localhost/abcdef",
                        "info": {"mimetype": "application/pdf", "size": 10},
                    },
                )
            uploader.close()
            await creator.sync.sync_once()
            await member.sync.sync_once()
            return (
                names,
                creator.spaces.space_home(space_id),
                member.spaces.space_home(space_id),
            )

    names, home, member_home = asyncio.run(scenario())

    assert (home.name, home.topic, home.join_rule) == (
        "Home Guild",
        "All about homes",
        "knock",
    )
    assert home.member_count == 2
    assert [(m.display_name, m.role) for m in home.members] == [
        ("Olga Owner", "owner"),
        ("Bob Builder", "member"),
    ]
    assert [file.name for file in home.recent_files] == names[:-6:-1]
    assert home.recent_files[0].sender_name == "Bob Builder"
    assert home.join_request_count == 1
    assert home.own_role == "owner"
    assert member_home.own_role == "member"
    assert member_home.join_request_count == 0
