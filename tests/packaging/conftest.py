"""Session fixtures: the PyInstaller folder, built once per set of inputs, and its .deb.

The folder is cached under build/package-cache/ by a digest of the sources,
the packaging files and the PyInstaller version, so a run with unchanged
inputs skips the build (about 20 seconds on 2 cores).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPOSITORY = Path(__file__).parents[2]
BUILD_SCRIPT = REPOSITORY / "packaging" / "linux" / "build.py"
FOLDER_CACHE = REPOSITORY / "build" / "package-cache"


def _load_build_script() -> ModuleType:
    # Loaded by path, because the folder name "packaging" is also the name of
    # a PyPI library that pytest imports.
    spec = importlib.util.spec_from_file_location(
        "commonplace_linux_build", BUILD_SCRIPT
    )
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class is made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_script() -> ModuleType:
    return _load_build_script()


@pytest.fixture(scope="session")
def app_folder(build_script) -> Path:
    return build_script.build_folder_cached(FOLDER_CACHE)


@pytest.fixture(scope="session")
def deb_file(build_script, app_folder, tmp_path_factory) -> Path:
    return build_script.build_deb(app_folder, tmp_path_factory.mktemp("deb"))


@pytest.fixture(scope="session")
def deb_tree(deb_file, tmp_path_factory) -> Path:
    """The .deb's files unpacked into a folder, as dpkg would install them."""
    tree = tmp_path_factory.mktemp("deb-tree")
    subprocess.run(["dpkg-deb", "-x", str(deb_file), str(tree)], check=True)
    return tree
