"""Measure the package: folder and .deb sizes, and start times from the folder.

    python packaging/linux/measure.py [--dist DIR] [--repeats N]

Expects DIR/commonplace/ and DIR/commonplace_*.deb from ``./dev package``.
Times ``commonplace --version``, and the time from start to the main window
on Qt's offscreen platform. For the window, the app starts signed in (token
in a private gnome-keyring) with an empty cache and an unreachable server.
It prints a line once the window has shown its lists, because
COMMONPLACE_BENCHMARK_READY is set (see ui/app.py). The same starts from
the virtual environment are timed for comparison. Prints medians and
maxima of N runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "commonplace-ready"
USER_ID = "@reader:measure.test"


def folder_bytes(folder: Path) -> int:
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    )


def time_version(command: list[str], repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([*command, "--version"], capture_output=True, check=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def time_to_window(command: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "gui"],
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
    process.wait(30)
    if ready is None:
        raise RuntimeError(
            f"{command[0]} exited with {process.returncode} before its window."
        )
    return ready


def signed_in_profile(home: Path, homeserver_url: str) -> None:
    """Write settings for a signed-in account; the token goes to the keyring."""
    config = home / "config"
    config.mkdir(parents=True)
    settings = {
        "homeserver_url": homeserver_url,
        "user_id": USER_ID,
        "device_id": "MEASUREDEVICE",
        "session_only": False,
    }
    (config / "settings.json").write_text(json.dumps(settings))


def summary(label: str, seconds: list[float]) -> str:
    return (
        f"{label}: median {statistics.median(seconds):.2f} s, "
        f"max {max(seconds):.2f} s ({len(seconds)} runs)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from app.account import account_key
    from app.credentials import TokenStore
    from devtools.secret_service import SecretServiceDaemon
    from devtools.synapse import free_port

    folder = args.dist / "commonplace"
    debs = sorted(args.dist.glob("commonplace_*.deb"))
    if not folder.is_dir() or not debs:
        print(f"No build in {args.dist}: run ./dev package first.", file=sys.stderr)
        return 2
    print(f"Application folder: {folder_bytes(folder) / 1e6:.0f} MB")
    print(f"Package {debs[-1].name}: {debs[-1].stat().st_size / 1e6:.0f} MB")

    frozen = [str(folder / "commonplace")]
    from_venv = [sys.executable, "-m", "app.cli"]
    print(summary("--version from the folder", time_version(frozen, args.repeats)))
    print(summary("--version from .venv", time_version(from_venv, args.repeats)))

    home = Path(tempfile.mkdtemp(prefix="cp-measure-"))
    homeserver_url = f"http://127.0.0.1:{free_port()}"
    try:
        with SecretServiceDaemon() as secrets:
            signed_in_profile(home, homeserver_url)
            os.environ["COMMONPLACE_HOME"] = str(home)
            TokenStore().save(account_key(homeserver_url, USER_ID), "measure-token")
            environment = {
                **os.environ,
                **secrets.environment,
                "COMMONPLACE_HOME": str(home),
                "COMMONPLACE_BENCHMARK_READY": READY_LINE,
                "QT_QPA_PLATFORM": "offscreen",
            }
            for label, command in (("folder", frozen), (".venv", from_venv)):
                seconds = [
                    time_to_window(command, environment) for _ in range(args.repeats)
                ]
                print(summary(f"Main window offscreen from the {label}", seconds))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
