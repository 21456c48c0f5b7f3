"""Render resources/icons/commonplace.svg into the icon files installers need.

    python packaging/render_icons.py --ico build/commonplace.ico
    python packaging/render_icons.py --iconset build/Commonplace.iconset

--ico writes a Windows icon with 16 to 256 pixel images. --iconset writes the PNG files that macOS's iconutil turns into
an .icns file (iconutil -c icns build/Commonplace.iconset).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG_FILE = ROOT / "resources" / "icons" / "commonplace.svg"
ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]
# iconutil's names: icon_<size>x<size>.png and @2x twice as large.
ICONSET_SIZES = [16, 32, 128, 256, 512]


def render(size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SVG_FILE)).render(painter)
    painter.end()
    return image


def png_bytes(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    render(size).save(buffer, "PNG")
    buffer.close()
    return bytes(data)


def write_ico(path: Path) -> None:
    """Write an ICO file whose images are PNG data, one per size.

    ICO files may hold PNG images since Windows Vista. The format is a 6-byte
    header, a 16-byte directory entry per image, then the images.
    """
    images = [(size, png_bytes(size)) for size in ICO_SIZES]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    directory = b""
    for size, data in images:
        # A width or height of 0 means 256 pixels.
        side = size if size < 256 else 0
        directory += struct.pack(
            "<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset
        )
        offset += len(data)
    path.write_bytes(header + directory + b"".join(data for _size, data in images))


def write_iconset(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for size in ICONSET_SIZES:
        render(size).save(str(folder / f"icon_{size}x{size}.png"))
        render(size * 2).save(str(folder / f"icon_{size}x{size}@2x.png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ico", type=Path, help="Windows .ico file to write")
    parser.add_argument("--iconset", type=Path, help="macOS .iconset folder to write")
    args = parser.parse_args()
    if not (args.ico or args.iconset):
        parser.error("give --ico or --iconset")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _application = QGuiApplication(sys.argv[:1])
    if args.ico:
        args.ico.parent.mkdir(parents=True, exist_ok=True)
        write_ico(args.ico)
    if args.iconset:
        write_iconset(args.iconset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
