"""The activity stream ("Home"): what happened across the user's spaces.

Everything comes from the cache, so the stream works offline. The activity
table (migration 6) has one row per thing that happened: a discussion,
question or announcement started, a reply, an accepted answer, a like, a
file shared, a person joining a space, a name or picture change. Triggers
fill it from the posts, reactions, files and accepted answers in the same
transaction as those rows; record_member_event adds joins and profile
changes while the sync writes member events. Pages are read newest first
with keyset paging on (ts, id), so a deep page costs as much as the first.

An item whose post, file or accepted answer is gone (deleted, or replaced by
another accepted answer) is not shown. Posts still in the outbox appear
once the sync has stored the server's copy.

NOTE: pages (co-written documents) do not exist yet. When they do, their
edits become items of a new kind ("page_edit", target_id the page) added by
a trigger on the pages' table, and _load_details learns to show them.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field

from app.records import Membership
from app.store.answers import accepted_answers
from app.store.direct_store import direct_room_people
from app.store.follows_store import FOLLOW, FOLLOWS_KEY, UNFOLLOW
from app.store.lookups import PERSON_NAME_SQL, chunks, placeholders, room_places
from app.store.search_text import tokens_of
from app.text import clean_name

# The scopes of the stream, besides the choice of one space.
ALL = "all"
FOLLOWING = "following"
MENTIONS = "mentions"
# A shorter display name would match too many ordinary words.
MIN_MENTION_NAME_CHARS = 3
UNANSWERED = "unanswered"
SCOPES = (ALL, FOLLOWING, MENTIONS, UNANSWERED)

DISCUSSION_KINDS = ("discussion", "question", "announcement")
POST_KINDS = (*DISCUSSION_KINDS, "reply")

PAGE_SIZE = 50
# Candidate rows read at most for one page. Rows that turn out not to be
# shown (a deleted target, an answered question in the "unanswered" scope)
# are skipped; past this bound the page comes back short, with a cursor to
# continue, so a scope that matches almost nothing stays fast.
MAX_ROWS_PER_PAGE = 2_000
# Characters of a post's text kept for the excerpt under an item.
EXCERPT_LENGTH = 200
# Synapse writes a member event into every room of a person whose name or
# picture changes, over seconds to minutes. Changes to the same name and
# picture within this window count as one item. An estimate, not a
# documented Synapse bound.
PROFILE_ECHO_WINDOW_MS = 10 * 60 * 1000

# (ts, id) of the last item of a page; the next page starts after it.
Cursor = tuple[int, int]


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """The stream's choice of items: a scope, within one space or all of them.

    include_direct adds the direct rooms' posts when no space is chosen:
    Home leaves them out, notifications need them.
    """

    scope: str = ALL
    space_id: str | None = None
    include_direct: bool = False


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One item of the stream, with its text cleaned for display as plain text.

    kind is one of the activity table's kinds. actor is who did it. title is
    the discussion's title, the file's name or the space's name. excerpt is
    the start of the post's text, on one line, or the previous name after
    a name change. subject is the name of the person whose post a like or an
    accepted answer is about (subject_id their user id), or a profile's new
    name. changed lists "name"
    and "avatar" for a profile change. discussion_id is the discussion to open and post_id the post
    to scroll to (a reply), both None for files, joins and profile changes.
    space_name is the name of the room's space (of the room itself when it is
    in no space) and room_name the room's, "" for the space itself.
    answered is set for questions only.
    """

    id: int
    kind: str
    event_id: str
    room_id: str
    actor: str
    actor_name: str
    ts: int
    target_id: str | None
    actor_avatar_url: str | None = None
    discussion_id: str | None = None
    post_id: str | None = None
    title: str = ""
    excerpt: str = ""
    subject: str = ""
    subject_id: str | None = None
    target_kind: str | None = None
    space_name: str = ""
    room_name: str = ""
    space_id: str | None = None
    answered: bool | None = None
    changed: tuple[str, ...] = ()

    @property
    def cursor(self) -> Cursor:
        return (self.ts, self.id)


@dataclass(slots=True)
class StreamPage:
    """Items newest first; cursor reads the next page, None after the last one."""

    items: list[StreamItem] = field(default_factory=list)
    cursor: Cursor | None = None


# -- Writes -----------------------------------------------------------------


