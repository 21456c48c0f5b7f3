"""File types from content, and preview images rendered in a child process.

A file's type comes from its first bytes, never from its name or the type
its sender claimed. Decoding untrusted images and PDFs happens in a separate
process (``app.preview_worker``) with memory and CPU limits and a timeout,
so a damaged or hostile file costs at most that process. The worker sends
back raw RGBA pixels, which the caller wraps in an image without decoding.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Bytes read to recognise a type; enough for every signature below.
HEAD_BYTES = 4096
# Maximum width and height of a preview image, in pixels.
PREVIEW_SIDE = 800
# Wall-clock limit for one preview, in seconds, including the worker's start.
PREVIEW_TIMEOUT = 20.0
# Limits of the worker process: address space in bytes, CPU time in seconds.
WORKER_MEMORY_LIMIT = 1024 * 1024 * 1024
WORKER_CPU_LIMIT = 10
# Exit statuses of a worker stopped by the kernel at WORKER_CPU_LIMIT: Linux
# sends SIGXCPU at the soft limit and SIGKILL at the hard limit, which are
# equal here, so either may end it.
_CPU_LIMIT_STATUSES = (-signal.SIGXCPU, -signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class FileType:
    kind: str  # image, pdf, document, spreadsheet, presentation, archive, text, other
    label: str  # for people, such as "PNG image"
    mimetype: str  # the usual media type of this content
    # True when the worker can draw a preview: PDF and the image formats
    # that Qt decodes.
    previewable: bool = False


OTHER = FileType("other", "Unknown type", "application/octet-stream")
TEXT = FileType("text", "Plain text", "text/plain")

# (offset, signature bytes, type); the first match wins.
_SIGNATURES: tuple[tuple[int, bytes, FileType], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", FileType("image", "PNG image", "image/png", True)),
    (0, b"\xff\xd8\xff", FileType("image", "JPEG image", "image/jpeg", True)),
    (0, b"GIF87a", FileType("image", "GIF image", "image/gif", True)),
    (0, b"GIF89a", FileType("image", "GIF image", "image/gif", True)),
    (0, b"BM", FileType("image", "BMP image", "image/bmp", True)),
    (0, b"%PDF-", FileType("pdf", "PDF document", "application/pdf", True)),
    (0, b"\x1f\x8b", FileType("archive", "Gzip archive", "application/gzip")),
    (
        0,
        b"7z\xbc\xaf\x27\x1c",
        FileType("archive", "7-Zip archive", "application/x-7z-compressed"),
    ),
    (0, b"Rar!\x1a\x07", FileType("archive", "RAR archive", "application/vnd.rar")),
    (
        0,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        FileType(
            "document", "Microsoft Office 97–2003 file", "application/x-ole-storage"
        ),
    ),
    (4, b"ftyp", FileType("video", "MP4 or QuickTime video", "video/mp4")),
    (0, b"ID3", FileType("audio", "MP3 audio", "audio/mpeg")),
    (0, b"OggS", FileType("audio", "Ogg audio or video", "application/ogg")),
    (0, b"fLaC", FileType("audio", "FLAC audio", "audio/flac")),
)

_WEBP = FileType("image", "WebP image", "image/webp", True)
_WAV = FileType("audio", "WAV audio", "audio/wav")
_ZIP = FileType("archive", "ZIP archive", "application/zip")

# Office Open XML and OpenDocument files are ZIP archives, recognised by a
# member name (OOXML) or by the "mimetype" member's text (OpenDocument).
_OOXML_PARTS = (
    (
        "word/",
        FileType(
            "document",
            "Word document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ),
    (
        "xl/",
        FileType(
            "spreadsheet",
            "Excel spreadsheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ),
    (
        "ppt/",
        FileType(
            "presentation",
            "PowerPoint presentation",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
    ),
)
_OPENDOCUMENT = {
    "application/vnd.oasis.opendocument.text": FileType(
        "document", "OpenDocument text", "application/vnd.oasis.opendocument.text"
    ),
    "application/vnd.oasis.opendocument.spreadsheet": FileType(
        "spreadsheet",
        "OpenDocument spreadsheet",
        "application/vnd.oasis.opendocument.spreadsheet",
    ),
    "application/vnd.oasis.opendocument.presentation": FileType(
        "presentation",
        "OpenDocument presentation",
        "application/vnd.oasis.opendocument.presentation",
    ),
}


def sniff_type(head: bytes) -> FileType:
    """Recognise a type from a file's first bytes (up to HEAD_BYTES of them)."""
    for offset, signature, file_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return file_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _WAV
    if head[:4] == b"PK\x03\x04":
        return _ZIP
    if _looks_like_text(head):
        return TEXT
    return OTHER


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 3 and error.reason == "unexpected end of data"
    return True


