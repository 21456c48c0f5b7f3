"""Outbox speed: how fast queued items drain, and how soon a queued post shows.

Drain rate: items are queued with the outbox API (a tenth discussions, a
tenth likes, the rest replies). Then one drain sends them to a local Synapse,
all in one board and again spread over four boards. The figures are items per
second, and the share of the drain spent inside the send requests.

Queue latency: in a copy of the start-up benchmark's cache (10,000
discussions), 200 discussions are queued one by one. Each sample runs from the
queue call to the moment list_discussions, the query behind the discussion
list, returns the new pending row. No server is involved.
"""

import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from app.account import Session
from app.matrix import room_events
from app.outbox import Outbox
from app.session import AppSession
from app.store import Store, queries
from benchmarks.generate_cache import generate
from devtools.synapse import SynapseServer, unique_localpart
from tests.other_client import OtherClient

PASSWORD = "benchmark password"
CACHE = Path(__file__).resolve().parent / "out" / "startup-cache.sqlite3"
LATENCY_BOARD = "!board0:bench.test"
LATENCY_USER = "@person0:bench.test"


def _user(server: SynapseServer, prefix: str) -> Session:
    localpart = unique_localpart(prefix)
    server.register(localpart, PASSWORD)
    user_id, token, device = server.login(localpart, PASSWORD)
    return Session(server.base_url, user_id, device, token)


def _boards(server: SynapseServer, owner: Session, me: Session, count: int):
    client = OtherClient(server.base_url, owner.access_token, owner.user_id)
    pairs = [
        client.create_space_with_board(f"Bench {n}", invite=[me.user_id])
        for n in range(count)
    ]
    client.close()
    joiner = OtherClient(server.base_url, me.access_token, me.user_id)
    for space, board in pairs:
        joiner.join(space)
        joiner.join(board)
    joiner.close()
    return [board for _space, board in pairs]


async def _queue(outbox: Outbox, boards: list[str], items: int) -> None:
    roots: dict[str, str] = {}
    for number in range(items):
        board = boards[(number // 10) % len(boards)]
        if number % 10 == 0:
            roots[board] = await outbox.queue_discussion(board, f"Topic {number}", "")
        elif number % 10 == 9:
            await outbox.queue_like(roots[board])
        else:
            await outbox.queue_reply(roots[board], f"Reply {number} " + "text " * 20)


async def _drain(session: Session, path: Path, boards: list[str], items: int):
    """Return (items sent, seconds, seconds inside send requests)."""
    app = AppSession(session, store_path=path)
    in_requests = 0.0
    original = room_events.send_event

    async def timed_send(*args, **kwargs):
        nonlocal in_requests
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            in_requests += time.perf_counter() - started

    room_events.send_event = timed_send
    try:
        await app.sync.sync_once()
        await _queue(app.outbox, boards, items)
        started = time.perf_counter()
        report = await app.outbox_worker.drain()
        elapsed = time.perf_counter() - started
    finally:
        room_events.send_event = original
        await app.close()
    return report.sent, elapsed, in_requests


def drain_rates(items: int = 1000) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        server = SynapseServer(Path(folder) / "synapse")
        server.start()
        try:
            owner = _user(server, "owner")
            results = {}
            for label, count in (("one_board", 1), ("four_boards", 4)):
                me = _user(server, "me")
                boards = _boards(server, owner, me, count)
                path = Path(folder) / f"{label}.sqlite3"
                sent, elapsed, in_requests = asyncio.run(
                    _drain(me, path, boards, items)
                )
                if sent != items:
                    raise RuntimeError(f"{label}: sent {sent} of {items} items")
                results[f"{label}_items_per_second"] = sent / elapsed
                results[f"{label}_request_share"] = in_requests / elapsed
        finally:
            server.stop()
    return results


async def _latencies(path: Path, samples: int) -> list[float]:
    store = Store(path)
    outbox = Outbox(store, LATENCY_USER)
    conn = store.reader()
    result = []
    try:
        for number in range(samples):
            title = f"Latency {number}"
            started = time.perf_counter()
            await outbox.queue_discussion(LATENCY_BOARD, title, "Body text")
            listed = queries.list_discussions(conn, [LATENCY_BOARD], limit=50)
            result.append(time.perf_counter() - started)
            if listed[0].title != title or listed[0].send_state != "pending":
                raise RuntimeError(f"{title} was not listed first as pending")
    finally:
        store.close()
    return result


def queue_latency(samples: int = 200) -> dict:
    if not CACHE.exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        generate(CACHE)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cache.sqlite3"
        shutil.copy(CACHE, path)
        latencies = asyncio.run(_latencies(path, samples))
    milliseconds = sorted(value * 1000 for value in latencies)
    return {
        "queue_to_listed_median_ms": statistics.median(milliseconds),
        "queue_to_listed_p95_ms": milliseconds[int(len(milliseconds) * 0.95) - 1],
        "queue_to_listed_max_ms": milliseconds[-1],
    }


def run() -> dict:
    return {**drain_rates(), **queue_latency()}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:.2f}")
