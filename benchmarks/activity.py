"""Activity stream ("Home") latency over a cache of about 100,000 events.

The cache contains 50 spaces with one board each, 8,500 discussions, 85,000
replies, a like per discussion, about 1,000 files and accepted answers on
half of the questions. It is written through apply_sync, so the activity
triggers run as in the app (benchmarks.generate_cache, text from
benchmarks.corpus). The signed-in user is the author of the first
discussion, who started or replied to about 115 posts in one board. A
further 500 replies mention them, at random times over the whole history. The file is kept under benchmarks/out/,
named by its parameters, and generated again only when they change.

Each case reads one page of 50 items through app.store.activity.read_stream
on a read-only connection from open_reader, as the Home view does: the
first page, and a deep page that starts at the middle of the whole history
(after the newest 50,000 items). Each runs WARMUP times, then ROUNDS times
in turn with the others. The migration figure is the time to fill the
activity tables of the same cache when it is opened after an upgrade.
"""

import hashlib
import json
import random
import shutil
import statistics
import time
from pathlib import Path

from app.records import RawEvent, Reply, RoomBatch
from app.store import Store
from app.store.activity import (
    ALL,
    FOLLOWING,
    MENTIONS,
    UNANSWERED,
    StreamFilter,
    latest_item_id,
    read_new_items,
    read_stream,
)
from app.store.database import open_reader
from app.store.schema import MIGRATIONS
from app.store.writes import apply_sync
from benchmarks.corpus import Corpus
from benchmarks.generate_cache import generate

OUT = Path(__file__).parent / "out"

SHAPE = {
    "spaces": 50,
    "discussions": 8_500,
    "replies": 85_000,
    "people": 2_000,
    "members_per_board": 40,
    "files": 1_000,
    "accepted_share": 0.5,
    "ts_step_ms": 300_000,
    "seed": 1,
}
MENTIONING_REPLIES = 500
SPACE = "!space7:bench.test"
DEEP_OFFSET = 50_000
WARMUP = 3
ROUNDS = 30

CASES = (
    ("everything", StreamFilter(ALL)),
    ("one space", StreamFilter(ALL, SPACE)),
    ("following", StreamFilter(FOLLOWING)),
    ("mentions", StreamFilter(MENTIONS)),
    ("unanswered questions", StreamFilter(UNANSWERED)),
    ("unanswered in one space", StreamFilter(UNANSWERED, SPACE)),
)


def cache_path() -> Path:
    """Return the generated cache for SHAPE, generating it when missing."""
    schema = [migration.statements for migration in MIGRATIONS]
    key = json.dumps({**SHAPE, "mentions": MENTIONING_REPLIES, "schema": schema})
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    path = OUT / f"activity-cache-{digest}.sqlite3"
    info = path.with_suffix(".json")
    if path.exists() and info.exists():
        return path
    OUT.mkdir(exist_ok=True)
    partial = path.with_suffix(".partial")
    for leftover in OUT.glob(partial.name + "*"):
        leftover.unlink()
    shape = dict(SHAPE)
    seed = shape.pop("seed")
    seconds = generate(partial, seed=seed, corpus=Corpus(seed), **shape)
    seconds += _add_mentions(partial, seed)
    partial.rename(path)
    info.write_text(json.dumps({"shape": SHAPE, "generation_seconds": seconds}))
    return path


def _signed_in(conn) -> str:
    """Return the user whose stream is read: the author of the first discussion."""
    return conn.execute("SELECT sender FROM discussions WHERE event_id = '$d1'").fetchone()[0]


