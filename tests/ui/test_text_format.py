"""Display strings for times, including timestamps outside datetime's range."""

import math
from datetime import datetime

import pytest

from ui.text_format import (
    UNKNOWN_DATE,
    clock_time,
    full_time,
    initials,
    relative_time,
)

NOW = datetime(2025, 3, 4, 15, 0).timestamp()
# Milliseconds that datetime cannot represent: the year 33658, as far before
# 1970, and a value beyond a 64-bit time_t.
OUT_OF_RANGE_MS = [10**15, -(10**15), 10**30]


def test_clock_time_today_and_other_years():
    assert clock_time(datetime(2025, 3, 4, 14, 32).timestamp(), NOW) == "14:32"
    assert clock_time(datetime(2025, 3, 3, 9, 5).timestamp(), NOW) == "3 Mar 09:05"
    assert clock_time(datetime(2024, 3, 3, 9, 5).timestamp(), NOW) == (
        "3 Mar 2024 09:05"
    )


@pytest.mark.parametrize("timestamp_ms", [*OUT_OF_RANGE_MS, math.nan, math.inf])
def test_clock_time_out_of_range_is_unknown(timestamp_ms):
    assert clock_time(timestamp_ms / 1000, NOW) == UNKNOWN_DATE


@pytest.mark.parametrize("timestamp_ms", OUT_OF_RANGE_MS)
def test_full_time_out_of_range_is_unknown(timestamp_ms):
    assert full_time(timestamp_ms) == UNKNOWN_DATE


@pytest.mark.parametrize("timestamp_ms", OUT_OF_RANGE_MS)
def test_relative_time_out_of_range_is_unknown(timestamp_ms):
    assert relative_time(timestamp_ms, NOW) == UNKNOWN_DATE


def test_relative_time_recent_and_older():
    assert relative_time(int(NOW * 1000) - 5_000, NOW) == "just now"
    assert relative_time(int(NOW * 1000) - 300_000, NOW) == "5 min ago"
    older = datetime(2024, 12, 1, 10, 0).timestamp() * 1000
    assert relative_time(int(older), NOW) == "1 Dec 2024"


def test_relative_time_slightly_ahead_is_just_now():
    # Clocks of server and client differ by a few seconds.
    assert relative_time(int(NOW * 1000) + 20_000, NOW) == "just now"


def test_relative_time_far_ahead_shows_date():
    later = datetime(2025, 6, 1, 10, 0).timestamp() * 1000
    assert relative_time(int(later), NOW) == "1 Jun"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ana Lima", "AL"),
        ("Test Person 005", "TP"),
        ("1984", "1"),
        ("@maya:example.org", "ME"),
        ("محمد الأنصاري", "ما"),
        ("", "?"),
    ],
)
def test_initials_prefer_words_that_start_with_letters(name, expected):
    assert initials(name) == expected
