"""Uploads cut short by SIGKILL, by a lost connection, or by a lowered limit.

A child process runs the app's outbox worker on a queued upload and is
killed at a chosen point. A new session in this process then finishes the
upload from the same cache. The server must end up with one event and one
stored file, in the mxc:// URI reserved before the kill.
"""

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.file_transfers import FAILED, QUEUED
from app.store import file_transfers_store
from app.store.outbox_store import FAILED as ITEM_FAILED
from tests.app.outbox_support import make_board, open_session, register, server_events

pytestmark = pytest.mark.synapse

# Runs the outbox worker until killed. With "mid-upload" the file is read
# slowly and the upload stalls after 1 MiB; with "after-put" the upload
# completes on the server and the process stalls before it records that.
WORKER_SCRIPT = """
import asyncio, sys
from app import uploads
from app.account import Session
from app.matrix import http, media_transfer
from app.session import AppSession

http.BACKOFF_CAP = 0.5
url, user_id, device_id, token, path, stage = sys.argv[1:]
uploads.CHUNK_BYTES = 256 * 1024
read_chunks = uploads._read_chunks
upload_into = media_transfer.upload_into

async def stalling_chunks(source, upload):
    count = 0
    async for chunk in read_chunks(source, upload):
        yield chunk
        count += 1
        if count == 4:
            print("streaming", flush=True)
            await asyncio.sleep(3600)

async def stalling_upload_into(*args, **kwargs):
    await upload_into(*args, **kwargs)
    print("uploaded", flush=True)
    await asyncio.sleep(3600)

if stage == "mid-upload":
    uploads._read_chunks = stalling_chunks
else:
    media_transfer.upload_into = stalling_upload_into

async def main():
    app = AppSession(Session(url, user_id, device_id, token), store_path=path)
    await app.outbox_worker.run()

asyncio.run(main())
"""


def media_files(synapse) -> int:
    folder = Path(synapse.data_dir) / "media_store" / "local_content"
    if not folder.exists():
        return 0
    return sum(1 for path in folder.rglob("*") if path.is_file())


def queue_upload(session, cache: Path, board: str, source: Path) -> str:
    async def queue():
        app = open_session(session, cache)
        try:
            await app.sync.sync_once()
            return await app.files.upload(board, source)
        finally:
            await app.close()

    return asyncio.run(queue())


def run_worker_until(session, cache: Path, stage: str, signal_line: str) -> None:
    environment = {**os.environ, "PYTHONPATH": os.getcwd()}
    arguments = [session.homeserver_url, session.user_id, session.device_id]
    arguments += [session.access_token, str(cache), stage]
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line == signal_line, f"worker printed {line!r}"
        assert process.poll() is None, "the worker exited by itself"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL


def reserved_mxc(session, cache: Path, client_id: str) -> str | None:
    async def read():
        app = open_session(session, cache)
        try:
            upload = file_transfers_store.get_upload(app.store.reader(), client_id)
            return upload.mxc
        finally:
            await app.close()

    return asyncio.run(read())


def finish(session, cache: Path):
    async def drain():
        app = open_session(session, cache)
        try:
            report = await asyncio.wait_for(
                app.outbox_worker.drain(max_attempts=3), 120
            )
            return report, app.outbox.list_items(include_done=True)
        finally:
            await app.close()

    return asyncio.run(drain())


