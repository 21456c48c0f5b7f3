"""safe_file_name and unique_path: hostile names become one plain name in one folder."""

import unicodedata

import pytest

from app.file_names import (
    MAX_NAME_BYTES,
    safe_file_name,
    shared_file_name,
    unique_path,
)
from app.file_types import sniff


@pytest.mark.parametrize(
    "name",
    [
        "résumé 日本.pdf",
        "Onboarding checklist.pdf",
        "report (final).v2.xlsx",
        "emoji 🎉.png",
    ],
)
def test_safe_name_keeps_ordinary_names(name):
    assert safe_file_name(name) == name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "_._etc_passwd"),
        ("..\\..\\Windows\\win.ini", "_._Windows_win.ini"),
        ("/etc/shadow", "_etc_shadow"),
        ("..", "file"),
        (".", "file"),
        ("", "file"),
        ("   ", "file"),
        (".bashrc", "bashrc"),
        ("name. . ", "name"),
        ("trailing dot.", "trailing dot"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("CON.txt", "_CON.txt"),
        ("NUL .tar.gz", "_NUL .tar.gz"),
        ("com1.pdf", "_com1.pdf"),
        ("LPT9", "_LPT9"),
        ("COM10.txt", "COM10.txt"),
        ("console.txt", "console.txt"),
        ("a\u202eexe.pdf", "aexe.pdf"),
        ("invoice\u2066gpj.exe", "invoicegpj.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("tab\there.txt", "tab here.txt"),
        ("line\nbreak.txt", "line break.txt"),
        ("nul\x00byte.txt", "nul_byte.txt"),
        ("bell\x07.txt", "bell_.txt"),
        ('what?<>:"|*.txt', "what_______.txt"),
        ("a..b.pdf", "a.b.pdf"),
    ],
)
def test_safe_name_cleans_hostile_names(name, expected):
    assert safe_file_name(name) == expected


def test_safe_name_normalises_to_nfc():
    decomposed = unicodedata.normalize("NFD", "résumé.pdf")
    assert decomposed != "résumé.pdf"
    assert safe_file_name(decomposed) == "résumé.pdf"


def test_safe_name_lone_surrogate_replaced():
    result = safe_file_name("bad\udc80name.txt")
    assert result == "bad_name.txt"
    result.encode("utf-8")


@pytest.mark.parametrize(
    "name",
    ["x" * 300 + ".pdf", "日本" * 100 + ".docx", "é" * 200, "a" * 255 + "." + "b" * 40],
)
def test_safe_name_long_names_fit_255_bytes(name):
    result = safe_file_name(name)
    assert len(result.encode("utf-8")) <= MAX_NAME_BYTES
    assert result.encode("utf-8").decode("utf-8") == result
    if name.endswith((".pdf", ".docx")):
        assert result.endswith(name[name.rfind(".") :])


def test_safe_name_fallback_when_empty():
    assert safe_file_name("\u202e\u200b", fallback="download") == "download"
    assert safe_file_name(None) == "file"


def test_unique_path_adds_number_before_extension(tmp_path):
    first = unique_path(tmp_path, "report.pdf")
    assert first == tmp_path / "report.pdf"
    first.write_bytes(b"1")
    second = unique_path(tmp_path, "report.pdf")
    assert second == tmp_path / "report (2).pdf"
    second.write_bytes(b"2")
    assert unique_path(tmp_path, "report.pdf") == tmp_path / "report (3).pdf"


def test_unique_path_long_name_stays_within_limit(tmp_path):
    name = safe_file_name("y" * 300 + ".txt")
    (tmp_path / name).write_bytes(b"")
    result = unique_path(tmp_path, name)
    assert result.name.endswith(" (2).txt")
    assert len(result.name.encode("utf-8")) <= MAX_NAME_BYTES


def test_sniff_types_from_content_not_name():
    assert sniff(b"%PDF-1.7\n", "photo.png").mimetype == "application/pdf"
    assert sniff(b"\xff\xd8\xff\xe0", "notes.txt").mimetype == "image/jpeg"
    assert sniff("plain text é".encode(), "x.bin").mimetype == "text/plain"
    assert sniff(b"\x00\x01\x02", "x.txt").mimetype == "application/octet-stream"
    assert sniff(b"PK\x03\x04rest", "sheet.xlsx").mimetype.endswith(".sheet")


def test_sniff_image_sizes():
    gif = b"GIF89a" + (300).to_bytes(2, "little") + (200).to_bytes(2, "little")
    assert (sniff(gif).width, sniff(gif).height) == (300, 200)
    jpeg = (
        b"\xff\xd8"
        + b"\xff\xe0\x00\x10"
        + b"JFIF\x00" * 2
        + b"\x00\x00\x00\x00"
        + b"\xff\xc0\x00\x11\x08"
        + (480).to_bytes(2, "big")
        + (640).to_bytes(2, "big")
        + b"\x03"
    )
    result = sniff(jpeg)
    assert result.mimetype == "image/jpeg"
    assert (result.width, result.height) == (640, 480)
    assert result.is_image


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".gitignore", ".gitignore"),
        ("a:b?c.txt", "a:b?c.txt"),
        ("CON.txt", "CON.txt"),
        ("report...pdf", "report...pdf"),
        ("a\u202etxt.exe", "atxt.exe"),
        ("line\nbreak.txt", "line break.txt"),
        ("bell\x07.txt", "bell.txt"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("bad\udcff.txt", "bad\ufffd.txt"),
        ("\u202e", "file"),
        ("  ", "file"),
    ],
)
def test_shared_name_removes_only_hidden_characters(name, expected):
    assert shared_file_name(name) == expected
