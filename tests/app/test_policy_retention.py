"""Removal of cached content older than the policy's retention_days."""

import asyncio
import os
import time

import pytest

from app.account import Session
from app.namespace import ACCEPTED_ANSWER_EVENT
from app.policy import Policy
from app.session import AppSession
from app.store import Store
from app.store.file_transfers_store import finish_download, start_download
from app.store.retention import DAY_SECONDS, cutoff_ms, remove_expired
from app.store.search import rebuild_index, search
from app.store.writes import apply_sync
from tests.app.store.test_search import _index_contents
from tests.factories import discussion, event, like, reply, room_batch, state

BOARD = "!board:test"
FILES = "!files:test"
NOW = 1_800_000_000.0  # a fixed "now" in Unix seconds
DAY_MS = DAY_SECONDS * 1000


def days_ago(days: float) -> int:
    return int((NOW - days * DAY_SECONDS) * 1000)


def shared_file(sender, name, ts):
    content = {"msgtype": "m.file", "body": name, "url": "mxc://test/file"}
    return event(sender, content, ts=ts)


def like_at(sender, target, ts):
    liked = like(sender, target["event_id"])
    liked["origin_server_ts"] = ts
    return liked


def accepted(question, answer, ts):
    return event(
        "@ann:test",
        {"event_id": answer["event_id"]},
        type=ACCEPTED_ANSWER_EVENT,
        state_key=question["event_id"],
        ts=ts,
    )


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(apply_sync, [room_batch(BOARD), room_batch(FILES)], "t0")
    yield store
    store.close()


@pytest.fixture
def cached(store):
    """A board and a files area with content from 100 days ago to yesterday."""
    old = discussion("@ann:test", "Ancient zebra", ts=days_ago(100))
    old_reply = reply("@bob:test", old["event_id"], "zebra answer", ts=days_ago(99))
    live = discussion("@ann:test", "Living giraffe", ts=days_ago(100))
    live_old = reply("@bob:test", live["event_id"], "old giraffe", ts=days_ago(95))
    live_new = reply("@cho:test", live["event_id"], "new giraffe", ts=days_ago(1))
    recent = discussion("@bob:test", "Recent okapi", ts=days_ago(10))
    old_file = shared_file("@ann:test", "ancient.pdf", days_ago(90))
    new_file = shared_file("@ann:test", "recent.pdf", days_ago(2))
    timeline = [old, old_reply, live, live_old, live_new, recent]
    store.write_blocking(apply_sync, [room_batch(BOARD, [], timeline)], None)
    store.write_blocking(
        apply_sync,
        [
            room_batch(
                BOARD,
                [],
                [
                    like_at("@cho:test", old, days_ago(99)),
                    like_at("@cho:test", recent, days_ago(9)),
                    accepted(old, old_reply, days_ago(98)),
                ],
            )
        ],
        None,
    )
    store.write_blocking(
        apply_sync, [room_batch(FILES, [], [old_file, new_file])], None
    )
    return {
        "old": old,
        "old_reply": old_reply,
        "live": live,
        "live_old": live_old,
        "live_new": live_new,
        "recent": recent,
        "old_file": old_file,
        "new_file": new_file,
    }


def ids(store, table):
    rows = store.reader().execute(f"SELECT event_id FROM {table}")
    return {row[0] for row in rows}


def test_cutoff_is_days_before_now():
    assert cutoff_ms(30, now=NOW) == int(NOW * 1000) - 30 * DAY_MS


def test_cutoff_rejects_zero_days():
    with pytest.raises(ValueError):
        cutoff_ms(0)


def test_old_posts_and_files_are_removed(store, cached):
    removed = store.write_blocking(remove_expired, cutoff_ms(30, now=NOW))

    assert ids(store, "discussions") == {
        cached["live"]["event_id"],
        cached["recent"]["event_id"],
    }
    assert ids(store, "replies") == {cached["live_new"]["event_id"]}
    assert ids(store, "files") == {cached["new_file"]["event_id"]}
    assert removed.discussions == 1
    assert removed.replies == 2
    assert removed.files == 1
    assert BOARD in removed.changes.rooms
    assert FILES in removed.changes.rooms
    assert cached["old"]["event_id"] in removed.changes.discussions


def test_kept_thread_counts_cached_replies(store, cached):
    store.write_blocking(remove_expired, cutoff_ms(30, now=NOW))

    row = (
        store.reader()
        .execute(
            "SELECT reply_count FROM discussions WHERE event_id = ?",
            (cached["live"]["event_id"],),
        )
        .fetchone()
    )
    assert row[0] == 1


def test_raw_events_follow_their_rows(store, cached):
    store.write_blocking(remove_expired, cutoff_ms(30, now=NOW))

    remaining = ids(store, "events")
    assert cached["old"]["event_id"] not in remaining
    assert cached["old_reply"]["event_id"] not in remaining
    assert cached["old_file"]["event_id"] not in remaining
    assert cached["live"]["event_id"] in remaining
    assert cached["live_new"]["event_id"] in remaining
    assert cached["recent"]["event_id"] in remaining


