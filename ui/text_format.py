"""Display strings for the interface: names with fallbacks, times and counts.

Names from the server are cleaned with app.text.clean_name, so what the views
get here is one line of plain text without bidirectional or invisible
characters. Times are for display only; nothing is ordered by them.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from app.text import clean_name, display_name

UNNAMED_SPACE = "Unnamed space"
UNNAMED_BOARD = "Unnamed board"
OTHER_ROOMS = "Other rooms"
UNTITLED_DISCUSSION = "Untitled discussion"
DELETED_DISCUSSION = "Deleted discussion"
# Shown for a timestamp that cannot be a real date.
UNKNOWN_DATE = "unknown date"
# Seconds that another server's clock may run ahead of this computer's.
CLOCK_SKEW = 300


def space_name(name: str | None, *, ungrouped: bool = False) -> str:
    if ungrouped:
        return OTHER_ROOMS
    return clean_name(name, fallback=UNNAMED_SPACE)


def board_name(name: str | None) -> str:
    return clean_name(name, fallback=UNNAMED_BOARD)


def board_label(name: str, space_name: str | None) -> str:
    """Return a board's name without a leading copy of its space's name.

    The space's name is shown above the board chooser, so in the space "Data
    Guild" the board "Data Guild discussions" is labelled "Discussions".
    """
    prefix = clean_name(space_name)
    if not prefix or len(name) <= len(prefix) + 1:
        return name
    if name[: len(prefix)].casefold() != prefix.casefold():
        return name
    if name[len(prefix)] not in _NAME_SEPARATORS:
        return name
    rest = name[len(prefix) :].lstrip(_NAME_SEPARATORS)
    return rest[:1].upper() + rest[1:] if rest else name


# Characters that may separate a space's name from the rest of a board's name.
_NAME_SEPARATORS = " :-–—·|"


def discussion_title(title: str | None, *, redacted: bool = False) -> str:
    if redacted:
        return DELETED_DISCUSSION
    return clean_name(title, fallback=UNTITLED_DISCUSSION)


def person_name(name: str | None, user_id: str) -> str:
    return display_name(name, user_id)


def initials(name: str) -> str:
    """Return up to two initials of name, skipping a leading @ of a user id."""
    words = [
        word for word in name.lstrip("@").replace(":", " ").split() if word[0].isalnum()
    ]
    # "Test Person 005" reads as TP: numbers are initials only when alone.
    lettered = [word for word in words if word[0].isalpha()]
    words = lettered or words
    if not words:
        return "?"
    letters = words[0][0]
    if len(words) > 1:
        letters += words[-1][0]
    return letters.upper()


def _local(timestamp: float) -> datetime | None:
    """Return timestamp (Unix seconds) as local time, or None if out of range.

    Timestamps come from other servers, and datetime raises ValueError,
    OverflowError or OSError for years outside 1 to 9999, for NaN and for what
    the platform's time_t cannot hold.
    """
    try:
        return datetime.fromtimestamp(timestamp)
    except (ValueError, OverflowError, OSError):
        return None


def clock_time(timestamp: float, now: float | None = None) -> str:
    """Return "14:32" for today, else "3 Mar 14:32", with the year if not this one."""
    moment = _local(timestamp)
    if moment is None:
        return UNKNOWN_DATE
    today = _local(now if now is not None else time.time())
    if today is not None and moment.date() == today.date():
        return moment.strftime("%H:%M")
    if today is not None and moment.year == today.year:
        return f"{moment.day} {moment.strftime('%b %H:%M')}"
    return f"{moment.day} {moment.strftime('%b %Y %H:%M')}"


def full_time(timestamp_ms: int) -> str:
    """Return a post's time as "Tuesday 4 March 2025, 14:32"."""
    moment = _local(timestamp_ms / 1000)
    if moment is None:
        return UNKNOWN_DATE
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B %Y, %H:%M')}"


def relative_time(timestamp_ms: int, now: float | None = None) -> str:
    """Return how long ago timestamp_ms was: "just now", "5 min", "3 h", "Mon".

    A time up to CLOCK_SKEW seconds ahead is "just now", and one further ahead
    shows its date.
    """
    current = now if now is not None else time.time()
    seconds = current - timestamp_ms / 1000
    moment = _local(timestamp_ms / 1000)
    today = _local(current)
    if moment is None or today is None:
        return UNKNOWN_DATE
    if seconds < -CLOCK_SKEW:
        return _day_label(moment, today)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if moment.date() == today.date():
        return f"{int(seconds // 3600)} h ago"
    if moment.date() == (today - timedelta(days=1)).date():
        return "yesterday"
    if seconds < 6 * 86400:
        return moment.strftime("%A")
    return _day_label(moment, today)


def _day_label(moment: datetime, today: datetime) -> str:
    if moment.year == today.year:
        return f"{moment.day} {moment.strftime('%b')}"
    return f"{moment.day} {moment.strftime('%b %Y')}"


def count_label(count: int, singular: str, plural: str) -> str:
    """Return "1 reply" or "1,204 replies"."""
    return f"{count:,} {singular if count == 1 else plural}"


def reply_count_label(count: int) -> str:
    """Return "No replies", "1 reply" or "1,204 replies"."""
    return "No replies" if count == 0 else count_label(count, "reply", "replies")