def _zip_type(path: Path) -> FileType:
    """Tell an office file from a plain ZIP archive by its member names."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                declared = archive.read("mimetype")[:100].decode("ascii", "replace")
                if declared.strip() in _OPENDOCUMENT:
                    return _OPENDOCUMENT[declared.strip()]
    except (OSError, zipfile.BadZipFile, KeyError, RuntimeError) as error:
        log.info("ZIP file %s not read: %s", path.name, error)
        return _ZIP
    if "[Content_Types].xml" in names:
        for prefix, file_type in _OOXML_PARTS:
            if any(name.startswith(prefix) for name in names):
                return file_type
    return _ZIP


def detect_file_type(path: Path) -> FileType:
    """Recognise the type of the file at path from its content.

    Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    file_type = sniff_type(head)
    if file_type is _ZIP:
        return _zip_type(path)
    return file_type


# Names that Windows, macOS or a Linux desktop may run, install or mount,
# not just show, when asked to open them. Disk images (iso, img, vhd, vhdx,
# dmg) are mounted and show the programs inside as ordinary files.
_PROGRAM_EXTENSIONS = frozenset(
    {
        "app",
        "appimage",
        "application",
        "appref-ms",
        "bat",
        "chm",
        "cmd",
        "com",
        "command",
        "cpl",
        "desktop",
        "dmg",
        "exe",
        "hta",
        "img",
        "iso",
        "jar",
        "jnlp",
        "js",
        "jse",
        "library-ms",
        "lnk",
        "msc",
        "msi",
        "msp",
        "one",
        "pif",
        "pkg",
        "ps1",
        "psm1",
        "py",
        "pyw",
        "reg",
        "run",
        "scf",
        "scr",
        "search-ms",
        "settingcontent-ms",
        "sh",
        "tool",
        "url",
        "vbe",
        "vbs",
        "vhd",
        "vhdx",
        "website",
        "wsf",
        "wsh",
        "xll",
    }
)
# First bytes of programs: ELF, Windows PE, scripts with "#!", and Mach-O
# in 32 and 64 bits and both byte orders. A universal (fat) Mach-O starts
# with the same bytes as a Java class file, and both are refused.
_PROGRAM_SIGNATURES = (
    b"\x7fELF",
    b"MZ",
    b"#!",
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"\xbe\xba\xfe\xca",
)


def is_program(path: Path, name: str) -> bool:
    """Return whether opening the file could run it: by its content or its name.

    Raises OSError when the file cannot be read.
    """
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in _PROGRAM_EXTENSIONS:
        return True
    with open(path, "rb") as file:
        head = file.read(8)
    return head.startswith(_PROGRAM_SIGNATURES)


@dataclass(frozen=True, slots=True)
class PreviewImage:
    width: int
    height: int
    rgba: bytes  # width * height * 4 bytes, rows top to bottom, RGBA8888
    page_count: int | None  # PDF pages; None for images


class PreviewError(Exception):
    """A preview could not be made; str(error) is a sentence for the user."""


def _limit_worker() -> None:
    # Runs in the child between fork and exec (POSIX only).
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_LIMIT, WORKER_MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (WORKER_CPU_LIMIT, WORKER_CPU_LIMIT))


# The flag with which the packaged executable runs the preview worker; a
# PyInstaller build cannot run "python -m".
PREVIEW_WORKER_FLAG = "--preview-worker"


def _worker_command(kind: str, path: Path, side: int) -> list[str]:
    if getattr(sys, "frozen", False):
        start = [sys.executable, PREVIEW_WORKER_FLAG]
    else:
        start = [sys.executable, "-m", "app.preview_worker"]
    return [*start, kind, str(path), str(side)]


