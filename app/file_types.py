"""The media type of a file from its first bytes, and an image's size in pixels.

The type comes from the content, not the name, so that a renamed file is
announced for what it is. The signatures are app.previews.sniff_type's, so
an upload and its preview agree: anything unknown is ``text/plain`` when it
is non-empty UTF-8 without NUL bytes, and ``application/octet-stream``
otherwise.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

from app.previews import sniff_type

# Bytes read from the start of a file: enough for every header below, and
# for a JPEG's size marker after typical EXIF data.
SNIFF_BYTES = 256 * 1024

# Image types that Matrix clients show inline as m.image.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

# Zip-based office formats: the content shows a zip archive, and the name
# tells which format it is.
_ZIP_FORMATS = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}


@dataclass(frozen=True, slots=True)
class FileType:
    """A file's media type, and its width and height when it is an image."""

    mimetype: str
    width: int | None = None
    height: int | None = None

    @property
    def is_image(self) -> bool:
        return self.mimetype in IMAGE_TYPES and bool(self.width and self.height)


def sniff_file(path: Path) -> FileType:
    """Read the start of path and return its type; blocking, so run it in a thread."""
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES)
    return sniff(head, path.name)


def sniff(head: bytes, name: str = "") -> FileType:
    """Return the type of a file that starts with head; name refines zip formats."""
    mimetype = _mimetype(head, name)
    width = height = None
    try:
        size = _image_size(head, mimetype)
    except (struct.error, IndexError, ValueError):
        size = None
    if size is not None:
        width, height = size
    return FileType(mimetype, width, height)


def _mimetype(head: bytes, name: str) -> str:
    # The previews' table of signatures decides; only a ZIP archive's office
    # format comes from the name, because its content is not read here.
    mimetype = sniff_type(head).mimetype
    if mimetype == "application/zip":
        suffix = name[name.rfind(".") :].lower() if "." in name else ""
        return _ZIP_FORMATS.get(suffix, mimetype)
    return mimetype


def _image_size(head: bytes, mimetype: str) -> tuple[int, int] | None:
    if mimetype == "image/png" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if mimetype == "image/gif":
        return struct.unpack("<HH", head[6:10])
    if mimetype == "image/webp":
        return _webp_size(head)
    if mimetype == "image/jpeg":
        return _jpeg_size(head)
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    return None


# JPEG start-of-frame markers that carry the size (not DHT, JPG or DAC).
_SOF_MARKERS = {
    0xC0,
    0xC1,
    0xC2,
    0xC3,
    0xC5,
    0xC6,
    0xC7,
    0xC9,
    0xCA,
    0xCB,
    0xCD,
    0xCE,
    0xCF,
}


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    offset = 2
    while offset + 4 <= len(head):
        if head[offset] != 0xFF:
            return None
        marker = head[offset + 1]
        if marker == 0xFF:
            offset += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            offset += 2
            continue
        (length,) = struct.unpack(">H", head[offset + 2 : offset + 4])
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", head[offset + 5 : offset + 9])
            return width, height
        offset += 2 + length
    return None
