"""Type icons of shared files, drawn in code: a page with a coloured label.

claimed_kind guesses a kind from the sender's claimed media type and the
name. The list and the preview use it until the file is downloaded, and then
the kind that app.previews reads from the content.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPixmap

# Label and colour of each kind that app.previews.FileType.kind can have.
_KINDS = {
    "pdf": ("PDF", "#c4392d"),
    "image": ("IMG", "#2b8a5a"),
    "document": ("DOC", "#2b5fa8"),
    "spreadsheet": ("XLS", "#1f7a3f"),
    "presentation": ("PPT", "#b0541a"),
    "archive": ("ZIP", "#6b5a2e"),
    "text": ("TXT", "#5c6570"),
    "audio": ("AUD", "#7048a8"),
    "video": ("VID", "#7048a8"),
    "other": ("FILE", "#6b7480"),
}

_EXTENSIONS = {
    "pdf": "pdf",
    "png": "image",
    "jpg": "image",
    "jpeg": "image",
    "gif": "image",
    "webp": "image",
    "bmp": "image",
    "doc": "document",
    "docx": "document",
    "odt": "document",
    "rtf": "document",
    "xls": "spreadsheet",
    "xlsx": "spreadsheet",
    "ods": "spreadsheet",
    "csv": "spreadsheet",
    "ppt": "presentation",
    "pptx": "presentation",
    "odp": "presentation",
    "zip": "archive",
    "gz": "archive",
    "7z": "archive",
    "rar": "archive",
    "txt": "text",
    "md": "text",
    "mp3": "audio",
    "wav": "audio",
    "ogg": "audio",
    "mp4": "video",
    "mov": "video",
}


def claimed_kind(name: str, mimetype: str | None, msgtype: str = "m.file") -> str:
    """Guess a file's kind from its claimed media type, message type and name."""
    mimetype = (mimetype or "").lower()
    if mimetype == "application/pdf":
        return "pdf"
    if mimetype.startswith("image/") or msgtype == "m.image":
        return "image"
    if mimetype.startswith("audio/"):
        return "audio"
    if mimetype.startswith("video/"):
        return "video"
    if mimetype.startswith("text/"):
        return "text"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _EXTENSIONS.get(extension, "other")


@lru_cache(maxsize=64)
def type_pixmap(kind: str, size: int, ratio: float = 1.0) -> QPixmap:
    """Draw the icon of kind, size logical pixels square."""
    label, colour = _KINDS.get(kind, _KINDS["other"])
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)

    width = size * 0.72
    left = (size - width) / 2
    top = size * 0.06
    height = size * 0.88
    fold = width * 0.3
    page = QPainterPath()
    page.moveTo(left, top)
    page.lineTo(left + width - fold, top)
    page.lineTo(left + width, top + fold)
    page.lineTo(left + width, top + height)
    page.lineTo(left, top + height)
    page.closeSubpath()
    painter.setPen(QColor("#9aa3ad"))
    painter.setBrush(QColor("#ffffff"))
    painter.drawPath(page)
    corner = QPainterPath()
    corner.moveTo(left + width - fold, top)
    corner.lineTo(left + width - fold, top + fold)
    corner.lineTo(left + width, top + fold)
    painter.drawPath(corner)

    band = QRectF(0, top + height * 0.52, size, height * 0.3)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawRoundedRect(band.adjusted(size * 0.04, 0, -size * 0.04, 0), 2, 2)

    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(6, round(band.height() * 0.72)))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(band, Qt.AlignmentFlag.AlignCenter, label)
    painter.end()
    return pixmap


def type_icon(kind: str, size: int = 32) -> QIcon:
    return QIcon(type_pixmap(kind, size))
