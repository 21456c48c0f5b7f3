"""The PyInstaller folder runs, and the .deb installs the right files with the right metadata.

The install into a real minimal Debian root is ``./dev verify-package``,
outside the suite, because it needs root rights and a Debian mirror.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from app import __version__
from app.cli import EXIT_SELF_TEST_FAILED
from tests.app.preview_samples import image_bytes, pdf_bytes

pytestmark = pytest.mark.slow

# Qt libraries and plugins of modules the app never imports; none may be bundled.
UNUSED_QT_NAMES = [
    "libQt6WebEngineCore",
    "libQt6Quick",
    "libQt6Qml",
    "libQt63DCore",
    "libQt6Multimedia",
    "libQt6Pdf",
    "libQt6Network",
    "libqgtk3",
    "libqeglfs",
    "libgtk-3",
]


def bare_environment(home: Path) -> dict[str, str]:
    """An environment with no display, no session bus and a private profile."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "COMMONPLACE_HOME": str(home / "profile"),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }


def control_fields(deb: Path) -> dict[str, str]:
    output = subprocess.run(
        ["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    fields: dict[str, str] = {}
    name = ""
    for line in output.splitlines():
        if line.startswith(" ") and name:
            fields[name] += "\n" + line
        else:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def depends_names(deb: Path) -> set[str]:
    depends = control_fields(deb)["Depends"]
    return {item.strip().split(" ")[0] for item in depends.split(",")}


# -- The application folder ---------------------------------------------------


def test_folder_prints_version(app_folder, tmp_path):
    completed = subprocess.run(
        [str(app_folder / "commonplace"), "--version"],
        env=bare_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"commonplace {__version__}"


def test_folder_self_test_reports_bare_machine(app_folder, tmp_path):
    completed = subprocess.run(
        [str(app_folder / "commonplace"), "--self-test"],
        env=bare_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = completed.stdout.splitlines()

    assert completed.returncode == EXIT_SELF_TEST_FAILED, (
        completed.stdout + completed.stderr
    )
    assert any(line.startswith("OK      Qt platform: the offscreen") for line in lines)
    assert any(line.startswith("FAILED  Keyring:") for line in lines)
    assert any(line.startswith("WARNING Notifications:") for line in lines)
    assert any(line.startswith("OK      Policy: no policy") for line in lines)
    assert any(line.startswith("OK      Cache folder:") for line in lines)
    assert any(
        line.startswith("FAILED  Server: no server configured") for line in lines
    )


def test_folder_opens_desktop_app_offscreen(app_folder, tmp_path):
    # The app shows its sign-in dialog and waits: still running after a few
    # seconds means every module it imports on the way was bundled.
    process = subprocess.Popen(
        [str(app_folder / "commonplace"), "gui"],
        env=bare_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    still_running = process.poll() is None
    process.terminate()
    _output, errors = process.communicate(timeout=30)

    assert still_running, errors
    assert "Traceback" not in errors


@pytest.mark.parametrize(
    ("kind", "name", "data", "pages"),
    [
        ("pdf", "report.pdf", pdf_bytes(200, 300), 1),
        ("image", "photo.png", image_bytes("PNG", 160, 40), None),
    ],
)
def test_folder_draws_previews(app_folder, tmp_path, kind, name, data, pages):
    # The desktop app starts the preview worker as a child of this executable.
    sample = tmp_path / name
    sample.write_bytes(data)
    completed = subprocess.run(
        [str(app_folder / "commonplace"), "--preview-worker", kind, str(sample), "80"],
        env=bare_environment(tmp_path),
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    header, _, pixels = completed.stdout.partition(b"\n")
    drawn = json.loads(header)
    assert drawn["pages"] == pages
    assert max(drawn["width"], drawn["height"]) == 80
    assert len(pixels) == drawn["width"] * drawn["height"] * 4


def test_folder_leaves_out_unused_qt(app_folder):
    names = [path.name for path in app_folder.rglob("*")]

    for unused in UNUSED_QT_NAMES:
        assert not [name for name in names if name.startswith(unused)], unused
    assert not list(app_folder.rglob("translations/*.qm"))


def test_folder_keeps_needed_qt_plugins(app_folder):
    plugins = app_folder / "_internal" / "PySide6" / "Qt" / "plugins"

    assert (plugins / "platforms" / "libqxcb.so").is_file()
    assert (plugins / "platforms" / "libqwayland.so").is_file()
    assert (plugins / "platforms" / "libqoffscreen.so").is_file()
    assert (plugins / "imageformats" / "libqsvg.so").is_file()
    assert (plugins / "imageformats" / "libqjpeg.so").is_file()
    assert (plugins / "iconengines" / "libqsvgicon.so").is_file()


def test_folder_has_no_dangling_links(app_folder):
    dangling = [
        str(path)
        for path in app_folder.rglob("*")
        if path.is_symlink() and not path.exists()
    ]

    assert dangling == []


def test_folder_bundles_resources(app_folder):
    resources = app_folder / "_internal" / "commonplace_resources"

    assert (resources / "style.qss").is_file()
    assert (resources / "icons" / "commonplace.svg").is_file()


def test_folder_leaves_out_plain_text_keyring(app_folder):
    assert not list(app_folder.rglob("keyrings*"))


def test_depends_cover_linked_system_libraries(build_script, app_folder, deb_file):
    libraries = build_script.system_library_packages(app_folder)
    declared = depends_names(deb_file)

    # The xcb and EGL libraries are the ones PyInstaller never bundles.
    assert "libxcb.so.1" in libraries
    assert "libEGL.so.1" in libraries
    for library, package in libraries.items():
        assert package in declared, f"{library} comes from {package}, not in Depends"


# -- The .deb ------------------------------------------------------------------


def test_deb_control_fields(deb_file):
    fields = control_fields(deb_file)

    assert fields["Package"] == "commonplace"
    assert fields["Version"] == __version__
    assert (
        fields["Architecture"]
        == subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    assert re.fullmatch(r".+ <[^>@]+@[^>]+>", fields["Maintainer"])
    assert not fields["Maintainer"].endswith("@localhost>")
    assert int(fields["Installed-Size"]) > 50_000  # KiB
    assert fields["Description"].startswith("desktop client")
    assert "gnome-keyring" in fields["Recommends"]


def test_deb_depends_on_qt_runtime_packages(deb_file):
    declared = depends_names(deb_file)

    for package in [
        "fontconfig-config",
        "libegl1",
        "libgl1",
        "libxcb1",
        "ca-certificates",
    ]:
        assert package in declared, package


def test_deb_requires_glibc_of_symbols(build_script, app_folder, deb_file):
    depends = [item.strip() for item in control_fields(deb_file)["Depends"].split(",")]
    libc = [item for item in depends if item.split(" ")[0] == "libc6"]
    assert len(libc) == 1
    match = re.fullmatch(r"libc6 \(>= (\d+(?:\.\d+)+)\)", libc[0])
    assert match, libc[0]
    declared = tuple(int(part) for part in match[1].split("."))

    # The newest GLIBC_ version that any ELF file imports is the declared
    # one: a lower bound lets dpkg install on a too old glibc, a higher one
    # refuses machines that would work.
    versions = set()
    for path in app_folder.rglob("*"):
        if not build_script.is_elf(path):
            continue
        output = subprocess.run(
            ["objdump", "-T", str(path)], capture_output=True, text=True, check=True
        ).stdout
        for line in output.splitlines():
            found = re.search(r"\bGLIBC_(\d+(?:\.\d+)+)\b", line)
            if "*UND*" in line and found:
                versions.add(tuple(int(part) for part in found[1].split(".")))
    assert versions
    assert max(versions) == declared


def test_deb_md5sums_match_files(deb_file, deb_tree, tmp_path):
    subprocess.run(
        ["dpkg-deb", "-e", str(deb_file), str(tmp_path / "control")], check=True
    )
    listed = {}
    for line in (tmp_path / "control" / "md5sums").read_text().splitlines():
        digest, _, path = line.partition("  ")
        listed[path] = digest
    files = {
        path.relative_to(deb_tree).as_posix(): path
        for path in deb_tree.rglob("*")
        if path.is_file() and not path.is_symlink()
    }

    assert set(listed) == set(files)
    for path, digest in listed.items():
        actual = hashlib.md5(files[path].read_bytes(), usedforsecurity=False)
        assert actual.hexdigest() == digest, path


def test_deb_has_debian_changelog(deb_tree):
    changelog = deb_tree / "usr" / "share" / "doc" / "commonplace"
    raw = (changelog / "changelog.Debian.gz").read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()

    assert lines[0] == f"commonplace ({__version__}) unstable; urgency=medium"
    assert lines[2].startswith("  * ")
    assert re.fullmatch(
        r" -- .+ <[^>]+>  \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000",
        lines[4],
    )
    # Byte 4 to 7 of a gzip header are its time stamp: 0 keeps the build reproducible.
    assert raw[4:8] == b"\0\0\0\0"


def test_maintainer_from_environment(build_script, monkeypatch):
    monkeypatch.setenv("DEBEMAIL", "ops@example.org")
    monkeypatch.setenv("DEBFULLNAME", "Example Ops")

    assert build_script.maintainer() == "Example Ops <ops@example.org>"


def test_maintainer_from_pyproject(build_script, monkeypatch, tmp_path):
    monkeypatch.delenv("DEBEMAIL", raising=False)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n'
        'maintainers = [{name = "Pat Packager", email = "pat@example.org"}]\n'
    )
    monkeypatch.setattr(build_script, "PYPROJECT_FILE", pyproject)

    assert build_script.maintainer() == "Pat Packager <pat@example.org>"


def test_deb_installs_under_opt(deb_file):
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb_file)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    paths = [line.split()[5] for line in listing]
    owners = {line.split()[1] for line in listing}
    allowed = ("./opt/commonplace", "./usr/bin/commonplace", "./usr/share/")

    assert owners == {"root/root"}
    assert "./opt/commonplace/commonplace" in paths
    assert "./usr/share/applications/commonplace.desktop" in paths
    assert "./usr/share/icons/hicolor/scalable/apps/commonplace.svg" in paths
    assert "./usr/share/metainfo/app.commonplace.client.metainfo.xml" in paths
    assert "./usr/share/doc/commonplace/copyright" in paths
    for path in paths:
        if path.rstrip("/") not in ("./", ".", "./opt", "./usr", "./usr/bin"):
            assert path.startswith(allowed), path


def test_deb_links_command_onto_path(deb_tree):
    link = deb_tree / "usr" / "bin" / "commonplace"

    assert link.is_symlink()
    assert os.readlink(link) == "/opt/commonplace/commonplace"
    assert os.access(deb_tree / "opt" / "commonplace" / "commonplace", os.X_OK)


def test_deb_desktop_entry_is_valid(deb_tree):
    desktop = deb_tree / "usr" / "share" / "applications" / "commonplace.desktop"
    if shutil.which("desktop-file-validate") is None:
        pytest.fail("desktop-file-validate is missing: run ./dev setup")

    completed = subprocess.run(
        ["desktop-file-validate", str(desktop)],
        capture_output=True,
        text=True,
        check=False,
    )
    entry = desktop.read_text()

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert re.search(r"^Exec=commonplace\b", entry, re.MULTILINE)
    assert re.search(r"^Icon=commonplace$", entry, re.MULTILINE)


def test_deb_appstream_metadata_is_valid(deb_tree):
    metainfo = (
        deb_tree / "usr" / "share" / "metainfo" / "app.commonplace.client.metainfo.xml"
    )
    if shutil.which("appstreamcli") is None:
        pytest.fail("appstreamcli is missing: run ./dev setup")

    completed = subprocess.run(
        ["appstreamcli", "validate", "--no-net", "--pedantic", str(metainfo)],
        capture_output=True,
        text=True,
        check=False,
    )
    text = metainfo.read_text()

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "<id>app.commonplace.client</id>" in text
    assert '<launchable type="desktop-id">commonplace.desktop</launchable>' in text
    assert f'<release version="{__version__}"' in text


def test_deb_postrm_removes_opt_folder(deb_file, tmp_path):
    subprocess.run(
        ["dpkg-deb", "-e", str(deb_file), str(tmp_path / "control")], check=True
    )
    postrm = tmp_path / "control" / "postrm"
    syntax = subprocess.run(
        ["sh", "-n", str(postrm)], capture_output=True, text=True, check=False
    )

    assert os.access(postrm, os.X_OK)
    assert syntax.returncode == 0, syntax.stderr
    assert "rm -rf /opt/commonplace" in postrm.read_text()