def record_member_event(conn: sqlite3.Connection, member: Membership) -> None:
    """Add the item of a member event: a join, or a change of name or picture.

    Runs in the sync's write transaction. Joins are stored for every room,
    and the reader shows those of spaces. A name or picture change that
    Synapse repeats in each of the person's rooms is stored once.
    """
    if member.event_id is None or member.ts is None or member.membership != "join":
        return
    if member.previous_membership != "join":
        conn.execute(
            "INSERT OR IGNORE INTO activity (kind, event_id, room_id, actor, ts, "
            "target_id) VALUES ('join', ?, ?, ?, ?, ?)",
            (
                member.event_id,
                member.room_id,
                member.user_id,
                member.ts,
                member.user_id,
            ),
        )
        return
    changed = []
    if member.display_name != member.previous_display_name:
        changed.append("name")
    if member.avatar_url != member.previous_avatar_url:
        changed.append("avatar")
    if not changed:
        return
    detail = json.dumps(
        {
            "changed": changed,
            "name": member.display_name,
            "previous_name": member.previous_display_name,
            "avatar_url": member.avatar_url,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    repeated = conn.execute(
        "SELECT 1 FROM activity WHERE actor = ? AND kind = 'profile' AND detail = ? "
        "AND ts BETWEEN ? AND ?",
        (
            member.user_id,
            detail,
            member.ts - PROFILE_ECHO_WINDOW_MS,
            member.ts + PROFILE_ECHO_WINDOW_MS,
        ),
    ).fetchone()
    if repeated is not None:
        return
    conn.execute(
        "INSERT OR IGNORE INTO activity (kind, event_id, room_id, actor, ts, "
        "target_id, detail) VALUES ('profile', ?, ?, ?, ?, ?, ?)",
        (
            member.event_id,
            member.room_id,
            member.user_id,
            member.ts,
            member.user_id,
            detail,
        ),
    )


# -- Reads ------------------------------------------------------------------


def read_stream(
    conn: sqlite3.Connection,
    user_id: str,
    stream_filter: StreamFilter = StreamFilter(),
    *,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> StreamPage:
    """Return up to limit items older than before (newest first when None).

    user_id is the signed-in user, for the "following" and "mentions"
    scopes. A space the user is not in gives an empty page.
    """
    page = StreamPage()
    cursor = before
    examined = 0
    while len(page.items) < limit and examined < MAX_ROWS_PER_PAGE:
        batch = min(limit, MAX_ROWS_PER_PAGE - examined)
        rows = _candidate_rows(conn, user_id, stream_filter, cursor, None, batch)
        examined += len(rows)
        if not rows:
            return page
        room = limit - len(page.items)
        items = _load_details(conn, rows, stream_filter)
        kept = [item for item in items if item is not None]
        if len(kept) > room:
            # Stop at the last item that fits, so the next page starts after it.
            page.items += kept[:room]
            page.cursor = kept[room - 1].cursor
            return page
        page.items += kept
        last = rows[-1]
        cursor = (last["ts"], last["id"])
        page.cursor = cursor
        if len(rows) < batch:
            page.cursor = None
            return page
    return page


def read_new_items(
    conn: sqlite3.Connection,
    user_id: str,
    stream_filter: StreamFilter,
    after_id: int,
    *,
    limit: int = 500,
) -> list[StreamItem]:
    """Return the items stored after the row after_id, newest first.

    The sync adds rows in increasing id, so a view that remembers the
    highest id it has seen finds what is new, whatever the items' times.
    """
    rows = _candidate_rows(conn, user_id, stream_filter, None, after_id, limit)
    return [item for item in _load_details(conn, rows, stream_filter) if item]


def reload_items(
    conn: sqlite3.Connection,
    user_id: str,
    stream_filter: StreamFilter,
    ids: list[int],
) -> dict[int, StreamItem]:
    """Return the items with these ids that stream_filter still shows, read again.

    A view calls it after a sync to drop deleted items and show edits.
    """
    result: dict[int, StreamItem] = {}
    for chunk in chunks(ids):
        rows = _candidate_rows(
            conn, user_id, stream_filter, None, None, len(chunk), ids=list(chunk)
        )
        for item in _load_details(conn, rows, stream_filter):
            if item is not None:
                result[item.id] = item
    return result


def display_name_mentions_sql(
    conn: sqlite3.Connection, user_id: str
) -> tuple[str, list]:
    """Return SQL over the alias a for posts that name the user by display name.

    The server highlights such posts (its display-name push rule) when they
    carry no m.mentions, so they count as mentions here too. The name is
    matched as a phrase of whole words in the search index, so case and
    accents do not matter. Without a cached name the condition is false.
    """
    row = conn.execute(
        "SELECT display_name FROM people WHERE user_id = ?", (user_id,)
    ).fetchone()
    tokens = tokens_of(row["display_name"]) if row and row["display_name"] else []
    if not tokens or len("".join(tokens)) < MIN_MENTION_NAME_CHARS:
        return "0", []
    phrase = '"' + " ".join(tokens) + '"'
    return (
        """(a.kind IN ('discussion', 'question', 'announcement', 'reply')
        AND a.event_id IN (
            SELECT d.ref FROM search_reply
            JOIN search_docs d ON d.id = search_reply.rowid
            WHERE search_reply MATCH ?
            UNION ALL
            SELECT d.ref FROM search_discussion
            JOIN search_docs d ON d.id = search_discussion.rowid
            WHERE search_discussion MATCH ?)
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = a.event_id
            AND json_extract(e.content, '$."m.mentions"') IS NOT NULL))""",
        [phrase, phrase],
    )


def named_in(conn: sqlite3.Connection, user_id: str, ids: list[int]) -> set[int]:
    """Return which activity ids are posts naming user_id by display name."""
    by_name, params = display_name_mentions_sql(conn, user_id)
    found: set[int] = set()
    if by_name == "0":
        return found
    for chunk in chunks(ids):
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT a.id FROM activity a WHERE a.id IN ({placeholders(chunk)}) "
                f"AND {by_name}",
                [*chunk, *params],
            )
        )
    return found


def listed_event_ids(conn: sqlite3.Connection, event_ids: list[str]) -> set[str]:
    """Return which of event_ids still have an item, so were not deleted."""
    found: set[str] = set()
    for chunk in chunks(event_ids):
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT event_id FROM activity WHERE event_id IN ({placeholders(chunk)})",
                list(chunk),
            )
        )
    return found