def _add_mentions(path: Path, seed: int) -> float:
    """Write replies that mention the signed-in user into random discussions."""
    rng = random.Random(seed + 7)
    store = Store(path)
    started = time.perf_counter()
    conn = store.reader()
    signed_in = _signed_in(conn)

    roots = conn.execute("SELECT event_id, room_id, ts FROM discussions").fetchall()
    content = json.dumps(
        {"body": f"Ask {signed_in}", "m.mentions": {"user_ids": [signed_in]}}
    )
    batches: dict[str, RoomBatch] = {}

    for number in range(MENTIONING_REPLIES):
        root = rng.choice(roots)
        event_id = f"$mention{number}"
        sender = f"@person{rng.randrange(1, SHAPE['people'])}:bench.test"
        ts = root["ts"] + rng.randrange(1, 3_600_000)
        batch = batches.setdefault(root["room_id"], RoomBatch(root["room_id"], "join"))
        batch.items += [
            RawEvent(event_id, root["room_id"], sender, "m.room.message", ts, None, content),
            Reply(
                event_id,
                root["room_id"],
                root["event_id"],
                sender,
                ts,
                f"Ask {signed_in}",
                None,
                root["event_id"],
            ),
        ]
    store.write_blocking(apply_sync, list(batches.values()), "mentions")
    store.close()
    return time.perf_counter() - started


def _deep_cursor(conn) -> tuple[int, int]:
    row = conn.execute(
        "SELECT ts, id FROM activity ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?",
        (DEEP_OFFSET,),
    ).fetchone()
    return (row[0], row[1])


def measure(path: Path, rounds: int = ROUNDS) -> tuple[dict, dict]:
    """Return the latencies in ms of each (case, depth), and each page's size."""
    conn = open_reader(path)
    signed_in = _signed_in(conn)
    deep = _deep_cursor(conn)
    calls = []
    for label, stream_filter in CASES:
        calls.append((f"{label}, first page", stream_filter, None))
        calls.append((f"{label}, deep page", stream_filter, deep))
    samples: dict[str, list[float]] = {label: [] for label, _, _ in calls}
    sizes: dict[str, int] = {}
    for _ in range(WARMUP):
        for label, stream_filter, before in calls:
            page = read_stream(conn, signed_in, stream_filter, before=before)
            sizes[label] = len(page.items)
    for _ in range(rounds):
        for label, stream_filter, before in calls:
            started = time.perf_counter()
            read_stream(conn, signed_in, stream_filter, before=before)
            samples[label].append((time.perf_counter() - started) * 1000)
    newest = latest_item_id(conn)
    samples["live update, 20 new items"] = []
    for _ in range(rounds):
        started = time.perf_counter()
        read_new_items(conn, signed_in, StreamFilter(), newest - 20)
        samples["live update, 20 new items"].append(
            (time.perf_counter() - started) * 1000
        )
    sizes["live update, 20 new items"] = 20
    conn.close()
    return samples, sizes


def migration_seconds(path: Path) -> float:
    """Return the time to fill the activity tables of a copy of the cache."""
    copy = path.with_name("activity-migration.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copy(path, copy)
    store = Store(copy)
    store.write_blocking(_undo_migration_6)
    store.close()
    started = time.perf_counter()
    Store(copy).close()
    seconds = time.perf_counter() - started
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return seconds


def _undo_migration_6(conn) -> None:
    triggers = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'activity_%'"
    ).fetchall()
    for (name,) in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP TABLE activity_mentions")
    conn.execute("DROP TABLE activity")
    conn.execute("DELETE FROM _migrations WHERE number = 6")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run() -> dict:
    path = cache_path()
    generation = json.loads(path.with_suffix(".json").read_text())
    conn = open_reader(path)
    events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    items = conn.execute("SELECT COUNT(*) FROM activity").fetchone()[0]
    conn.close()
    samples, sizes = measure(path)
    print(f"{events:,} events, {items:,} activity items")
    print("| Case | Items | Median | p95 | Slowest |")
    print("| --- | --- | --- | --- | --- |")
    for label, times in samples.items():
        print(
            f"| {label} | {sizes[label]} | {statistics.median(times):.1f} ms "
            f"| {_percentile(times, 0.95):.1f} ms | {max(times):.1f} ms |"
        )
    first = [t for label, times in samples.items() if "first" in label for t in times]
    deep = [t for label, times in samples.items() if "deep" in label for t in times]
    return {
        "events": events,
        "generation_s": generation["generation_seconds"],
        "first_page_median_ms": statistics.median(first),
        "first_page_p95_ms": _percentile(first, 0.95),
        "deep_page_median_ms": statistics.median(deep),
        "deep_page_p95_ms": _percentile(deep, 0.95),
        "migration_s": migration_seconds(path),
    }


if __name__ == "__main__":
    print(run())
