"""The people directory and "find an expert", read from the cache.

Both read the search index: search_docs and the full-text tables
search_person, search_discussion and search_reply. So names, titles,
departments and skills match after the folding of app.store.search_text.
Case, accents and width are ignored, Chinese and Japanese text matches
inside longer words, and emoji are words of their own.

The directory lists everyone in the people table. People met in a joined
room (shares_space) come first, and the others were fetched from the
server's user directory. Every word typed matches a word of the person's
name, user id localpart, title, department, skills or "ask me about" topics
that starts with it.

find_experts ranks people for a topic by these rules, in order:

1. Declared expertise. A skill or "ask me about" topic equal to the topic
   after folding ranks above one that only contains it or a word starting
   with it ("SQL tuning" or "PostgreSQL" for "postgres"). Anyone who declares
   the topic ranks above everyone who does not.
2. Contribution score: 5 per accepted answer, 2 per other reply and 1 per
   discussion started. An accepted answer counts when the reply or its
   question matches the topic, and the question's author or a moderator
   accepted it (the rules of app.store.answers). A reply counted as an
   accepted answer is not counted again as a reply.
3. More accepted answers, then more replies, then more discussions, then
   the user id.

Contributions match the topic's words as one phrase of whole words, so "go"
does not count every post containing "good". Plurals and other word forms
do not match ("database" misses "databases"). Only the newest
MAX_CONTRIBUTION_DOCS (3,000) matching discussions and as many matching
replies are counted, which keeps a topic as common as "the" fast; an
accepted answer counts when its question or reply is among them.

Skills and topics are compared through the people.expertise column, which
contains each of them folded, and names sort by the folded people.sort_name;
triggers keep both in step with the row (migration 5 in app.store.schema).
"""

import heapq
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.search_query import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    ParsedQuery,
    Term,
    term_tokens,
)
from app.store.answers import accepted_answers
from app.store.lookups import (
    PERSON_NAME_SQL,
    chunks,
    json_strings,
    placeholders,
    room_places,
)
from app.store.search_text import fold_text, tokens_of
from app.text import clean_name

DEFAULT_DIRECTORY_LIMIT = 50
DEFAULT_EXPERT_LIMIT = 20

# Newest matching discussions, and newest matching replies, counted as
# contributions, so a word found in nearly every post is counted in bounded
# time. The cost grows with this number: on the cache of benchmarks/people.py
# (2 cores, Intel Xeon, Python 3.11), "the" took 18 ms at the median with
# 3,000, 30 ms with 5,000 and 128 ms with 20,000.
MAX_CONTRIBUTION_DOCS = 3_000

ACCEPTED_ANSWER_WEIGHT = 5
REPLY_WEIGHT = 2
DISCUSSION_WEIGHT = 1

# Declared expertise levels, from the strongest.
WHOLE_MATCH = 2
PARTIAL_MATCH = 1
NO_MATCH = 0

# User-provided text quoted in a reason is cut to this many characters.
REASON_ITEM_CHARS = 60


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """A person as the directory lists them, with profile text as stored.

    display_name is the profile's name, else the name of a member event, else
    None. shares_space is true for people met in a joined room.
    """

    user_id: str
    display_name: str | None
    title: str | None
    department: str | None
    avatar_url: str | None
    skills: tuple[str, ...]
    shares_space: bool


@dataclass(frozen=True, slots=True)
class Expert:
    """A person ranked for a topic, with the counts behind the rank.

    declared is WHOLE_MATCH, PARTIAL_MATCH or NO_MATCH. matched_skills and
    matched_topics are the skills and "ask me about" topics that matched, as
    stored. place is the name of the space (or room outside any space) with
    most of the contributions. reason explains the rank in one plain line.
    """

    user_id: str
    display_name: str | None
    title: str | None
    department: str | None
    avatar_url: str | None
    shares_space: bool
    declared: int
    matched_skills: tuple[str, ...]
    matched_topics: tuple[str, ...]
    accepted_answers: int
    replies: int
    discussions: int
    place: str | None
    reason: str

    @property
    def score(self) -> int:
        return contribution_score(self.accepted_answers, self.replies, self.discussions)


def contribution_score(accepted: int, replies: int, discussions: int) -> int:
    return (
        ACCEPTED_ANSWER_WEIGHT * accepted
        + REPLY_WEIGHT * replies
        + DISCUSSION_WEIGHT * discussions
    )


# People met in a joined room, as in app.store.queries.list_people.
_SHARES_SPACE_SQL = """EXISTS (SELECT 1 FROM members m
    JOIN rooms r ON r.room_id = m.room_id AND r.membership = 'join'
    WHERE m.user_id = p.user_id AND m.membership = 'join')"""


