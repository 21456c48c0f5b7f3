"""Uploads against a real Synapse, checked through another client's eyes.

A file queued with FileTransfers.upload goes through the outbox: the worker
reserves an mxc:// URI, streams the file into it and sends an m.file or
m.image event. matrix-nio, a client written elsewhere, must parse the event,
and the bytes served for its URL must equal the file's.
"""

import asyncio
import hashlib
import os
import struct
import zlib

import nio
import pytest

from app import namespace as ns
from app.file_transfers import FAILED, QUEUED, TransferError
from app.policy import Policy
from app.store.outbox_store import SENT
from tests.app.outbox_support import make_board, open_session, register, server_events
from tests.conftest import TEST_PASSWORD
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse


@pytest.fixture
def people(synapse):
    owner = register(synapse, "owner")
    me = register(synapse, "uploader")
    other = register(synapse, "reader")
    _space, board = make_board(synapse, owner, me, other)
    return me, other, board


def png_bytes(width: int, height: int, padding: int = 0) -> bytes:
    """Return a valid PNG of width x height grey pixels, plus a text chunk of padding bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    text = chunk(b"tEXt", b"Comment\x00" + os.urandom(padding // 2).hex().encode())
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + (text if padding else b"")
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def nio_files(synapse, session, room_id: str) -> list[tuple]:
    """Return (event, downloaded bytes) for each file event, as matrix-nio parses and downloads them."""
    client = nio.AsyncClient(synapse.base_url, session.user_id)
    try:
        login = await client.login(TEST_PASSWORD, device_name="nio reader")
        assert isinstance(login, nio.LoginResponse), login
        response = await client.room_messages(room_id, start="", limit=100)
        assert isinstance(response, nio.RoomMessagesResponse), response
        files = []
        for event in reversed(response.chunk):
            if not isinstance(event, nio.RoomMessageFile | nio.RoomMessageImage):
                continue
            download = await client.download(mxc=event.url)
            assert isinstance(download, nio.MemoryDownloadResponse), download
            files.append((event, download.body))
        return files
    finally:
        await client.close()


def test_upload_small_and_5mb_seen_by_nio(synapse, people, tmp_path):
    me, other, board = people
    notes = tmp_path / "Meeting notes.txt"
    notes.write_text("Agenda\n1. Budget\n", "utf-8")
    # A PNG named .bin: the type must come from the content, not the name.
    picture = tmp_path / "diagram.bin"
    picture.write_bytes(png_bytes(640, 480, padding=5 * 1024 * 1024))
    assert picture.stat().st_size > 5 * 1024 * 1024

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            first = await app.files.upload(board, notes)
            second = await app.files.upload(board, picture)
            queued = app.files.progress(board)
            report = await app.outbox_worker.drain(max_attempts=3)
            left = app.files.progress(board)
            return first, second, queued, report, left
        finally:
            await app.close()

    first, second, queued, report, left = asyncio.run(scenario())
    assert [entry.id for entry in queued] == [first, second]
    assert [entry.state for entry in queued] == [QUEUED, QUEUED]
    assert queued[1].total_bytes == picture.stat().st_size
    assert report.sent == 2
    assert report.failed == 0
    assert left == []

    files = asyncio.run(nio_files(synapse, other, board))
    assert len(files) == 2
    (text_event, text_bytes), (image_event, image_bytes) = files
    assert isinstance(text_event, nio.RoomMessageFile)
    assert text_event.body == "Meeting notes.txt"
    assert text_event.source["content"]["info"]["mimetype"] == "text/plain"
    assert text_event.source["content"][ns.CLIENT_ID_KEY] == first
    assert text_bytes == notes.read_bytes()

    assert isinstance(image_event, nio.RoomMessageImage)
    info = image_event.source["content"]["info"]
    assert info["mimetype"] == "image/png"
    assert (info["w"], info["h"]) == (640, 480)
    assert info["size"] == picture.stat().st_size
    assert (
        hashlib.sha256(image_bytes).digest()
        == hashlib.sha256(picture.read_bytes()).digest()
    )


def test_upload_new_version_names_superseded(synapse, people, tmp_path):
    me, _other, board = people
    source = tmp_path / "plan.txt"
    source.write_text("version 1", "utf-8")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            await app.files.upload(board, source)
            await app.outbox_worker.drain(max_attempts=3)
            [item] = app.outbox.list_items(include_done=True)
            await app.sync.sync_once()
            assert app.files.may_add_version(item.event_id)
            source.write_text("version 2, longer", "utf-8")
            await app.files.upload(board, source, supersedes=item.event_id)
            await app.outbox_worker.drain(max_attempts=3)
            return item.event_id
        finally:
            await app.close()

    first_id = asyncio.run(scenario())
    events = server_events(synapse, me, board)
    files = [event for event in events if event["content"].get("msgtype") == "m.file"]
    assert len(files) == 2
    assert ns.SUPERSEDES_KEY not in files[0]["content"]
    assert files[1]["content"][ns.SUPERSEDES_KEY] == first_id


def test_upload_version_of_others_file_rejected(synapse, people, tmp_path):
    me, other, board = people
    theirs = share_as(synapse, other, board, "photo.txt", b"their photo")
    source = tmp_path / "photo.txt"
    source.write_text("a lookalike", "utf-8")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            allowed = app.files.may_add_version(theirs)
            with pytest.raises(TransferError) as raised:
                await app.files.upload(board, source, supersedes=theirs)
            return allowed, raised.value.message, app.files.progress(board)
        finally:
            await app.close()

    allowed, message, progress = asyncio.run(scenario())
    assert not allowed
    assert message.startswith(
        "Only the person who shared photo.txt or a moderator can add a new version"
    )
    assert progress == []


def share_as(synapse, session, room_id: str, name: str, data: bytes) -> str:
    """Upload data as another client and post it as an m.file; return the event id."""
    client = OtherClient(synapse.base_url, session.access_token, session.user_id)
    try:
        response = client.http.post(
            "/_matrix/media/v3/upload",
            content=data,
            headers={"Content-Type": "text/plain"},
        )
        response.raise_for_status()
        content = {
            "msgtype": "m.file",
            "body": name,
            "filename": name,
            "url": response.json()["content_uri"],
            "info": {"mimetype": "text/plain", "size": len(data)},
        }
        return client.send(room_id, content)
    finally:
        client.close()


def test_upload_over_limit_rejected_before_queueing(synapse, people, tmp_path):
    me, _other, board = people
    big = tmp_path / "huge.iso"
    with open(big, "wb") as file:
        file.truncate(60 * 1024 * 1024)  # sparse: over the test server's 50 MB

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            limit = await app.files.upload_limit()
            with pytest.raises(TransferError) as raised:
                await app.files.upload(board, big)
            return limit, raised.value.message, app.outbox.list_items()
        finally:
            await app.close()

    limit, message, items = asyncio.run(scenario())
    assert limit == 50 * 1024 * 1024
    assert message.startswith(
        "huge.iso is 60 MB; this server accepts files up to 50 MB."
    )
    assert items == []


def test_upload_changed_source_fails_plainly(synapse, people, tmp_path):
    me, _other, board = people
    source = tmp_path / "draft.txt"
    source.write_text("first", "utf-8")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            client_id = await app.files.upload(board, source)
            source.write_text("changed after queueing", "utf-8")
            report = await app.outbox_worker.drain(max_attempts=3)
            first = app.files.progress(board)
            [item] = app.outbox.list_items()
            await app.outbox.retry(item.id)
            retried = await app.outbox_worker.drain(max_attempts=3)
            return client_id, report, first, retried, app.files.progress(board)
        finally:
            await app.close()

    client_id, report, progress, retried, after_retry = asyncio.run(scenario())
    assert report.failed == 1
    [entry] = progress
    assert entry.id == client_id
    assert entry.state == FAILED
    assert "draft.txt changed after it was added" in entry.error
    assert "Remove this upload and upload the file again" in entry.error
    assert retried.failed == 1
    [again] = after_retry
    assert again.state == FAILED
    assert again.error == entry.error
    assert server_events(synapse, me, board, types=("m.room.message",)) == []


def test_upload_shares_original_name(synapse, people, tmp_path):
    me, other, board = people
    names = [".gitignore", "a:b?c.txt", "tab\there.txt", "a\u202etxt.exe"]
    folder = tmp_path / "sources"
    folder.mkdir()
    for index, name in enumerate(names):
        (folder / name).write_text(f"content {index}", "utf-8")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            for name in names:
                await app.files.upload(board, folder / name)
            return await app.outbox_worker.drain(max_attempts=3)
        finally:
            await app.close()

    report = asyncio.run(scenario())
    assert report.sent == len(names)

    files = asyncio.run(nio_files(synapse, other, board))
    shared = [event.source["content"]["filename"] for event, _data in files]
    assert shared == [".gitignore", "a:b?c.txt", "tab here.txt", "atxt.exe"]
    bodies = [event.body for event, _data in files]
    assert bodies == shared


def test_upload_cancel_queued_removes_item(synapse, people, tmp_path):
    me, _other, board = people
    source = tmp_path / "cancel me.txt"
    source.write_text("never sent", "utf-8")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            client_id = await app.files.upload(board, source)
            await app.files.cancel_upload(client_id)
            report = await app.outbox_worker.drain(max_attempts=3)
            items = app.outbox.list_items(include_done=True)
            return report, items, app.files.progress(board)
        finally:
            await app.close()

    report, items, progress = asyncio.run(scenario())
    assert report.sent == 0
    assert items == []
    assert progress == []


def test_upload_sent_cannot_be_cancelled(synapse, people, tmp_path):
    me, _other, board = people
    source = tmp_path / "a.txt"
    source.write_text("a", "utf-8")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            client_id = await app.files.upload(board, source)
            await app.outbox_worker.drain(max_attempts=3)
            with pytest.raises(TransferError) as raised:
                await app.files.cancel_upload(client_id)
            return app.outbox.list_items(include_done=True), raised.value.message
        finally:
            await app.close()

    [item], message = asyncio.run(scenario())
    assert message.startswith("This file is already posted")
    assert item.state == SENT
    assert item.event_id.startswith("$")


def test_upload_policy_disables_uploads(synapse, people, tmp_path):
    me, _other, board = people
    source = tmp_path / "secret.txt"
    source.write_text("stays here", "utf-8")
    cache = tmp_path / "cache.sqlite3"
    policy = Policy(disable_uploads=True)

    async def queue_without_policy():
        app = open_session(me, cache)
        try:
            await app.sync.sync_once()
            return await app.files.upload(board, source)
        finally:
            await app.close()

    async def send_with_policy():
        app = open_session(me, cache, policy=policy)
        try:
            with pytest.raises(TransferError) as raised:
                await app.files.upload(board, source)
            report = await app.outbox_worker.drain(max_attempts=3)
            return raised.value.message, report, app.files.progress(board)
        finally:
            await app.close()

    client_id = asyncio.run(queue_without_policy())
    message, report, progress = asyncio.run(send_with_policy())
    assert message == "Uploading files is turned off by your organisation."
    assert report.failed == 1
    [entry] = progress
    assert (entry.id, entry.state) == (client_id, FAILED)
    assert entry.error.startswith("Uploading files is turned off")
    assert server_events(synapse, me, board) == []
