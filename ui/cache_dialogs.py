"""Message boxes for a cache that cannot be opened or deleted, and for
deleting the downloaded copies of shared files.

A damaged cache (CacheCorrupt) or one written by a newer version
(SchemaTooNew) can be replaced by a new one synced from the server, so the
user is offered that. A cache that the system does not let Commonplace open
(CacheUnavailable, or any OSError such as a read-only folder or a full disk)
may be healthy, so it is never offered for deletion. The box names what to
check, and the app quits.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from app.errors import CacheCorrupt, CommonplaceError, SchemaTooNew

NEW_CACHE_TITLE = "Cache cannot be used"
UNAVAILABLE_TITLE = "Cache cannot be opened"
NOT_DELETED_TITLE = "Cache not deleted"
NEW_CACHE_BUTTON = "Start a new cache"
DELETE_DOWNLOADS_TITLE = "Delete downloaded files?"
WHAT_TO_CHECK = (
    "Check the folder's permissions and that the disk has free space, then "
    "start Commonplace again."
)


def offers_new_cache(error: BaseException) -> bool:
    """Return whether error leaves a cache that only a new one can replace."""
    return isinstance(error, (CacheCorrupt, SchemaTooNew))


def new_cache_box(error: CommonplaceError) -> tuple[QMessageBox, QAbstractButton]:
    """Return a box that offers a new cache, and its "Start a new cache" button."""
    box = QMessageBox(QMessageBox.Icon.Critical, NEW_CACHE_TITLE, error.message)
    box.setObjectName("newCacheBox")
    new_cache = box.addButton(NEW_CACHE_BUTTON, QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDetailedText(error_details(error))
    return box, new_cache


def unavailable_box(error: BaseException) -> QMessageBox:
    """Return a box that explains why the cache cannot be opened, with Quit."""
    box = QMessageBox(
        QMessageBox.Icon.Critical, UNAVAILABLE_TITLE, unavailable_text(error)
    )
    box.setObjectName("cacheUnavailableBox")
    box.setInformativeText("Commonplace quits now.")
    box.addButton("Quit", QMessageBox.ButtonRole.AcceptRole)
    box.setDetailedText(error_details(error))
    return box


def not_deleted_box(path: Path | str, error: OSError) -> QMessageBox:
    """Return a warning box for the cache at path that could not be deleted."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        NOT_DELETED_TITLE,
        f"The cache at {path} could not be deleted ({_reason(error)}). Delete "
        "the file yourself, or check the folder's permissions.",
    )
    box.setObjectName("cacheNotDeletedBox")
    box.addButton(QMessageBox.StandardButton.Ok)
    box.setDetailedText(error_details(error))
    return box


def delete_downloads_box(parent: QWidget | None) -> tuple[QMessageBox, QAbstractButton]:
    """Return a confirmation box for deleting downloaded files, and its Delete button."""
    box = QMessageBox(parent)
    box.setObjectName("deleteDownloadsBox")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(DELETE_DOWNLOADS_TITLE)
    box.setText(
        "Delete the downloaded copies of shared files from this computer? "
        "Files marked available offline are kept. The others are downloaded "
        "again when you open them."
    )
    delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box, delete


def confirm_delete_downloads(parent: QWidget | None) -> bool:
    """Ask before deleting downloaded files; return True to go ahead."""
    box, delete = delete_downloads_box(parent)
    box.exec()
    return box.clickedButton() is delete


def delete_downloads_failed_text(error: BaseException) -> str:
    """Return what failed when deleting downloaded files, and what to check."""
    if isinstance(error, CommonplaceError):
        return error.message
    where = ""
    if isinstance(error, OSError) and error.filename:
        where = f" ({error.filename})"
    return (
        f"Some downloaded files could not be deleted{where}: {_reason(error)}. "
        "Check the folder's permissions, then try again."
    )


def unavailable_text(error: BaseException) -> str:
    """Return what failed and what to check, for a CacheError or an OSError."""
    if isinstance(error, CommonplaceError):
        return error.message
    if isinstance(error, OSError) and error.filename:
        where = f" at {error.filename}"
    else:
        where = ""
    return f"The cache{where} cannot be opened ({_reason(error)}). {WHAT_TO_CHECK}"


def error_details(error: BaseException) -> str:
    """Return the error and its causes, one per line, for the details pane."""
    lines = []
    current: BaseException | None = error
    while current is not None and len(lines) < 5:
        lines.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