def latest_item_id(conn: sqlite3.Connection) -> int:
    """Return the highest id in the activity table, 0 when it is empty."""
    return conn.execute("SELECT COALESCE(MAX(id), 0) FROM activity").fetchone()[0]


def followed_discussions_sql() -> str:
    """Return SQL for the root_id of each discussion a user follows; one ? is the user.

    A user follows the discussions they started or replied to (deleted posts
    no longer count) and those on their explicit follow list, except those
    on their unfollow list. Both lists are the follows account data that
    app.store.follows_store caches as JSON in the meta table.
    """
    kinds = ", ".join(f"'{kind}'" for kind in POST_KINDS)
    lists = f"(SELECT value FROM meta WHERE key = '{FOLLOWS_KEY}')"
    return f"""SELECT root_id FROM (
            SELECT f.root_id AS root_id FROM activity f
            WHERE f.actor = ? AND f.kind IN ({kinds})
            UNION SELECT value FROM json_each({lists}, '$.{FOLLOW}')
        ) WHERE root_id NOT IN (SELECT value FROM json_each({lists}, '$.{UNFOLLOW}'))"""


def _scope_rooms(
    conn: sqlite3.Connection, space_id: str | None, include_direct: bool = False
) -> tuple[list[str], list[str]]:
    """Return (rooms, spaces) whose items the stream shows.

    With no space chosen these are all joined rooms, without direct rooms
    unless include_direct; with one, the space and its joined rooms. Joins
    are shown for spaces only.
    """
    if space_id is None:
        direct = set() if include_direct else set(direct_room_people(conn))
        rows = conn.execute(
            "SELECT room_id, kind FROM rooms WHERE membership = 'join'"
        ).fetchall()
        rooms = [row["room_id"] for row in rows if row["room_id"] not in direct]
        spaces = [row["room_id"] for row in rows if row["kind"] == "space"]
        return rooms, spaces
    joined = conn.execute(
        "SELECT 1 FROM rooms WHERE room_id = ? AND kind = 'space' "
        "AND membership = 'join'",
        (space_id,),
    ).fetchone()
    if joined is None:
        return [], []
    rows = conn.execute(
        """SELECT c.child_id FROM space_children c
        JOIN rooms r ON r.room_id = c.child_id AND r.membership = 'join'
        WHERE c.space_id = ? AND r.kind != 'space'""",
        (space_id,),
    ).fetchall()
    return [space_id, *(row[0] for row in rows)], [space_id]


