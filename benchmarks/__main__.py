"""Run every benchmark and print its figures: python -m benchmarks [NAME ...]."""

import platform
import sys

from benchmarks import (
    activity,
    files,
    ingest,
    outbox,
    people,
    realtime,
    search,
    send_latency,
    startup,
)


def _machine() -> str:
    import os

    cores = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    cpu = platform.machine()
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cores} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB, Python {platform.python_version()}"


BENCHMARKS = {
    "startup": lambda: startup.run(),
    "ingest": lambda: ingest.run(),
    "outbox": lambda: outbox.run(),
    "send_latency": lambda: send_latency.run(),
    "search": lambda: search.run(),
    "people": lambda: people.run(),
    "activity": lambda: activity.run(),
    "realtime": lambda: realtime.run(),
    "files": lambda: files.run(),
}


def main(names: list[str]) -> None:
    print(f"Machine: {_machine()}")
    for name in names or list(BENCHMARKS):
        if name not in BENCHMARKS:
            sys.exit(
                f"Unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}."
            )
        result = BENCHMARKS[name]()
        figures = ", ".join(
            f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
            for key, value in result.items()
        )
        print(f"{name}: {figures}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
