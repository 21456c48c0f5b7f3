"""The size limit of app.compose against the limit of a real Synapse."""

import asyncio

import pytest

from app import compose
from app.matrix import MatrixClient, TooLarge
from app.matrix.room_events import send_event
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse


def _content_of_size(size: int) -> dict:
    content = {"msgtype": "m.text", "body": ""}
    content["body"] = "a" * (size - compose.content_size(content))
    assert compose.content_size(content) == size
    return content


def test_content_at_limit_accepted_over_rejected(synapse, make_user):
    user = make_user("size")
    other = OtherClient(synapse.base_url, user.access_token, user.user_id)
    room = other.create_room("Size limit")
    other.close()

    async def send(content, txn_id):
        async with MatrixClient(synapse.base_url, user.access_token) as client:
            return await send_event(
                client, room, "m.room.message", txn_id, content, max_attempts=1
            )

    accepted = asyncio.run(send(_content_of_size(compose.MAX_CONTENT_BYTES), "at"))
    assert accepted.startswith("$")
    with pytest.raises(TooLarge):
        asyncio.run(send(_content_of_size(compose.MAX_EVENT_BYTES), "over"))
