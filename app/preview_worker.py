"""Draw one preview in a child process: ``python -m app.preview_worker KIND PATH SIDE``.

KIND is "pdf" (the first page, with pypdfium2) or "image" (with Qt's image
readers). The output is one JSON line {"width", "height", "pages"} followed
by width * height * 4 bytes of RGBA8888 pixels. On failure the worker writes
the reason to standard error and exits with 1. app.previews starts it with
memory and CPU limits, so a hostile file can crash or stall only this process.
"""

from __future__ import annotations

import json
import sys

# Qt's own ceiling for one decoded image, in megabytes.
IMAGE_ALLOCATION_LIMIT_MB = 256
# Maximum page width and height accepted, in PDF points (1/72 inch), which
# is 200 inches. A larger page is treated as invalid.
MAX_PAGE_POINTS = 14_400


def _scale(width: float, height: float, side: int) -> float:
    return min(1.0, side / max(width, height, 1.0))


def render_pdf(path: str, side: int) -> tuple[int, int, bytes, int]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    document = pdfium.PdfDocument(path)
    try:
        pages = len(document)
        if pages == 0:
            raise ValueError("the PDF has no pages")
        page = document[0]
        width, height = page.get_size()
        if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
            raise ValueError(f"invalid page size {width} x {height} points")
        bitmap = page.render(
            scale=side / max(width, height),
            may_draw_forms=False,
            force_bitmap_format=pdfium_c.FPDFBitmap_BGRA,
            rev_byteorder=True,
            fill_color=(255, 255, 255, 255),
        )
        pixel_width, pixel_height = bitmap.width, bitmap.height
        stride = bitmap.stride
        buffer = bytes(bitmap.buffer)
        rows = [
            buffer[row * stride : row * stride + pixel_width * 4]
            for row in range(pixel_height)
        ]
        return pixel_width, pixel_height, b"".join(rows), pages
    finally:
        document.close()


def render_image(path: str, side: int) -> tuple[int, int, bytes]:
    from PySide6.QtCore import QSize, Qt
    from PySide6.QtGui import QImage, QImageReader

    QImageReader.setAllocationLimit(IMAGE_ALLOCATION_LIMIT_MB)
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid() or size.width() <= 0 or size.height() <= 0:
        raise ValueError(f"unreadable image: {reader.errorString()}")
    scale = _scale(size.width(), size.height(), side)
    reader.setScaledSize(
        QSize(
            max(1, round(size.width() * scale)),
            max(1, round(size.height() * scale)),
        )
    )
    image = reader.read()
    if image.isNull():
        raise ValueError(f"unreadable image: {reader.errorString()}")
    if image.width() > side or image.height() > side:
        # EXIF rotation can swap the sides after scaling.
        image = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio)
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = image.width(), image.height()
    stride = image.bytesPerLine()
    buffer = bytes(image.constBits())
    rows = [buffer[row * stride : row * stride + width * 4] for row in range(height)]
    return width, height, b"".join(rows)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("pdf", "image"):
        print(
            "usage: python -m app.preview_worker pdf|image PATH SIDE", file=sys.stderr
        )
        return 2
    kind, path, side_text = argv
    side = int(side_text)
    try:
        if kind == "pdf":
            width, height, pixels, pages = render_pdf(path, side)
        else:
            width, height, pixels = render_image(path, side)
            pages = None
    except Exception as error:  # noqa: BLE001 - any failure ends this process only
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    header = json.dumps({"width": width, "height": height, "pages": pages})
    sys.stdout.buffer.write(header.encode() + b"\n" + pixels)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
