"""``python -m devtools.demo``: a local Synapse with a demo organisation, and the app.

The server and its data live in the user's data folder under ``demo-server``
and keep running after the app closes, so the next run starts at once with the
same data. The app runs with its own profile (``demo-profile``), so the user's
real profile is never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import platformdirs

from app.paths import APP_NAME
from devtools.seed import (
    DEMO_PASSWORD,
    DEMO_USER,
    SeedError,
    is_seeded,
    seed_demo_sync,
)
from devtools.secret_service import SecretServiceDaemon
from devtools.synapse import SynapseError, SynapseServer

log = logging.getLogger(__name__)

XVFB_COMMAND = 'xvfb-run -a -s "-screen 0 1280x800x24" ./dev demo'


def demo_root() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def server_dir() -> Path:
    return demo_root() / "demo-server"


def profile_dir() -> Path:
    return demo_root() / "demo-profile"


def has_display() -> bool:
    """Return whether a window can be shown.

    Always true outside Linux; on Linux, true when an X11 or Wayland display
    is set.
    """
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def app_command(base_url: str) -> list[str]:
    """Return the command that opens the app signed in as the demo user."""
    gui = [sys.executable, "-m", "app.cli", "gui"]
    return [*gui, "--server", base_url, "--user", DEMO_USER]


def stop() -> int:
    server = SynapseServer(server_dir())
    if not server.is_running():
        print("The demo server is not running.")
        return 0
    server.stop()
    print("Stopped the demo server.")
    return 0


def reset() -> int:
    SynapseServer(server_dir()).stop()
    for folder in (server_dir(), profile_dir()):
        if folder.exists():
            shutil.rmtree(folder)
            print(f"Deleted {folder}")
    print("The next run of the demo creates a new server and organisation.")
    return 0


def start_and_seed() -> SynapseServer:
    """Start or reuse the demo server, and seed it unless it is seeded."""
    server = SynapseServer(server_dir())
    reused = server.is_running()
    server.start()
    print(f"{'Reusing' if reused else 'Started'} the demo server at {server.base_url}")
    if is_seeded(server.base_url, server.server_name):
        return server

    print("Creating the demo organisation (takes about 15 seconds)...")
    result = seed_demo_sync(server.base_url, server.register)
    print(
        f"Created {len(result.user_ids)} people, {len(result.spaces)} spaces, "
        f"{result.discussions} discussions, {result.replies} replies, "
        f"{result.likes} likes and {result.files} files in {result.seconds:.1f} s."
    )
    return server


def launch_app(server: SynapseServer) -> int:
    """Run the app signed in as the demo user and return its exit code."""
    profile_dir().mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["COMMONPLACE_HOME"] = str(profile_dir())
    env["COMMONPLACE_PASSWORD"] = DEMO_PASSWORD
    repository = Path(__file__).resolve().parent.parent
    command = app_command(server.base_url)
    with contextlib.ExitStack() as stack:
        if not keyring_usable():
            # The app never stores a token in plain text, so without a usable
            # keyring the demo brings a private one for the app's lifetime.
            print("No usable keyring found; the demo runs a private one.")
            daemon = stack.enter_context(SecretServiceDaemon())
            env.update(daemon.environment)
        print("Opening Commonplace...")
        completed = subprocess.run(command, check=False, env=env, cwd=repository)
    return completed.returncode


def keyring_usable() -> bool:
    """Return whether the session's keyring can store a token."""
    from app.credentials import KeyringUnavailable, TokenStore

    try:
        TokenStore().check()
    except KeyringUnavailable as error:
        log.info("Keyring not usable for the demo: %s", error.reason)
        return False
    return True


def print_account(server: SynapseServer) -> None:
    print()
    print(f"  Server:    {server.base_url}")
    print(f"  User:      {DEMO_USER}  (@{DEMO_USER}:{server.server_name})")
    print(f"  Password:  {DEMO_PASSWORD}")
    print("  Every other demo account has the same password.")
    print()


def run() -> int:
    try:
        server = start_and_seed()
    except (SynapseError, SeedError) as error:
        print(f"The demo failed: {error}", file=sys.stderr)
        print("Start from scratch with: ./dev demo --reset", file=sys.stderr)
        return 1
    print_account(server)

    if not has_display():
        print("No display found: DISPLAY and WAYLAND_DISPLAY are not set.")
        print("To show the app on a virtual display, run:")
        print(f"  {XVFB_COMMAND}")
        print("The demo server keeps running; stop it with: ./dev demo --stop")
        return 0

    exit_code = launch_app(server)
    if exit_code != 0:
        print(f"Commonplace exited with code {exit_code}.", file=sys.stderr)
    print(f"The demo server keeps running at {server.base_url}.")
    print("Stop it with: ./dev demo --stop")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev demo",
        description=(
            "Start a local Synapse with a demo organisation and open Commonplace "
            "signed in as the demo user. The server keeps running afterwards."
        ),
    )
    actions = parser.add_mutually_exclusive_group()
    actions.add_argument("--stop", action="store_true", help="stop the demo server")
    actions.add_argument(
        "--reset",
        action="store_true",
        help="stop the demo server and delete its data and the demo app profile",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each step to stderr"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.stop:
        return stop()
    if args.reset:
        return reset()
    return run()


if __name__ == "__main__":
    sys.exit(main())