def _word_terms(text: str) -> list[Term]:
    """Return one prefix term per whitespace-separated word of text.

    Quotes and filter words such as "in:" are plain text here, because the
    directory's box searches people, not posts.
    """
    terms = []
    for word in text[:MAX_QUERY_CHARS].split():
        tokens = term_tokens(word)
        if tokens:
            terms.append(Term(tokens, prefix=True))
    return terms[:MAX_TERMS]


def _match_expression(terms: list[Term]) -> str:
    return ParsedQuery(terms=terms).match_expression()


# ---------------------------------------------------------------- directory


def directory(
    conn: sqlite3.Connection,
    text: str = "",
    *,
    department: str | None = None,
    space_id: str | None = None,
    limit: int = DEFAULT_DIRECTORY_LIMIT,
    offset: int = 0,
    exclude: str | None = None,
) -> list[DirectoryEntry]:
    """Return one page of people matching text and the filters.

    People who share a joined room come first. Without text the rest are in
    order of name; with text, name matches rank above matches of other
    fields, then the order is by name. Names are compared folded, as search
    folds them, so "Ángel" sorts with "Angel".
    department matches case-insensitively; space_id keeps joined members of
    that space and of its child rooms. exclude is a user id to leave out,
    such as the signed-in user's.
    """
    where: list[str] = []
    params: list = []
    terms = _word_terms(text)
    if terms:
        source = """search_person
            CROSS JOIN search_docs d ON d.id = search_person.rowid
            CROSS JOIN people p ON p.user_id = d.ref"""
        where.append("search_person MATCH ?")
        params.append(_match_expression(terms))
        # Name and user id (the title column) weigh four times the rest.
        order = "bm25(search_person, 4.0, 1.0), p.sort_name, p.user_id"
    else:
        source = "people p"
        order = "p.sort_name, p.user_id"

    if department is not None:
        spellings = _department_spellings(conn, department)
        if not spellings:
            return []
        where.append(f"p.department IN ({placeholders(spellings)})")
        params += spellings
    if space_id is not None:
        where.append(
            """p.user_id IN (SELECT m.user_id FROM members m
                WHERE m.membership = 'join' AND (m.room_id = ? OR m.room_id IN
                    (SELECT child_id FROM space_children WHERE space_id = ?)))"""
        )
        params += [space_id, space_id]
    if exclude is not None:
        where.append("p.user_id != ?")
        params.append(exclude)

    condition = " AND ".join(where) if where else "1"
    rows = conn.execute(
        f"""SELECT p.user_id, {PERSON_NAME_SQL} AS name, p.title, p.department,
                p.avatar_url, p.skills, {_SHARES_SPACE_SQL} AS shares_space
            FROM {source} WHERE {condition}
            ORDER BY shares_space DESC, {order} LIMIT ? OFFSET ?""",
        [*params, max(limit, 0), max(offset, 0)],
    ).fetchall()
    return [
        DirectoryEntry(
            row["user_id"],
            row["name"],
            row["title"],
            row["department"],
            row["avatar_url"],
            json_strings(row["skills"]),
            bool(row["shares_space"]),
        )
        for row in rows
    ]


def _department_key(value: str | None) -> str:
    return clean_name(value).casefold()


def _department_spellings(conn: sqlite3.Connection, department: str) -> list[str]:
    """Return the stored spellings of department, compared case-insensitively.

    SQLite's NOCASE and LOWER() fold ASCII letters only, so "ÉTUDES" would
    miss "Études"; the few distinct departments are compared here instead.
    """
    key = _department_key(department)
    if not key:
        return []
    rows = conn.execute(
        "SELECT DISTINCT department FROM people WHERE department IS NOT NULL"
    ).fetchall()
    return [row[0] for row in rows if _department_key(row[0]) == key]


def departments(conn: sqlite3.Connection) -> list[str]:
    """Return the distinct departments for a filter list, sorted case-insensitively.

    Spellings that differ only in case or spacing are one department, shown
    in its most common spelling as stored.
    """
    rows = conn.execute(
        """SELECT department, COUNT(*) AS people FROM people
        WHERE department IS NOT NULL GROUP BY department"""
    ).fetchall()
    spellings: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        key = _department_key(row["department"])
        if key:
            spellings[key][row["department"]] += row["people"]
    chosen = []
    for key, counts in spellings.items():
        # The most common spelling; among equals, the first in sort order.
        spelling = min(counts, key=lambda value: (-counts[value], value))
        chosen.append((key, spelling))
    return [spelling for _, spelling in sorted(chosen)]


