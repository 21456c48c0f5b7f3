"""Follows on a real Synapse: account data that every sign-in of the user reads."""

import asyncio

import pytest

from app.follows import FOLLOWS_EVENT, is_following, set_following
from app.session import AppSession
from app.store.activity import FOLLOWING, StreamFilter, read_stream
from tests.other_client import OtherClient
from tests.ui.builders import Session

pytestmark = pytest.mark.synapse


def test_follow_reaches_second_sign_in(tmp_path, synapse, make_user):
    author = make_user("followauthor")
    user = make_user("follower")
    author_client = OtherClient(synapse.base_url, author.access_token, author.user_id)
    user_client = OtherClient(synapse.base_url, user.access_token, user.user_id)
    try:
        space, board = author_client.create_space_with_board(
            "Data Guild", invite=[user.user_id]
        )
        user_client.join(space)
        user_client.join(board)
        root = author_client.discussion(board, "Release plan")
        author_client.reply(board, root, "Ships Friday")

        def sign_in(name: str) -> AppSession:
            return AppSession(
                Session(
                    homeserver_url=synapse.base_url,
                    user_id=user.user_id,
                    device_id=user.device_id,
                    access_token=user.access_token,
                ),
                store_path=tmp_path / f"{name}.sqlite3",
            )

        async def scenario():
            first, second = sign_in("first"), sign_in("second")
            try:
                await first.sync.sync_once()
                await second.sync.sync_once()
                before = is_following(second.store.reader(), user.user_id, root)
                await set_following(first.client, first.store, user.user_id, root, True)
                changes = await second.sync.sync_once()
                conn = second.store.reader()
                page = read_stream(conn, user.user_id, StreamFilter(FOLLOWING))
                followed = (
                    before,
                    root in changes.discussions,
                    is_following(conn, user.user_id, root),
                    [(item.kind, item.title) for item in page.items],
                )

                await set_following(
                    second.client, second.store, user.user_id, root, False
                )
                await first.sync.sync_once()
                unfollowed = is_following(first.store.reader(), user.user_id, root)
                return followed, unfollowed
            finally:
                await first.close()
                await second.close()

        followed, unfollowed = asyncio.run(scenario())
        stored = user_client.call(
            "GET", f"/user/{user.user_id}/account_data/{FOLLOWS_EVENT}"
        )
    finally:
        author_client.close()
        user_client.close()

    before, announced, following, items = followed
    assert before is False
    assert announced is True
    assert following is True
    assert items == [("reply", "Release plan"), ("discussion", "Release plan")]
    assert unfollowed is False
    assert stored == {"follow": [], "unfollow": [root]}
