"""Text folding shared by the search index and search queries.

SQLite's tokenizers cannot fold accents everywhere, split Chinese or Japanese
text into words, or keep emoji, so text is folded here before SQLite indexes it,
with the same function for indexed text and for queries:

- compatibility forms become plain ones (full-width "ＡＢＣ" is "abc") and case
  is folded ("Straße" is "strasse");
- accents are removed from Latin, Greek and Cyrillic letters ("Résumé" is
  "resume"), and Latin letters with a stroke or ligatures that Unicode does
  not decompose are spelled as people type them without the accent
  ("Łukasz" is "lukasz", "Søren" is "soren", "Æsir" is "aesir");
- every Chinese, Japanese, Korean, Thai, Lao, Khmer and Burmese character,
  every emoji and every skin-tone modifier becomes a token of its own, so a
  phrase of such tokens finds the same characters inside longer text
  ("学習" finds "機械学習の基礎");
- combining marks, joiners and format characters are dropped, so "e" with a
  combining acute is "e" and the parts of an emoji sequence stay adjacent;
- anything else (punctuation, spaces, symbols) separates tokens.

Changing the output of fold_text changes what the stored index means: a
change needs a migration that rebuilds the index.
"""

import functools
import re
import unicodedata

# Scripts written without spaces between words, by code point range.
_SEGMENTED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3005, 0x3007),  # ideographic iteration and number marks
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x1F3FB, 0x1F3FF),  # emoji skin-tone modifiers
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)

# The FTS5 tokenizer for folded text: it only has to split on the spaces that
# fold_text leaves, and keep every character fold_text emits.
TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* N* M* Co So Sk'"

# Below this code point a letter with its marks removed is Latin, Greek or
# Cyrillic, whose accents searchers usually leave out.
_ACCENT_FOLDED_BELOW = 0x0590


_ASCII_SEPARATORS = re.compile(r"[^a-z0-9]+")

# Lower-case Latin letters that have no decomposition into a base letter and
# marks, and what a searcher types for them. Upper-case ones are case folded
# to these first.
_LATIN_SPELLINGS = {
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "ħ": "h",
    "ŧ": "t",
    "ı": "i",
    "ƀ": "b",
    "ƚ": "l",
    "ɨ": "i",
    "ʉ": "u",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ĳ": "ij",
    "ŀ": "l",
}


def _is_segmented(char: str) -> bool:
    point = ord(char)
    for low, high in _SEGMENTED_RANGES:
        if low <= point <= high:
            return True
    return unicodedata.category(char) == "So"


@functools.lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    """Return what one character of text becomes, " " for a separator."""
    out = []
    for part in unicodedata.normalize("NFKC", char).casefold():
        spelled = _LATIN_SPELLINGS.get(part)
        if spelled is not None:
            out.append(spelled)
            continue
        category = unicodedata.category(part)
        if _is_segmented(part):
            out.append(f" {part} ")
        elif category[0] in "LN" or category == "Mc":
            decomposed = unicodedata.normalize("NFD", part)
            base = "".join(
                c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me")
            )
            if base and all(ord(c) < _ACCENT_FOLDED_BELOW for c in base):
                out.append(base)
            else:
                out.append(part)
        elif category in ("Mn", "Me", "Cf"):
            continue
        else:
            out.append(" ")
    return "".join(out)


def fold_text(text: str | None) -> str:
    """Return text folded for the search index or a query; see the module doc."""
    if not text:
        return ""
    if text.isascii():
        # The same result as the general path, an order of magnitude faster.
        return " ".join(_ASCII_SEPARATORS.sub(" ", text.lower()).split())
    return " ".join("".join(map(_fold_char, text)).split())


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Fold text and map each folded character to its index in text.

    Separators collapse differently here than in fold_text, but the tokens,
    and their order, are the same.
    """
    folded: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        for out in _fold_char(char):
            folded.append(out)
            offsets.append(index)
    return "".join(folded), offsets


def tokens_of(text: str | None) -> list[str]:
    """Return the tokens of text as the index stores them."""
    return fold_text(text).split()
