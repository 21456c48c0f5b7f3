"""Plain-text output for the command line: tables, dates and counts."""

import argparse
import datetime
import unicodedata

MAX_COLUMN_WIDTH = 60


def format_time(ts_ms: int | float | None) -> str:
    """Return a local date and time for a Matrix timestamp in milliseconds."""
    if not ts_ms:
        return "-"
    try:
        moment = datetime.datetime.fromtimestamp(ts_ms / 1000)
    except (ValueError, OverflowError, OSError):
        return "unknown date"
    return moment.strftime("%Y-%m-%d %H:%M")


def count_label(count: int, noun: str) -> str:
    """Return "No replies", "1 reply" or "3 replies" for noun "reply"."""
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    if count == 0:
        return f"No {plural}"
    return f"{count} {noun if count == 1 else plural}"


def display_width(text: str) -> int:
    """Return the number of terminal columns text takes (wide CJK take two)."""
    width = 0
    for character in text:
        if unicodedata.combining(character):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


def _fit(text: str, width: int) -> str:
    """Cut text to width columns with "…", then pad it to exactly width."""
    if display_width(text) > width:
        cut = ""
        for character in text:
            if display_width(cut + character) > width - 1:
                break
            cut += character
        text = cut + "…"
    return text + " " * (width - display_width(text))


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [display_width(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = min(
                max(widths[index], display_width(cell)), MAX_COLUMN_WIDTH
            )
    print(
        "  ".join(_fit(header, widths[i]) for i, header in enumerate(headers)).rstrip()
    )
    for row in rows:
        print("  ".join(_fit(cell, widths[i]) for i, cell in enumerate(row)).rstrip())


def positive_int(value: str) -> int:
    """Parse a command-line count that must be 1 or more."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if not 1 <= number <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{number} is not between 1 and 1000000")
    return number
