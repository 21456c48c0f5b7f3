"""Build the Linux application folder with PyInstaller and pack it as a .deb.

    python packaging/linux/build.py [--dist DIR] [--work DIR] [--folder-only]

writes DIR/commonplace/ (the one-folder build) and
DIR/commonplace_VERSION_ARCH.deb, which installs the folder under
/opt/commonplace, a /usr/bin/commonplace link, the desktop entry, the icon
and the AppStream metadata. Run it on the oldest Debian release to support,
because PyInstaller copies the build machine's shared libraries.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SPEC_FILE = HERE.parent / "commonplace.spec"
METAINFO_FILE = HERE / "app.commonplace.client.metainfo.xml"
DESKTOP_FILE = ROOT / "resources" / "commonplace.desktop"
ICON_FILE = ROOT / "resources" / "icons" / "commonplace.svg"
MAINTAINER_SCRIPTS = HERE / "debian"

PACKAGE_NAME = "commonplace"
INSTALL_DIR = "/opt/commonplace"
# Used when neither DEBEMAIL nor pyproject.toml names a maintainer. The
# .invalid domain (RFC 2606) makes clear that this is no real address.
DEFAULT_MAINTAINER = "The Commonplace developers <maintainers@commonplace.invalid>"
PYPROJECT_FILE = ROOT / "pyproject.toml"

# System packages the folder needs beyond the shared libraries that its ELF
# files link to (those are found by objdump and checked in
# system_library_packages). The bundled copies of fontconfig, libxkbcommon
# and libX11 read their data from the system: fontconfig-config has the
# font configuration and depends on a font (fonts-dejavu-core or another),
# without which every character is an empty box; xkb-data has the keyboard
# layouts and libx11-data the compose tables. ca-certificates contains the certificate
# authorities that TLS connections to the homeserver are verified against.
DATA_PACKAGES = ["fontconfig-config", "xkb-data", "libx11-data", "ca-certificates"]

# The shared libraries PyInstaller leaves out of the folder, by the Debian 12
# package that provides them. tests/packaging checks that this list covers
# what the built folder links to.
LIBRARY_PACKAGES = [
    "libc6",
    "libegl1",
    "libgl1",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
    "libxcb1",
]
RECOMMENDED_PACKAGES = ["gnome-keyring"]

# Inputs of the folder build; build_folder_cached keys its cache on them.
BUILD_INPUTS = [
    "app",
    "ui",
    "resources",
    "packaging/linux",
    "packaging/commonplace.spec",
    "packaging/commonplace_main.py",
    "pyproject.toml",
]


def app_version() -> str:
    namespace: dict = {}
    exec((ROOT / "app" / "__init__.py").read_text(), namespace)  # noqa: S102
    return namespace["__version__"]


def maintainer() -> str:
    """Return the Maintainer field: "Name <email>".

    The first source that gives an email address wins. First come the
    DEBEMAIL and DEBFULLNAME environment variables, which Debian's own tools
    read; DEBEMAIL may also be "Name <email>". Next is the first
    ``maintainers`` or ``authors`` entry with an email in pyproject.toml,
    and last DEFAULT_MAINTAINER.
    """
    email = os.environ.get("DEBEMAIL", "").strip()
    if email:
        if "<" in email:
            return email
        name = os.environ.get("DEBFULLNAME", "").strip() or "Commonplace packager"
        return f"{name} <{email}>"
    project = tomllib.loads(PYPROJECT_FILE.read_text(encoding="utf-8"))["project"]
    for person in project.get("maintainers", []) + project.get("authors", []):
        if person.get("email"):
            name = person.get("name") or "The Commonplace developers"
            return f"{name} <{person['email']}>"
    return DEFAULT_MAINTAINER


def release_date(version: str) -> datetime.date:
    """Return the date of ``version`` in the AppStream metadata's release list."""
    releases = ElementTree.parse(METAINFO_FILE).getroot().iter("release")
    for release in releases:
        if release.get("version") == version and release.get("date"):
            return datetime.date.fromisoformat(release.get("date"))
    raise SystemExit(
        f"{METAINFO_FILE.name} has no <release> with a date for version {version}: "
        "add one before building the package."
    )


def debian_architecture() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


# -- The application folder --------------------------------------------------


def build_folder(dist: Path, work: Path) -> Path:
    """Run PyInstaller with the spec and return the application folder."""
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
        + ["--distpath", str(dist), "--workpath", str(work), str(SPEC_FILE)],
        cwd=ROOT,
        check=True,
    )
    return dist / PACKAGE_NAME