def _candidate_rows(
    conn: sqlite3.Connection,
    user_id: str,
    stream_filter: StreamFilter,
    before: Cursor | None,
    after_id: int | None,
    limit: int,
    ids: list[int] | None = None,
) -> list[sqlite3.Row]:
    """Return the activity rows of the filter, newest first, before details.

    Rows are taken older than the cursor before, newer in id than after_id,
    or among ids, as given.
    """
    rooms, spaces = _scope_rooms(
        conn, stream_filter.space_id, stream_filter.include_direct
    )
    if not rooms:
        return []

    # Rows wanted by id are found by id: the unary plus keeps SQLite from
    # reading every row of the rooms through the (room_id, ts) index.
    by_id = after_id is not None or ids is not None
    room = "+a.room_id" if by_id else "a.room_id"
    conditions = [
        f"{room} IN (SELECT value FROM json_each(?))",
        "(a.kind != 'join' OR a.room_id IN (SELECT value FROM json_each(?)))",
    ]
    params: list = [json.dumps(rooms), json.dumps(spaces)]
    if stream_filter.space_id is not None:
        # A profile is not part of one space.
        conditions.append("a.kind != 'profile'")
    scope_conditions, scope_params = _scope_conditions(
        conn, stream_filter.scope, user_id
    )
    conditions += scope_conditions
    params += scope_params

    if before is not None:
        # Written so that SQLite walks the (ts) index from the cursor down.
        conditions.append("a.ts <= ? AND (a.ts < ? OR a.id < ?)")
        params += [before[0], before[0], before[1]]
    if after_id is not None:
        conditions.append("a.id > ?")
        params.append(after_id)
    if ids is not None:
        conditions.append(f"a.id IN ({placeholders(ids)})")
        params += ids

    # Sorting the few rows found by id beats walking the (ts) index to them.
    order = "+a.ts DESC, a.id DESC" if by_id else "a.ts DESC, a.id DESC"
    return conn.execute(
        f"""SELECT a.* FROM activity a WHERE {" AND ".join(conditions)}
        ORDER BY {order} LIMIT ?""",
        [*params, limit],
    ).fetchall()


def _scope_conditions(
    conn: sqlite3.Connection, scope: str, user_id: str
) -> tuple[list[str], list]:
    """Return the SQL conditions over the alias a, and their parameters, of a scope."""
    if scope == FOLLOWING:
        return (
            [f"a.root_id IN ({followed_discussions_sql()})", "a.actor != ?"],
            [user_id, user_id],
        )
    if scope == MENTIONS:
        by_name, name_params = display_name_mentions_sql(conn, user_id)
        listed = "a.id IN (SELECT activity_id FROM activity_mentions WHERE user_id = ?)"
        return (
            [f"({listed} OR {by_name})", "a.actor != ?"],
            [user_id, *name_params, user_id],
        )
    if scope == UNANSWERED:
        return ["a.kind = 'question'"], []
    return [], []


# -- Details ----------------------------------------------------------------


@dataclass(slots=True)
class _Lookups:
    discussions: dict[str, sqlite3.Row]
    replies: dict[str, sqlite3.Row]
    files: dict[str, sqlite3.Row]
    names: dict[str, str]
    avatars: dict[str, str]  # user id to mxc:// avatar, where one is cached
    places: dict[str, tuple[str, str]]
    room_names: dict[str, str]
    answers: dict[str, str]  # question id to its accepted reply


def _rows_by_id(
    conn: sqlite3.Connection, sql: str, ids: set[str]
) -> dict[str, sqlite3.Row]:
    found: dict[str, sqlite3.Row] = {}
    for chunk in chunks(sorted(ids)):
        for row in conn.execute(sql.format(marks=placeholders(chunk)), list(chunk)):
            found[row["event_id"]] = row
    return found


