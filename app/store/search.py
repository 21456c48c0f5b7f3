"""Search over the cache's full-text index, grouped by kind, with snippets.

The index is search_docs and a full-text table per kind. Triggers keep it in
the same transaction as the rows it covers (see the search index migration).
app.search_query parses the query, and this module turns it into SQL and
loads what a result list shows.
"""

import sqlite3
from dataclasses import dataclass, field

from app.search_query import ParsedQuery, Term, parse_query
from app.store.answers import accepted_answers
from app.store.lookups import (
    PERSON_NAME_SQL,
    json_strings,
    placeholders,
    room_places,
)
from app.store.schema import SEARCH_FILL_STATEMENTS, search_table
from app.store.search_text import fold_with_offsets
from app.text import clean_name, clean_text, display_name

# Result kinds, in the order a result list shows their groups.
KINDS = ("discussion", "reply", "file", "person", "space")
KIND_LABELS = {
    "discussion": "Discussions and questions",
    "reply": "Replies",
    "file": "Files",
    "person": "People",
    "space": "Spaces",
}
DEFAULT_LIMIT = 20
SNIPPET_CHARS = 160

# Titles weigh more than bodies: a word in a title is what the post is about.
TITLE_WEIGHT = 4.0
# Relevance ranks only the newest RANK_WINDOW matches of each kind. A word
# such as "the" matches nearly everything, and scoring every match took
# about half a second on the benchmark's cache of 200,000 posts. With the
# window, a common word is about as fast as a rare one.
RANK_WINDOW = 1000


