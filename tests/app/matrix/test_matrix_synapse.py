"""MatrixClient against the real test Synapse: login, tokens, profiles, sync, media."""

import asyncio
import io

import pytest
from PIL import Image

from app.matrix import (
    AuthExpired,
    InvalidCredentials,
    MatrixClient,
    NotFound,
    TooLarge,
)
from devtools.synapse import unique_localpart

pytestmark = pytest.mark.synapse

PASSWORD = "correct horse battery staple"


@pytest.fixture
def account(synapse):
    localpart = unique_localpart("client")
    user_id = synapse.register(localpart, PASSWORD)
    return localpart, user_id


async def _login(base_url, user, password=PASSWORD, device_id=None):
    async with MatrixClient(base_url) as client:
        return await client.login_password(user, password, device_id=device_id)


def test_login_wrong_password_is_invalid_credentials(synapse, account):
    localpart, _ = account

    with pytest.raises(InvalidCredentials) as caught:
        asyncio.run(_login(synapse.base_url, localpart, "wrong password"))

    assert caught.value.status == 403
    assert caught.value.errcode == "M_FORBIDDEN"
    assert caught.value.message == (
        "The user name or password is incorrect. Check both and try again."
    )


def test_login_unknown_user_is_invalid_credentials(synapse):
    with pytest.raises(InvalidCredentials):
        asyncio.run(_login(synapse.base_url, unique_localpart("nobody")))


def test_login_returns_working_token(synapse, account):
    localpart, user_id = account

    async def main():
        result = await _login(synapse.base_url, localpart)
        async with MatrixClient(result.homeserver_url, result.access_token) as client:
            return result, await client.whoami()

    result, whoami = asyncio.run(main())

    assert result.user_id == user_id
    assert result.access_token
    assert result.homeserver_url == synapse.base_url
    assert whoami["user_id"] == user_id
    assert whoami["device_id"] == result.device_id


def test_login_with_full_user_id_and_same_device(synapse, account):
    localpart, user_id = account

    first = asyncio.run(_login(synapse.base_url, user_id))
    second = asyncio.run(_login(synapse.base_url, localpart, device_id=first.device_id))

    assert second.device_id == first.device_id
    assert second.access_token != first.access_token


def test_token_logged_out_elsewhere_is_auth_expired(synapse, account):
    localpart, _ = account

    async def main():
        result = await _login(synapse.base_url, localpart)
        async with MatrixClient(synapse.base_url, result.access_token) as other:
            await other.logout()
        async with MatrixClient(synapse.base_url, result.access_token) as client:
            await client.whoami()

    with pytest.raises(AuthExpired) as caught:
        asyncio.run(main())

    assert caught.value.status == 401
    assert caught.value.errcode == "M_UNKNOWN_TOKEN"
    assert caught.value.soft_logout is False


def test_token_revoked_by_logout_all_is_auth_expired(synapse, account):
    localpart, _ = account

    async def main():
        first = await _login(synapse.base_url, localpart)
        second = await _login(synapse.base_url, localpart)
        async with MatrixClient(synapse.base_url, second.access_token) as other:
            await other.request("POST", "/_matrix/client/v3/logout/all", json={})
        async with MatrixClient(synapse.base_url, first.access_token) as client:
            await client.sync(since=None, timeout_ms=0, filter=None, max_attempts=1)

    with pytest.raises(AuthExpired):
        asyncio.run(main())


def test_profile_field_round_trip(synapse, account):
    localpart, user_id = account

    async def main():
        result = await _login(synapse.base_url, localpart)
        async with MatrixClient(synapse.base_url, result.access_token) as client:
            await client.set_profile_field(user_id, "displayname", "Ada L.")
            await client.set_profile_field(user_id, "app.commonplace.title", "Engineer")
            return await client.get_profile(user_id)

    profile = asyncio.run(main())

    assert profile["displayname"] == "Ada L."
    assert profile["app.commonplace.title"] == "Engineer"


def test_get_profile_of_unknown_user_is_not_found(synapse, account):
    localpart, _ = account

    async def main():
        result = await _login(synapse.base_url, localpart)
        async with MatrixClient(synapse.base_url, result.access_token) as client:
            await client.get_profile(
                f"@{unique_localpart('ghost')}:{synapse.server_name}"
            )

    with pytest.raises(NotFound):
        asyncio.run(main())


def test_sync_with_uploaded_filter_and_messages(synapse, account):
    localpart, user_id = account

    async def main():
        result = await _login(synapse.base_url, localpart)
        async with MatrixClient(synapse.base_url, result.access_token) as client:
            room = await client.request(
                "POST", "/_matrix/client/v3/createRoom", json={}, max_attempts=1
            )
            room_id = room["room_id"]
            await client.request(
                "PUT",
                f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/txn1",
                json={"msgtype": "m.text", "body": "hello"},
            )
            filter_id = await client.upload_filter(
                user_id, {"room": {"timeline": {"limit": 1}}}
            )
            sync = await client.sync(since=None, timeout_ms=0, filter=filter_id)
            timeline = sync["rooms"]["join"][room_id]["timeline"]
            page = await client.messages(
                room_id, from_token=timeline["prev_batch"], limit=50
            )
            return sync, timeline, page

    sync, timeline, page = asyncio.run(main())

    assert isinstance(sync["next_batch"], str)
    assert len(timeline["events"]) == 1
    assert timeline["limited"] is True
    assert any(event["type"] == "m.room.create" for event in page["chunk"])


def test_media_round_trip_with_limits(synapse, account):
    localpart, _ = account
    picture = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 30, 30)).save(picture, format="PNG")

    async def main():
        result = await _login(synapse.base_url, localpart)
        async with MatrixClient(synapse.base_url, result.access_token) as client:
            uri = await client.upload_media(picture.getvalue(), "image/png", "red.png")
            original = await client.download_media(uri, max_bytes=1_000_000)
            thumbnail = await client.download_thumbnail(uri, 32, 32)
            with pytest.raises(TooLarge):
                await client.download_media(uri, max_bytes=10)
            return uri, original, thumbnail

    uri, original, thumbnail = asyncio.run(main())

    assert uri.startswith(f"mxc://{synapse.server_name}/")
    assert original == (picture.getvalue(), "image/png")
    assert thumbnail[1].startswith("image/")
    assert len(thumbnail[0]) < len(picture.getvalue())
