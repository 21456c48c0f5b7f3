"""Cancelling a running upload, and replacing an expired reservation."""

import asyncio
import os

import pytest

from app import uploads
from app.file_transfers import ACTIVE
from app.matrix import media_transfer
from app.store import file_transfers_store
from tests.app.outbox_support import make_board, open_session, register, server_events
from tests.app.test_upload_resume_synapse import media_files

pytestmark = pytest.mark.synapse


@pytest.fixture
def board_of(synapse):
    owner = register(synapse, "owner")
    me = register(synapse, "canceller")
    _space, board = make_board(synapse, owner, me)
    return me, board


def test_upload_cancel_while_streaming(synapse, board_of, tmp_path, monkeypatch):
    me, board = board_of
    source = tmp_path / "video.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024))
    monkeypatch.setattr(uploads, "CHUNK_BYTES", 64 * 1024)
    read_chunks = uploads._read_chunks

    async def slow_chunks(path, upload):
        async for chunk in read_chunks(path, upload):
            await asyncio.sleep(0.02)
            yield chunk

    monkeypatch.setattr(uploads, "_read_chunks", slow_chunks)
    media_before = media_files(synapse)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            client_id = await app.files.upload(board, source)
            drain = asyncio.ensure_future(app.outbox_worker.drain(max_attempts=3))
            while True:
                progress = app.files.progress(board)
                if progress and progress[0].state == ACTIVE and progress[0].done_bytes:
                    break
                await asyncio.sleep(0.01)
            running = progress[0]
            await app.files.cancel_upload(client_id)
            report = await asyncio.wait_for(drain, 60)
            # Cancelling again finds nothing to cancel and does nothing.
            await app.files.cancel_upload(client_id)
            return (
                running,
                report,
                app.outbox.list_items(include_done=True),
                app.files.progress(board),
            )
        finally:
            await app.close()

    running, report, items, progress = asyncio.run(scenario())
    assert 0 < running.done_bytes < running.total_bytes
    assert report.sent == 0
    assert items == []
    assert progress == []
    assert server_events(synapse, me, board) == []
    assert media_files(synapse) == media_before


def test_upload_expired_reservation_replaced(synapse, board_of, tmp_path):
    me, board = board_of
    source = tmp_path / "notes.txt"
    source.write_text("reserved twice", "utf-8")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            client_id = await app.files.upload(board, source)
            old, _expires = await media_transfer.create_media(app.client)
            # As if reserved by a run long ago: the expiry is in the past.
            await app.store.write(
                file_transfers_store.record_reservation, client_id, old, 1
            )
            report = await app.outbox_worker.drain(max_attempts=3)
            return old, report
        finally:
            await app.close()

    old, report = asyncio.run(scenario())
    assert report.sent == 1
    [event] = server_events(synapse, me, board)
    assert event["content"]["url"].startswith("mxc://")
    assert event["content"]["url"] != old