# Text with the parts that matched the query marked: (text, matched) pairs.
Highlighted = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result. ref is its event id, user id or room id.

    discussion_id is the discussion to open: the post itself, or the
    discussion a reply belongs to. detail_parts describe the result in plain
    text, for example what it is, where (its space, else its room) and who
    wrote it.
    """

    kind: str
    ref: str
    title: Highlighted
    snippet: Highlighted
    detail_parts: tuple[str, ...]
    room_id: str | None = None
    discussion_id: str | None = None
    sender: str | None = None
    ts: int | None = None

    @property
    def detail(self) -> str:
        return " · ".join(self.detail_parts)


@dataclass(slots=True)
class SearchResults:
    query: ParsedQuery
    groups: dict[str, list[SearchHit]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(hits) for hits in self.groups.values())


def search(
    conn: sqlite3.Connection, text: str, *, limit: int = DEFAULT_LIMIT
) -> SearchResults:
    """Search the cache for what the user typed.

    Problems with the text become notices in the results, not exceptions.
    """
    query = parse_query(text)
    results = SearchResults(query, notices=list(query.notices))
    if query.is_empty:
        if not results.notices:
            results.notices.append(
                "Type a word to search, or a filter such as is:question."
            )
        return results
    scope = _Scope.resolve(conn, query, results.notices)
    if scope is None:
        return results
    rows = _matching_docs(conn, query, scope, limit)
    for kind in KINDS:
        kind_rows = [row for row in rows if row["kind"] == kind]
        if kind == "discussion" and query.unanswered_only:
            kind_rows = _unanswered(conn, kind_rows)
        hits = _load_hits(conn, kind, kind_rows[:limit], query.terms)
        if hits:
            results.groups[kind] = hits
    if not results.groups:
        results.notices.append("Nothing in the cache matches this search.")
    return results


def rebuild_index(conn: sqlite3.Connection) -> None:
    """Empty the index and fill it again from the cached rows."""
    for kind in KINDS:
        table = search_table(kind)
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
    conn.execute("DELETE FROM search_docs")
    for statement in SEARCH_FILL_STATEMENTS:
        conn.execute(statement)


@dataclass(slots=True)
class _Scope:
    """The kinds a query covers, and the rooms and senders it is limited to."""

    kinds: tuple[str, ...]
    room_ids: list[str] | None = None
    senders: list[str] | None = None

    @classmethod
    def resolve(
        cls, conn: sqlite3.Connection, query: ParsedQuery, notices: list[str]
    ) -> "_Scope | None":
        """Return the scope, or None after adding a notice if nothing can match."""
        kinds = set(KINDS)
        if query.files_only:
            kinds &= {"file"}
        if query.questions_only:
            kinds &= {"discussion"}
        if query.person or query.before_ms is not None or query.after_ms is not None:
            kinds &= {"discussion", "reply", "file"}
        if query.space:
            kinds -= {"space"}
        if not kinds:
            notices.append("These filters cannot all be true of one result.")
            return None
        scope = cls(tuple(kind for kind in KINDS if kind in kinds))
        if query.space:
            scope.room_ids = _rooms_of_spaces(conn, query.space)
            if not scope.room_ids:
                notices.append(
                    f"You are in no space called “{clean_name(query.space)}”."
                )
                return None
        if query.person:
            scope.senders = _people_called(conn, query.person)
            if not scope.senders:
                notices.append(
                    f"Nobody called “{clean_name(query.person)}” is known here."
                )
                return None
        return scope


def _name_match(conn: sqlite3.Connection, kind: str, text: str) -> list[str]:
    """Return refs of documents of kind whose title has every word of text."""
    named = parse_query(f'"{text}"')
    if not named.terms:
        return []
    table = search_table(kind)
    # CROSS JOIN makes SQLite search the index first rather than run the
    # full-text match once per document of the kind.
    rows = conn.execute(
        f"SELECT d.ref FROM {table} CROSS JOIN search_docs d ON d.id = {table}.rowid "
        f"WHERE {table} MATCH ? LIMIT 200",
        ("title : " + _prefix_terms(named.terms),),
    ).fetchall()
    return [row[0] for row in rows]


def _prefix_terms(terms: list[Term]) -> str:
    return "(" + " ".join('"' + " ".join(term.tokens) + '"*' for term in terms) + ")"


def _rooms_of_spaces(conn: sqlite3.Connection, text: str) -> list[str]:
    exact = conn.execute(
        "SELECT room_id FROM rooms WHERE kind = 'space' AND room_id = ?", (text,)
    ).fetchall()
    spaces = [row[0] for row in exact] or _name_match(conn, "space", text)
    joined = [
        row[0]
        for row in conn.execute(
            f"SELECT room_id FROM rooms WHERE room_id IN ({placeholders(spaces)}) "
            "AND membership = 'join'",
            spaces,
        )
    ]
    if not joined:
        return []
    children = conn.execute(
        f"SELECT child_id FROM space_children WHERE space_id IN ({placeholders(joined)})",
        joined,
    ).fetchall()
    return joined + [row[0] for row in children]


def _people_called(conn: sqlite3.Connection, text: str) -> list[str]:
    if text.startswith("@") and ":" in text:
        return [text]
    return _name_match(conn, "person", text)


def _matching_docs(
    conn: sqlite3.Connection, query: ParsedQuery, scope: _Scope, limit: int
) -> list[sqlite3.Row]:
    """Return up to limit documents of each kind in scope, best first.

    Unanswered questions are filtered after this query, so it returns more of
    them to filter from.
    """
    per_kind_limit = limit * 10 if query.unanswered_only else limit
    rows: list[sqlite3.Row] = []
    for kind in scope.kinds:
        conditions, params = _filters(query, scope, kind)
        if query.terms:
            rows += _ranked(
                conn, kind, query.match_expression(), conditions, params, per_kind_limit
            )
        else:
            rows += conn.execute(
                "SELECT d.kind, d.ref, d.room_id, d.sender, d.ts FROM search_docs d "
                f"WHERE {' AND '.join(['d.kind = ?', *conditions])} "
                "ORDER BY d.ts DESC LIMIT ?",
                [kind, *params, per_kind_limit],
            ).fetchall()
    return rows


def _filters(query: ParsedQuery, scope: _Scope, kind: str) -> tuple[list[str], list]:
    """Return SQL conditions on the document d for the query's filters."""
    conditions: list[str] = []
    params: list = []
    if scope.room_ids is not None:
        marks = placeholders(scope.room_ids)
        if kind == "person":
            conditions.append(
                "d.ref IN (SELECT user_id FROM members WHERE membership = 'join' "
                f"AND room_id IN ({marks}))"
            )
        else:
            conditions.append(f"d.room_id IN ({marks})")
        params += scope.room_ids
    if scope.senders is not None:
        conditions.append(f"d.sender IN ({placeholders(scope.senders)})")
        params += scope.senders
    if query.before_ms is not None:
        conditions.append("d.ts < ?")
        params.append(query.before_ms)
    if query.after_ms is not None:
        conditions.append("d.ts >= ?")
        params.append(query.after_ms)
    if query.questions_only:
        conditions.append(
            "d.ref IN (SELECT event_id FROM discussions WHERE kind = 'question')"
        )
    return conditions, params


