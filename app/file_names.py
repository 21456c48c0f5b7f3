"""Safe local file names for names that come from the server or other people.

A name from an event is untrusted: it may try to leave the folder ("../x"),
name a device on Windows ("CON.txt"), hide its real extension behind a
right-to-left override, or be longer than the file system allows. The
functions here turn any text into one plain file name in one folder.
"""

import os
import re
import unicodedata
from pathlib import Path

# Maximum file name length in bytes on ext4, NTFS (255 UTF-16 units) and APFS.
MAX_NAME_BYTES = 255
# Maximum length of an extension, with its dot, that is kept when a name is
# shortened.
MAX_EXTENSION_CHARS = 16

# Device names that Windows reserves in every folder, with any extension.
_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{digit}" for digit in "123456789¹²³"]
    + [f"LPT{digit}" for digit in "123456789¹²³"]
)

# Characters Windows rejects in names, besides control characters.
_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')

# Bidirectional controls that can make "a\u202Efdp.exe" look like "aexe.pdf",
# and invisible characters that make two names look the same.
_INVISIBLE = {
    "\u061c",  # ARABIC LETTER MARK
    "\u200b",  # ZERO WIDTH SPACE
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u2060",  # WORD JOINER
    "\ufeff",  # ZERO WIDTH NO-BREAK SPACE (byte order mark)
    *(chr(code) for code in range(0x202A, 0x202F)),  # LRE, RLE, PDF, LRO, RLO
    *(chr(code) for code in range(0x2066, 0x206A)),  # LRI, RLI, FSI, PDI
}

_SPACES = re.compile(r"\s+")
_DOT_RUNS = re.compile(r"\.{2,}")


def _clean_character(character: str) -> str:
    if character in _INVISIBLE:
        return ""
    if character in _WINDOWS_FORBIDDEN:
        return "_"
    category = unicodedata.category(character)
    if category == "Cc":
        # Tabs and line breaks become spaces, other control characters "_".
        return " " if character.isspace() else "_"
    if category == "Cs":
        # A lone surrogate cannot be written as UTF-8.
        return "_"
    if category == "Cf":
        # Other format characters (soft hyphen, tag characters) are invisible.
        return ""
    return character


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) + 1 > MAX_EXTENSION_CHARS:
        return name, ""
    if not extension or extension.strip() != extension:
        return name, ""
    return stem, "." + extension


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def _is_reserved(name: str) -> bool:
    # Windows ignores everything from the first dot and trailing spaces, so
    # "con.tar.gz" and "NUL .txt" are devices too.
    base = name.split(".", 1)[0].rstrip(" ").upper()
    return base in _RESERVED_NAMES


def safe_file_name(name: str, fallback: str = "file") -> str:
    """Return name as one safe file name, or fallback when nothing usable is left.

    The result is NFC-normalised. It has no path separators, no "..", no
    leading dot, and no control, bidirectional-override or invisible format
    characters. It has none of the characters Windows forbids, is no Windows
    device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, also with an extension)
    and does not end in a dot or a space. It is at most 255 bytes of UTF-8,
    shortened before its extension. An ordinary name such as "résumé 日本.pdf"
    is returned unchanged. fallback must itself be safe.
    """
    text = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    text = "".join(_clean_character(character) for character in text)
    text = _SPACES.sub(" ", text).strip(" ")
    text = _DOT_RUNS.sub(".", text)
    # Leading dots would hide the file on Unix, or make "." and "..".
    text = text.lstrip(".").strip(" ")
    text = text.rstrip(". ")
    if not text:
        return fallback
    if _is_reserved(text):
        text = "_" + text
    stem, extension = _split_extension(text)
    budget = MAX_NAME_BYTES - len(extension.encode("utf-8"))
    stem = _truncate_utf8(stem, budget).rstrip(". ")
    if not stem:
        return fallback
    result = unicodedata.normalize("NFC", stem + extension)
    # Normalising after a cut can only recompose, never lengthen, the text.
    return result


def shared_file_name(name: str, fallback: str = "file") -> str:
    """Return the name to send to others: name with only hidden characters removed.

    Control characters, bidirectional controls and invisible format
    characters are removed (tabs and line breaks become spaces), and lone
    surrogates, which a file system name in an unknown encoding can contain,
    become U+FFFD. Everything else stays as the user named the file, so
    ".gitignore" and "a:b?c.txt" are shared as they are. Each receiver
    makes its own disk-safe name with safe_file_name. Returns fallback when
    nothing visible is left.
    """
    characters = []
    for character in unicodedata.normalize("NFC", name):
        category = unicodedata.category(character)
        if character in _INVISIBLE or category == "Cf":
            continue
        if category == "Cc":
            characters.append(" " if character.isspace() else "")
        elif category == "Cs":
            characters.append("\ufffd")
        else:
            characters.append(character)
    text = "".join(characters).strip()
    return text or fallback


def unique_path(folder: Path, name: str) -> Path:
    """Return folder/name, or "name (2).ext", "name (3).ext", … if it exists.

    name must already be safe (see safe_file_name). The suffix is added
    before the extension and keeps the name within MAX_NAME_BYTES.
    """
    candidate = folder / name
    if not os.path.lexists(candidate):
        return candidate
    stem, extension = _split_extension(name)
    number = 2
    while True:
        suffix = f" ({number}){extension}"
        budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
        candidate = folder / (_truncate_utf8(stem, budget).rstrip(". ") + suffix)
        if not os.path.lexists(candidate):
            return candidate
        number += 1
