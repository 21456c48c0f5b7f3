"""Locating the icons and the style sheet in the resources folder."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import commonplace_resources
from PySide6.QtGui import QIcon

log = logging.getLogger(__name__)

# resources/ in the source tree is installed as the package
# commonplace_resources (see pyproject.toml); editable installs map it too.
RESOURCE_DIR = Path(commonplace_resources.__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    return RESOURCE_DIR.joinpath(*parts)


@functools.cache
def app_icon() -> QIcon:
    path = resource_path("icons", "commonplace.svg")
    if not path.exists():
        log.warning("Application icon not found at %s", path)
        return QIcon()
    return QIcon(str(path))


def icon(name: str) -> QIcon:
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.exists() else QIcon()


def style_sheet() -> str:
    """Return the application style sheet, or "" if the file is missing."""
    path = resource_path("style.qss")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        log.warning("Style sheet not loaded from %s: %s", path, error)
        return ""
    # url(ICONS/name.svg) in the style sheet names a file in resources/icons.
    return text.replace("url(ICONS/", f"url({resource_path('icons').as_posix()}/")
