"""Install the .deb into a clean minimal Debian root, run it there, and purge it.

    python packaging/linux/verify_package.py DEB [--mirror URL] [--keep-root]

Needs root (debootstrap, chroot and mounting /proc) and a reachable Debian
mirror. The minimal root (``debootstrap --variant=minbase bookworm``) is made
once and kept as a tar file under build/verify-package/; every run unpacks a
fresh copy, so each install starts from a bare system. In that root:

1. ``apt-get install --no-install-recommends ./DEB`` must pull in every
   system package the app needs,
2. ``commonplace --version`` prints the version,
3. ``commonplace --self-test`` passes its Qt check on the offscreen platform
   and reports the missing keyring, notification service and server, with
   exit code 11,
4. the desktop app starts offscreen and is still running after a few seconds,
5. ``apt-get purge`` leaves no file of the package behind.

Exits 0 when every step passed, 1 when one failed, and 2 when the root could
not be made (no root rights, no debootstrap, or no mirror).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE_DIR = ROOT / "build" / "verify-package"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SELF_TEST_FAILED = 11  # app.cli.EXIT_SELF_TEST_FAILED
GUI_SECONDS = 8

# Paths the package installs outside /opt/commonplace; none may remain after purge.
INSTALLED_PATHS = [
    "opt/commonplace",
    "usr/bin/commonplace",
    "usr/share/applications/commonplace.desktop",
    "usr/share/icons/hicolor/scalable/apps/commonplace.svg",
    "usr/share/metainfo/app.commonplace.client.metainfo.xml",
    "usr/share/doc/commonplace",
]

# A login-like environment with no display, no D-Bus and no keyring.
BARE_ENVIRONMENT = {
    "HOME": "/root",
    "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    "LANG": "C.UTF-8",
}


class RootUnavailable(Exception):
    """The minimal Debian root could not be made."""


def step(message: str) -> None:
    print(f"== {message}", flush=True)


def base_root_tar(mirror: str) -> Path:
    """Return the tar file of a pristine minimal root, running debootstrap once.

    Each mirror gets its own file, because the root's apt sources name the
    mirror that debootstrap used, and the install in the root fetches from it.
    """
    mirror_digest = hashlib.sha256(mirror.encode()).hexdigest()[:12]
    tar = CACHE_DIR / f"{SUITE}-minbase-{mirror_digest}.tar"
    if tar.exists():
        return tar
    if shutil.which("debootstrap") is None:
        raise RootUnavailable(
            "debootstrap is not installed. Install it with 'apt-get install "
            "debootstrap' and run again."
        )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="commonplace-root-", dir=CACHE_DIR) as work:
        target = Path(work) / "root"
        step(f"Making a minimal Debian {SUITE} root from {mirror} (once)")
        completed = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(target), mirror],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            lines = (completed.stdout + completed.stderr).strip().splitlines()
            raise RootUnavailable(
                f"debootstrap could not fetch Debian {SUITE} from {mirror} (exit "
                f"code {completed.returncode}): {' '.join(lines[-3:])}\n"
                "The verified install needs a reachable Debian mirror. Pass one "
                "with --mirror URL, or run this on a machine with access to "
                f"{mirror}."
            )
        partial = tar.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(target), "-cf", str(partial), "."], check=True)
        partial.rename(tar)
    return tar


class DebianRoot:
    """A fresh copy of the minimal root with /proc mounted; a context manager."""

    def __init__(self, tar: Path, keep: bool):
        self.tar = tar
        self.keep = keep
        self.path = Path(tempfile.mkdtemp(prefix="root-", dir=CACHE_DIR))
        self._mounted = False

    def __enter__(self) -> DebianRoot:
        subprocess.run(["tar", "-C", str(self.path), "-xf", str(self.tar)], check=True)
        subprocess.run(
            ["mount", "-t", "proc", "proc", str(self.path / "proc")], check=True
        )
        self._mounted = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._mounted:
            subprocess.run(["umount", "-l", str(self.path / "proc")], check=False)
        if self.keep:
            print(f"The root is kept at {self.path}.")
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def run(
        self,
        command: list[str],
        *,
        environment: dict[str, str] | None = None,
        timeout=600,
    ) -> subprocess.CompletedProcess:
        """Run ``command`` inside the root with only ``environment`` set."""
        variables = [
            f"{name}={value}"
            for name, value in (environment or BARE_ENVIRONMENT).items()
        ]
        return subprocess.run(
            ["chroot", str(self.path), "env", "-i", *variables, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


class Verification:
    """Collects the outcome of each check and prints it as it happens."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, passed: bool, description: str, output: str = "") -> bool:
        print(f"{'ok    ' if passed else 'FAILED'} {description}", flush=True)
        if not passed:
            self.failures.append(description)
            if output.strip():
                print("       " + output.strip().replace("\n", "\n       "), flush=True)
        return passed


