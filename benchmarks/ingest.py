"""Initial-sync ingest speed against a local Synapse, in events per second.

Another client writes a board of discussions and replies; then a new reader
signs in and runs its first sync, which includes back-filling the gaps with
/messages. The figure covers network, translation and the SQLite writes.
"""

import asyncio
import concurrent.futures
import tempfile
import time
from pathlib import Path

from app.matrix import MatrixClient
from app.store import Store
from app.store.queries import cache_status
from app.sync import SyncLoop
from devtools.synapse import SynapseServer, unique_localpart
from tests.other_client import OtherClient

PASSWORD = "benchmark password"


def _populate(server: SynapseServer, reader_id: str, discussions: int, replies: int):
    localpart = unique_localpart("writer")
    server.register(localpart, PASSWORD)
    user_id, token, _device = server.login(localpart, PASSWORD)
    writer = OtherClient(server.base_url, token, user_id)
    _space, board = writer.create_space_with_board("Ingest", invite=[reader_id])
    roots = [
        writer.discussion(board, f"Discussion {n}", "Body " * 40)
        for n in range(discussions)
    ]

    def post(number: int) -> None:
        writer.reply(
            board, roots[number % discussions], f"Reply {number} " + "text " * 30
        )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(post, range(replies)))
    writer.close()
    return board


async def _first_sync(base_url: str, token: str, path: Path) -> tuple[float, int]:
    store = Store(path)
    async with MatrixClient(base_url, token) as client:
        started = time.perf_counter()
        await SyncLoop(client, store).sync_once()
        elapsed = time.perf_counter() - started
    status = cache_status(store.reader())
    store.close()
    return elapsed, status.discussions + status.replies


def run(discussions: int = 100, replies: int = 3000) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        server = SynapseServer(Path(folder) / "synapse")
        server.start()
        try:
            localpart = unique_localpart("reader")
            reader_id = server.register(localpart, PASSWORD)
            board = _populate(server, reader_id, discussions, replies)
            _user, token, _device = server.login(localpart, PASSWORD)
            joiner = OtherClient(server.base_url, token, reader_id)
            joiner.call("POST", "/join/" + board.replace("!", "%21"), json={})
            joiner.close()
            elapsed, events = asyncio.run(
                _first_sync(server.base_url, token, Path(folder) / "cache.sqlite3")
            )
        finally:
            server.stop()
    return {"events": events, "seconds": elapsed, "events_per_second": events / elapsed}


if __name__ == "__main__":
    result = run()
    print(
        f"Initial sync stored {result['events']} posts in {result['seconds']:.2f} s: "
        f"{result['events_per_second']:.0f} events/s"
    )
