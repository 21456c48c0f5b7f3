"""Sizes as people read them, in the files area and in transfer messages."""

import pytest

from app import text, uploads


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (512, "512 bytes"),
        (1536, "1.5 KB"),
        (3 * 1024**3, "3.0 GB"),
        (2 * 1024**4, "2.0 TB"),
        (10**15, "909.5 TB"),
        (2048 * 1024**4, "2048.0 TB"),
    ],
)
def test_listed_size_reaches_terabytes(size, expected):
    assert text.format_size(size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1, "1 byte"),
        (2, "2 bytes"),
        (65 * 1024, "65 KB"),
        (10**15, "909 TB"),
    ],
)
def test_message_size_reaches_terabytes(size, expected):
    assert uploads.format_size(size) == expected
