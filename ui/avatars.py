"""Avatars: downloaded thumbnails cut to a circle, or initials on a colour.

The initials and their colour depend only on the name and the user id, so a
person looks the same everywhere before and after their picture arrives.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPixmap

from ui import theme
from ui.text_format import initials


def _script(letter: str) -> str:
    """Return the first word of a letter's Unicode name (LATIN, ARABIC, CJK…).

    It approximates the letter's script, which unicodedata does not provide.
    """
    name = unicodedata.name(letter, "")
    return name.split(" ", 1)[0]


def tile_initials(name: str) -> str:
    """Return name's initials, keeping only the first when the two differ in script.

    "Knock نادي" gives "K", not "Kن": a left-to-right letter beside a
    right-to-left one has no clear reading order.
    """
    letters = initials(name)
    if len(letters) == 2 and _script(letters[0]) != _script(letters[1]):
        return letters[0]
    return letters


def avatar_colour(seed: str) -> QColor:
    digest = hashlib.sha256(seed.encode()).digest()
    return QColor(theme.AVATAR_COLOURS[digest[0] % len(theme.AVATAR_COLOURS)])


def paint_initials(
    painter: QPainter,
    rect: QRect,
    name: str,
    seed: str,
    *,
    radius: float | None = None,
) -> None:
    """Paint name's initials on a coloured circle, or a rounded square with radius."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(avatar_colour(seed))
    if radius is None:
        painter.drawEllipse(rect)
    else:
        painter.drawRoundedRect(rect, radius, radius)
    font = QFont(painter.font())
    font.setBold(True)
    font.setPixelSize(max(int(rect.height() * 0.4), 6))
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, tile_initials(name))
    painter.restore()


def initials_image(name: str, seed: str, size: int, ratio: float = 1.0) -> QImage:
    image = QImage(
        int(size * ratio), int(size * ratio), QImage.Format.Format_ARGB32_Premultiplied
    )
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    paint_initials(painter, QRect(0, 0, image.width(), image.height()), name, seed)
    painter.end()
    image.setDevicePixelRatio(ratio)
    return image


def round_image(path: Path, size: int, ratio: float = 1.0) -> QImage | None:
    """Load an image file and cut it to a circle of size; None if unreadable."""
    source = QImage(str(path))
    if source.isNull():
        return None
    return round_image_from(source, size, ratio)


def round_image_from(source: QImage, size: int, ratio: float = 1.0) -> QImage:
    """Return source scaled to cover a circle of size, cut to that circle."""
    pixels = int(size * ratio)
    scaled = source.scaled(
        pixels,
        pixels,
        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
        Qt.TransformationMode.SmoothTransformation,
    )
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    clip = QPainterPath()
    clip.addEllipse(QRectF(0, 0, pixels, pixels))
    painter.setClipPath(clip)
    painter.drawImage(
        (pixels - scaled.width()) // 2, (pixels - scaled.height()) // 2, scaled
    )
    painter.end()
    image.setDevicePixelRatio(ratio)
    return image


def avatar_pixmap(
    name: str, seed: str, size: int, path: Path | None, ratio: float = 1.0
) -> QPixmap:
    image = round_image(path, size, ratio) if path is not None else None
    if image is None:
        image = initials_image(name, seed, size, ratio)
    return QPixmap.fromImage(image)
