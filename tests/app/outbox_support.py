"""Shared pieces of the outbox tests: a board to post in, and the server's view.

What the server stored is read as another client would, with /messages, so
that the tests count events on the server, not rows in the cache.
"""

import asyncio
import json
import time
import urllib.parse
from collections.abc import Callable

import httpx

from app import namespace as ns
from app.account import Session
from app.outbox_worker import OutboxState
from app.session import AppSession
from devtools.synapse import unique_localpart
from tests.conftest import TEST_PASSWORD
from tests.other_client import OtherClient


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def register(server, prefix: str, *, device_id: str | None = None) -> Session:
    """Register a user on server and sign in; return the Session the app uses."""
    localpart = unique_localpart(prefix)
    server.register(localpart, TEST_PASSWORD)
    user_id, token, device = server.login(localpart, TEST_PASSWORD, device_id)
    return Session(server.base_url, user_id, device, token)


def sign_in_again(server, session: Session) -> Session:
    """Sign in with the same device id, as the app does after a sign-out."""
    localpart = session.user_id[1:].split(":", 1)[0]
    user_id, token, device = server.login(localpart, TEST_PASSWORD, session.device_id)
    return Session(server.base_url, user_id, device, token)


def make_board(server, owner: Session, *members: Session) -> tuple[str, str]:
    """Create a space with a board that members may post questions in."""
    client = OtherClient(server.base_url, owner.access_token, owner.user_id)
    invite = [member.user_id for member in members]
    space, board = client.create_space_with_board("Guild", invite=invite)
    levels = client.call("GET", f"/rooms/{quote(board)}/state/m.room.power_levels/")
    levels.setdefault("events", {})[ns.ACCEPTED_ANSWER_EVENT] = 0
    client.state(board, "m.room.power_levels", levels)
    client.close()
    for member in members:
        joiner = OtherClient(server.base_url, member.access_token, member.user_id)
        joiner.join(space)
        joiner.join(board)
        joiner.close()
    return space, board


def server_events(
    server, session: Session, room_id: str, types=("m.room.message",)
) -> list[dict]:
    """Return the room's events of types on the server, oldest first."""
    client = OtherClient(server.base_url, session.access_token, session.user_id)
    events: list[dict] = []
    params = {
        "dir": "b",
        "limit": 1000,
        "filter": json.dumps({"types": list(types), "lazy_load_members": True}),
    }
    try:
        while True:
            page = client.call(
                "GET", f"/rooms/{quote(room_id)}/messages", params=params
            )
            events.extend(page.get("chunk", []))
            if not page.get("chunk") or "end" not in page:
                break
            params["from"] = page["end"]
    finally:
        client.close()
    events.reverse()
    return events


def client_ids(events: list[dict]) -> list[str]:
    return [
        event["content"][ns.CLIENT_ID_KEY]
        for event in events
        if ns.CLIENT_ID_KEY in event.get("content", {})
    ]


def open_session(session: Session, store_path, **options) -> AppSession:
    return AppSession(session, store_path=store_path, **options)


async def wait_for(
    condition: Callable[[], bool], timeout: float = 60.0, interval: float = 0.05
):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def worker_idle(app_session: AppSession) -> Callable[[], bool]:
    """Return a check that the worker has nothing left to send."""

    def idle() -> bool:
        status = app_session.outbox_worker.last_status
        return (
            status is not None
            and status.state is OutboxState.IDLE
            and status.queued == 0
        )

    return idle


class LosingTransport(httpx.AsyncBaseTransport):
    """Forwards requests to the server, but loses the response of some sends.

    lose(request) decides per request; a lost response reaches the client as a
    dropped connection after the server has stored the event. Every request
    path is recorded in paths.
    """

    def __init__(self, lose: Callable[[httpx.Request], bool] = lambda request: False):
        self.inner = httpx.AsyncHTTPTransport()
        self.lose = lose
        self.paths: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append((request.method, request.url.path))
        response = await self.inner.handle_async_request(request)
        if self.lose(request):
            await response.aread()
            await response.aclose()
            raise httpx.RemoteProtocolError("connection lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def sends(self) -> list[str]:
        return [path for method, path in self.paths if method == "PUT"]

    def lookups(self) -> list[str]:
        return [path for method, path in self.paths if path.endswith("/messages")]