def inputs_digest() -> str:
    """Return a SHA-256 of the build inputs and of the installed PyInstaller."""
    import PyInstaller

    digest = hashlib.sha256()
    digest.update(f"{sys.version} {PyInstaller.__version__}".encode())
    for name in BUILD_INPUTS:
        path = ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def build_folder_cached(cache: Path) -> Path:
    """Return the application folder built from the current inputs, building once.

    Each build lives in cache/<digest of the inputs>/, and older ones are
    deleted, so an unchanged tree is never built twice.
    """
    digest = inputs_digest()[:16]
    target = cache / digest
    folder = target / "dist" / PACKAGE_NAME
    if (target / "complete").exists():
        return folder
    if cache.exists():
        for old in cache.iterdir():
            shutil.rmtree(old, ignore_errors=True)
    build_folder(target / "dist", target / "work")
    shutil.rmtree(target / "work", ignore_errors=True)
    (target / "complete").write_text(digest + "\n")
    return folder


# -- System dependencies -----------------------------------------------------


def is_elf(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    with open(path, "rb") as file:
        return file.read(4) == b"\x7fELF"


def needed_libraries(path: Path) -> list[str]:
    """Return the DT_NEEDED entries of one ELF file, read with objdump."""
    output = subprocess.run(
        ["objdump", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [
        line.split()[1]
        for line in output.splitlines()
        if line.strip().startswith("NEEDED")
    ]


def system_libraries(folder: Path) -> dict[str, list[str]]:
    """Return each library the folder links to but does not contain, with its users."""
    present = {path.name for path in folder.rglob("*")}
    users: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")):
        if not is_elf(path):
            continue
        for library in needed_libraries(path):
            if library not in present:
                users.setdefault(library, []).append(str(path.relative_to(folder)))
    return users


def package_of_library(library: str) -> str:
    """Return the Debian package that installs ``library`` on this machine."""
    output = subprocess.run(
        ["ldconfig", "-p"], capture_output=True, text=True, check=True
    ).stdout
    candidates = []
    for line in output.splitlines():
        fields = line.strip().split(" => ")
        if len(fields) == 2 and fields[0].split()[0] == library:
            candidates.append(fields[1])
    for path in candidates:
        # With merged /usr, dpkg records each file under one of its two paths.
        for variant in (path, "/usr" + path if not path.startswith("/usr") else path):
            result = subprocess.run(
                ["dpkg-query", "-S", variant],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0:
                return result.stdout.split(":", 1)[0].strip()
    raise LookupError(
        f"No installed Debian package provides {library}; install it and build again."
    )


def system_library_packages(folder: Path) -> dict[str, str]:
    """Return the Debian package of each system library the folder links to."""
    return {
        library: package_of_library(library) for library in system_libraries(folder)
    }


_GLIBC_VERSION_RE = re.compile(r"\bGLIBC_(\d+(?:\.\d+)+)\b")


def required_glibc_version(folder: Path) -> str:
    """Return the newest GLIBC_x.y symbol version that the folder's ELF files import.

    objdump -T lists each dynamic symbol with its version; only undefined
    (imported) symbols count. The result is the libc6 version to depend on.
    """
    elf_files = [str(path) for path in sorted(folder.rglob("*")) if is_elf(path)]
    newest: tuple[int, ...] = ()
    # Many files per objdump run, so that a folder of hundreds of ELF files
    # starts a few processes instead of hundreds.
    for start in range(0, len(elf_files), 200):
        output = subprocess.run(
            ["objdump", "-T", *elf_files[start : start + 200]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in output.splitlines():
            if "*UND*" not in line:
                continue
            match = _GLIBC_VERSION_RE.search(line)
            if match:
                version = tuple(int(part) for part in match[1].split("."))
                newest = max(newest, version)
    if not newest:
        raise SystemExit(f"No ELF file in {folder} imports a versioned glibc symbol.")
    return ".".join(str(part) for part in newest)


def check_declared_dependencies(folder: Path) -> None:
    """Raise SystemExit if the folder links to a library LIBRARY_PACKAGES misses."""
    missing = {
        library: package
        for library, package in system_library_packages(folder).items()
        if package not in LIBRARY_PACKAGES
    }
    if missing:
        listing = ", ".join(
            f"{library} ({package})" for library, package in missing.items()
        )
        raise SystemExit(
            f"The folder links to libraries that the package does not depend on: "
            f"{listing}. Add the packages to LIBRARY_PACKAGES in {Path(__file__).name}."
        )


# -- The .deb ---------------------------------------------------------------


@dataclass(frozen=True)
class DebInfo:
    version: str
    architecture: str
    installed_size_kib: int
    glibc_version: str  # the libc6 version that Depends requires at least
    maintainer: str


def control_text(info: DebInfo) -> str:
    libraries = [
        f"libc6 (>= {info.glibc_version})" if package == "libc6" else package
        for package in LIBRARY_PACKAGES
    ]
    depends = ", ".join(libraries + DATA_PACKAGES)
    return (
        f"Package: {PACKAGE_NAME}\n"
        f"Version: {info.version}\n"
        f"Architecture: {info.architecture}\n"
        f"Maintainer: {info.maintainer}\n"
        f"Installed-Size: {info.installed_size_kib}\n"
        f"Depends: {depends}\n"
        f"Recommends: {', '.join(RECOMMENDED_PACKAGES)}\n"
        "Section: net\n"
        "Priority: optional\n"
        "Description: desktop client for social workplace learning on Matrix\n"
        " Commonplace shows an organisation's communities of practice: group\n"
        " spaces with discussion boards, questions and threaded replies, member\n"
        " profiles and shared files, from the organisation's Matrix homeserver.\n"
        " Everything is kept in a local cache, so reading works offline.\n"
        " .\n"
        f" The application is self-contained under {INSTALL_DIR}.\n"
    )


def changelog_text(version: str, maintainer_field: str, date: datetime.date) -> str:
    """Return a one-entry Debian changelog for a package built from this tree."""
    stamp = datetime.datetime.combine(date, datetime.time(), datetime.UTC)
    return (
        f"{PACKAGE_NAME} ({version}) unstable; urgency=medium\n"
        "\n"
        f"  * Commonplace {version}, built from the upstream source tree.\n"
        "\n"
        f" -- {maintainer_field}  {stamp.strftime('%a, %d %b %Y %H:%M:%S +0000')}\n"
    )


def write_changelog(documents: Path, text: str) -> None:
    """Write changelog.Debian.gz as ``gzip -9n`` would, with no name or time stamp.

    Without a time stamp, two builds of the same tree give the same bytes.
    """
    compressed = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    (documents / "changelog.Debian.gz").write_bytes(compressed)


def md5sums_text(staging: Path) -> str:
    """Return DEBIAN/md5sums: the MD5 of each regular file, as dpkg --verify reads it."""
    lines = []
    for path in sorted(staging.rglob("*")):
        relative = path.relative_to(staging)
        if relative.parts[0] == "DEBIAN" or path.is_symlink() or not path.is_file():
            continue
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        lines.append(f"{digest}  {relative.as_posix()}\n")
    return "".join(lines)


def stage_package_tree(folder: Path, staging: Path) -> None:
    """Lay out the files of the package under ``staging``, as installed."""
    install_dir = staging / INSTALL_DIR.lstrip("/")
    shutil.copytree(folder, install_dir, symlinks=True)

    binary_dir = staging / "usr" / "bin"
    binary_dir.mkdir(parents=True)
    (binary_dir / PACKAGE_NAME).symlink_to(f"{INSTALL_DIR}/{PACKAGE_NAME}")

    share = staging / "usr" / "share"
    applications = share / "applications"
    applications.mkdir(parents=True)
    shutil.copy2(DESKTOP_FILE, applications / "commonplace.desktop")

    icons = share / "icons" / "hicolor" / "scalable" / "apps"
    icons.mkdir(parents=True)
    shutil.copy2(ICON_FILE, icons / "commonplace.svg")

    metainfo = share / "metainfo"
    metainfo.mkdir(parents=True)
    shutil.copy2(METAINFO_FILE, metainfo / METAINFO_FILE.name)

    documents = share / "doc" / PACKAGE_NAME
    documents.mkdir(parents=True)
    shutil.copy2(HERE / "copyright", documents / "copyright")

    for path in staging.rglob("*"):
        if path.is_symlink():
            continue
        mode = 0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644
        path.chmod(mode)


def tree_size_kib(path: Path) -> int:
    total = 0
    for item in path.rglob("*"):
        if item.is_file() and not item.is_symlink():
            total += item.stat().st_size
    return (total + 1023) // 1024


def build_deb(folder: Path, dist: Path) -> Path:
    """Pack ``folder`` and the desktop integration files into a .deb in ``dist``."""
    check_declared_dependencies(folder)
    version = app_version()
    architecture = debian_architecture()
    maintainer_field = maintainer()
    output = dist / f"{PACKAGE_NAME}_{version}_{architecture}.deb"
    with tempfile.TemporaryDirectory(prefix="commonplace-deb-") as temporary:
        staging = Path(temporary) / "root"
        stage_package_tree(folder, staging)
        documents = staging / "usr" / "share" / "doc" / PACKAGE_NAME
        changelog = changelog_text(version, maintainer_field, release_date(version))
        write_changelog(documents, changelog)
        (documents / "changelog.Debian.gz").chmod(0o644)
        control_dir = staging / "DEBIAN"
        control_dir.mkdir()
        info = DebInfo(
            version,
            architecture,
            tree_size_kib(staging),
            required_glibc_version(folder),
            maintainer_field,
        )
        (control_dir / "control").write_text(control_text(info))
        (control_dir / "md5sums").write_text(md5sums_text(staging))
        postrm = control_dir / "postrm"
        shutil.copy2(MAINTAINER_SCRIPTS / "postrm", postrm)
        postrm.chmod(0o755)
        dist.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(staging)]
            + [str(output)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build" / "pyinstaller",
        help="PyInstaller's work folder (default build/pyinstaller/)",
    )
    parser.add_argument(
        "--folder-only", action="store_true", help="build the folder, not the .deb"
    )
    args = parser.parse_args(argv)
    dist = args.dist.resolve()
    folder = build_folder(dist, args.work.resolve())
    print(f"Application folder: {folder}")
    if not args.folder_only:
        deb = build_deb(folder, dist)
        print(f"Package: {deb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
