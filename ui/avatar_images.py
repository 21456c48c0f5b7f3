"""Round avatar images for list views, fetched in the background.

A delegate paints what image() returns at once: the picture when its
thumbnail is on disk, else the initials. A missing thumbnail is fetched
through the session's ThumbnailCache, and ``changed`` asks the view to
repaint when it has arrived.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ui.avatars import initials_image, round_image
from ui.tasks import TaskRunner

log = logging.getLogger(__name__)

# Decoded images kept; a directory page shows about 15 people.
MAX_IMAGES = 400


class AvatarImages(QObject):
    changed = Signal()

    def __init__(self, thumbnails, size: int, parent: QObject | None = None):
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._size = size
        self._images: dict[tuple[str, float], QImage] = {}
        self._initials: dict[tuple[str, str, float], QImage] = {}
        self._requested: set[str] = set()
        self._runner = TaskRunner(self)

    def image(self, name: str, user_id: str, mxc: str | None, ratio: float) -> QImage:
        """Return the avatar of a person, or their initials until it has arrived."""
        picture = self.picture(mxc, ratio)
        if picture is not None:
            return picture
        key = (name, user_id, ratio)
        image = self._initials.get(key)
        if image is None:
            # Painting initials on every repaint of a long list costs more
            # than keeping them.
            if len(self._initials) >= MAX_IMAGES:
                self._initials.clear()
            image = self._initials[key] = initials_image(
                name, user_id, self._size, ratio
            )
        return image

    def picture(self, mxc: str | None, ratio: float) -> QImage | None:
        """Return the round picture of mxc, or None while it is fetched or missing."""
        if mxc and self._thumbnails is not None:
            key = (mxc, ratio)
            image = self._images.get(key)
            if image is not None:
                return image
            path = self._thumbnails.cached(mxc, self._size * 2)
            if path is not None:
                image = round_image(path, self._size, ratio)
                if image is not None:
                    if len(self._images) >= MAX_IMAGES:
                        self._images.clear()
                    self._images[key] = image
                    return image
            elif mxc not in self._requested:
                self._requested.add(mxc)
                self._runner.run(
                    self._thumbnails.fetch(mxc, self._size * 2),
                    lambda path: self.changed.emit() if path is not None else None,
                    lambda error: log.info("Avatar %s not shown: %s", mxc, error),
                )
        return None
