"""Profile edits sent through the outbox to a real Synapse.

What the server stored is read back with GET /profile, by matrix-nio as
another client and by Commonplace's own reader, so the tests check the
server's copy, not rows in the cache.
"""

import asyncio
import io
import json
import os
import urllib.parse

import httpx
import nio
import pytest
from PIL import Image

from app import namespace as ns
from app.matrix import http
from app.outbox_worker import OutboxState
from app.profile_edit import (
    ProfileEditor,
    ProfileFields,
    ProfileRejected,
    is_local_avatar,
    own_profile,
)
from app.sync.translate import parse_profile
from tests.app.outbox_support import open_session, register, wait_for, worker_idle
from tests.conftest import TEST_PASSWORD
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse

BIO = (
    "<p>Hello & <b>welcome</b></p>\n\n"
    "Right to left: مرحبا بالعالم, שלום עולם.\n"
    "Emoji: 👩🏽‍🔬 🧪 🇪🇺 and a joiner‍s.\n"
) + "Long text. " * 200
FULL = ProfileFields(
    display_name="Ada <i>Lovelace</i> 👩‍💻",
    title="مهندسة بيانات",
    department="R&D <Ops>",
    location="São Paulo 🌎",
    pronouns="she/her",
    skills=tuple(f"{i:02d} <skill> " + "x" * 88 for i in range(50)),
    ask_me_about=("Kubernetes", "עברית", "日本語", "🎻"),
    bio=BIO[:1999] + ".",
)


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    # Retries while the server is down wait at most a second, not 30.
    monkeypatch.setattr(http, "BACKOFF_CAP", 1.0)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards requests and records those that got a response.

    responded lists (method, path, JSON body) of each request that got a
    response, so a request the server never received is not counted.
    """

    def __init__(self):
        self.inner = httpx.AsyncHTTPTransport()
        self.responded: list[tuple[str, str, object]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = request.content
        is_json = request.headers.get("content-type") == "application/json"
        decoded = json.loads(body) if is_json and body else None
        path = urllib.parse.unquote(request.url.path)
        self.responded.append((request.method, path, decoded))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def profile_writes(self) -> list[tuple[str, str, object]]:
        return [
            (method, path.rsplit("/", 1)[1], body)
            for method, path, body in self.responded
            if "/profile/" in path and method in ("PUT", "DELETE")
        ]


def localpart(session) -> str:
    """Return the user's localpart, which Synapse sets as a new user's name."""
    return session.user_id[1:].split(":", 1)[0]


async def nio_profile(server, session) -> nio.ProfileGetResponse:
    """Return session's user's profile as matrix-nio reads it, signed in apart."""
    client = nio.AsyncClient(server.base_url, session.user_id)
    try:
        login = await client.login(TEST_PASSWORD, device_name="nio profile reader")
        assert isinstance(login, nio.LoginResponse), login
        response = await client.get_profile(session.user_id)
        assert isinstance(response, nio.ProfileGetResponse), response
        return response
    finally:
        await client.close()


def test_every_field_round_trips(synapse, tmp_path):
    me = register(synapse, "profile")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        editor = ProfileEditor(app.outbox, me.user_id)
        editor.save(FULL)
        report = await app.outbox_worker.drain()
        shown = own_profile(app.store.reader(), me.user_id)
        fetched = parse_profile(me.user_id, await app.client.get_profile(me.user_id))
        seen_by_nio = await nio_profile(synapse, me)
        await app.close()
        return report, shown, fetched, seen_by_nio

    report, shown, fetched, seen_by_nio = asyncio.run(asyncio.wait_for(scenario(), 120))

    assert (report.sent, report.failed) == (8, 0)
    assert shown == (FULL, None, False)
    assert seen_by_nio.displayname == FULL.display_name
    assert seen_by_nio.other_info[ns.PROFILE_TITLE] == FULL.title
    assert seen_by_nio.other_info[ns.PROFILE_DEPARTMENT] == FULL.department
    assert seen_by_nio.other_info[ns.PROFILE_LOCATION] == FULL.location
    assert seen_by_nio.other_info[ns.PROFILE_PRONOUNS] == FULL.pronouns
    assert seen_by_nio.other_info[ns.PROFILE_SKILLS] == list(FULL.skills)
    assert seen_by_nio.other_info[ns.PROFILE_ASK_ME_ABOUT] == list(FULL.ask_me_about)
    assert seen_by_nio.other_info[ns.PROFILE_BIO] == FULL.bio
    assert len(FULL.bio) == 2000
    assert fetched.display_name == FULL.display_name
    assert fetched.title == FULL.title
    assert fetched.skills == FULL.skills
    assert fetched.ask_me_about == FULL.ask_me_about
    assert fetched.bio == FULL.bio


def test_emptied_fields_removed(synapse, tmp_path):
    me = register(synapse, "emptied")
    emptied = ProfileFields(
        FULL.display_name, "", FULL.department, "", "", (), FULL.ask_me_about, ""
    )

    async def scenario():
        recording = RecordingTransport()
        app = open_session(me, tmp_path / "cache.sqlite3", transport=recording)
        editor = ProfileEditor(app.outbox, me.user_id)
        editor.save(FULL)
        await app.outbox_worker.drain()
        recording.responded.clear()
        editor.save(emptied)
        report = await app.outbox_worker.drain()
        stored = await app.client.get_profile(me.user_id)
        shown = own_profile(app.store.reader(), me.user_id)
        await app.close()
        return report, recording.profile_writes(), stored, shown

    report, writes, stored, shown = asyncio.run(asyncio.wait_for(scenario(), 120))

    assert (report.sent, report.failed) == (5, 0)
    assert sorted(method for method, _key, _body in writes) == ["DELETE"] * 5
    for key in (
        ns.PROFILE_TITLE,
        ns.PROFILE_LOCATION,
        ns.PROFILE_PRONOUNS,
        ns.PROFILE_SKILLS,
        ns.PROFILE_BIO,
    ):
        assert key not in stored
    assert stored[ns.PROFILE_DEPARTMENT] == FULL.department
    assert shown == (emptied, None, False)


def _png() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (128, 128), (30, 120, 200)).save(picture, format="PNG")
    return picture.getvalue()


def test_avatar_uploaded_set_and_removed(synapse, tmp_path):
    me = register(synapse, "avatar")
    image = _png()

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        editor = ProfileEditor(app.outbox, me.user_id)
        editor.set_avatar(image, "image/png")
        waiting = own_profile(app.store.reader(), me.user_id)[1]
        first = await app.outbox_worker.drain()
        after_upload = own_profile(app.store.reader(), me.user_id)
        seen_by_nio = await nio_profile(synapse, me)
        editor.remove_avatar()
        second = await app.outbox_worker.drain()
        after_removal = await app.client.get_profile(me.user_id)
        await app.close()
        return waiting, first, after_upload, seen_by_nio, second, after_removal

    waiting, first, after_upload, seen_by_nio, second, after_removal = asyncio.run(
        asyncio.wait_for(scenario(), 120)
    )

    assert is_local_avatar(waiting)
    assert (first.sent, first.failed) == (1, 0)
    avatar_url = seen_by_nio.avatar_url
    assert avatar_url.startswith(f"mxc://{synapse.server_name}/")
    assert after_upload[1:] == (avatar_url, False)
    assert not os.path.exists(waiting)
    reader = OtherClient(synapse.base_url, me.access_token, me.user_id)
    media_id = avatar_url.rsplit("/", 1)[1]
    download = reader.http.get(
        f"/_matrix/client/v1/media/download/{synapse.server_name}/{media_id}"
    )
    reader.close()
    assert download.status_code == 200
    assert download.content == image
    assert (second.sent, second.failed) == (1, 0)
    assert "avatar_url" not in after_removal


def test_offline_edits_sent_after_restart(restartable_synapse, tmp_path):
    server = restartable_synapse
    me = register(server, "offline")
    path = tmp_path / "cache.sqlite3"
    name = localpart(me)
    server.stop()

    async def queue_offline():
        app = open_session(me, path)
        editor = ProfileEditor(app.outbox, me.user_id)
        editor.save(ProfileFields(name, "First", "", "", "", (), (), ""))
        editor.save(ProfileFields(name, "First", "Research", "", "", (), (), ""))
        editor.save(ProfileFields(name, "Second", "Research", "", "", (), (), ""))
        queued = app.outbox.list_items()
        await app.close()
        return queued

    async def send_after_restart():
        recording = RecordingTransport()
        app = open_session(me, path, transport=recording)
        report = await app.outbox_worker.drain()
        again = await app.outbox_worker.drain()
        stored = await app.client.get_profile(me.user_id)
        shown = own_profile(app.store.reader(), me.user_id)
        await app.close()
        return report, again, recording.profile_writes(), stored, shown

    queued = asyncio.run(asyncio.wait_for(queue_offline(), 60))
    server.start()
    report, again, writes, stored, shown = asyncio.run(
        asyncio.wait_for(send_after_restart(), 120)
    )

    assert [item.title for item in queued] == [
        "Department: Research",
        "Job title: Second",
    ]
    assert (report.sent, report.failed) == (2, 0)
    assert (again.sent, again.failed) == (0, 0)
    assert writes == [
        ("PUT", ns.PROFILE_DEPARTMENT, {ns.PROFILE_DEPARTMENT: "Research"}),
        ("PUT", ns.PROFILE_TITLE, {ns.PROFILE_TITLE: "Second"}),
    ]
    assert stored[ns.PROFILE_TITLE] == "Second"
    assert stored[ns.PROFILE_DEPARTMENT] == "Research"
    assert shown[0] == ProfileFields(name, "Second", "Research", "", "", (), (), "")
    assert shown[2] is False


def test_edit_during_outage_sent_in_order(restartable_synapse, tmp_path):
    server = restartable_synapse
    me = register(server, "outage")
    name = localpart(me)
    statuses = []

    async def scenario():
        recording = RecordingTransport()
        app = open_session(me, tmp_path / "cache.sqlite3", transport=recording)
        app.add_outbox_status_listener(statuses.append)
        editor = ProfileEditor(app.outbox, me.user_id)
        server.stop()
        worker = asyncio.ensure_future(app.outbox_worker.run())
        editor.save(ProfileFields(name, "First", "", "", "", (), (), ""))
        await wait_for(lambda: any(s.state is OutboxState.OFFLINE for s in statuses))
        # The first edit is in flight now, so the second goes after it.
        editor.save(ProfileFields(name, "Second", "", "", "", (), (), ""))
        states = [item.state for item in app.outbox.list_items()]
        server.start()
        await wait_for(worker_idle(app), 120)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        stored = await app.client.get_profile(me.user_id)
        shown = own_profile(app.store.reader(), me.user_id)
        await app.close()
        return states, recording.profile_writes(), stored, shown

    states, writes, stored, shown = asyncio.run(asyncio.wait_for(scenario(), 180))

    assert states == ["sending", "queued"]
    assert writes == [
        ("PUT", ns.PROFILE_TITLE, {ns.PROFILE_TITLE: "First"}),
        ("PUT", ns.PROFILE_TITLE, {ns.PROFILE_TITLE: "Second"}),
    ]
    assert stored[ns.PROFILE_TITLE] == "Second"
    assert shown[0].title == "Second"
    assert shown[2] is False


def test_too_large_profile_rejected(synapse, tmp_path):
    me = register(synapse, "large")
    emoji = "😀" * 2000
    oversized = ProfileFields(
        "Ada",
        emoji,
        emoji,
        emoji,
        emoji,
        tuple(f"{i:02d}" + "🎉" * 98 for i in range(50)),
        tuple(f"{i:02d}" + "🎈" * 48 for i in range(50)),
        emoji,
    )
    other = OtherClient(synapse.base_url, me.access_token, me.user_id)
    user = urllib.parse.quote(me.user_id, safe="")
    # Another client fills the profile with a field Commonplace does not cache.
    other.call(
        "PUT",
        f"/profile/{user}/org.example.notes",
        json={"org.example.notes": "n" * 64_000},
    )
    other.close()

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        editor = ProfileEditor(app.outbox, me.user_id)
        with pytest.raises(ProfileRejected) as caught:
            editor.save(oversized)
        after_rejection = app.outbox.list_items()
        name = localpart(me)
        editor.save(ProfileFields(name, "", "", "", "", (), (), "b" * 2000))
        report = await app.outbox_worker.drain()
        items = app.outbox.list_items()
        stored = await app.client.get_profile(me.user_id)
        shown = own_profile(app.store.reader(), me.user_id)
        await app.close()
        return caught.value, after_rejection, report, items, stored, shown

    rejected, after_rejection, report, items, stored, shown = asyncio.run(
        asyncio.wait_for(scenario(), 120)
    )

    assert "more than its limit of 65,536 bytes" in rejected.message
    assert after_rejection == []
    assert (report.sent, report.failed) == (0, 1)
    [item] = items
    assert item.state == "failed"
    assert "64 KiB" in item.error
    assert "M_PROFILE_TOO_LARGE" in item.error_details
    assert ns.PROFILE_BIO not in stored
    assert shown[0].bio == "b" * 2000
    assert shown[2] is True
