"""The Windows and macOS recipes, checked as far as a Linux machine can.

WiX, msiexec, codesign and notarytool do not run here, so these tests check
the files the recipes feed them: the WiX sources, the generated file list,
the icons, the signing script's input checks and the CI workflow.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

from app import policy

REPOSITORY = Path(__file__).parents[2]
PACKAGING = REPOSITORY / "packaging"
WIX = "{http://wixtoolset.org/schemas/v4/wxs}"

pytestmark = pytest.mark.slow


def load_wxs() -> ElementTree.Element:
    return ElementTree.parse(PACKAGING / "windows" / "Commonplace.wxs").getroot()


def test_msi_is_per_machine():
    package = load_wxs().find(f"{WIX}Package")

    assert package.get("Scope") == "perMachine"
    assert package.get("Version") == "$(var.Version)"
    assert package.find(f"{WIX}MajorUpgrade") is not None


def test_msi_writes_server_policy_value():
    root = load_wxs()
    server = [
        element
        for element in root.iter(f"{WIX}Property")
        if element.get("Id") == "SERVER"
    ]
    component = next(
        element
        for element in root.iter(f"{WIX}Component")
        if element.get("Id") == "ServerPolicy"
    )
    value = component.find(f"{WIX}RegistryValue")

    assert len(server) == 1
    assert server[0].get("Secure") == "yes"
    assert component.get("Condition") == "SERVER"
    # The value must be where and what app/policy.py reads.
    assert value.get("Root") == "HKLM"
    assert value.get("Key") == policy.REGISTRY_KEY
    assert value.get("Name") == "homeserver"
    assert "homeserver" in policy.POLICY_KEYS
    assert value.get("Type") == "string"
    assert value.get("Value") == "[SERVER]"


def test_msi_shortcut_opens_windowed_program():
    shortcut = next(load_wxs().iter(f"{WIX}Shortcut"))
    spec = (PACKAGING / "commonplace.spec").read_text()

    assert shortcut.get("Target") == "[INSTALLFOLDER]commonplacew.exe"
    assert shortcut.get("Arguments") == "gui"
    assert 'name="commonplacew"' in spec


def test_harvest_lists_every_file(app_folder, tmp_path):
    output = tmp_path / "AppFiles.wxs"
    completed = subprocess.run(
        [sys.executable, str(PACKAGING / "windows" / "harvest.py")]
        + [str(app_folder), str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    root = ElementTree.parse(output).getroot()
    files = list(root.iter(f"{WIX}File"))
    components = list(root.iter(f"{WIX}Component"))
    identifiers = [element.get("Id") for element in files + components]
    on_disk = [path for path in app_folder.rglob("*") if path.is_file()]

    assert completed.returncode == 0, completed.stderr
    assert len(files) == len(on_disk)
    assert len(set(identifiers)) == len(identifiers)
    assert max(len(identifier) for identifier in identifiers) <= 72
    assert all(f.get("Source").startswith("$(var.SourceDir)\\") for f in files)
    assert any(
        c.get("Subdirectory") == "_internal\\commonplace_resources" for c in components
    )


def test_harvest_rejects_other_folder(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(PACKAGING / "windows" / "harvest.py")]
        + [str(tmp_path), str(tmp_path / "out.wxs")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert "not a PyInstaller folder" in completed.stderr


def test_icon_has_every_size(tmp_path):
    icon = tmp_path / "commonplace.ico"
    completed = subprocess.run(
        [sys.executable, str(PACKAGING / "render_icons.py"), "--ico", str(icon)],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        check=False,
    )
    data = icon.read_bytes()
    _reserved, kind, count = struct.unpack_from("<HHH", data)
    sizes = [data[6 + 16 * index] or 256 for index in range(count)]

    assert completed.returncode == 0, completed.stderr
    assert kind == 1
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    first_offset = struct.unpack_from("<I", data, 6 + 12)[0]
    assert data[first_offset : first_offset + 8] == b"\x89PNG\r\n\x1a\n"


def test_macos_script_names_missing_secret():
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DEVELOPER_ID_", "APPLE_"))
    }
    completed = subprocess.run(
        ["bash", str(PACKAGING / "macos" / "build_pkg.sh")],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert "DEVELOPER_ID_APPLICATION is not set" in completed.stderr


def test_workflow_uses_existing_files():
    workflow = yaml.safe_load((PACKAGING / "ci" / "installers.yml").read_text())
    text = (PACKAGING / "ci" / "installers.yml").read_text()

    assert set(workflow["jobs"]) == {"windows-msi", "macos-pkg"}
    for path in [
        "packaging/commonplace.spec",
        "packaging/render_icons.py",
        "packaging/windows/harvest.py",
        "packaging/windows/Commonplace.wxs",
        "packaging/macos/build_pkg.sh",
        "packaging/requirements.lock",
    ]:
        assert path in text, path
        assert (REPOSITORY / path).exists(), path
