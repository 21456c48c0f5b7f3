"""Downloads of files that another client shared, against a real Synapse.

The other client uploads media and posts m.file events the way any Matrix
client does, names included, so the names that reach the cache folder are
as hostile as a real server can deliver.
"""

import asyncio
import os
import shutil
import socket
import urllib.parse

import pytest

from app import file_transfers
from app.downloads import files_folder, room_folder
from app.file_transfers import DOWNLOAD, TransferError
from app.records import Changes
from app.store import file_transfers_store
from tests.app.outbox_support import (
    LosingTransport,
    make_board,
    open_session,
    register,
    wait_for,
)
from tests.other_client import OtherClient

pytestmark = pytest.mark.synapse


@pytest.fixture
def people(synapse):
    owner = register(synapse, "owner")
    me = register(synapse, "downloader")
    other = register(synapse, "sharer")
    _space, board = make_board(synapse, owner, me, other)
    return me, other, board


def share(synapse, session, room_id: str, name: str, data: bytes, **info) -> str:
    """Upload data as another client and post it as an m.file; return the event id."""
    client = OtherClient(synapse.base_url, session.access_token, session.user_id)
    try:
        response = client.http.post(
            "/_matrix/media/v3/upload",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        response.raise_for_status()
        content = {
            "msgtype": "m.file",
            "body": name,
            "filename": name,
            "url": response.json()["content_uri"],
            "info": {"mimetype": "application/octet-stream", "size": len(data), **info},
        }
        return client.send(room_id, content)
    finally:
        client.close()


def redact(synapse, session, room_id: str, event_id: str) -> None:
    """Redact event_id as another client, as its sender or a moderator does."""
    client = OtherClient(synapse.base_url, session.access_token, session.user_id)
    try:
        room = urllib.parse.quote(room_id, safe="")
        event = urllib.parse.quote(event_id, safe="")
        client.call("PUT", f"/rooms/{room}/redact/{event}/redact-{event}", json={})
    finally:
        client.close()


def test_download_hostile_names_stay_in_room_folder(synapse, people, tmp_path):
    me, other, board = people
    names = [
        "../../etc/passwd",
        "CON.txt",
        "a\u202eexe.pdf",
        "n" * 300 + ".pdf",
        "/absolute/path.txt",
        "résumé 日本.pdf",
        "résumé 日本.pdf",
    ]
    shared = {
        share(synapse, other, board, name, f"content {index}".encode()): index
        for index, name in enumerate(names)
    }

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            return {event_id: await app.files.download(event_id) for event_id in shared}
        finally:
            await app.close()

    paths = asyncio.run(scenario())
    folder = room_folder(files_folder(), board)
    got = {}
    for event_id, path in paths.items():
        assert path.parent == folder
        assert path.read_bytes() == f"content {shared[event_id]}".encode()
        assert len(path.name.encode("utf-8")) <= 255
        got[shared[event_id]] = path.name
    assert got[0] == "_._etc_passwd"
    assert got[1] == "_CON.txt"
    assert got[2] == "aexe.pdf"
    assert got[3].endswith(".pdf")
    assert got[4] == "_absolute_path.txt"
    assert {got[5], got[6]} == {"résumé 日本.pdf", "résumé 日本 (2).pdf"}
    assert sorted(os.listdir(folder)) == sorted(got.values())


def test_download_progress_then_cached_copy_reused(synapse, people, tmp_path):
    me, other, board = people
    data = os.urandom(6 * 1024 * 1024)
    event_id = share(synapse, other, board, "data.bin", data)
    transport = LosingTransport()
    seen = []

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3", transport=transport)

        def on_changes(changes: Changes) -> None:
            if board in changes.transfers:
                seen.extend(app.files.progress(board))

        app.add_changes_listener(on_changes)
        try:
            await app.sync.sync_once()
            assert app.files.cached_copy(event_id) is None
            first = await app.files.download(event_id)
            second = await app.files.download(event_id)
            return first, second, app.files.cached_copy(event_id)
        finally:
            await app.close()

    first, second, cached = asyncio.run(scenario())
    assert first == second == cached
    assert first.read_bytes() == data
    downloads = [
        path for _method, path in transport.paths if "/media/download/" in path
    ]
    assert len(downloads) == 1
    assert seen
    assert {entry.kind for entry in seen} == {DOWNLOAD}
    assert seen[-1].total_bytes == len(data)
    received = [entry.done_bytes for entry in seen]
    assert received == sorted(received)
    assert 0 < max(received) <= len(data)


def test_download_cancel_leaves_no_part_file(synapse, people, tmp_path):
    me, other, board = people
    event_id = share(synapse, other, board, "big.bin", os.urandom(20 * 1024 * 1024))

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        cancelling = []

        def on_changes(changes: Changes) -> None:
            progress = app.files.progress(board)
            if not cancelling and progress and progress[0].done_bytes > 0:
                cancelling.append(
                    asyncio.ensure_future(app.files.cancel_download(event_id))
                )

        app.add_changes_listener(on_changes)
        try:
            await app.sync.sync_once()
            with pytest.raises(TransferError) as raised:
                await app.files.download(event_id)
            await asyncio.gather(*cancelling)
            row = file_transfers_store.get_download(app.store.reader(), event_id)
            return raised.value.message, row, app.files.cached_copy(event_id)
        finally:
            await app.close()

    message, row, cached = asyncio.run(scenario())
    assert message == "The download was cancelled."
    assert row is None
    assert cached is None
    assert os.listdir(room_folder(files_folder(), board)) == []


def test_download_larger_than_declared_stops(synapse, people, tmp_path):
    me, other, board = people
    # The event claims 1 KB, the server serves 2 MB.
    event_id = share(
        synapse, other, board, "liar.bin", os.urandom(2 * 1024 * 1024), size=1024
    )

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            with pytest.raises(TransferError) as raised:
                await app.files.download(event_id)
            return raised.value.message
        finally:
            await app.close()

    message = asyncio.run(scenario())
    assert message.startswith("liar.bin is larger than the 65 KB it should be")
    # Synapse gives a new account its localpart as display name.
    display_name = other.user_id[1:].split(":", 1)[0]
    assert message.endswith(f"Ask {display_name} to share it again.")
    assert os.listdir(room_folder(files_folder(), board)) == []


def test_offline_area_fetches_new_file(synapse, people, tmp_path):
    me, other, board = people

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            await app.files.set_offline(board, True)
            marked = app.files.is_offline(board)
            app.start()
            event_id = await asyncio.to_thread(
                share, synapse, other, board, "agenda.txt", b"posted later"
            )
            await wait_for(lambda: app.files.cached_copy(event_id) is not None, 60)
            return (
                marked,
                app.files.is_offline(event_id),
                app.files.cached_copy(event_id),
            )
        finally:
            await app.close()

    marked, file_marked, copy = asyncio.run(scenario())
    assert marked
    assert file_marked
    assert copy.read_bytes() == b"posted later"
    assert copy.name == "agenda.txt"


def test_offline_file_mark_fetches_only_that_file(synapse, people, tmp_path):
    me, other, board = people
    chosen = share(synapse, other, board, "chosen.txt", b"keep me")
    share(synapse, other, board, "other.txt", b"not marked")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            await app.files.set_offline(chosen, True)
            app.start()
            await wait_for(lambda: app.files.cached_copy(chosen) is not None, 60)
            room_marked = app.files.is_offline(board)
            await app.files.set_offline(chosen, False)
            with pytest.raises(ValueError):
                await app.files.set_offline("chosen.txt", True)
            return (
                room_marked,
                app.files.is_offline(chosen),
                app.files.cached_copy(chosen),
            )
        finally:
            await app.close()

    room_marked, still_marked, kept = asyncio.run(scenario())
    assert not room_marked
    assert not still_marked
    assert kept.read_bytes() == b"keep me"
    assert os.listdir(room_folder(files_folder(), board)) == ["chosen.txt"]


def test_download_leftover_part_removed_at_start(synapse, people, tmp_path):
    me, _other, board = people
    folder = room_folder(files_folder(), board)
    folder.mkdir(parents=True)
    leftover = folder / ".0123456789abcdef01234567.part"
    leftover.write_bytes(b"half a file")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            # As a process killed mid-download leaves it.
            await app.store.write(
                file_transfers_store.start_download, "$killed", board, str(leftover)
            )
            app.start()
            await wait_for(lambda: not leftover.exists(), 30)
            return file_transfers_store.get_download(app.store.reader(), "$killed")
        finally:
            await app.close()

    assert asyncio.run(scenario()) is None
    # The start-up clean-up also removes a room folder left empty, and which
    # of its two passes comes first varies.
    assert not folder.exists() or os.listdir(folder) == []


def test_redacted_file_copy_deleted(synapse, people, tmp_path):
    me, other, board = people
    deleted = share(synapse, other, board, "posted-by-mistake.txt", b"secret")
    kept = share(synapse, other, board, "kept.txt", b"keep")

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            deleted_copy = await app.files.download(deleted)
            kept_copy = await app.files.download(kept)
            size_before = app.files.downloads_size()
            await asyncio.to_thread(redact, synapse, other, board, deleted)
            await app.sync.sync_once()
            await wait_for(lambda: not deleted_copy.exists(), 30)
            await wait_for(
                lambda: file_transfers_store.get_download(app.store.reader(), deleted)
                is None,
                30,
            )
            return deleted_copy, kept_copy, size_before, app.files.downloads_size()
        finally:
            await app.close()

    deleted_copy, kept_copy, size_before, size_after = asyncio.run(scenario())
    assert not deleted_copy.exists()
    assert kept_copy.read_bytes() == b"keep"
    assert size_before == len(b"secret") + len(b"keep")
    assert size_after == len(b"keep")
    folder = room_folder(files_folder(), board)
    assert os.listdir(folder) == ["kept.txt"]


def test_redacted_copy_deleted_at_next_start(synapse, people, tmp_path):
    me, other, board = people
    event_id = share(synapse, other, board, "old.txt", b"old")

    async def download_then_close():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            return await app.files.download(event_id)
        finally:
            await app.close()

    copy = asyncio.run(download_then_close())
    redact(synapse, other, board, event_id)

    async def restart():
        app = open_session(me, tmp_path / "cache.sqlite3")
        # The sync's changes reach no listener here, as after a crash
        # between applying a sync and deleting the copies.
        app._change_listeners.remove(app.files.notice_changes)
        try:
            await app.sync.sync_once()
            await asyncio.sleep(0.5)
            still_there = copy.exists()
            app.start()
            await wait_for(lambda: not copy.exists(), 30)
            return still_there
        finally:
            await app.close()

    assert asyncio.run(restart())
    assert not copy.exists()


def test_remove_downloads_keeps_offline_copies(synapse, people, tmp_path):
    me, other, board = people
    marked = share(synapse, other, board, "marked.txt", b"marked" * 100)
    unmarked = share(synapse, other, board, "unmarked.txt", b"unmarked" * 1000)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            marked_copy = await app.files.download(marked)
            unmarked_copy = await app.files.download(unmarked)
            await app.files.set_offline(marked, True)
            total = app.files.downloads_size()
            freed = await app.files.remove_downloads()
            after_first = (
                marked_copy.exists(),
                unmarked_copy.exists(),
                app.files.downloads_size(),
            )
            await app.files.set_offline(marked, False)
            freed_all = await app.files.remove_downloads(include_offline=True)
            return total, freed, after_first, freed_all, app.files.downloads_size()
        finally:
            await app.close()

    total, freed, after_first, freed_all, size_at_end = asyncio.run(scenario())
    assert total == 600 + 8000
    assert freed == 8000
    assert after_first == (True, False, 600)
    assert freed_all == 600
    assert size_at_end == 0
    assert not room_folder(files_folder(), board).exists()


@pytest.mark.parametrize("claim", ["over_upload_limit", "over_one_tib"])
def test_impossible_declared_size_is_unknown(synapse, people, tmp_path, claim):
    me, other, board = people
    if claim == "over_one_tib":
        declared = 10**15
    else:
        # The claim is more than the disk holds, so only ignoring it lets the
        # download through. It is under 1 TiB, so only the server's upload
        # limit shows that it is false.
        declared = min(2 * shutil.disk_usage(tmp_path).free, 1024**4 - 1)
    event_id = share(
        synapse, other, board, "huge-declared.txt", b"ten bytes!", size=declared
    )
    seen = []

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")

        def on_changes(changes: Changes) -> None:
            seen.extend(app.files.progress(board))

        app.add_changes_listener(on_changes)
        try:
            await app.sync.sync_once()
            return await app.files.download(event_id)
        finally:
            await app.close()

    copy = asyncio.run(scenario())
    assert copy.read_bytes() == b"ten bytes!"
    assert seen
    assert all(entry.total_bytes != declared for entry in seen)


def unused_port() -> int:
    """Return a 127.0.0.1 port that nothing listens on (free when checked)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def share_remote(synapse, session, room_id: str, name: str, server: str) -> str:
    """Post an m.file naming media abcdef on server, which does not have it."""
    client = OtherClient(synapse.base_url, session.access_token, session.user_id)
    try:
        content = {
            "msgtype": "m.file",
            "body": name,
            "filename": name,
            "url": f"mxc://{server}/abcdef",
            "info": {"mimetype": "image/png", "size": 1000},
        }
        return client.send(room_id, content)
    finally:
        client.close()


def media_requests(transport) -> int:
    return sum(1 for _method, path in transport.paths if "/media/download/" in path)


def test_unreachable_media_server_named(synapse, people, tmp_path):
    me, other, board = people
    server = f"127.0.0.1:{unused_port()}"
    event_id = share_remote(synapse, other, board, "mxc-remote.png", server)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            with pytest.raises(TransferError) as raised:
                await app.files.download(event_id)
            return raised.value.message
        finally:
            await app.close()

    message = asyncio.run(scenario())
    assert message.startswith(
        f"{server}, where mxc-remote.png is stored, could not be reached by "
        "your server."
    )


def test_offline_copy_gives_up_after_backoff(
    synapse, people, tmp_path, monkeypatch
):
    me, other, board = people
    monkeypatch.setattr(file_transfers, "OFFLINE_POLL_SECONDS", 0.2)
    monkeypatch.setattr(file_transfers, "OFFLINE_FAILURE_BACKOFF", (0.2, 0.4))
    monkeypatch.setattr(file_transfers, "OFFLINE_ATTEMPTS", 2)
    server = f"127.0.0.1:{unused_port()}"
    share_remote(synapse, other, board, "mxc-remote.png", server)
    transport = LosingTransport()
    tries = 1 + len(file_transfers.OFFLINE_FAILURE_BACKOFF)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3", transport=transport)
        try:
            await app.sync.sync_once()
            await app.files.set_offline(board, True)
            app.start()
            await wait_for(lambda: media_requests(transport) >= tries * 2, 60)
            await wait_for(lambda: app.files.progress(board) == [], 30)
            settled = media_requests(transport)
            await asyncio.sleep(2.0)
            return settled, media_requests(transport), app.files.progress(board)
        finally:
            await app.close()

    settled, later, progress = asyncio.run(scenario())
    assert settled == tries * 2
    assert later == settled
    assert progress == []


def test_unmarking_stops_offline_download(synapse, people, tmp_path):
    me, other, board = people
    server = f"127.0.0.1:{unused_port()}"
    share_remote(synapse, other, board, "mxc-remote.png", server)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            await app.files.set_offline(board, True)
            app.start()
            await wait_for(lambda: app.files.progress(board) != [], 30)
            await app.files.set_offline(board, False)
            return app.files.progress(board)
        finally:
            await app.close()

    assert asyncio.run(scenario()) == []


def test_media_missing_on_server_says_not_found(synapse, people, tmp_path):
    me, other, board = people
    server_name = me.user_id.partition(":")[2]
    event_id = share_remote(synapse, other, board, "gone.pdf", server_name)

    async def scenario():
        app = open_session(me, tmp_path / "cache.sqlite3")
        try:
            await app.sync.sync_once()
            with pytest.raises(TransferError) as raised:
                await app.files.download(event_id)
            return raised.value.message
        finally:
            await app.close()

    message = asyncio.run(scenario())
    assert message == (
        "gone.pdf was not found on the server, so it cannot be downloaded. "
        "Ask the sender to share it again."
    )