def _lookups(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> _Lookups:
    post_ids = {row["target_id"] for row in rows if row["target_id"]}
    post_ids |= {row["root_id"] for row in rows if row["root_id"]}
    discussions = _rows_by_id(
        conn,
        "SELECT event_id, sender, title, kind, body, redacted FROM discussions "
        "WHERE event_id IN ({marks})",
        post_ids,
    )
    replies = _rows_by_id(
        conn,
        "SELECT event_id, root_id, sender, body, redacted FROM replies "
        "WHERE event_id IN ({marks})",
        post_ids,
    )
    # Likes may target a reply whose discussion is not among the root ids.
    extra_roots = {r["root_id"] for r in replies.values()} - set(discussions)
    discussions |= _rows_by_id(
        conn,
        "SELECT event_id, sender, title, kind, body, redacted FROM discussions "
        "WHERE event_id IN ({marks})",
        extra_roots,
    )

    files = _rows_by_id(
        conn,
        "SELECT event_id, name, redacted FROM files WHERE event_id IN ({marks})",
        {row["target_id"] for row in rows if row["kind"] in ("file", "like")},
    )
    people = {row["actor"] for row in rows}
    people |= {row["sender"] for row in discussions.values()}
    people |= {row["sender"] for row in replies.values()}
    names, avatars = _names(conn, people)

    room_ids = {row["room_id"] for row in rows}
    room_names = {}
    for chunk in chunks(sorted(room_ids)):
        for row in conn.execute(
            f"SELECT room_id, name FROM rooms WHERE room_id IN ({placeholders(chunk)})",
            list(chunk),
        ):
            room_names[row["room_id"]] = row["name"] or ""

    questions = [
        row["event_id"] for row in discussions.values() if row["kind"] == "question"
    ]
    answers = {
        question: info.reply_id
        for question, info in accepted_answers(conn, questions).items()
        if not info.pending
    }
    return _Lookups(
        discussions,
        replies,
        files,
        names,
        avatars,
        room_places(conn, room_ids),
        room_names,
        answers,
    )


def _names(
    conn: sqlite3.Connection, user_ids: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Return the cleaned name of each person, and the avatars that are cached."""
    names: dict[str, str] = {}
    avatars: dict[str, str] = {}
    for chunk in chunks(sorted(user_ids)):
        rows = conn.execute(
            f"""SELECT p.user_id, {PERSON_NAME_SQL} AS name, p.avatar_url
            FROM people p WHERE p.user_id IN ({placeholders(chunk)})""",
            list(chunk),
        ).fetchall()
        for row in rows:
            names[row["user_id"]] = row["name"] or ""
            if row["avatar_url"]:
                avatars[row["user_id"]] = row["avatar_url"]
    cleaned = {user: clean_name(names.get(user), fallback=user) for user in user_ids}
    return cleaned, avatars


def _load_details(
    conn: sqlite3.Connection, rows: list[sqlite3.Row], stream_filter: StreamFilter
) -> list[StreamItem | None]:
    """Return an item for each row, or None where the item is not shown."""
    if not rows:
        return []
    lookups = _lookups(conn, rows)
    items = []
    for row in rows:
        item = _item(row, lookups)
        if item is not None and stream_filter.scope == UNANSWERED and item.answered:
            item = None
        items.append(item)
    return items


# Markdown marks that an excerpt drops: links and images keep their text;
# emphasis, code marks, headings, quotes and list bullets go.
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_LINE_START = re.compile(
    r"^\s*(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)+", re.MULTILINE
)
_MARKDOWN_EMPHASIS = re.compile(r"\*\*|__|~~|`+|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)")


def _excerpt(body: str | None) -> str:
    """Return the start of a post's Markdown as one line of plain text."""
    text = body or ""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _MARKDOWN_LINE_START.sub("", text)
    text = _MARKDOWN_EMPHASIS.sub("", text)
    text = clean_name(text)
    if len(text) > EXCERPT_LENGTH:
        return text[: EXCERPT_LENGTH - 1].rstrip() + "…"
    return text


def _item(row: sqlite3.Row, lookups: _Lookups) -> StreamItem | None:
    space_id, space_name = lookups.places.get(row["room_id"], (None, ""))
    room_name = ""
    if space_id != row["room_id"]:
        room_name = lookups.room_names.get(row["room_id"], "")
    base = {
        "id": row["id"],
        "kind": row["kind"],
        "event_id": row["event_id"],
        "room_id": row["room_id"],
        "actor": row["actor"],
        "actor_name": lookups.names.get(row["actor"], row["actor"]),
        "ts": row["ts"],
        "actor_avatar_url": lookups.avatars.get(row["actor"]),
        "target_id": row["target_id"],
        "space_name": clean_name(space_name),
        "room_name": clean_name(room_name),
        "space_id": space_id,
    }
    builder = _BUILDERS.get(row["kind"])
    if builder is None:
        return None
    fields = builder(row, lookups)
    if fields is None:
        return None
    return StreamItem(**{**base, **fields})


def _discussion_fields(lookups: _Lookups, discussion_id: str | None) -> dict | None:
    discussion = lookups.discussions.get(discussion_id or "")
    if discussion is None or discussion["redacted"]:
        return None
    answered = None
    if discussion["kind"] == "question":
        answered = discussion["event_id"] in lookups.answers
    return {
        "discussion_id": discussion["event_id"],
        "title": clean_name(discussion["title"], fallback="Untitled discussion"),
        "answered": answered,
    }


def _started(row: sqlite3.Row, lookups: _Lookups) -> dict | None:
    fields = _discussion_fields(lookups, row["event_id"])
    if fields is None:
        return None
    body = lookups.discussions[row["event_id"]]["body"]
    return {**fields, "excerpt": _excerpt(body)}


def _replied(row: sqlite3.Row, lookups: _Lookups) -> dict | None:
    reply = lookups.replies.get(row["event_id"])
    if reply is None or reply["redacted"]:
        return None
    fields = _discussion_fields(lookups, reply["root_id"])
    if fields is None:
        return None
    return {**fields, "post_id": reply["event_id"], "excerpt": _excerpt(reply["body"])}


def _accepted(row: sqlite3.Row, lookups: _Lookups) -> dict | None:
    reply = lookups.replies.get(row["target_id"] or "")
    if reply is None or reply["redacted"] or reply["root_id"] != row["root_id"]:
        return None
    # Only the question's current accepted answer, so a cleared or changed
    # answer leaves the stream.
    if lookups.answers.get(row["root_id"]) != reply["event_id"]:
        return None
    fields = _discussion_fields(lookups, row["root_id"])
    if fields is None:
        return None
    return {
        **fields,
        "post_id": reply["event_id"],
        "excerpt": _excerpt(reply["body"]),
        "subject": lookups.names.get(reply["sender"], reply["sender"]),
        "subject_id": reply["sender"],
    }


def _liked(row: sqlite3.Row, lookups: _Lookups) -> dict | None:
    target = row["target_id"] or ""
    if target in lookups.discussions:
        fields = _discussion_fields(lookups, target)
        if fields is None:
            return None
        sender = lookups.discussions[target]["sender"]
        return {
            **fields,
            "target_kind": "discussion",
            "excerpt": _excerpt(lookups.discussions[target]["body"]),
            "subject": lookups.names.get(sender, sender),
            "subject_id": sender,
        }
    if target in lookups.replies:
        reply = lookups.replies[target]
        if reply["redacted"]:
            return None
        fields = _discussion_fields(lookups, reply["root_id"])
        if fields is None:
            return None
        return {
            **fields,
            "target_kind": "reply",
            "post_id": target,
            "excerpt": _excerpt(reply["body"]),
            "subject": lookups.names.get(reply["sender"], reply["sender"]),
            "subject_id": reply["sender"],
        }
    file = lookups.files.get(target)
    if file is None or file["redacted"]:
        return None
    return {
        "target_kind": "file",
        "title": clean_name(file["name"], fallback="Unnamed file"),
    }


def _shared(row: sqlite3.Row, lookups: _Lookups) -> dict | None:
    file = lookups.files.get(row["event_id"])
    if file is None or file["redacted"]:
        return None
    return {
        "title": clean_name(file["name"], fallback="Unnamed file"),
        "target_kind": "version" if row["detail"] == "version" else "file",
    }


def _joined(row: sqlite3.Row, lookups: _Lookups) -> dict | None:
    _space_id, space_name = lookups.places.get(row["room_id"], (None, ""))
    return {"title": clean_name(space_name, fallback="Unnamed space")}


def _profile(row: sqlite3.Row, lookups: _Lookups) -> dict | None:
    try:
        detail = json.loads(row["detail"] or "{}")
    except ValueError:
        return None
    if not isinstance(detail, dict):
        return None
    changed = tuple(
        part for part in detail.get("changed", ()) if part in ("name", "avatar")
    )
    if not changed:
        return None
    name = detail.get("name") if isinstance(detail.get("name"), str) else None
    previous = detail.get("previous_name")
    previous = previous if isinstance(previous, str) else None
    return {
        "changed": changed,
        "subject": clean_name(name, fallback=row["actor"]),
        "excerpt": clean_name(previous),
        # A profile belongs to no space.
        "space_name": "",
        "room_name": "",
        "space_id": None,
    }


_BUILDERS = {
    "discussion": _started,
    "question": _started,
    "announcement": _started,
    "reply": _replied,
    "answer": _accepted,
    "like": _liked,
    "file": _shared,
    "join": _joined,
    "profile": _profile,
}
