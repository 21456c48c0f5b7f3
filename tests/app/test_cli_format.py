import argparse

import pytest

from app.cli_format import (
    count_label,
    display_width,
    format_time,
    positive_int,
    print_table,
)


def test_wide_characters_take_two_columns():
    assert display_width("田中") == 4
    assert display_width("abc") == 3


def test_table_columns_align_with_cjk(capsys):
    print_table(["NAME", "ID"], [["田中 美咲", "1"], ["Ann", "2"]])
    lines = capsys.readouterr().out.splitlines()
    assert [display_width(line.rstrip()[:-1]) for line in lines[1:]] == [11, 11]


def test_far_future_time_is_unknown():
    assert format_time(10**15) == "unknown date"


def test_counts_read_naturally():
    assert count_label(0, "reply") == "No replies"
    assert count_label(1, "reply") == "1 reply"
    assert count_label(3, "reply") == "3 replies"


@pytest.mark.parametrize("value", ["0", "-5", "x", "99999999999999999999"])
def test_invalid_limits_are_rejected(value):
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int(value)
