"""Creating a space while the server stops responding, against a real Synapse."""

import asyncio
import os
import signal
import time
from types import SimpleNamespace

import pytest

from app.spaces import SpaceActionError
from devtools.synapse import unique_localpart
from tests.app.test_spaces_synapse import commonplace, other, room_types
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.synapse

# The creation's limits give about 30 s (app.space_create); the rest is slack
# for a loaded test machine.
OFFLINE_WITHIN_SECONDS = 40


def test_create_on_hung_server_fails_fast(restartable_synapse, tmp_path):
    server = restartable_synapse
    localpart = unique_localpart("owner")
    server.register(localpart, TEST_PASSWORD)
    user_id, token, _device = server.login(localpart, TEST_PASSWORD)
    owner = SimpleNamespace(user_id=user_id, localpart=localpart, access_token=token)

    async def scenario():
        async with commonplace(server.base_url, owner, tmp_path) as me:
            # SIGSTOP keeps the socket open, so requests are accepted and get
            # no response, as with a hung server.
            os.kill(server.pid, signal.SIGSTOP)
            started = time.monotonic()
            try:
                with pytest.raises(SpaceActionError) as failure:
                    await me.spaces.create("Offline Space", visibility="public")
                elapsed = time.monotonic() - started
            finally:
                os.kill(server.pid, signal.SIGCONT)
            space_id = await me.spaces.create("Offline Space", visibility="public")
            return (
                failure.value.message,
                elapsed,
                space_id,
                me.spaces.space_home(space_id),
            )

    message, elapsed, space_id, home = asyncio.run(scenario())

    assert message.startswith("Commonplace is offline. Creating Offline Space needs")
    assert elapsed < OFFLINE_WITHIN_SECONDS, f"{elapsed:.1f} s"
    client = other(server, owner)
    try:
        types = room_types(client)
    finally:
        client.close()
    # The createRoom that the stopped server received ran once it resumed,
    # and the second call finished that space instead of making another.
    assert [room for room, kind in types.items() if kind == "m.space"] == [space_id]
    assert len(types) == 3
    assert len(home.boards) == 1
    assert len(home.files_areas) == 1


def test_cancelled_create_stops_and_resumes(restartable_synapse, tmp_path):
    server = restartable_synapse
    localpart = unique_localpart("owner")
    server.register(localpart, TEST_PASSWORD)
    user_id, token, _device = server.login(localpart, TEST_PASSWORD)
    owner = SimpleNamespace(user_id=user_id, localpart=localpart, access_token=token)

    async def scenario():
        async with commonplace(server.base_url, owner, tmp_path) as me:
            os.kill(server.pid, signal.SIGSTOP)
            try:
                creating = asyncio.ensure_future(
                    me.spaces.create("Cancel Test", visibility="public")
                )
                await asyncio.sleep(1)
                cancelled = me.spaces.cancel_create("Cancel Test", "public")
                with pytest.raises(SpaceActionError) as failure:
                    await creating
                again = me.spaces.cancel_create("Cancel Test", "public")
            finally:
                os.kill(server.pid, signal.SIGCONT)
            unfinished = me.spaces.unfinished_creations()
            space_id = await me.spaces.create("Cancel Test", visibility="public")
            return cancelled, again, failure.value.message, unfinished, space_id

    cancelled, again, message, unfinished, space_id = asyncio.run(scenario())

    assert cancelled
    assert not again
    assert message.startswith("Creating Cancel Test was cancelled.")
    assert [item.name for item in unfinished] == ["Cancel Test"]
    client = other(server, owner)
    try:
        types = room_types(client)
    finally:
        client.close()
    assert [room for room, kind in types.items() if kind == "m.space"] == [space_id]
    assert len(types) == 3
