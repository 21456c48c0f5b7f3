"""Locations of the cache, settings, logs and media on disk.

Every path comes from platformdirs, so each operating system gets its usual
folders. ``COMMONPLACE_HOME`` moves all of them under one folder, which the
tests and the demo use to keep their profiles apart from the user's own.
"""

import hashlib
import os
from pathlib import Path

import platformdirs

APP_NAME = "commonplace"


def _home_override() -> Path | None:
    value = os.environ.get("COMMONPLACE_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """Folder of the SQLite cache."""
    home = _home_override()
    path = home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Folder of the settings file (never secrets: tokens live in the keyring)."""
    home = _home_override()
    path = home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Folder of downloaded media: avatars, thumbnails and files."""
    home = _home_override()
    path = home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    home = _home_override()
    path = home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path(user_id: str, homeserver_url: str) -> Path:
    """Return the cache file of one account; each account has its own."""
    digest = hashlib.sha256(f"{user_id}|{homeserver_url}".encode()).hexdigest()[:16]
    return data_dir() / f"cache-{digest}.sqlite3"