# ---------------------------------------------------------------- experts


@dataclass(slots=True)
class _Candidate:
    user_id: str
    declared: int = NO_MATCH
    matched_skills: list[str] = field(default_factory=list)
    matched_topics: list[str] = field(default_factory=list)
    accepted: int = 0
    replies: int = 0
    discussions: int = 0
    # Contributions per room id, for naming where most of them are.
    rooms: Counter = field(default_factory=Counter)


@dataclass(slots=True)
class _Hits:
    """The newest matching discussions and replies, counted by sender.

    rooms is flat (sender, room id, posts, sender, ...), for naming the place
    of the best few. questions are the questions with an accepted-answer
    event whose question or reply is a hit; matched_questions and
    matched_replies are those hits. Counts are in dicts and flat lists of
    strings and ints, which the garbage collector does not track, so the
    thousands of senders of a common topic do not set off collections.
    Tuples per sender added pauses of about 10 ms to one call in ten.
    """

    replies: dict[str, int] = field(default_factory=dict)
    discussions: dict[str, int] = field(default_factory=dict)
    rooms: list[str | int] = field(default_factory=list)
    questions: set[str] = field(default_factory=set)
    matched_questions: set[str] = field(default_factory=set)
    matched_replies: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Answers:
    """The valid accepted answers among the hits, by reply sender.

    matched counts the answers whose reply is itself a hit, which the hits
    already count as a reply. rooms counts the others by room.
    """

    accepted: Counter = field(default_factory=Counter)
    matched: Counter = field(default_factory=Counter)
    rooms: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


def find_experts(
    conn: sqlite3.Connection,
    topic: str,
    *,
    limit: int = DEFAULT_EXPERT_LIMIT,
    exclude: str | None = None,
) -> list[Expert]:
    """Return up to limit people ranked for topic by the rules of the module doc.

    exclude is a user id to leave out, such as the signed-in user's. A topic
    with no words (only punctuation or operators) returns [].
    """
    topic = topic[:MAX_QUERY_CHARS]
    tokens = tuple(tokens_of(topic))[:MAX_TERMS]
    if not tokens or limit <= 0:
        return []
    hits = _load_hits(conn, tokens)
    answers = _count_accepted_answers(conn, hits)
    declared = _declared_levels(conn, tokens)
    best = _best_candidates(hits, answers, declared, limit, exclude)
    return _load_experts(conn, best, tokens, topic)


def declared_match(item: str, topic_tokens: Sequence[str]) -> int:
    """Return how closely one skill or "ask me about" topic matches the topic.

    WHOLE_MATCH when they fold to the same words; PARTIAL_MATCH when the
    topic's words appear in order inside item, the last as the start of a
    word; NO_MATCH otherwise. _DECLARED_LEVEL_SQL applies the same rule to
    the people.expertise column.
    """
    folded = fold_text(item)
    topic = " ".join(topic_tokens)
    if folded == topic:
        return WHOLE_MATCH
    # Folded text has single spaces between tokens, so a match of " " + topic
    # starts at a token and ends inside or at the end of one.
    if f" {topic}" in f" {folded}":
        return PARTIAL_MATCH
    return NO_MATCH


def _matching_items(
    items: tuple[str, ...], tokens: tuple[str, ...]
) -> list[tuple[int, str]]:
    """Return (level, item) for the items that match, whole matches first."""
    matches = []
    for item in items:
        level = declared_match(item, tokens)
        if level != NO_MATCH:
            matches.append((level, item))
    matches.sort(key=lambda match: -match[0])
    return matches


# The declared level of person p for the folded topic :topic, by the rule of
# declared_match: expertise has "\n" before and after each folded skill and
# topic, and folded text separates tokens by single spaces.
_DECLARED_LEVEL_SQL = f"""CASE
    WHEN instr(p.expertise, char(10) || :topic || char(10)) THEN {WHOLE_MATCH}
    WHEN instr(p.expertise, char(10) || :topic)
        OR instr(p.expertise, ' ' || :topic) THEN {PARTIAL_MATCH}
    ELSE {NO_MATCH} END"""