def test_likes_and_answers_of_removed_posts_go(store, cached):
    store.write_blocking(remove_expired, cutoff_ms(30, now=NOW))

    reader = store.reader()
    targets = {row[0] for row in reader.execute("SELECT target_id FROM reactions")}
    questions = reader.execute("SELECT question_id FROM accepted_answers").fetchall()
    assert targets == {cached["recent"]["event_id"]}
    assert questions == []


def test_removed_posts_leave_search(store, cached):
    store.write_blocking(remove_expired, cutoff_ms(30, now=NOW))

    assert search(store.reader(), "zebra").groups == {}
    assert search(store.reader(), "ancient").groups == {}
    assert "discussion" in search(store.reader(), "giraffe").groups
    replies = search(store.reader(), "giraffe").groups["reply"]
    assert len(replies) == 1


def test_search_index_equals_a_rebuild(store, cached):
    store.write_blocking(remove_expired, cutoff_ms(30, now=NOW))
    by_triggers = store.write_blocking(_index_contents)

    store.write_blocking(rebuild_index)

    assert store.write_blocking(_index_contents) == by_triggers


def test_nothing_old_removes_nothing(store, cached):
    removed = store.write_blocking(remove_expired, cutoff_ms(365, now=NOW))

    assert removed.total == 0
    assert not removed.changes
    assert len(ids(store, "discussions")) == 3


def test_drafts_and_outbox_are_kept(store, cached):
    # Outbox and drafts are the user's unsent work, whatever their age.
    store.write_blocking(
        lambda conn: conn.execute(
            "INSERT INTO drafts (composer, target_id, room_id, body, updated_at) "
            "VALUES ('reply', ?, ?, 'unsent words', 1.0)",
            (cached["old"]["event_id"], BOARD),
        )
    )

    store.write_blocking(remove_expired, cutoff_ms(30, now=NOW))

    drafts = store.reader().execute("SELECT body FROM drafts").fetchall()
    assert [row[0] for row in drafts] == ["unsent words"]


# -- The session applies the policy --------------------------------------------


def make_session(tmp_path, policy):
    session = Session(
        homeserver_url="http://127.0.0.1:9",
        user_id="@ann:test",
        device_id="DEVICE",
        access_token="not-used",
    )
    return AppSession(session, store_path=tmp_path / "cache.sqlite3", policy=policy)


def test_session_removes_old_content_and_media(tmp_path):
    async def run():
        app_session = make_session(tmp_path, Policy(retention_days=30))
        try:
            old = discussion(
                "@ann:test", "Old", ts=int(time.time() * 1000) - 40 * DAY_MS
            )
            new = discussion("@ann:test", "New", ts=int(time.time() * 1000))
            await app_session.store.write(
                apply_sync,
                [room_batch(BOARD, [state("m.room.name", {"name": "B"})], [old, new])],
                "t1",
            )
            folder = app_session.thumbnails.folder
            stale = folder / "stale.img"
            fresh = folder / "fresh.img"
            stale.write_bytes(b"old")
            fresh.write_bytes(b"new")
            forty_days_ago = time.time() - 40 * DAY_SECONDS
            os.utime(stale, (forty_days_ago, forty_days_ago))
            announced = []
            app_session.add_changes_listener(announced.append)

            removed = await app_session.remove_expired_content()

            titles = [
                row[0]
                for row in app_session.store.reader().execute(
                    "SELECT title FROM discussions"
                )
            ]
            return removed, titles, stale.exists(), fresh.exists(), announced
        finally:
            await app_session.close()

    removed, titles, stale_exists, fresh_exists, announced = asyncio.run(run())

    assert removed.discussions == 1
    assert titles == ["New"]
    assert not stale_exists
    assert fresh_exists
    assert announced and BOARD in announced[0].rooms


def test_session_without_limit_keeps_everything(tmp_path):
    async def run():
        app_session = make_session(tmp_path, Policy())
        try:
            return await app_session.remove_expired_content()
        finally:
            await app_session.close()

    assert asyncio.run(run()) is None


def test_session_removes_downloaded_copies_of_old_files(tmp_path):
    async def run():
        app_session = make_session(tmp_path, Policy(retention_days=30))
        now_ms = int(time.time() * 1000)
        old = shared_file("@ann:test", "Old plan.pdf", now_ms - 40 * DAY_MS)
        new = shared_file("@ann:test", "New plan.pdf", now_ms)
        folder = tmp_path / "copies"
        folder.mkdir()
        copies = {}
        try:
            await app_session.store.write(
                apply_sync, [room_batch(FILES, timeline=[old, new])], "t1"
            )
            for shared in (old, new):
                path = folder / shared["content"]["body"]
                path.write_bytes(b"%PDF-1.7")
                copies[shared["event_id"]] = path
                await app_session.store.write(
                    start_download, shared["event_id"], FILES, str(path) + ".part"
                )
                await app_session.store.write(
                    finish_download, shared["event_id"], str(path), 8
                )
            removed = await app_session.remove_expired_content()
            kept = [
                row[0]
                for row in app_session.store.reader().execute(
                    "SELECT event_id FROM file_downloads"
                )
            ]
            return removed, kept, new["event_id"]
        finally:
            await app_session.close()

    removed, kept, new_file = asyncio.run(run())

    assert removed.files == 1
    assert kept == [new_file]
    assert not (tmp_path / "copies" / "Old plan.pdf").exists()
    assert (tmp_path / "copies" / "New plan.pdf").exists()
