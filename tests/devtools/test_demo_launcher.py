"""``python -m devtools.demo`` without a display, and its helpers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import demo
from devtools.seed import DEMO_PASSWORD, DEMO_USER
from devtools.synapse import SynapseServer

ROOT = Path(__file__).resolve().parents[2]


def run_demo(data_home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY")
    }
    env["XDG_DATA_HOME"] = str(data_home)
    return subprocess.run(
        [sys.executable, "-m", "devtools.demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture
def data_home(tmp_path):
    yield tmp_path
    run_demo(tmp_path, "--stop")


@pytest.mark.synapse
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux display check")
def test_demo_without_display_seeds_and_explains(data_home):
    first = run_demo(data_home)
    second = run_demo(data_home)

    assert first.returncode == 0, first.stderr
    assert "Started the demo server at http://127.0.0.1:" in first.stdout
    assert "Creating the demo organisation" in first.stdout
    assert f"Password:  {DEMO_PASSWORD}" in first.stdout
    assert f"User:      {DEMO_USER}" in first.stdout
    assert "No display found" in first.stdout
    assert demo.XVFB_COMMAND in first.stdout
    assert (data_home / "commonplace" / "demo-server" / "homeserver.db").exists()

    assert second.returncode == 0, second.stderr
    assert "Reusing the demo server" in second.stdout
    assert "Creating the demo organisation" not in second.stdout


@pytest.mark.synapse
def test_demo_stop_stops_running_server(data_home):
    server = SynapseServer(data_home / "commonplace" / "demo-server").start()

    stopped = run_demo(data_home, "--stop")
    again = run_demo(data_home, "--stop")

    assert stopped.returncode == 0, stopped.stderr
    assert "Stopped the demo server." in stopped.stdout
    assert not server.is_running()
    assert "The demo server is not running." in again.stdout


@pytest.mark.synapse
def test_demo_reset_deletes_server_and_profile(data_home):
    server = SynapseServer(data_home / "commonplace" / "demo-server").start()
    profile = data_home / "commonplace" / "demo-profile"
    profile.mkdir()

    reset = run_demo(data_home, "--reset")

    assert reset.returncode == 0, reset.stderr
    assert not server.is_running()
    assert not server.data_dir.exists()
    assert not profile.exists()


def test_has_display_needs_x11_or_wayland_on_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not demo.has_display()

    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert demo.has_display()


def test_app_command_signs_in_demo_user():
    command = demo.app_command("http://127.0.0.1:8008")

    assert command[1:4] == ["-m", "app.cli", "gui"]
    assert command[4:] == ["--server", "http://127.0.0.1:8008", "--user", DEMO_USER]


def test_demo_folders_are_under_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")

    assert demo.server_dir() == tmp_path / "commonplace" / "demo-server"
    assert demo.profile_dir() == tmp_path / "commonplace" / "demo-profile"