def _declared_levels(
    conn: sqlite3.Connection, tokens: tuple[str, ...]
) -> dict[str, int]:
    """Return the people whose skills or "ask me about" topics match, by level.

    The index finds profiles whose body (title, department, skills, topics)
    has the topic's words, and the expertise column then compares each skill
    and topic alone.
    """
    phrase = _match_expression([Term(tokens, prefix=True)])
    rows = conn.execute(
        f"""SELECT user_id, level FROM (
            SELECT p.user_id, {_DECLARED_LEVEL_SQL} AS level
            FROM search_person CROSS JOIN search_docs d ON d.id = search_person.rowid
            CROSS JOIN people p ON p.user_id = d.ref
            WHERE search_person MATCH :match)
        WHERE level != {NO_MATCH}""",
        {"match": f"body : {phrase}", "topic": " ".join(tokens)},
    )
    return dict(rows)


# The newest matching discussions and replies, counted per sender and room,
# then the accepted-answer events whose question or reply is among them.
_HITS_SQL = """
WITH hits AS MATERIALIZED (
    SELECT d.kind, d.ref, d.sender, d.room_id
    FROM (SELECT * FROM (SELECT rowid AS id FROM search_discussion
            WHERE search_discussion MATCH :match ORDER BY rowid DESC LIMIT :cap)
        UNION ALL
        SELECT * FROM (SELECT rowid AS id FROM search_reply
            WHERE search_reply MATCH :match ORDER BY rowid DESC LIMIT :cap)) h
    CROSS JOIN search_docs d ON d.id = h.id
    WHERE d.sender IS NOT NULL
)
SELECT 'posts', sender, room_id, SUM(kind = 'reply'), SUM(kind = 'discussion')
FROM hits GROUP BY sender, room_id
UNION ALL
SELECT 'question', a.question_id, NULL, NULL, NULL
FROM hits h CROSS JOIN accepted_answers a ON a.question_id = h.ref
WHERE h.kind = 'discussion'
UNION ALL
SELECT 'reply', a.question_id, a.reply_id, NULL, NULL
FROM hits h CROSS JOIN accepted_answers a ON a.reply_id = h.ref
WHERE h.kind = 'reply'
"""


def _load_hits(conn: sqlite3.Connection, tokens: tuple[str, ...]) -> _Hits:
    rows = conn.execute(
        _HITS_SQL,
        {
            "match": _match_expression([Term(tokens, prefix=False)]),
            "cap": MAX_CONTRIBUTION_DOCS,
        },
    )
    hits = _Hits()
    replies_by = hits.replies
    discussions_by = hits.discussions
    for part, first, second, replies, discussions in rows:
        if part == "posts":
            replies_by[first] = replies_by.get(first, 0) + replies
            discussions_by[first] = discussions_by.get(first, 0) + discussions
            hits.rooms += (first, second, replies + discussions)
        elif part == "question":
            hits.questions.add(first)
            hits.matched_questions.add(first)
        else:
            hits.questions.add(first)
            hits.matched_replies.add(second)
    return hits


def _count_accepted_answers(conn: sqlite3.Connection, hits: _Hits) -> _Answers:
    """Count the valid accepted answers whose question or reply is a hit.

    Which answer of a question is valid is decided by
    app.store.answers.accepted_answers, so one accepted by someone who may
    not accept it does not count.
    """
    counted: set[str] = set()
    for chunk in chunks(sorted(hits.questions)):
        for answer in accepted_answers(conn, list(chunk)).values():
            # The valid answer may not be the event that made its question a
            # candidate, so whether it matches is checked again.
            if (
                answer.question_id in hits.matched_questions
                or answer.reply_id in hits.matched_replies
            ):
                counted.add(answer.reply_id)
    answers = _Answers()
    for chunk in chunks(sorted(counted)):
        rows = conn.execute(
            f"""SELECT event_id, sender, room_id FROM replies
            WHERE redacted = 0 AND event_id IN ({placeholders(chunk)})""",
            list(chunk),
        ).fetchall()
        for event_id, sender, room_id in rows:
            answers.accepted[sender] += 1
            if event_id in hits.matched_replies:
                answers.matched[sender] += 1
            else:
                answers.rooms[sender][room_id] += 1
    return answers