async def render_preview(
    path: Path,
    file_type: FileType,
    *,
    side: int = PREVIEW_SIDE,
    timeout: float = PREVIEW_TIMEOUT,
) -> PreviewImage:
    """Draw a PDF's first page or an image, at most side pixels on its longest side.

    Raises PreviewError with a sentence for the user when the file is damaged,
    not previewable, too large for the worker's limits, or takes longer than
    timeout seconds.
    """
    if not file_type.previewable:
        raise PreviewError(
            f"There is no preview for files of this type ({file_type.label})."
        )
    kind = "pdf" if file_type.kind == "pdf" else "image"
    what = "PDF" if kind == "pdf" else "image"
    loop = asyncio.get_running_loop()
    transport, worker = await loop.subprocess_exec(
        lambda: _WorkerProtocol(loop, max_output=_header_room(side)),
        *_worker_command(kind, path, side),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_worker if os.name == "posix" else None,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        await asyncio.wait_for(asyncio.shield(worker.finished), timeout)
    except TimeoutError:
        transport.kill()
        await worker.finished
        transport.close()
        log.warning("Preview of %s timed out after %s s", path.name, timeout)
        raise PreviewError(_too_slow_message(what)) from None
    except BaseException:
        # Cancelled, or closed unfinished: nothing more can be awaited here.
        _abandon(transport, worker)
        raise
    transport.close()
    returncode = transport.get_returncode()
    if returncode in _CPU_LIMIT_STATUSES and not worker.overflowed:
        log.warning(
            "Preview of %s stopped at the CPU limit of %s s",
            path.name,
            WORKER_CPU_LIMIT,
        )
        raise PreviewError(_too_slow_message(what))
    if returncode != 0 or worker.overflowed:
        reason = worker.stderr.decode("utf-8", "replace").strip().splitlines()
        log.info(
            "Preview worker for %s exited with %s: %s",
            path.name,
            returncode,
            "output too large"
            if worker.overflowed
            else (reason[-1] if reason else "no message"),
        )
        raise PreviewError(
            f"This {what} could not be read: it may be damaged or in a form "
            "Commonplace cannot draw. Open it to see it."
        )
    return parse_worker_output(bytes(worker.stdout), side)


def _too_slow_message(what: str) -> str:
    return f"This {what} took too long to draw, so it has no preview. Open it to see it."


# Workers that no caller waits for any more, kept referenced until they are
# reaped, so that no ResourceWarning reports a process still running.
_abandoned: set[_WorkerProtocol] = set()


def _abandon(transport: asyncio.SubprocessTransport, worker: _WorkerProtocol) -> None:
    """Kill a worker (close() kills one still running) and forget it once reaped."""
    transport.close()
    _abandoned.add(worker)
    worker.finished.add_done_callback(lambda _done: _abandoned.discard(worker))


def _header_room(side: int) -> int:
    # The pixels of the largest preview plus room for the JSON header line.
    return side * side * 4 + 4096


class _WorkerProtocol(asyncio.SubprocessProtocol):
    """Collects the worker's output; ``finished`` is done once it exited and
    both pipes closed. Output beyond max_output bytes stops the worker."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, max_output: int):
        self.finished: asyncio.Future = loop.create_future()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.overflowed = False
        self._max_output = max_output
        self._transport: asyncio.SubprocessTransport | None = None
        self._open_pipes = {1, 2}
        self._exited = False

    def connection_made(self, transport) -> None:
        self._transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        target = self.stdout if fd == 1 else self.stderr
        target.extend(data)
        if len(self.stdout) > self._max_output or len(self.stderr) > 65536:
            self.overflowed = True
            self._transport.kill()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open_pipes.discard(fd)
        self._check_finished()

    def process_exited(self) -> None:
        self._exited = True
        self._check_finished()

    def _check_finished(self) -> None:
        if self._exited and not self._open_pipes and not self.finished.done():
            self.finished.set_result(None)


def parse_worker_output(output: bytes, side: int) -> PreviewImage:
    """Check and unpack the worker's header line and pixels.

    Raises PreviewError when the output is malformed or larger than side.
    """
    header, _, pixels = output.partition(b"\n")
    try:
        meta = json.loads(header)
        width, height = int(meta["width"]), int(meta["height"])
        pages = meta.get("pages")
    except (ValueError, KeyError, TypeError):
        raise PreviewError("The preview worker returned invalid output.") from None
    if (
        not (0 < width <= side and 0 < height <= side)
        or len(pixels) != width * height * 4
    ):
        raise PreviewError("The preview worker returned invalid output.")
    return PreviewImage(
        width, height, pixels, pages if isinstance(pages, int) else None
    )


def scaled_size(width: int, height: int, side: int) -> tuple[int, int]:
    """Return width and height scaled to fit side pixels, never scaled up."""
    scale = min(1.0, side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


__all__ = [
    "FileType",
    "PreviewError",
    "PreviewImage",
    "detect_file_type",
    "is_program",
    "parse_worker_output",
    "render_preview",
    "scaled_size",
    "sniff_type",
]
