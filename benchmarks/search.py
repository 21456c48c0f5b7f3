"""Offline search latency over a large cache, and the search index's size.

The cache contains 20,000 discussions, 180,000 replies, about 3,000 files, 50 spaces
and 20,000 people with profiles, written through apply_sync and
save_profiles, so the index triggers run as in the app. Text comes from
benchmarks.corpus. The file is kept under benchmarks/out/, named by its
parameters, and generated again only when they change.

Each query in QUERIES runs WARMUP times, then ROUNDS times in turn with the
others, through app.store.search.search on a read-only connection from
open_reader, as the app runs it.
"""

import hashlib
import json
import statistics
import time
from pathlib import Path

from app.store.database import open_reader
from app.store.schema import MIGRATIONS
from app.store.search import search
from benchmarks.corpus import RARE_WORD, Corpus
from benchmarks.generate_cache import generate

OUT = Path(__file__).parent / "out"

SHAPE = {
    "spaces": 50,
    "discussions": 20_000,
    "replies": 180_000,
    "people": 20_000,
    "members_per_board": 400,
    "files": 3_000,
    "accepted_share": 0.5,
    # Five minutes between posts spreads them over about two years, from
    # November 2023, so a before: date cuts the posts somewhere inside.
    "ts_step_ms": 300_000,
    "seed": 1,
}

# A 10,000-character paste full of FTS5 syntax.
HOSTILE = ('NEAR( kube* "deploy OR cache) AND * ^title: ' * 250)[:10_000]

QUERIES = (
    ("one-letter prefix", "k"),
    ("two-letter prefix", "ku"),
    ("function word", "the"),
    ("common word", "cache"),
    ("rare word", RARE_WORD),
    ("two words", "deploy cache"),
    ("quoted phrase", '"cache invalidation"'),
    ("CJK substring", "学習"),
    ("emoji", "🚀"),
    ("accent folded", "resume"),
    ("person name", "jose"),
    ("Japanese name", "佐藤"),
    ("is:unanswered", "is:unanswered"),
    ("space filter", 'in:"Community 07" deploy'),
    ("person filter", "from:maya"),
    ("file filter", "has:file report"),
    ("date filter", "before:2024-01-01 cache"),
    ("filter only", "is:question"),
    ("question word", "is:question kubernetes"),
    ("hostile", HOSTILE),
)
WARMUP = 3
ROUNDS = 30


def cache_path() -> Path:
    """Return the generated cache for SHAPE, generating it when missing."""
    # The schema's text, not only its version, so that a changed migration
    # makes a new cache.
    schema = [migration.statements for migration in MIGRATIONS]
    key = json.dumps({**SHAPE, "schema": schema}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    path = OUT / f"search-cache-{digest}.sqlite3"
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
    partial.rename(path)
    info.write_text(json.dumps({"shape": SHAPE, "generation_seconds": seconds}))
    return path


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(path: Path, queries=QUERIES, rounds=ROUNDS) -> dict[str, list[float]]:
    """Return the latencies in ms of each query, by label."""
    conn = open_reader(path)
    samples: dict[str, list[float]] = {label: [] for label, _ in queries}
    for _ in range(WARMUP):
        for _label, text in queries:
            search(conn, text)
    for _ in range(rounds):
        for label, text in queries:
            started = time.perf_counter()
            search(conn, text)
            samples[label].append((time.perf_counter() - started) * 1000)
    conn.close()
    return samples


def result_counts(path: Path) -> dict[str, int]:
    """Return how many hits each query shows, over all kinds."""
    conn = open_reader(path)
    counts = {label: search(conn, text).total for label, text in QUERIES}
    conn.close()
    return counts


def index_size(path: Path) -> dict[str, int]:
    """Return the bytes of the search tables and indexes, and of the whole file.

    Needs SQLite built with the dbstat virtual table, as the SQLite 3.40.1
    bundled with this venv's Python 3.11 is.
    """
    conn = open_reader(path)
    rows = conn.execute(
        "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
    ).fetchall()
    conn.close()
    sizes = {name: size for name, size in rows}
    search_bytes = sum(
        size
        for name, size in sizes.items()
        if name.startswith(("search_", "sqlite_autoindex_search_"))
    )
    return {"search_bytes": search_bytes, "total_bytes": sum(sizes.values())}


def _print_table(samples: dict[str, list[float]], counts: dict[str, int]) -> None:
    print("| Query | Hits shown | Median | p95 | Slowest |")
    print("| --- | --- | --- | --- | --- |")
    ordered = sorted(samples.items(), key=lambda item: -statistics.median(item[1]))
    for label, times in ordered:
        print(
            f"| {label} | {counts[label]} | {statistics.median(times):.1f} ms "
            f"| {_percentile(times, 0.95):.1f} ms | {max(times):.1f} ms |"
        )


def run() -> dict:
    path = cache_path()
    generation = json.loads(path.with_suffix(".json").read_text())
    samples = measure(path)
    _print_table(samples, result_counts(path))
    every = [value for times in samples.values() for value in times]
    sizes = index_size(path)
    return {
        "generation_s": generation["generation_seconds"],
        "cache_mb": path.stat().st_size / 1e6,
        "index_mb": sizes["search_bytes"] / 1e6,
        "index_share": sizes["search_bytes"] / sizes["total_bytes"],
        "median_ms": statistics.median(every),
        "p95_ms": _percentile(every, 0.95),
        "slowest_ms": max(every),
    }


if __name__ == "__main__":
    print(run())