def _ranked(
    conn: sqlite3.Connection,
    kind: str,
    match: str,
    conditions: list[str],
    params: list,
    limit: int,
) -> list[sqlite3.Row]:
    """Return the best limit matches among the kind's newest RANK_WINDOW."""
    table = search_table(kind)
    source = f"{table} CROSS JOIN search_docs d ON d.id = {table}.rowid"
    where = " AND ".join([f"{table} MATCH ?", *conditions])
    oldest = conn.execute(
        f"SELECT {table}.rowid FROM {source} WHERE {where} "
        f"ORDER BY {table}.rowid DESC LIMIT 1 OFFSET ?",
        [match, *params, RANK_WINDOW - 1],
    ).fetchone()
    return conn.execute(
        f"SELECT d.kind, d.ref, d.room_id, d.sender, d.ts FROM {source} "
        f"WHERE {where} AND {table}.rowid >= ? "
        f"ORDER BY bm25({table}, {TITLE_WEIGHT}, 1.0), d.ts DESC LIMIT ?",
        [match, *params, oldest[0] if oldest else 0, limit],
    ).fetchall()


def _unanswered(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[sqlite3.Row]:
    answered = accepted_answers(conn, [row["ref"] for row in rows])
    return [row for row in rows if row["ref"] not in answered]


def _load_hits(
    conn: sqlite3.Connection, kind: str, rows: list[sqlite3.Row], terms: list[Term]
) -> list[SearchHit]:
    if not rows:
        return []
    loader = _LOADERS[kind]
    refs = [row["ref"] for row in rows]
    details = loader(conn, refs, terms)
    return [details[ref] for ref in refs if ref in details]


def _place_names(conn: sqlite3.Connection, room_ids: set[str]) -> dict[str, str]:
    """Return where each room is, in words: its space's name, else its own."""
    return {
        room_id: clean_name(name, "Unnamed room")
        for room_id, (_, name) in room_places(conn, room_ids).items()
    }


def _person_names(conn: sqlite3.Connection, user_ids: set[str]) -> dict[str, str]:
    ids = list(user_ids)
    rows = conn.execute(
        f"""SELECT p.user_id, {PERSON_NAME_SQL} AS name
            FROM people p WHERE p.user_id IN ({placeholders(ids)})""",
        ids,
    ).fetchall()
    names = {row["user_id"]: display_name(row["name"], row["user_id"]) for row in rows}
    return {user_id: names.get(user_id, user_id) for user_id in ids}


def _post_hits(
    conn: sqlite3.Connection, rows: list[sqlite3.Row], build
) -> dict[str, SearchHit]:
    """Return a hit per post row, from build(row, place, sender name)."""
    places = _place_names(conn, {row["room_id"] for row in rows})
    names = _person_names(conn, {row["sender"] for row in rows})
    return {
        row["event_id"]: build(
            row, places.get(row["room_id"], ""), names[row["sender"]]
        )
        for row in rows
    }


_KIND_NAMES = {"question": "Question", "announcement": "Announcement"}


def _load_discussions(conn, refs, terms) -> dict[str, SearchHit]:
    rows = conn.execute(
        "SELECT event_id, room_id, sender, ts, title, kind, body, tags "
        f"FROM discussions WHERE event_id IN ({placeholders(refs)})",
        refs,
    ).fetchall()
    questions = [row["event_id"] for row in rows if row["kind"] == "question"]
    answered = accepted_answers(conn, questions)

    def build(row, place: str, name: str) -> SearchHit:
        kind = _KIND_NAMES.get(row["kind"], "Discussion")
        if row["kind"] == "question":
            kind += ", answered" if row["event_id"] in answered else ", unanswered"
        return SearchHit(
            "discussion",
            row["event_id"],
            highlight(clean_name(row["title"], "(untitled)"), terms, whole=True),
            _discussion_snippet(row, terms),
            (kind, place, name),
            row["room_id"],
            row["event_id"],
            row["sender"],
            row["ts"],
        )

    return _post_hits(conn, rows, build)


def _discussion_snippet(row: sqlite3.Row, terms: list[Term]) -> Highlighted:
    """Return the body's snippet, led by the tags when only a tag matched."""
    body = _without_title(row["body"], row["title"])
    snippet = highlight(body, terms)
    tags = [clean_name(tag) for tag in json_strings(row["tags"])]
    if tags and not any(matched for _, matched in snippet):
        tagged = highlight(" ".join(f"#{tag}" for tag in tags), terms, whole=True)
        if any(matched for _, matched in tagged):
            return (*tagged, (" · ", False), *snippet) if snippet else tagged
    return snippet


def _without_title(body: str, title: str) -> str:
    """Return body without the title that plain-text fallbacks start with."""
    stripped = body.lstrip()
    if title and stripped.startswith(title):
        return stripped[len(title) :]
    return body


def _load_replies(conn, refs, terms) -> dict[str, SearchHit]:
    rows = conn.execute(
        f"""SELECT r.event_id, r.room_id, r.root_id, r.sender, r.ts, r.body,
                d.title AS root_title
            FROM replies r LEFT JOIN discussions d ON d.event_id = r.root_id
            WHERE r.event_id IN ({placeholders(refs)})""",
        refs,
    ).fetchall()

    def build(row, place: str, name: str) -> SearchHit:
        return SearchHit(
            "reply",
            row["event_id"],
            _plain(f"Re: {clean_name(row['root_title'], '(untitled)')}"),
            highlight(row["body"], terms),
            ("Reply", place, name),
            row["room_id"],
            row["root_id"],
            row["sender"],
            row["ts"],
        )

    return _post_hits(conn, rows, build)


def _load_files(conn, refs, terms) -> dict[str, SearchHit]:
    rows = conn.execute(
        "SELECT event_id, room_id, sender, ts, name FROM files "
        f"WHERE event_id IN ({placeholders(refs)})",
        refs,
    ).fetchall()

    def build(row, place: str, name: str) -> SearchHit:
        return SearchHit(
            "file",
            row["event_id"],
            highlight(clean_name(row["name"], "(unnamed file)"), terms, whole=True),
            (),
            ("File", place, name),
            row["room_id"],
            None,
            row["sender"],
            row["ts"],
        )

    return _post_hits(conn, rows, build)


def _load_people(conn, refs, terms) -> dict[str, SearchHit]:
    rows = conn.execute(
        f"""SELECT p.user_id, p.title, p.department, p.skills,
                {PERSON_NAME_SQL} AS name
            FROM people p WHERE p.user_id IN ({placeholders(refs)})""",
        refs,
    ).fetchall()
    hits = {}
    for row in rows:
        about = [clean_name(row["title"]), clean_name(row["department"])]
        skills = json_strings(row["skills"])
        if skills:
            about.append("Skills: " + ", ".join(clean_name(skill) for skill in skills))
        hits[row["user_id"]] = SearchHit(
            "person",
            row["user_id"],
            highlight(display_name(row["name"], row["user_id"]), terms, whole=True),
            highlight(" · ".join(part for part in about if part), terms),
            (row["user_id"],),
        )
    return hits


def _load_spaces(conn, refs, terms) -> dict[str, SearchHit]:
    rows = conn.execute(
        f"SELECT room_id, name, topic, membership FROM rooms "
        f"WHERE room_id IN ({placeholders(refs)}) AND membership = 'join'",
        refs,
    ).fetchall()
    return {
        row["room_id"]: SearchHit(
            "space",
            row["room_id"],
            highlight(clean_name(row["name"], "Unnamed space"), terms, whole=True),
            highlight(row["topic"], terms),
            ("Space",),
            row["room_id"],
        )
        for row in rows
    }


_LOADERS = {
    "discussion": _load_discussions,
    "reply": _load_replies,
    "file": _load_files,
    "person": _load_people,
    "space": _load_spaces,
}


def _plain(text: str) -> Highlighted:
    return ((text, False),) if text else ()


def highlight(
    text: str | None, terms: list[Term], *, whole: bool = False
) -> Highlighted:
    """Return text, or a snippet of it around a match, with matches marked.

    whole keeps all of text, for titles and names. Otherwise the snippet is
    one line of about SNIPPET_CHARS, cut at spaces, with "…" where text
    goes on.
    """
    text = clean_text(text or "")
    if not whole:
        text = " ".join(text.split())
    if not text:
        return ()
    spans, anchor = _match_spans(text, terms)
    start, end = 0, len(text)
    if not whole and len(text) > SNIPPET_CHARS:
        first = anchor
        start = max(0, first - SNIPPET_CHARS // 3)
        if start > 0:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < first else start
        end = min(len(text), start + SNIPPET_CHARS)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
    parts: list[tuple[str, bool]] = []
    if start > 0:
        parts.append(("…", False))
    position = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, position), min(span_end, end)
        if span_start >= span_end:
            continue
        if span_start > position:
            parts.append((text[position:span_start], False))
        parts.append((text[span_start:span_end], True))
        position = span_end
    if position < end:
        parts.append((text[position:end], False))
    if end < len(text):
        parts.append(("…", False))
    return tuple(parts)


def _match_spans(text: str, terms: list[Term]) -> tuple[list[tuple[int, int]], int]:
    """Return the character ranges of text that the terms match, in order.

    Also return where a snippet should start: at the first match of the
    longest matching term. A short term such as "de" also matches the start
    of "desk", so its match may not be why the result was found.
    """
    if not terms:
        return [], 0
    folded, offsets = fold_with_offsets(text)
    # Tokens of the folded text, as (token, first folded index, end index).
    tokens = []
    index = 0
    for piece in folded.split(" "):
        if piece:
            tokens.append((piece, index, index + len(piece)))
        index += len(piece) + 1

    spans = []
    anchor, anchor_length = 0, -1
    for term in terms:
        size = len(term.tokens)
        length = sum(len(token) for token in term.tokens)
        for at in range(len(tokens) - size + 1):
            window = tokens[at : at + size]
            if not _term_matches(term, [token for token, _, _ in window]):
                continue
            last = window[-1]
            end_in_folded = last[1] + (
                len(term.tokens[-1]) if term.prefix else len(last[0])
            )
            span = (offsets[window[0][1]], offsets[end_in_folded - 1] + 1)
            if length > anchor_length:
                anchor, anchor_length = span[0], length
            spans.append(span)

    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged, anchor


def _term_matches(term: Term, window: list[str]) -> bool:
    *head, last = term.tokens
    if window[: len(head)] != head:
        return False
    return window[-1].startswith(last) if term.prefix else window[-1] == last
