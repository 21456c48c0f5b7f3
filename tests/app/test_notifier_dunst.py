"""Desktop notifications delivered to a real notification daemon (dunst).

dunst runs on a private D-Bus bus under its own Xvfb; a D-Bus monitor on
that bus records what the app sends. The cache is written with the same
records the sync produces, or by a real sync against Synapse.
"""

import asyncio
import logging
import time

import httpx
import pytest

from app.notifier import FreedesktopBackend, Notifier, server_read_positions
from app.session import AppSession
from app.store import Store
from app.sync import SyncState
from tests.notification_bus import Dunst, NotifyMonitor, PrivateBus
from tests.other_client import OtherClient
from tests.ui.builders import BASE_TS, ME, CacheBuilder, Session

pytestmark = pytest.mark.skipif(
    not Dunst.available(), reason="dunst or Xvfb is not installed; run ./dev setup"
)

GUILD = "!guild:example.org"
GUILD_BOARD = "!guild-board:example.org"
PLATFORM = "!platform:example.org"
PLATFORM_BOARD = "!platform-board:example.org"
DESIGN = "!design:example.org"
DESIGN_BOARD = "!design-board:example.org"
ANA = "@ana:example.org"


@pytest.fixture
def bus():
    with PrivateBus() as private_bus:
        yield private_bus


@pytest.fixture
def dunst(bus):
    with Dunst(bus) as daemon:
        yield daemon


@pytest.fixture
def monitor(bus):
    with NotifyMonitor(bus.address) as recorder:
        yield recorder


