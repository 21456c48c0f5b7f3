"""People directory and expert finder latency over a large cache.

The cache is the search benchmark's (benchmarks.search.cache_path): 20,000
people with profiles (title, department, skills, "ask me about" topics),
400 members per space's board, 20,000 discussions and 180,000 replies, with
accepted answers on about half of the questions.

Each directory query and each expert topic runs WARMUP times, then ROUNDS
times in turn with the others, through app.store.people_directory on a
read-only connection from open_reader, as the app runs them. Every call
leaves out SIGNED_IN, as the app leaves out the signed-in user.
"""

import statistics
import time
from pathlib import Path

from app.store.database import open_reader
from app.store.people_directory import departments, directory, find_experts
from benchmarks.search import cache_path

SIGNED_IN = "@person0:bench.test"
SPACE = "!space7:bench.test"

# (label, text, options) for directory().
DIRECTORY_QUERIES = (
    ("first page, no text", "", {}),
    ("second page, no text", "", {"offset": 50}),
    ("one-letter prefix", "m", {}),
    ("first name", "maya", {}),
    ("full name", "maya patel", {}),
    ("accented name typed plain", "jose garcia", {}),
    ("accented name typed with accents", "Zoë Müller", {}),
    ("Polish name", "łukasz", {}),
    ("Japanese name", "佐藤", {}),
    ("user id localpart", "person1234", {}),
    ("job title", "engineer", {}),
    ("department", "platform", {}),
    ("French department", "developpement", {}),
    ("Japanese department", "開発", {}),
    ("skill", "kubernetes", {}),
    ("two-word skill", "machine learning", {}),
    ("emoji, no match", "🚀", {}),
    ("department filter", "", {"department": "Platform"}),
    ("department filter and skill", "python", {"department": "Data"}),
    ("space filter", "", {"space_id": SPACE}),
    ("space filter and prefix", "a", {"space_id": SPACE}),
)

# (label, topic) for find_experts().
EXPERT_TOPICS = (
    ("function word", "the"),
    ("common word", "cache"),
    ("common word", "deploy"),
    ("skill and common word", "python"),
    ("skill only", "sql"),
    ("department word and common word", "data"),
    ("skill and less common word", "kubernetes"),
    ("two-word skill", "machine learning"),
    ("two-word phrase", "cache invalidation"),
    ("three-word phrase", "code review checklist"),
    ("rare word", "kerberos"),
    ("accented word", "résumé"),
    ("CJK word", "学習"),
    ("one letter", "k"),
)
WARMUP = 3
ROUNDS = 30


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _calls() -> list[tuple[str, str, object]]:
    """Return (kind, label, call) for every query; call takes a connection."""
    calls = []
    for label, text, options in DIRECTORY_QUERIES:
        calls.append(
            (
                "directory",
                f"{label}: `{text}` {options or ''}".strip(),
                lambda conn, text=text, options=options: directory(
                    conn, text, exclude=SIGNED_IN, **options
                ),
            )
        )
    for label, topic in EXPERT_TOPICS:
        calls.append(
            (
                "experts",
                f"{label}: `{topic}`",
                lambda conn, topic=topic: find_experts(conn, topic, exclude=SIGNED_IN),
            )
        )
    calls.append(("departments", "department list", departments))
    return calls


def measure(path: Path, rounds: int = ROUNDS) -> tuple[dict, dict]:
    """Return the latencies in ms and the result count of each (kind, label)."""
    conn = open_reader(path)
    calls = _calls()
    samples: dict[tuple, list[float]] = {(kind, label): [] for kind, label, _ in calls}
    counts = {(kind, label): len(call(conn)) for kind, label, call in calls}
    for _ in range(WARMUP):
        for _, _, call in calls:
            call(conn)
    for _ in range(rounds):
        for kind, label, call in calls:
            started = time.perf_counter()
            call(conn)
            samples[kind, label].append((time.perf_counter() - started) * 1000)
    conn.close()
    return samples, counts


def _print_table(samples: dict[tuple, list[float]], counts: dict[tuple, int]) -> None:
    print("| Kind | Query | Results | Median | p95 | Slowest |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, label, _ in _calls():
        times = samples[kind, label]
        print(
            f"| {kind} | {label} | {counts[kind, label]} | "
            f"{statistics.median(times):.1f} ms | {_percentile(times, 0.95):.1f} ms "
            f"| {max(times):.1f} ms |"
        )


def run() -> dict:
    path = cache_path()
    samples, counts = measure(path)
    _print_table(samples, counts)
    result = {}
    for kind in ("directory", "experts"):
        every = [
            value
            for (each, _), times in samples.items()
            if each == kind
            for value in times
        ]
        result[f"{kind}_median_ms"] = statistics.median(every)
        result[f"{kind}_p95_ms"] = _percentile(every, 0.95)
        result[f"{kind}_slowest_ms"] = max(every)
    return result


if __name__ == "__main__":
    print(run())
