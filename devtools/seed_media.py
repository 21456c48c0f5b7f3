"""Images and documents for the demo organisation, drawn with Qt offscreen.

Avatars are initials on a coloured circle; file attachments are PNG diagrams,
colour swatches and PDFs typeset from Markdown. Each function returns bytes.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication

AVATAR_SIZE = 256  # pixels
DIAGRAM_SIZE = (1200, 480)  # pixels

_app: QApplication | None = None


def ensure_qt() -> None:
    """Create an offscreen QApplication unless the process already has one.

    Fonts need a Gui application. It is a QApplication rather than a
    QGuiApplication so that a test process can still create widgets after.
    """
    global _app
    instance = QGuiApplication.instance()
    if instance is None:
        _app = QApplication(["commonplace-seed", "-platform", "offscreen"])
    elif not isinstance(instance, QGuiApplication):
        raise RuntimeError(
            "Drawing the demo media needs a QGuiApplication, but this process "
            f"already has a {type(instance).__name__}."
        )


def _png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return data.data()


def _font(pixel_size: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(pixel_size)
    font.setBold(bold)
    return font


def initials_of(name: str) -> str:
    """Return the first letters of the first and last word of a name."""
    words = name.split()
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[-1][:1]).upper()


def avatar_png(initials: str, color: str) -> bytes:
    """Draw ``initials`` in white on a circle of ``color`` (a #rrggbb string)."""
    ensure_qt()
    image = QImage(AVATAR_SIZE, AVATAR_SIZE, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(0, 0, AVATAR_SIZE, AVATAR_SIZE)

    painter.setPen(QColor("white"))
    painter.setFont(_font(AVATAR_SIZE * 2 // 5 if len(initials) > 1 else 120, True))
    rect = QRectF(0, 0, AVATAR_SIZE, AVATAR_SIZE)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, initials)
    painter.end()
    return _png_bytes(image)


def flow_diagram_png(title: str, steps: list[str]) -> tuple[bytes, int, int]:
    """Draw boxes labelled ``steps`` joined by arrows, under ``title``.

    Returns the PNG and its width and height in pixels.
    """
    ensure_qt()
    width, height = DIAGRAM_SIZE
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#fbfaf7"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#222222"))
    painter.setFont(_font(36, True))
    painter.drawText(QRectF(0, 30, width, 60), Qt.AlignmentFlag.AlignCenter, title)

    count = max(len(steps), 1)
    gap = 60
    box_width = (width - 80 - gap * (count - 1)) / count
    top, box_height = 200, 120
    painter.setFont(_font(24))
    for index, step in enumerate(steps):
        left = 40 + index * (box_width + gap)
        painter.setPen(QPen(QColor("#2f5d8a"), 3))
        painter.setBrush(QColor("#dce8f5"))
        box = QRectF(left, top, box_width, box_height)
        painter.drawRoundedRect(box, 16, 16)
        painter.setPen(QColor("#17324d"))
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        painter.drawText(box.adjusted(8, 8, -8, -8), flags, step)
        if index < count - 1:
            start = QPointF(left + box_width + 8, top + box_height / 2)
            end = QPointF(left + box_width + gap - 8, top + box_height / 2)
            painter.setPen(QPen(QColor("#2f5d8a"), 4))
            painter.drawLine(start, end)
            painter.drawLine(end, end + QPointF(-14, -10))
            painter.drawLine(end, end + QPointF(-14, 10))
    painter.end()
    return _png_bytes(image), width, height


def swatches_png(title: str, colors: list[str]) -> tuple[bytes, int, int]:
    """Draw one labelled square per #rrggbb colour, under ``title``.

    Returns the PNG and its width and height in pixels.
    """
    ensure_qt()
    width, height = DIAGRAM_SIZE
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#222222"))
    painter.setFont(_font(36, True))
    painter.drawText(QRectF(0, 30, width, 60), Qt.AlignmentFlag.AlignCenter, title)

    count = max(len(colors), 1)
    size = min(180, (width - 80) / count - 20)
    painter.setFont(_font(22))
    for index, color in enumerate(colors):
        left = 40 + index * (size + 20)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color))
        painter.drawRoundedRect(QRectF(left, 150, size, size), 12, 12)
        painter.setPen(QColor("#333333"))
        label = QRectF(left, 160 + size, size, 40)
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, color.upper())
    painter.end()
    return _png_bytes(image), width, height


def markdown_pdf(title: str, markdown: str) -> bytes:
    """Typeset Markdown as an A4 PDF whose document title is ``title``."""
    ensure_qt()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setTitle(title)
    writer.setCreator("Commonplace demo")
    document = QTextDocument()
    document.setMarkdown(markdown)
    document.print_(writer)
    # The PDF is complete only once the writer is gone.
    del writer
    buffer.close()
    return data.data()