def _best_candidates(
    hits: _Hits,
    answers: _Answers,
    declared: dict[str, int],
    limit: int,
    exclude: str | None,
) -> list[_Candidate]:
    """Return the best limit people in rank order, with their counts."""

    def rank_key(user_id: str) -> tuple:
        replies = hits.replies.get(user_id, 0)
        discussions = hits.discussions.get(user_id, 0)
        accepted = answers.accepted.get(user_id, 0)
        # A matching reply that is an accepted answer counts only as the latter.
        replies -= answers.matched.get(user_id, 0)
        score = contribution_score(accepted, replies, discussions)
        level = declared.get(user_id, NO_MATCH)
        return (-level, -score, -accepted, -replies, -discussions, user_id)

    candidates = set(declared)
    candidates.discard(exclude)
    if len(candidates) < limit:
        # Only then can someone who declares nothing be among the best.
        candidates |= hits.replies.keys() | hits.discussions.keys()
        candidates |= answers.accepted.keys()
        candidates.discard(exclude)
    best = []
    for key in heapq.nsmallest(limit, map(rank_key, candidates)):
        level, _, accepted, replies, discussions, user_id = key
        person = _Candidate(user_id, -level, [], [], -accepted, -replies, -discussions)
        person.rooms.update(answers.rooms.get(user_id, {}))
        best.append(person)
    by_user = {person.user_id: person for person in best}
    rooms = hits.rooms
    for index in range(0, len(rooms), 3):
        person = by_user.get(rooms[index])
        if person is not None:
            person.rooms[rooms[index + 1]] += rooms[index + 2]
    return best


def _load_experts(
    conn: sqlite3.Connection,
    best: list[_Candidate],
    tokens: tuple[str, ...],
    topic: str,
) -> list[Expert]:
    if not best:
        return []
    user_ids = [person.user_id for person in best]
    rows = conn.execute(
        f"""SELECT p.user_id, {PERSON_NAME_SQL} AS name, p.title, p.department,
            p.avatar_url, p.skills, p.ask_me_about,
            {_SHARES_SPACE_SQL} AS shares_space
        FROM people p WHERE p.user_id IN ({placeholders(user_ids)})""",
        user_ids,
    ).fetchall()
    profiles = {row["user_id"]: row for row in rows}
    rooms = {room for person in best for room in person.rooms}
    places = room_places(conn, rooms)
    label = _short(clean_name(topic))
    experts = []
    for person in best:
        profile = profiles.get(person.user_id)
        if profile is not None and person.declared != NO_MATCH:
            skills = _matching_items(json_strings(profile["skills"]), tokens)
            topics = _matching_items(json_strings(profile["ask_me_about"]), tokens)
            person.matched_skills = [item for _, item in skills]
            person.matched_topics = [item for _, item in topics]
        place, everywhere = _main_place(person.rooms, places)
        experts.append(
            Expert(
                person.user_id,
                profile["name"] if profile else None,
                profile["title"] if profile else None,
                profile["department"] if profile else None,
                profile["avatar_url"] if profile else None,
                bool(profile["shares_space"]) if profile else False,
                person.declared,
                tuple(person.matched_skills),
                tuple(person.matched_topics),
                person.accepted,
                person.replies,
                person.discussions,
                place,
                _reason(person, label, place, everywhere),
            )
        )
    return experts


def _main_place(
    rooms: Counter, places: dict[str, tuple[str, str]]
) -> tuple[str | None, bool]:
    """Return the name of the place with most contributions, and if it has all."""
    counts: Counter = Counter()
    names: dict[str, str] = {}
    for room_id, count in rooms.items():
        if count <= 0:
            continue
        place_id, name = places.get(room_id, (room_id, ""))
        counts[place_id] += count
        names[place_id] = clean_name(name, "an unnamed room")
    if not counts:
        return None, False
    place_id = min(counts, key=lambda key: (-counts[key], names[key], key))
    return names[place_id], len(counts) == 1


def _short(text: str) -> str:
    if len(text) <= REASON_ITEM_CHARS:
        return text
    return text[: REASON_ITEM_CHARS - 1].rstrip() + "…"


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _reason(
    person: _Candidate, topic_label: str, place: str | None, everywhere: bool
) -> str:
    """Explain the rank in words, for example
    "Lists SQL as a skill; 3 accepted answers and 7 replies about SQL in Data Guild".
    """
    parts = []
    if person.matched_skills:
        skills = [_short(clean_name(item)) for item in person.matched_skills]
        noun = "as a skill" if len(skills) == 1 else "as skills"
        parts.append(f"Lists {_and_list(skills)} {noun}")
    if person.matched_topics:
        topics = [_short(clean_name(item)) for item in person.matched_topics]
        parts.append(f"Invites questions about {_and_list(topics)}")
    counts = []
    if person.accepted:
        counts.append(_plural(person.accepted, "accepted answer", "accepted answers"))
    if person.replies:
        counts.append(_plural(person.replies, "reply", "replies"))
    if person.discussions:
        counts.append(
            _plural(person.discussions, "discussion started", "discussions started")
        )
    if counts:
        text = f"{_and_list(counts)} about {topic_label}"
        if place:
            text += f" {'in' if everywhere else 'mostly in'} {place}"
        parts.append(text)
    reason = "; ".join(parts)
    return reason[:1].upper() + reason[1:]
