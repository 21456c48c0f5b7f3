import asyncio
import io
import random
import struct
import zipfile
import zlib

import pytest

from app.previews import (
    PreviewError,
    detect_file_type,
    is_program,
    parse_worker_output,
    render_preview,
    sniff_type,
)
from tests.app.preview_samples import image_bytes, pdf_bytes


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def office_zip(member):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(member, "<x/>")
    return buffer.getvalue()


def png_header_only(width, height):
    """Return a PNG signature and IHDR chunk claiming width x height, no pixels."""
    body = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + body
    crc = struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(body)) + chunk + crc


@pytest.mark.parametrize(
    ("name", "data", "label"),
    [
        ("photo.png", image_bytes("PNG"), "PNG image"),
        ("photo.jpg", image_bytes("JPEG"), "JPEG image"),
        ("report.pdf", pdf_bytes(), "PDF document"),
        ("report.pdf", image_bytes("PNG"), "PNG image"),
        ("notes.txt", "Grüße, notes\n".encode(), "Plain text"),
        ("image.png", b"\x00\x01\x02binary", "Unknown type"),
        ("empty.pdf", b"", "Unknown type"),
        ("letter.docx", office_zip("word/document.xml"), "Word document"),
        ("sheet.xlsx", office_zip("xl/workbook.xml"), "Excel spreadsheet"),
    ],
)
def test_type_comes_from_content(tmp_path, name, data, label):
    path = write(tmp_path, name, data)

    assert detect_file_type(path).label == label


def test_text_cut_inside_character(tmp_path):
    head = ("a" * 4095 + "é").encode()[:4096]

    assert sniff_type(head).kind == "text"


def test_png_preview_is_scaled(tmp_path):
    path = write(tmp_path, "photo.png", image_bytes("PNG", 1600, 400))

    image = asyncio.run(render_preview(path, detect_file_type(path), side=800))

    assert (image.width, image.height) == (800, 200)
    assert image.rgba[:4] == b"\xff\x00\x00\xff"
    assert image.page_count is None


def test_jpeg_preview_keeps_small_size(tmp_path):
    path = write(tmp_path, "photo.jpg", image_bytes("JPEG", 300, 200, "blue"))

    image = asyncio.run(render_preview(path, detect_file_type(path)))

    assert (image.width, image.height) == (300, 200)
    red, _green, blue, _alpha = image.rgba[:4]
    assert blue > 200
    assert red < 50


def test_pdf_preview_draws_first_page(tmp_path):
    path = write(tmp_path, "report.pdf", pdf_bytes(200, 300))

    image = asyncio.run(render_preview(path, detect_file_type(path), side=600))

    assert (image.width, image.height) == (400, 600)
    assert image.page_count == 1
    top_left = image.rgba[:4]
    bottom_left = image.rgba[(599 * 400) * 4 : (599 * 400) * 4 + 4]
    assert top_left == b"\xff\xff\xff\xff"
    assert bottom_left == b"\x00\x00\xff\xff"


def test_png_named_pdf_previews_as_image(tmp_path):
    path = write(tmp_path, "report.pdf", image_bytes("PNG", 50, 50))

    file_type = detect_file_type(path)
    image = asyncio.run(render_preview(path, file_type))

    assert file_type.kind == "image"
    assert (image.width, image.height) == (50, 50)


def test_corrupt_pdf_raises_plain_error(tmp_path):
    path = write(tmp_path, "broken.pdf", pdf_bytes()[:80])

    with pytest.raises(PreviewError) as caught:
        asyncio.run(render_preview(path, detect_file_type(path)))

    assert "could not be read" in str(caught.value)
    assert "damaged" in str(caught.value)


def test_huge_declared_image_is_rejected(tmp_path):
    path = write(tmp_path, "bomb.png", png_header_only(60_000, 60_000))

    with pytest.raises(PreviewError) as caught:
        asyncio.run(render_preview(path, detect_file_type(path)))

    assert "could not be read" in str(caught.value)


def test_slow_preview_times_out(tmp_path):
    path = write(tmp_path, "report.pdf", pdf_bytes())

    with pytest.raises(PreviewError) as caught:
        asyncio.run(render_preview(path, detect_file_type(path), timeout=0.01))

    assert "took too long" in str(caught.value)


def test_unpreviewable_type_raises(tmp_path):
    path = write(tmp_path, "notes.txt", b"plain words\n")

    with pytest.raises(PreviewError) as caught:
        asyncio.run(render_preview(path, detect_file_type(path)))

    assert "no preview" in str(caught.value)


@pytest.mark.parametrize(
    "output",
    [
        b"",
        b"not json\n",
        b'{"width": 2, "height": 2}\n' + b"\x00" * 15,
        b'{"width": 9000, "height": 1}\n' + b"\x00" * 36000,
        b'{"width": -1, "height": 1}\n',
    ],
)
def test_malformed_worker_output_rejected(output):
    with pytest.raises(PreviewError):
        parse_worker_output(output, 800)


def slow_pdf(segments):
    """Return a valid one-page PDF of many random lines, slow to draw."""
    rng = random.Random(1)
    operators = ["1 w"]
    for _ in range(segments):
        start = f"{rng.randint(0, 600)} {rng.randint(0, 800)} m"
        end = f"{rng.randint(0, 600)} {rng.randint(0, 800)} l S"
        operators.append(f"{start} {end}")
    stream = "\n".join(operators).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(output))
        output += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        output += b"%010d 00000 n \n" % offset
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    output += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(output)


def test_cpu_limit_says_too_long(tmp_path, monkeypatch):
    # 100,000 lines take about 2.5 s of CPU time on a 2-core test machine.
    monkeypatch.setattr("app.previews.WORKER_CPU_LIMIT", 1)
    path = write(tmp_path, "slow.pdf", slow_pdf(100_000))

    with pytest.raises(PreviewError) as caught:
        asyncio.run(render_preview(path, detect_file_type(path)))

    assert "took too long" in str(caught.value)
    assert "damaged" not in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "tool.py",
        "tool.pyw",
        "start.command",
        "start.tool",
        "disk.iso",
        "disk.img",
        "disk.vhd",
        "disk.vhdx",
        "notes.one",
        "help.chm",
        "addin.xll",
        "app.jnlp",
        "explorer.scf",
        "console.msc",
        "deploy.application",
        "deploy.appref-ms",
        "script.wsh",
        "module.psm1",
        "panel.settingcontent-ms",
        "folder.library-ms",
        "query.search-ms",
        "portal.website",
        "install.pkg",
        "install.dmg",
        "INSTALL.DMG",
        "setup.exe",
    ],
)
def test_program_extensions_refused(tmp_path, name):
    path = write(tmp_path, "content", b"plain words\n")

    assert is_program(path, name)


@pytest.mark.parametrize(
    "head",
    [
        b"\xfe\xed\xfa\xce",  # Mach-O 32-bit, big-endian
        b"\xce\xfa\xed\xfe",  # Mach-O 32-bit, little-endian
        b"\xfe\xed\xfa\xcf",  # Mach-O 64-bit, big-endian
        b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit, little-endian
        b"\xca\xfe\xba\xbe",  # universal binary
        b"\x7fELF",
        b"MZ",
        b"#!/bin/sh",
    ],
)
def test_program_content_refused(tmp_path, head):
    path = write(tmp_path, "invoice.pdf", head + b"\x00" * 64)

    assert is_program(path, "invoice.pdf")


def test_document_is_not_program(tmp_path):
    path = write(tmp_path, "report.pdf", pdf_bytes())

    assert not is_program(path, "report.pdf")
