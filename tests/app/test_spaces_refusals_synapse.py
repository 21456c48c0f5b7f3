"""Errors and refusal details for people turned away from a space, on a real Synapse."""

import asyncio

import pytest

from app.spaces import JoinRefusal, SpaceActionError
from devtools.synapse import unique_localpart
from tests.app.test_spaces_synapse import commonplace, no_back_off, other, quote

pytestmark = pytest.mark.synapse

__all__ = ["no_back_off"]


@pytest.fixture
def owner(make_user):
    return make_user("owner", displayname="Olga Owner")


@pytest.fixture
def bob(make_user):
    return make_user("bob", displayname="Bob Builder")


@pytest.mark.parametrize("visibility", ["knock", "public"])
def test_banned_user_told_of_ban(synapse, owner, bob, tmp_path, visibility):
    name = f"Ban {unique_localpart('club')}"

    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as mod,
            commonplace(synapse.base_url, bob, tmp_path) as banned,
        ):
            space_id = await mod.spaces.create(name, visibility=visibility)
            client = other(synapse, owner)
            client.call(
                "POST",
                f"/rooms/{quote(space_id)}/ban",
                json={"user_id": bob.user_id, "reason": "Spam"},
            )
            client.close()
            await banned.sync.sync_once()
            messages = {}
            for action in ("knock", "join"):
                with pytest.raises(SpaceActionError) as failure:
                    await getattr(banned.spaces, action)(space_id)
                messages[action] = failure.value.message
            refusal = await banned.spaces.join_refusal(space_id)
            return messages, refusal

    messages, refusal = asyncio.run(scenario())

    expected = (
        f"A moderator has banned you from {name}, so you cannot join it or ask "
        "to join it. Only its moderators can lift the ban."
    )
    assert messages["knock"] == expected
    assert messages["join"] == expected
    assert refusal == JoinRefusal(banned=True, reason=None, moderator_id=None)


def test_refused_request_reason_in_directory(synapse, owner, bob, tmp_path):
    name = f"Refusing {unique_localpart('club')}"

    async def scenario():
        async with (
            commonplace(synapse.base_url, owner, tmp_path) as mod,
            commonplace(synapse.base_url, bob, tmp_path) as knocker,
        ):
            space_id = await mod.spaces.create(name, visibility="knock")
            await knocker.sync.sync_once()
            await knocker.spaces.knock(space_id, "Please let me in")
            await mod.sync.sync_once()
            await mod.spaces.refuse_request(
                space_id, bob.user_id, "Members only\x1b[31m \u202eclub"
            )
            await knocker.sync.sync_once()
            page = await knocker.spaces.browse(name)
            refusal = await knocker.spaces.join_refusal(space_id)
            # Withdrawing one's own request is no refusal.
            await knocker.spaces.knock(space_id, "Again")
            await knocker.spaces.leave(space_id)
            withdrawn = await knocker.spaces.join_refusal(space_id)
            return space_id, page, refusal, withdrawn

    space_id, page, refusal, withdrawn = asyncio.run(scenario())

    [entry] = [entry for entry in page.entries if entry.room_id == space_id]
    expected = JoinRefusal(
        banned=False, reason="Members only[31m club", moderator_id=owner.user_id
    )
    assert entry.membership == "leave"
    assert entry.refusal == expected
    assert refusal == expected
    assert withdrawn is None
