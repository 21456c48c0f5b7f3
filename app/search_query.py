"""The search box's syntax: words, quoted phrases and filters.

Words match by prefix ("kube" finds "Kubernetes"); a quoted phrase matches
its words in order. Filters:

- ``in:SPACE`` posts, replies, files and members of a space (by name);
- ``from:PERSON`` posts, replies and files by someone (by name or user id);
- ``is:question``, ``is:unanswered`` questions, or those without an accepted
  answer;
- ``has:file`` shared files only;
- ``before:DATE``, ``after:DATE`` with DATE as YYYY-MM-DD, YYYY-MM or YYYY,
  in local time; ``before`` excludes the date itself, ``after`` includes it.

A value with spaces is quoted: ``in:"Data Guild"``. Anything that is not a
known filter is searched as text, so nothing a user types is an error:
problems come back as plain notices and the rest of the query still runs.
"""

import datetime
import re
from dataclasses import dataclass, field

from app.store.search_text import tokens_of

# Longer input is cut, because typed queries are far shorter and the rest
# would only slow the query.
MAX_QUERY_CHARS = 1000
MAX_TERMS = 32

FILTER_KEYS = ("in", "from", "is", "has", "before", "after")

_PART = re.compile(
    r"""(?P<key>in|from|is|has|before|after):(?P<value>"[^"]*"?|\S*)
        | "(?P<phrase>[^"]*)(?P<closed>"?)
        | (?P<word>[^\s"]+)""",
    re.IGNORECASE | re.VERBOSE,
)


_USER_ID = re.compile(r"@(?P<localpart>[^\s:@]+):[^\s@]+")


@dataclass(frozen=True, slots=True)
class Term:
    """Folded tokens that must appear in this order; prefix: the last may go on."""

    tokens: tuple[str, ...]
    prefix: bool


@dataclass(slots=True)
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)
    space: str | None = None
    person: str | None = None
    questions_only: bool = False
    unanswered_only: bool = False
    files_only: bool = False
    before_ms: int | None = None
    after_ms: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.space
            or self.person
            or self.questions_only
            or self.unanswered_only
            or self.files_only
            or self.before_ms is not None
            or self.after_ms is not None
        )

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.has_filters

    def match_expression(self) -> str:
        """Return the FTS5 query: every term, each a quoted phrase.

        Tokens hold only letters, digits, marks and symbols, never a quote,
        so FTS5 operators typed by the user stay plain words.
        """
        parts = []
        for term in self.terms:
            phrase = '"' + " ".join(term.tokens) + '"'
            parts.append(phrase + "*" if term.prefix else phrase)
        return " ".join(parts)


def parse_query(text: str) -> ParsedQuery:
    """Parse what the user typed; mistakes become notices, so any text parses."""
    query = ParsedQuery()
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        query.notices.append(
            f"The search was cut to its first {MAX_QUERY_CHARS} characters."
        )
    for match in _PART.finditer(text):
        if match["key"]:
            _apply_filter(query, match["key"].lower(), _unquote(match["value"]))
        elif match["phrase"] is not None:
            # A phrase still being typed has no closing quote yet.
            _add_term(query, match["phrase"], prefix=not match["closed"])
        else:
            _add_term(query, match["word"], prefix=True)
    if len(query.terms) > MAX_TERMS:
        del query.terms[MAX_TERMS:]
        query.notices.append(f"Only the first {MAX_TERMS} words were searched.")
    return query


def _unquote(value: str) -> str:
    return value.strip('"').strip()


def term_tokens(text: str) -> tuple[str, ...]:
    """Return the folded tokens of one typed word or phrase.

    A whole user id such as "@wei:example.org" stands for its localpart,
    because people are indexed by localpart without the server name.
    """
    user_id = _USER_ID.fullmatch(text.strip())
    return tuple(tokens_of(user_id["localpart"] if user_id else text))


def _add_term(query: ParsedQuery, text: str, *, prefix: bool) -> None:
    tokens = term_tokens(text)
    # A repeated term matches nothing more, and only slows the query.
    if tokens and Term(tokens, prefix) not in query.terms:
        query.terms.append(Term(tokens, prefix))


def _apply_filter(query: ParsedQuery, key: str, value: str) -> None:
    if not value:
        query.notices.append(f"{key}: needs a value, for example {_EXAMPLES[key]}.")
        return
    if key == "in":
        query.space = value
    elif key == "from":
        query.person = value
    elif key == "is":
        if value.lower() == "question":
            query.questions_only = True
        elif value.lower() == "unanswered":
            query.questions_only = query.unanswered_only = True
        else:
            query.notices.append(
                f"is:{value} is not a filter; use is:question or is:unanswered."
            )
    elif key == "has":
        if value.lower() == "file":
            query.files_only = True
        else:
            query.notices.append(f"has:{value} is not a filter; use has:file.")
    else:
        start = _date_start(value)
        if start is None:
            query.notices.append(
                f"{key}:{value} is not a date; write it as YYYY-MM-DD, "
                "for example 2026-03-31."
            )
        elif key == "before":
            query.before_ms = start
        else:
            query.after_ms = start


_EXAMPLES = {
    "in": 'in:"Data Guild"',
    "from": "from:maya",
    "is": "is:question",
    "has": "has:file",
    "before": "before:2026-03-31",
    "after": "after:2026-01-01",
}


def _date_start(value: str) -> int | None:
    """Return the start of a local date, month or year in ms since the epoch."""
    for pattern in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            start = datetime.datetime.strptime(value, pattern)
            return int(start.astimezone().timestamp() * 1000)
        except (ValueError, OverflowError, OSError):
            continue
    return None
