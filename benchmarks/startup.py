"""Time from process start to a window showing spaces and discussions.

The app starts offline (its server address points at a closed port) with a
generated cache of 50 spaces, 10,000 discussions and 100,000 replies, as a
user would see it after a restart on a train. The process prints a line when
the space list and the first discussion list are shown and painted, then
quits; this script measures that moment and the process's peak RSS.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate_cache import generate
from devtools.secret_service import SecretServiceDaemon
from devtools.synapse import free_port

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "out" / "startup-cache.sqlite3"
USER_ID = "@reader:bench.test"
READY_LINE = "commonplace-ready"


def _prepare_profile(home: Path, homeserver_url: str) -> None:
    from app import paths

    os.environ["COMMONPLACE_HOME"] = str(home)
    settings = {
        "homeserver_url": homeserver_url,
        "user_id": USER_ID,
        "device_id": "BENCHDEVICE",
        "session_only": False,
    }
    (paths.config_dir() / "settings.json").write_text(json.dumps(settings))
    shutil.copy(CACHE, paths.database_path(USER_ID, homeserver_url))


def _run_once(environment: dict) -> tuple[float, float]:
    """Return (seconds to ready, peak RSS in MB) of one start."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "gui"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ready = None
    for line in process.stdout:
        if line.strip() == READY_LINE:
            ready = time.perf_counter() - started
            break
    process.stdout.close()
    _pid, status, usage = os.wait4(process.pid, 0)
    if ready is None:
        raise RuntimeError(f"The app exited with status {status} before it was ready.")
    return ready, usage.ru_maxrss / 1024


def run(repeats: int = 7) -> dict:
    if not CACHE.exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        generate(CACHE)
    home = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    homeserver_url = f"http://127.0.0.1:{free_port()}"
    try:
        with SecretServiceDaemon() as secrets:
            from app.account import account_key
            from app.credentials import TokenStore

            _prepare_profile(home, homeserver_url)
            TokenStore().save(account_key(homeserver_url, USER_ID), "benchmark-token")
            environment = {
                **os.environ,
                **secrets.environment,
                "COMMONPLACE_HOME": str(home),
                "COMMONPLACE_BENCHMARK_READY": READY_LINE,
                "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            }
            results = [_run_once(environment) for _ in range(repeats)]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    seconds = [result[0] for result in results]
    rss = [result[1] for result in results]
    return {
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
        "median_rss_mb": statistics.median(rss),
        "max_rss_mb": max(rss),
        "cache_mb": CACHE.stat().st_size / 1e6,
    }


if __name__ == "__main__":
    result = run()
    print(
        f"Start-up to spaces and discussions: median {result['median_seconds']:.2f} s, "
        f"max {result['max_seconds']:.2f} s; peak RSS median "
        f"{result['median_rss_mb']:.0f} MB, max {result['max_rss_mb']:.0f} MB "
        f"(cache {result['cache_mb']:.0f} MB)"
    )
