"""Plain-text helpers: safe display of untrusted names, titles and sizes."""

import re
import unicodedata

DERIVED_TITLE_LENGTH = 120

# Bidirectional embeddings, overrides and isolates, and invisible characters
# that could make one name look like another. ZWJ (U+200D) is kept because
# emoji sequences such as 👩‍💻 need it.
_DISGUISE_CHARACTERS = re.compile(
    "[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\ufeff"
    "\u00ad\u180e]"
)
# C0 and C1 control characters except tab and line feed (escape sequences
# and carriage returns included).
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")

# First strong isolate and pop directional isolate: the name is laid out on
# its own, so right-to-left text cannot reorder what follows it.
FSI = "\u2068"
PDI = "\u2069"


def clean_name(value: str | None, fallback: str = "") -> str:
    """Return value as one line without control, bidi or invisible characters."""
    if not value:
        return fallback
    text = unicodedata.normalize("NFC", value)
    text = _DISGUISE_CHARACTERS.sub("", text)
    text = _CONTROL_CHARACTERS.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return text or fallback


# Categories that draw nothing on their own: separators, control and format
# characters, and combining marks that need a base character.
_INVISIBLE_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"}
# Letters and symbols that fonts draw as blank space (Hangul fillers, the
# blank Braille pattern), often used to fake an empty name.
_BLANK_CHARACTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def has_visible_character(text: str) -> bool:
    """Return whether text has at least one character that draws something."""
    return any(
        unicodedata.category(character) not in _INVISIBLE_CATEGORIES
        and character not in _BLANK_CHARACTERS
        for character in text
    )


def character_count(text: str) -> int:
    """Return the number of user-perceived characters (grapheme clusters) in text.

    "é" written as e + U+0301 counts once, as does an emoji sequence joined
    by U+200D. The clusters are those of Qt's QTextBoundaryFinder.
    """
    # Imported here: this module serves the command line too, which does not
    # otherwise load Qt.
    from PySide6.QtCore import QTextBoundaryFinder

    # NOTE: Qt 6.11.3 splits a flag that directly follows a U+200D emoji
    # sequence into two clusters, so such names count one character more.
    finder = QTextBoundaryFinder(QTextBoundaryFinder.BoundaryType.Grapheme, text)
    count = 0
    while finder.toNextBoundary() != -1:
        count += 1
    return count


def clean_text(value: str | None) -> str:
    """Return multi-line text without control, bidi or invisible characters.

    Like clean_name, but line breaks and tabs stay, for bios and post bodies
    shown as plain text.
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value)
    text = _DISGUISE_CHARACTERS.sub("", text)
    text = _CONTROL_CHARACTERS.sub("", text)
    return text.strip()


def isolate(text: str) -> str:
    """Wrap text in a directional isolate for display next to other text."""
    return f"{FSI}{text}{PDI}"


def display_name(name: str | None, user_id: str) -> str:
    """Return the name to show for a person: cleaned, else the user id."""
    return clean_name(name, fallback=user_id)


def derive_title(body: str) -> str:
    """Return the first non-empty line of body, cut for use as a title."""
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            line = clean_name(line)
            if len(line) > DERIVED_TITLE_LENGTH:
                return line[: DERIVED_TITLE_LENGTH - 1].rstrip() + "…"
            return line
    return ""


def format_size(size: int | None) -> str:
    """Return size in bytes as "1 byte", "512 bytes", "1.5 KB" … "909.5 TB" (1 KB = 1024 bytes)."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            if unit == "bytes":
                return "1 byte" if size == 1 else f"{int(value)} bytes"
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
