"""Notification settings on a real Synapse: space levels as push rules."""

import asyncio

import pytest

from app.notification_rules import ALL_POSTS, MENTIONS_AND_REPLIES, NOTHING
from app.notification_settings import (
    load_do_not_disturb,
    load_space_levels,
    save_do_not_disturb,
    set_space_level,
)
from app.session import AppSession
from tests.other_client import OtherClient
from tests.ui.builders import Session

pytestmark = pytest.mark.synapse


def rules_by_room(other: OtherClient, kind: str) -> dict[str, list]:
    rules = other.call("GET", "/pushrules/")["global"][kind]
    return {rule["rule_id"]: rule["actions"] for rule in rules if not rule["default"]}


def test_space_level_round_trips_as_push_rules(tmp_path, synapse, make_user):
    user = make_user("levels")
    other = OtherClient(synapse.base_url, user.access_token, user.user_id)
    try:
        space, board = other.create_space_with_board("Data Guild")

        async def scenario():
            session = AppSession(
                Session(
                    homeserver_url=synapse.base_url,
                    user_id=user.user_id,
                    device_id=user.device_id,
                    access_token=user.access_token,
                ),
                store_path=tmp_path / "cache.sqlite3",
            )
            try:
                await session.sync.sync_once()
                conn = session.store.reader()
                results = {}
                for level in (NOTHING, ALL_POSTS, MENTIONS_AND_REPLIES):
                    await set_space_level(session.client, conn, space, level)
                    results[level] = (
                        rules_by_room(other, "override"),
                        rules_by_room(other, "room"),
                        await load_space_levels(session.client, conn, [space]),
                    )
                return results
            finally:
                await session.close()

        results = asyncio.run(scenario())
    finally:
        other.close()

    overrides, rooms, levels = results[NOTHING]
    assert overrides == {space: [], board: []}
    assert rooms == {}
    assert levels == {space: NOTHING}

    overrides, rooms, levels = results[ALL_POSTS]
    assert overrides == {}
    assert rooms == {space: ["notify"], board: ["notify"]}
    assert levels == {space: ALL_POSTS}

    overrides, rooms, levels = results[MENTIONS_AND_REPLIES]
    assert overrides == {}
    assert rooms == {}
    assert levels == {}


def test_do_not_disturb_round_trips(tmp_path, synapse, make_user):
    user = make_user("quiet")

    async def scenario():
        session = AppSession(
            Session(
                homeserver_url=synapse.base_url,
                user_id=user.user_id,
                device_id=user.device_id,
                access_token=user.access_token,
            ),
            store_path=tmp_path / "cache.sqlite3",
        )
        try:
            before = await load_do_not_disturb(session.client, user.user_id)
            await save_do_not_disturb(session.client, user.user_id, 2_000_000_000.5)
            during = await load_do_not_disturb(session.client, user.user_id)
            await save_do_not_disturb(session.client, user.user_id, None)
            after = await load_do_not_disturb(session.client, user.user_id)
            return before, during, after
        finally:
            await session.close()

    before, during, after = asyncio.run(scenario())
    assert before is None
    assert during == 2_000_000_000.5
    assert after is None