@pytest.mark.parametrize(
    ("stage", "signal_line"), [("mid-upload", "streaming"), ("after-put", "uploaded")]
)
def test_upload_killed_resumes_same_mxc(synapse, tmp_path, caplog, stage, signal_line):
    owner = register(synapse, "owner")
    me = register(synapse, "killed")
    _space, board = make_board(synapse, owner, me)
    cache = tmp_path / "cache.sqlite3"
    source = tmp_path / "recording.bin"
    data = os.urandom(3 * 1024 * 1024)
    source.write_bytes(data)
    media_before = media_files(synapse)

    client_id = queue_upload(me, cache, board, source)
    run_worker_until(me, cache, stage, signal_line)
    mxc = reserved_mxc(me, cache, client_id)
    assert mxc is not None
    stored_after_kill = media_files(synapse) - media_before
    assert stored_after_kill == (0 if stage == "mid-upload" else 1)

    caplog.set_level(logging.INFO, logger="app.uploads")
    report, items = finish(me, cache)
    assert (report.sent, report.failed) == (1, 0)
    if stage == "after-put":
        # Synapse refused the second PUT with M_CANNOT_OVERWRITE_MEDIA.
        assert f"{mxc} already has the content of {client_id}" in caplog.text
    [item] = items
    assert item.client_id == client_id

    files = [
        event
        for event in server_events(synapse, owner, board)
        if event["content"].get("msgtype") == "m.file"
    ]
    assert len(files) == 1
    assert files[0]["content"]["url"] == mxc
    assert media_files(synapse) - media_before == 1

    server, media_id = mxc.removeprefix("mxc://").split("/")
    served = httpx.get(
        f"{synapse.base_url}/_matrix/client/v1/media/download/{server}/{media_id}",
        headers={"Authorization": f"Bearer {owner.access_token}"},
        timeout=60,
    )
    assert served.status_code == 200
    assert served.content == data


class SwitchableTransport(httpx.AsyncBaseTransport):
    """Forwards requests to the server, or fails to connect while offline is set."""

    def __init__(self):
        self.inner = httpx.AsyncHTTPTransport()
        self.offline = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("network is unreachable", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_upload_offline_waits_and_keeps_order(synapse, tmp_path):
    owner = register(synapse, "owner")
    me = register(synapse, "offline")
    _space, board = make_board(synapse, owner, me)
    source = tmp_path / "slides.pdf"
    source.write_bytes(b"%PDF-1.7\n" + os.urandom(200_000))
    transport = SwitchableTransport()

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3", transport=transport)
        try:
            await app.sync.sync_once()
            transport.offline = True
            await app.outbox.queue_discussion(board, "Before the file", "first")
            client_id = await app.files.upload(board, source)
            await app.outbox.queue_discussion(board, "After the file", "third")
            offline_report = await app.outbox_worker.drain(max_attempts=1)
            waiting = app.files.progress(board)
            transport.offline = False
            online_report = await app.outbox_worker.drain(max_attempts=3)
            return client_id, offline_report, waiting, online_report
        finally:
            await app.close()

    client_id, offline_report, waiting, online_report = asyncio.run(scenario())
    assert offline_report.sent == 0
    assert offline_report.offline_rooms == [board]
    [entry] = waiting
    assert (entry.id, entry.state) == (client_id, QUEUED)
    assert online_report.sent == 3

    mine = [
        e for e in server_events(synapse, owner, board) if e["sender"] == me.user_id
    ]
    kinds = [event["content"].get("msgtype") for event in mine]
    assert kinds == ["m.text", "m.file", "m.text"]
    assert mine[0]["content"]["body"].startswith("Before the file")
    assert mine[1]["content"]["info"]["mimetype"] == "application/pdf"
    assert mine[2]["content"]["body"].startswith("After the file")


def test_upload_real_413_fails_and_keeps_item(restartable_synapse, tmp_path, caplog):
    server = restartable_synapse
    caplog.set_level(logging.DEBUG, logger="app.matrix.http")
    owner = register(server, "owner")
    me = register(server, "limited")
    _space, board = make_board(server, owner, me)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(2 * 1024 * 1024))

    def lower_limit():
        server.stop()
        server.extra_config["max_upload_size"] = "1M"
        server.start()

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            # Queued while the server accepts 50 MB; the limit is then lowered.
            client_id = await app.files.upload(board, source)
            await asyncio.to_thread(lower_limit)
            report = await app.outbox_worker.drain(max_attempts=3)
            return client_id, report, app.files.progress(board), app.outbox.list_items()
        finally:
            await app.close()

    client_id, report, progress, items = asyncio.run(scenario())
    assert "PUT /_matrix/media/v3/upload/" in caplog.text
    assert "-> 413" in caplog.text
    assert report.failed == 1
    [entry] = progress
    assert (entry.id, entry.state) == (client_id, FAILED)
    assert entry.error == (
        "big.bin is 2 MB; this server accepts files up to 1 MB. Share a smaller "
        "file, or a link to it."
    )
    [item] = items
    assert item.state == ITEM_FAILED
    assert item.client_id == client_id
