"""Real-time delivery: another client's post until Commonplace has it, in milliseconds.

A local Synapse runs on 127.0.0.1. A writer (tests/other_client.py, plain
httpx in a worker thread) posts discussions into a board, one at a time,
while the reader's SyncLoop long-polls /sync as the app does. Each clock
starts just before the writer's send request and stops twice. The first
stop is when the SyncLoop has stored the post and its change callback runs.
The second is when the discussion list model (ui.models.discussions,
refreshed from that callback as the window does) has the post in its first
row.
"""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from app.matrix import MatrixClient
from app.records import Changes
from app.store import Store
from app.sync import SyncLoop
from devtools.synapse import SynapseServer, unique_localpart
from tests.other_client import OtherClient

PASSWORD = "benchmark password"
# Pause between samples, so each post meets a sync that is already waiting.
PAUSE_S = 0.1
TIMEOUT_S = 10.0


def _user(server: SynapseServer, prefix: str) -> tuple[str, str]:
    localpart = unique_localpart(prefix)
    server.register(localpart, PASSWORD)
    user_id, token, _device = server.login(localpart, PASSWORD)
    return user_id, token


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * len(ordered)) - 1)]


def _figures(name: str, samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    return {
        f"{name} median ms": statistics.median(ordered),
        f"{name} p95 ms": _percentile(ordered, 0.95),
        f"{name} max ms": ordered[-1],
    }


class _Arrivals:
    """Records when each sample's title reaches the store and the list model."""

    def __init__(self, store: Store, model):
        self.store = store
        self.model = model
        self.stored: dict[str, float] = {}
        self.listed: dict[str, float] = {}
        self.changed = asyncio.Event()

    def on_changes(self, changes: Changes) -> None:
        now = time.perf_counter()
        conn = self.store.reader()
        for event_id in changes.discussions:
            row = conn.execute(
                "SELECT title FROM discussions WHERE event_id = ?", (event_id,)
            ).fetchone()
            if row is not None:
                self.stored.setdefault(row[0], now)
        self.model.apply_changes(changes)
        if self.model.rowCount():
            title = self.model.index(0).data()
            self.listed.setdefault(title, time.perf_counter())
        self.changed.set()


async def _measure(base_url, writer: OtherClient, board, token, path, samples):
    from ui.models.discussions import DiscussionListModel

    store = Store(path)
    model = DiscussionListModel(store)
    arrivals = _Arrivals(store, model)
    async with MatrixClient(base_url, token) as client:
        loop = SyncLoop(client, store, on_changes=arrivals.on_changes)
        await loop.sync_once()
        model.set_rooms([board])
        syncing = asyncio.ensure_future(loop.run())
        stored, listed = [], []
        try:
            await asyncio.sleep(0.5)
            for number in range(samples):
                title = f"Real-time sample {number}"
                started = time.perf_counter()
                await asyncio.to_thread(writer.discussion, board, title)
                deadline = started + TIMEOUT_S
                while title not in arrivals.listed:
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"{title!r} did not arrive in {TIMEOUT_S} s")
                    arrivals.changed.clear()
                    try:
                        await asyncio.wait_for(arrivals.changed.wait(), TIMEOUT_S)
                    except TimeoutError:
                        continue
                stored.append((arrivals.stored[title] - started) * 1000)
                listed.append((arrivals.listed[title] - started) * 1000)
                await asyncio.sleep(PAUSE_S)
        finally:
            syncing.cancel()
            await asyncio.gather(syncing, return_exceptions=True)
            await loop.close()
    store.close()
    return stored, listed


def run(samples: int = 100) -> dict:
    from PySide6.QtCore import QCoreApplication

    # The list model is a QObject; it needs an application object, not a display.
    QCoreApplication.instance() or QCoreApplication([])
    with tempfile.TemporaryDirectory() as folder:
        server = SynapseServer(Path(folder) / "synapse")
        server.start()
        try:
            writer_id, writer_token = _user(server, "writer")
            reader_id, reader_token = _user(server, "reader")
            writer = OtherClient(server.base_url, writer_token, writer_id)
            space, board = writer.create_space_with_board(
                "Real time", invite=[reader_id]
            )
            reader = OtherClient(server.base_url, reader_token, reader_id)
            reader.join(space)
            reader.join(board)
            reader.close()
            stored, listed = asyncio.run(
                _measure(
                    server.base_url,
                    writer,
                    board,
                    reader_token,
                    Path(folder) / "cache.sqlite3",
                    samples,
                )
            )
            writer.close()
        finally:
            server.stop()
    return {
        "samples": samples,
        **_figures("stored", stored),
        **_figures("listed", listed),
    }


if __name__ == "__main__":
    print(run())