@pytest.fixture
def cache(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    builder = CacheBuilder(store)
    builder.space(GUILD, "Data Guild")
    builder.board(GUILD_BOARD, "Questions", GUILD)
    builder.space(PLATFORM, "Platform")
    builder.board(PLATFORM_BOARD, "Ops", PLATFORM)
    builder.space(DESIGN, "Design")
    builder.board(DESIGN_BOARD, "Critique", DESIGN)
    builder.member(GUILD_BOARD, ANA, "Ana Lima")
    builder.commit()
    yield builder
    store.close()


def check(notifier: Notifier):
    async def run():
        try:
            return await notifier.check()
        finally:
            await notifier.backend.close()

    return asyncio.run(run())


def test_reply_reaches_dunst_as_plain_text(cache, bus, dunst, monitor):
    mine = cache.discussion(GUILD_BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    cache.commit()
    notifier = Notifier(cache.store, ME, FreedesktopBackend(bus.address))
    cache.reply(
        GUILD_BOARD,
        mine,
        "Use <b>rollout</b> & <img src='https://example.org/x.png'>",
        sender=ANA,
        ts=BASE_TS + 1000,
    )
    cache.commit()

    decision = check(notifier)

    assert len(decision.shown) == 1
    [call] = monitor.wait_for(1)
    assert call.app_name == "Commonplace"
    assert call.summary == "Ana Lima replied in Data Guild"
    # dunst renders body markup, so the post's markup arrives escaped.
    assert call.body == (
        "Kubernetes tips\nUse &lt;b&gt;rollout&lt;/b&gt; &amp; "
        "&lt;img src='https://example.org/x.png'&gt;"
    )
    assert call.app_icon == ""
    assert call.actions == ["default", "Open"]
    assert dunst.displayed() == 1


def test_catch_up_burst_is_one_summary(cache, bus, dunst, monitor):
    notifier = Notifier(cache.store, ME, FreedesktopBackend(bus.address))
    boards = [GUILD_BOARD] * 5 + [PLATFORM_BOARD, DESIGN_BOARD]
    for number, board in enumerate(boards):
        cache.discussion(
            board,
            f"Notice {number}",
            kind="announcement",
            sender=ANA,
            ts=BASE_TS + number,
        )
    cache.commit()

    check(notifier)

    [call] = monitor.wait_for(1)
    assert call.summary == "7 new posts in Data Guild and 2 other spaces"
    assert call.body == "Notice 6\nNotice 5\nNotice 4\nand 4 more"
    assert dunst.displayed() == 1


def test_own_and_read_posts_stay_quiet(cache, bus, dunst, monitor):
    root = cache.discussion(GUILD_BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    cache.commit()
    notifier = Notifier(cache.store, ME, FreedesktopBackend(bus.address))
    # Ana replied; then the user replied from another device, which reads
    # the discussion up to that point.
    cache.reply(GUILD_BOARD, root, "Earlier reply", sender=ANA, ts=BASE_TS + 10)
    cache.reply(GUILD_BOARD, root, "My answer", sender=ME, ts=BASE_TS + 20)
    cache.commit()

    decision = check(notifier)

    assert decision.shown == []
    assert monitor.snapshot() == []


def test_first_sync_history_stays_quiet(tmp_path, bus, dunst, monitor):
    store = Store(tmp_path / "fresh.sqlite3")
    try:
        notifier = Notifier(store, ME, FreedesktopBackend(bus.address))
        builder = CacheBuilder(store)
        builder.space(GUILD, "Data Guild")
        builder.board(GUILD_BOARD, "Questions", GUILD)
        builder.discussion(GUILD_BOARD, f"Hello {ME}", sender=ANA)
        builder.commit()

        check(notifier)

        assert monitor.snapshot() == []
    finally:
        store.close()


def test_missing_service_logged_once(cache, bus, caplog):
    # The bus has no notification daemon at all.
    notifier = Notifier(cache.store, ME, FreedesktopBackend(bus.address))

    async def two_checks():
        for number in range(2):
            cache.discussion(
                GUILD_BOARD,
                f"News {number}",
                kind="announcement",
                sender=ANA,
                ts=BASE_TS + number,
            )
            cache.commit()
            await notifier.check()
        await notifier.backend.close()

    with caplog.at_level(logging.WARNING, logger="app.notifier"):
        asyncio.run(two_checks())

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Showing a desktop notification failed" in warnings[0].getMessage()


@pytest.mark.synapse
def test_mention_from_other_client_within_10_s(
    tmp_path, synapse, make_user, bus, dunst, monitor
):
    author = make_user("notify-author", displayname="Ana Lima")
    reader = make_user("notify-reader", displayname="Nora Reader")
    other = OtherClient(synapse.base_url, author.access_token, author.user_id)
    mine = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    try:
        space, board = other.create_space_with_board(
            "Data Guild", invite=[reader.user_id]
        )
        mine.join(space)
        mine.join(board)
        root = other.discussion(board, "Kubernetes tips", "Which tools?")

        async def scenario() -> tuple[float, list]:
            session, notifier = reader_session(tmp_path, synapse, reader, bus)
            online = asyncio.Event()
            session.add_status_listener(
                lambda status: status.state == SyncState.ONLINE and online.set()
            )
            session.start()
            try:
                await asyncio.wait_for(online.wait(), 30)
                await notifier.wait_for_checks()
                content = {
                    "msgtype": "m.text",
                    "body": f"{reader.user_id} can you check the rollout?",
                    "m.mentions": {"user_ids": [reader.user_id]},
                    "m.relates_to": {
                        "rel_type": "m.thread",
                        "event_id": root,
                        "is_falling_back": True,
                        "m.in_reply_to": {"event_id": root},
                    },
                }
                await asyncio.to_thread(other.send, board, content)
                sent = time.monotonic()
                while not monitor.snapshot() and time.monotonic() - sent < 10:
                    await asyncio.sleep(0.05)
                return time.monotonic() - sent, monitor.snapshot()
            finally:
                await notifier.close()
                await session.close()

        elapsed, calls = asyncio.run(scenario())
    finally:
        other.close()
        mine.close()

    assert len(calls) == 1, "no notification reached dunst within 10 s"
    assert elapsed < 10
    assert calls[0].summary == "Ana Lima mentioned you in Data Guild"
    assert calls[0].body.startswith("Kubernetes tips\n")
    assert dunst.displayed() == 1


def reader_session(tmp_path, synapse, reader, bus) -> tuple[AppSession, Notifier]:
    """Return the reader's session and a notifier that checks after each sync."""
    session = AppSession(
        Session(
            homeserver_url=synapse.base_url,
            user_id=reader.user_id,
            device_id=reader.device_id,
            access_token=reader.access_token,
        ),
        store_path=tmp_path / "cache.sqlite3",
    )
    notifier = Notifier(
        session.store,
        reader.user_id,
        FreedesktopBackend(bus.address),
        read_positions=server_read_positions,
    )
    session.add_changes_listener(notifier.changes_arrived)
    return session, notifier


def thread_reply(root: str, body: str, mentioned: str) -> dict:
    return {
        "msgtype": "m.text",
        "body": body,
        "m.mentions": {"user_ids": [mentioned]},
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }


def sign_in_again(base_url: str, user) -> OtherClient:
    """Sign user in on a new device and return a client for it."""
    response = httpx.post(
        f"{base_url}/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user.localpart},
            "password": user.password,
        },
    )
    response.raise_for_status()
    return OtherClient(base_url, response.json()["access_token"], user.user_id)


@pytest.mark.synapse
def test_read_on_other_device_stays_quiet(
    tmp_path, synapse, make_user, bus, dunst, monitor
):
    author = make_user("notify-author", displayname="Ana Lima")
    reader = make_user("notify-reader", displayname="Nora Reader")
    other = OtherClient(synapse.base_url, author.access_token, author.user_id)
    mine = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    phone = sign_in_again(synapse.base_url, reader)
    try:
        space, board = other.create_space_with_board(
            "Data Guild", invite=[reader.user_id]
        )
        mine.join(space)
        mine.join(board)
        read_root = other.discussion(board, "Read on the phone")
        unread_root = other.discussion(board, "Still unread")

        async def scenario() -> list:
            session, notifier = reader_session(tmp_path, synapse, reader, bus)
            try:
                await session.sync.sync_once()
                await notifier.wait_for_checks()
                # While this device is offline, two mentions arrive, and the
                # user reads one of them on their phone.
                read_reply = other.send(
                    board, thread_reply(read_root, "Seen this?", reader.user_id)
                )
                other.send(
                    board, thread_reply(unread_root, "And this?", reader.user_id)
                )
                phone.call(
                    "POST",
                    f"/rooms/{board}/receipt/m.read/{read_reply}",
                    json={"thread_id": read_root},
                )
                await session.sync.sync_once()
                await notifier.wait_for_checks()
                return monitor.snapshot()
            finally:
                await notifier.close()
                await session.close()

        calls = asyncio.run(scenario())
    finally:
        other.close()
        mine.close()
        phone.close()

    assert [call.summary for call in calls] == ["Ana Lima mentioned you in Data Guild"]
    assert calls[0].body == "Still unread\nAnd this?"


@pytest.mark.synapse
def test_direct_message_notifies(tmp_path, synapse, make_user, bus, dunst, monitor):
    author = make_user("direct-author", displayname="Ana Lima")
    reader = make_user("direct-reader", displayname="Nora Reader")
    other = OtherClient(synapse.base_url, author.access_token, author.user_id)
    mine = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    try:
        room = other.create_room(
            "",
            invite=[reader.user_id],
            is_direct=True,
            preset="trusted_private_chat",
        )
        mine.join(room)
        mine.call(
            "PUT",
            f"/user/{reader.user_id}/account_data/m.direct",
            json={author.user_id: [room]},
        )

        async def scenario() -> list:
            session, notifier = reader_session(tmp_path, synapse, reader, bus)
            try:
                await session.sync.sync_once()
                await notifier.wait_for_checks()
                # A plain message, as any Matrix client sends it.
                other.send(room, {"msgtype": "m.text", "body": "Lunch on Friday?"})
                await session.sync.sync_once()
                await notifier.wait_for_checks()
                return monitor.snapshot()
            finally:
                await notifier.close()
                await session.close()

        calls = asyncio.run(scenario())
    finally:
        other.close()
        mine.close()

    assert [call.summary for call in calls] == ["Message from Ana Lima"]
    assert calls[0].body == "Lunch on Friday?"


def test_burst_updates_one_popup(cache, bus, dunst, monitor):
    notifier = Notifier(
        cache.store, ME, FreedesktopBackend(bus.address), clock=lambda: 1000.0
    )
    for batch in range(4):
        for number in range(2):
            cache.discussion(
                GUILD_BOARD,
                f"Notice {batch}.{number}",
                kind="announcement",
                sender=ANA,
                ts=BASE_TS + 10 * batch + number,
            )
        cache.commit()
        check(notifier)

    calls = monitor.wait_for(5)
    # The first two show one by one; from there on, one summary grows.
    assert [call.replaces_id for call in calls[:3]] == [0, 0, 0]
    assert calls[3].replaces_id == calls[4].replaces_id != 0
    assert calls[4].summary == "6 new posts in Data Guild"
    assert dunst.displayed() == 3


def test_deleted_post_withdrawn(cache, bus, dunst, monitor):
    mine = cache.discussion(GUILD_BOARD, "Kubernetes tips", sender=ME, ts=BASE_TS)
    cache.commit()
    notifier = Notifier(cache.store, ME, FreedesktopBackend(bus.address))
    reply = cache.reply(
        GUILD_BOARD, mine, "Oops, wrong room", sender=ANA, ts=BASE_TS + 1
    )
    cache.commit()
    check(notifier)
    monitor.wait_for(1)
    assert dunst.displayed() == 1

    cache.redact(GUILD_BOARD, reply, sender=ANA)
    cache.commit()
    check(notifier)

    deadline = time.monotonic() + 5
    while dunst.displayed() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dunst.displayed() == 0


def test_display_name_notifies(cache, bus, dunst, monitor):
    from app.records import Profile

    cache.profile(Profile(ME, "Mia Example", None))
    other = cache.discussion(GUILD_BOARD, "Lunch plans", sender=ANA, ts=BASE_TS)
    cache.commit()
    notifier = Notifier(cache.store, ME, FreedesktopBackend(bus.address))
    cache.reply(
        GUILD_BOARD, other, "Mia Example, can you book?", sender=ANA, ts=BASE_TS + 1
    )
    cache.commit()

    check(notifier)

    [call] = monitor.wait_for(1)
    assert call.summary == "Ana Lima mentioned you in Data Guild"
