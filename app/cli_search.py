"""The ``commonplace search`` command: the search box's syntax on the cache."""

import sys

from app.cli_format import format_time, positive_int
from app.search_query import FILTER_KEYS

# Exit codes as in app.cli, which imports this module.
EXIT_OK = 0
EXIT_NOT_FOUND = 7

_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"


def add_parsers(commands) -> None:
    search = commands.add_parser(
        "search",
        help="search the cached posts, replies, files, people and spaces",
        description="Search the local cache; works offline. Words match by "
        'prefix; "a phrase" matches in order. Filters: in:SPACE, from:PERSON, '
        "is:question, is:unanswered, has:file, before:YYYY-MM-DD, "
        'after:YYYY-MM-DD. Quote values with spaces: in:"Data Guild".',
    )
    search.add_argument("query", nargs="+", help="words, phrases and filters")
    search.add_argument(
        "--limit",
        type=positive_int,
        default=20,
        help="results to show of each kind (default 20)",
    )


def command_search(args) -> int:
    from app.cli import _load_session, _open_store
    from app.store.search import KIND_LABELS, search

    session = _load_session()
    store = _open_store(session)
    try:
        results = search(
            store.reader(), query_from_arguments(args.query), limit=args.limit
        )
    finally:
        store.close()
    for notice in results.notices:
        print(notice, file=sys.stderr)
    bold = sys.stdout.isatty()
    first = True
    for kind, hits in results.groups.items():
        if not first:
            print()
        first = False
        print(f"{KIND_LABELS[kind]} ({len(hits)})")
        for hit in hits:
            print(f"  {_marked(hit.title, bold)}")
            when = f" · {format_time(hit.ts)}" if hit.ts else ""
            print(f"    {hit.detail}{when}")
            if hit.snippet:
                print(f"    {_marked(hit.snippet, bold)}")
            if hit.kind == "reply":
                print(f"    {hit.ref} in {hit.discussion_id}")
            elif hit.ref not in hit.detail_parts:
                # A person's detail line is already their user id.
                print(f"    {hit.ref}")
    return EXIT_OK if results.groups else EXIT_NOT_FOUND


def query_from_arguments(arguments: list[str]) -> str:
    """Join command-line arguments into one query, keeping each one whole.

    The shell removes the quotes of in:"Data Guild" and "release notes", so
    an argument with a space in it gets them back: as a filter's value, or
    as a phrase.
    """
    parts = []
    for argument in arguments:
        if not any(char.isspace() for char in argument) or '"' in argument:
            parts.append(argument)
            continue
        key, colon, value = argument.partition(":")
        if colon and key.lower() in FILTER_KEYS:
            parts.append(f'{key}:"{value}"')
        else:
            parts.append(f'"{argument}"')
    return " ".join(parts)


def _marked(parts, bold: bool) -> str:
    """Join highlighted text, in bold on a terminal, unmarked in a pipe."""
    if not bold:
        return "".join(text for text, _ in parts)
    return "".join(
        f"{_BOLD}{text}{_RESET}" if matched else text for text, matched in parts
    )


COMMANDS = {"search": command_search}