def verify(deb: Path, root: DebianRoot, version: str) -> list[str]:
    """Install, run and purge the package in ``root``; return the failed checks."""
    results = Verification()
    shutil.copy2(deb, root.path / "tmp" / deb.name)

    step("Installing the package with its dependencies")
    install_command = (
        "apt-get update -qq && "
        f"apt-get install -y -qq --no-install-recommends /tmp/{deb.name}"
    )
    install = root.run(
        ["sh", "-c", install_command],
        environment={**BARE_ENVIRONMENT, "DEBIAN_FRONTEND": "noninteractive"},
    )
    if not results.check(
        install.returncode == 0, "apt-get install", install.stdout + install.stderr
    ):
        return results.failures

    step("Running commonplace --version")
    version_run = root.run(["commonplace", "--version"])
    results.check(
        version_run.returncode == 0 and version in version_run.stdout,
        f"commonplace --version prints {version}",
        version_run.stdout + version_run.stderr,
    )

    step("Running commonplace --self-test")
    offscreen = {**BARE_ENVIRONMENT, "QT_QPA_PLATFORM": "offscreen"}
    self_test = root.run(["commonplace", "--self-test"], environment=offscreen)
    print(self_test.stdout, end="", flush=True)
    report = self_test.stdout.splitlines()
    expected_lines = {
        "OK      Qt platform:": "the Qt check passes",
        "FAILED  Keyring:": "the missing keyring is reported",
        "WARNING Notifications:": "the missing notification service is reported",
        "OK      Policy: no policy": "the absent policy is reported",
        "OK      Cache folder:": "the cache folder is writable",
        "FAILED  Server: no server configured": "the missing server is reported",
    }
    for prefix, description in expected_lines.items():
        found = any(line.startswith(prefix) for line in report)
        results.check(found, f"self-test: {description}", self_test.stderr)
    results.check(
        self_test.returncode == SELF_TEST_FAILED,
        f"self-test exits with {SELF_TEST_FAILED}",
        f"The exit code was {self_test.returncode}.",
    )

    step(f"Starting the desktop app offscreen for {GUI_SECONDS} seconds")
    gui = root.run(
        ["timeout", str(GUI_SECONDS), "commonplace", "gui"], environment=offscreen
    )
    # timeout(1) exits with 124 when it had to stop the app, which was still running.
    results.check(
        gui.returncode == 124 and "Traceback" not in gui.stderr,
        "the desktop app runs offscreen without an error",
        gui.stderr,
    )

    step("Purging the package")
    purge = root.run(
        ["apt-get", "purge", "-y", "-qq", "commonplace"],
        environment={**BARE_ENVIRONMENT, "DEBIAN_FRONTEND": "noninteractive"},
    )
    results.check(purge.returncode == 0, "apt-get purge", purge.stdout + purge.stderr)
    left = [path for path in INSTALLED_PATHS if os.path.lexists(root.path / path)]
    results.check(not left, "purge leaves no files", "Left behind: " + ", ".join(left))
    return results.failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "deb", type=Path, help="the .deb built by packaging/linux/build.py"
    )
    parser.add_argument(
        "--mirror",
        default=DEFAULT_MIRROR,
        help=f"Debian mirror (default {DEFAULT_MIRROR})",
    )
    parser.add_argument(
        "--keep-root",
        action="store_true",
        help="keep the root afterwards, to look into it",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from build import app_version

    if os.geteuid() != 0:
        print(
            "The verified install needs root, for debootstrap, chroot and mounting "
            "/proc. Run it as root (sudo ./dev verify-package).",
            file=sys.stderr,
        )
        return 2
    try:
        tar = base_root_tar(args.mirror)
    except RootUnavailable as error:
        print(str(error), file=sys.stderr)
        return 2
    with DebianRoot(tar, keep=args.keep_root) as root:
        failures = verify(args.deb.resolve(), root, app_version())
    if failures:
        print(f"{len(failures)} checks failed: {'; '.join(failures)}.", file=sys.stderr)
        return 1
    print("The package installs, runs and purges cleanly in a minimal Debian root.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
