"""Numbered migrations of the cache schema.

Each migration is a list of statements run in one transaction together with
its row in ``_migrations``. Never edit a released migration: add a new one.
"""

from typing import NamedTuple

from app.store.schema_files import FILE_STATEMENTS
from app.store.schema_spaces import SPACE_STATEMENTS
from app.store.search_text import TOKENIZER


class Migration(NamedTuple):
    number: int
    name: str
    statements: tuple[str, ...]


class _SearchSource(NamedTuple):
    """The mapping of one table's rows to search documents."""

    table: str
    kind: str
    key: str
    condition: str  # which rows are searchable, over the row alias "{row}"
    room_id: str
    sender: str
    ts: str
    title: str
    body: str
    watched: str  # the columns whose update changes the document


# Frozen as released in migration 4; a later change needs a new migration.
_SEARCH_SOURCES_V4 = (
    _SearchSource(
        "discussions",
        "discussion",
        "event_id",
        "{row}.redacted = 0",
        "{row}.room_id",
        "{row}.sender",
        "{row}.ts",
        "{row}.title",
        "{row}.body || ' ' || {row}.tags",
        "title, body, tags, redacted",
    ),
    _SearchSource(
        "replies",
        "reply",
        "event_id",
        "{row}.redacted = 0",
        "{row}.room_id",
        "{row}.sender",
        "{row}.ts",
        "''",
        "{row}.body",
        "body, redacted",
    ),
    _SearchSource(
        "files",
        "file",
        "event_id",
        "{row}.redacted = 0",
        "{row}.room_id",
        "{row}.sender",
        "{row}.ts",
        "{row}.name",
        "''",
        "name, redacted",
    ),
    # A person's title is the name and the user id's localpart, so
    # "@maya.s:example.org" is found by "maya" but not by "example".
    _SearchSource(
        "people",
        "person",
        "user_id",
        "1",
        "NULL",
        "NULL",
        "NULL",
        "COALESCE({row}.display_name, '') || ' ' || "
        "substr({row}.user_id, 2, instr({row}.user_id || ':', ':') - 2)",
        "COALESCE({row}.title, '') || ' ' || COALESCE({row}.department, '') || ' ' "
        "|| {row}.skills || ' ' || {row}.ask_me_about",
        "display_name, title, department, skills, ask_me_about",
    ),
    _SearchSource(
        "rooms",
        "space",
        "room_id",
        "{row}.kind = 'space'",
        "{row}.room_id",
        "NULL",
        "NULL",
        "COALESCE({row}.name, '')",
        "COALESCE({row}.topic, '')",
        "name, topic, kind",
    ),
)


def search_table(kind: str) -> str:
    """Return the name of the full-text table of one kind of document."""
    return f"search_{kind}"


def _search_tables_v4() -> list[str]:
    # One table per kind, so a query can take the newest matches of a kind
    # straight from the index. Prefix indexes make prefixes of up to three
    # letters, typed first in a search box, as fast as whole words. The
    # tables are contentless: results and snippets come from the cached rows,
    # so a second copy of the text would only double the index's size.
    return [
        f"""CREATE VIRTUAL TABLE {search_table(source.kind)} USING fts5(
            title, body, tokenize = "{TOKENIZER}", prefix = '1 2 3', content = ''
        )"""
        for source in _SEARCH_SOURCES_V4
    ]


def _search_inserts(source: _SearchSource, row: str, rows: str) -> tuple[str, str]:
    """Statements adding the documents of the rows named row, found by rows.

    rows is a FROM clause ("" in a trigger, where row is new). The document
    rows go in first; their ids then name the text rows.
    """

    def on(expression: str) -> str:
        return expression.replace("{row}", row)

    condition = on(source.condition)
    docs = f"""INSERT INTO search_docs (kind, ref, room_id, sender, ts)
        SELECT '{source.kind}', {row}.{source.key}, {on(source.room_id)},
            {on(source.sender)}, {on(source.ts)}
        {rows} WHERE {condition}"""
    link = f"d.kind = '{source.kind}' AND d.ref = {row}.{source.key}"
    if rows:
        documents = f"{rows} JOIN search_docs d ON {link} WHERE"
    else:
        documents = f"FROM search_docs d WHERE {link} AND"
    text = f"""INSERT INTO {search_table(source.kind)} (rowid, title, body)
        SELECT d.id, search_fold({on(source.title)}), search_fold({on(source.body)})
        {documents} {condition}"""
    return docs, text


def _search_triggers_v4() -> list[str]:
    statements = []
    for source in _SEARCH_SOURCES_V4:
        # FTS5 removes a row from a contentless table only when given the
        # indexed text again. The old row contains it, because every change
        # to that text runs this trigger.
        old_doc = f"kind = '{source.kind}' AND ref = old.{source.key}"
        old_title = source.title.replace("{row}", "old")
        old_body = source.body.replace("{row}", "old")
        table = search_table(source.kind)
        remove = (
            f"INSERT INTO {table} ({table}, rowid, title, body) "
            f"SELECT 'delete', id, search_fold({old_title}), search_fold({old_body}) "
            f"FROM search_docs WHERE {old_doc};\n"
            f"DELETE FROM search_docs WHERE {old_doc};"
        )
        docs, text = _search_inserts(source, "new", "")
        add = f"{docs};\n{text};"
        rows = source.table
        statements += [
            f"CREATE TRIGGER search_{rows}_insert AFTER INSERT ON {rows} "
            + f"BEGIN\n{add}\nEND",
            f"CREATE TRIGGER search_{rows}_update AFTER UPDATE OF {source.watched} "
            + f"ON {rows} BEGIN\n{remove}\n{add}\nEND",
            f"CREATE TRIGGER search_{rows}_delete AFTER DELETE ON {rows} "
            + f"BEGIN\n{remove}\nEND",
        ]
    return statements


def _search_fill_v4() -> list[str]:
    statements = []
    for source in _SEARCH_SOURCES_V4:
        statements += _search_inserts(source, "s", f"FROM {source.table} s")
    return statements


def _refold_v10() -> list[str]:
    """Statements that fold the cached text again after search_fold changed.

    The search index and the people's folded keys both hold folded text.
    """
    statements = []
    for source in _SEARCH_SOURCES_V4:
        table = search_table(source.kind)
        statements.append(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
    statements.append("DELETE FROM search_docs")
    statements += _search_fill_v4()
    statements.append(f"UPDATE people SET {_PEOPLE_KEYS_V5.replace('{row}', 'people')}")
    return statements


# Statements that fill empty search tables from the cached rows.
SEARCH_FILL_STATEMENTS: tuple[str, ...] = tuple(_search_fill_v4())


def _folded_items_sql(column: str) -> str:
    """Return an SQL expression for the folded strings of a JSON list, one a line.

    A malformed value or one that is not a list counts as an empty list, and
    entries that are not strings are skipped, as lookups.json_strings does.
    """
    checked = (
        f"CASE WHEN json_valid({column}) AND json_type({column}) = 'array' "
        f"THEN {column} ELSE '[]' END"
    )
    return (
        "(SELECT group_concat(search_fold(value), char(10)) "
        f"FROM json_each({checked}) WHERE type = 'text')"
    )


# The values of the people columns added by migration 5, over the row alias
# "{row}"; frozen as released. Folded text never contains a line break, so "\n" || topic || "\n"
# is found in expertise exactly when one skill or topic folds to the topic.
_PEOPLE_KEYS_V5 = (
    "sort_name = search_fold(COALESCE({row}.display_name, {row}.user_id)), "
    "expertise = char(10) || COALESCE("
    + _folded_items_sql("{row}.skills")
    + " || char(10), '') || COALESCE("
    + _folded_items_sql("{row}.ask_me_about")
    + " || char(10), '')"
)


def _people_keys_v5() -> list[str]:
    fill = _PEOPLE_KEYS_V5.replace("{row}", "people")
    keys = _PEOPLE_KEYS_V5.replace("{row}", "new")
    update = f"UPDATE people SET {keys} WHERE user_id = new.user_id;"
    watched = "user_id, display_name, skills, ask_me_about"
    return [
        "ALTER TABLE people ADD COLUMN sort_name TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE people ADD COLUMN expertise TEXT NOT NULL DEFAULT ''",
        f"UPDATE people SET {fill}",
        f"CREATE TRIGGER people_keys_insert AFTER INSERT ON people BEGIN\n{update}\nEND",
        f"CREATE TRIGGER people_keys_update AFTER UPDATE OF {watched} ON people "
        + f"BEGIN\n{update}\nEND",
    ]


# The activity stream's kinds of discussion post, as discussions.kind stores them.
_DISCUSSION_KINDS_SQL = "('discussion', 'question', 'announcement')"

# The root discussion of the post named by {target}: itself, or a reply's root.
_ROOT_OF_SQL = """COALESCE(
    (SELECT d.event_id FROM discussions d WHERE d.event_id = {target}),
    (SELECT r.root_id FROM replies r WHERE r.event_id = {target}))"""


def _activity_mentions_insert(table: str, row: str, rows: str) -> str:
    """Return the statement adding the mention rows of posts from table.

    In a trigger rows is "" and row is new; in the fill, rows is a FROM
    clause over the alias row. m.mentions is read from the post's raw event.
    """
    mentioned = (
        f"mentioned_user_ids((SELECT e.content FROM events e "
        f"WHERE e.event_id = {row}.event_id), {row}.body, {row}.formatted_body)"
    )
    if rows:
        source = f"{rows} JOIN activity a ON a.event_id = {row}.event_id"
        condition = f"{row}.redacted = 0"
    else:
        source = "FROM activity a"
        condition = f"a.event_id = {row}.event_id"
    return f"""INSERT OR IGNORE INTO activity_mentions (user_id, activity_id)
        SELECT j.value, a.id {source}, json_each({mentioned}) j
        WHERE {condition} AND j.type = 'text'"""


def _activity_post_triggers_v6(table: str, kind: str, root: str) -> list[str]:
    """Return the triggers that keep the items of discussions or replies current.

    kind and root are SQL over the row alias "new". An edit recomputes who
    the post mentions; a deletion removes the post's item and the likes and
    accepted answers aimed at it.
    """
    add = (
        "INSERT OR IGNORE INTO activity "
        "(kind, event_id, room_id, actor, ts, target_id, root_id) "
        f"VALUES ({kind}, new.event_id, new.room_id, new.sender, new.ts, "
        f"new.event_id, {root});\n"
        f"{_activity_mentions_insert(table, 'new', '')};\n"
        # Likes stored before their post learn its discussion now.
        f"UPDATE activity SET root_id = {root} "
        "WHERE target_id = new.event_id AND root_id IS NULL;"
    )
    remove = (
        "DELETE FROM activity WHERE event_id = new.event_id "
        "OR target_id = new.event_id "
        "OR (kind = 'answer' AND root_id = new.event_id);"
    )
    mentions = (
        "DELETE FROM activity_mentions WHERE activity_id = "
        "(SELECT id FROM activity WHERE event_id = new.event_id);\n"
        f"{_activity_mentions_insert(table, 'new', '')};"
    )
    return [
        f"CREATE TRIGGER activity_{table}_insert AFTER INSERT ON {table} "
        f"WHEN new.redacted = 0 BEGIN\n{add}\nEND",
        f"CREATE TRIGGER activity_{table}_redact AFTER UPDATE OF redacted ON {table} "
        f"WHEN new.redacted = 1 BEGIN\n{remove}\nEND",
        f"CREATE TRIGGER activity_{table}_edit AFTER UPDATE OF body, formatted_body "
        f"ON {table} WHEN new.redacted = 0 BEGIN\n{mentions}\nEND",
    ]


def _activity_like_sql(row: str) -> str:
    """Return a SELECT of the like item of the reaction row, else of nothing.

    A person who sent several likes on one post has one item, so nothing is
    selected while one exists. The time comes from the raw event.
    """
    return f"""SELECT 'like', {row}.event_id, {row}.room_id, {row}.sender,
            e.origin_server_ts, {row}.target_id, {_ROOT_OF_SQL.format(target=f"{row}.target_id")}
        FROM events e WHERE e.event_id = {row}.event_id AND {row}.key = '👍'
        AND NOT EXISTS (SELECT 1 FROM activity x WHERE x.kind = 'like'
            AND x.target_id = {row}.target_id AND x.actor = {row}.sender)"""


_ACTIVITY_COLUMNS = "(kind, event_id, room_id, actor, ts, target_id, root_id)"


def _activity_v6() -> list[str]:
    like_of_other = _activity_like_sql("r").replace(
        "FROM events e WHERE e.event_id = r.event_id",
        "FROM reactions r JOIN events e ON e.event_id = r.event_id "
        "WHERE r.target_id = old.target_id AND r.sender = old.sender",
    )
    return [
        # One row per thing that happened, newest first by ts (the event's
        # origin_server_ts) and then id. kind is discussion, question,
        # announcement, reply, answer, like, file, join or profile. event_id
        # is the event the item stands for: the post, the reaction, the
        # accepted-answer state event or the member event. target_id is what
        # the item opens (the post, the liked post, the accepted reply, the
        # file, the person), root_id the discussion it belongs to. detail is
        # "version" for a new version of a file and a JSON object for a
        # profile change. Triggers keep the rows in step with the posts,
        # reactions, files and accepted answers in the same transaction;
        # member events are recorded by app.store.activity.
        """CREATE TABLE activity (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            room_id TEXT NOT NULL,
            actor TEXT NOT NULL,
            ts INTEGER NOT NULL,
            target_id TEXT,
            root_id TEXT,
            detail TEXT
        )""",
        "CREATE INDEX activity_ts ON activity (ts)",
        "CREATE INDEX activity_room_ts ON activity (room_id, ts)",
        "CREATE INDEX activity_kind_ts ON activity (kind, ts)",
        "CREATE INDEX activity_root_ts ON activity (root_id, ts)",
        "CREATE INDEX activity_target ON activity (target_id)",
        "CREATE INDEX activity_actor ON activity (actor, kind)",
        # The people each post item mentions, for the "Mentions of me" filter.
        """CREATE TABLE activity_mentions (
            user_id TEXT NOT NULL,
            activity_id INTEGER NOT NULL,
            PRIMARY KEY (user_id, activity_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX activity_mentions_item ON activity_mentions (activity_id)",
        "CREATE TRIGGER activity_delete AFTER DELETE ON activity BEGIN\n"
        "DELETE FROM activity_mentions WHERE activity_id = old.id;\nEND",
        *_activity_post_triggers_v6("discussions", "new.kind", "new.event_id"),
        "CREATE TRIGGER activity_discussions_kind AFTER UPDATE OF kind ON discussions "
        "BEGIN\nUPDATE activity SET kind = new.kind WHERE event_id = new.event_id;\nEND",
        *_activity_post_triggers_v6("replies", "'reply'", "new.root_id"),
        f"CREATE TRIGGER activity_reactions_insert AFTER INSERT ON reactions BEGIN\n"
        f"INSERT OR IGNORE INTO activity {_ACTIVITY_COLUMNS}\n"
        f"{_activity_like_sql('new')};\nEND",
        # Another like of the same person on the same post takes the place of
        # a removed one.
        f"CREATE TRIGGER activity_reactions_delete AFTER DELETE ON reactions "
        f"WHEN old.key = '👍' BEGIN\n"
        f"DELETE FROM activity WHERE event_id = old.event_id;\n"
        f"INSERT OR IGNORE INTO activity {_ACTIVITY_COLUMNS}\n"
        f"{like_of_other} ORDER BY e.origin_server_ts LIMIT 1;\nEND",
        f"CREATE TRIGGER activity_files_insert AFTER INSERT ON files "
        f"WHEN new.redacted = 0 BEGIN\n"
        f"INSERT OR IGNORE INTO activity (kind, event_id, room_id, actor, ts, "
        f"target_id, detail) VALUES ('file', new.event_id, new.room_id, new.sender, "
        f"new.ts, new.event_id, "
        f"CASE WHEN new.supersedes IS NOT NULL THEN 'version' END);\nEND",
        "CREATE TRIGGER activity_files_redact AFTER UPDATE OF redacted ON files "
        "WHEN new.redacted = 1 BEGIN\n"
        "DELETE FROM activity WHERE event_id = new.event_id "
        "OR target_id = new.event_id;\nEND",
        f"CREATE TRIGGER activity_answers_insert AFTER INSERT ON accepted_answers "
        f"WHEN new.reply_id IS NOT NULL BEGIN\n"
        f"INSERT OR IGNORE INTO activity {_ACTIVITY_COLUMNS} VALUES ('answer', "
        f"new.event_id, new.room_id, new.sender, new.ts, new.reply_id, "
        f"new.question_id);\nEND",
        *_activity_fill_v6(),
    ]


def _activity_fill_v6() -> list[str]:
    """Return the statements that fill the activity tables of an existing cache.

    Member events were not kept with their times before this migration, so
    joins and profile changes start with the next sync.
    """
    return [
        f"""INSERT OR IGNORE INTO activity {_ACTIVITY_COLUMNS}
            SELECT kind, event_id, room_id, sender, ts, event_id, event_id
            FROM discussions WHERE redacted = 0""",
        f"""INSERT OR IGNORE INTO activity {_ACTIVITY_COLUMNS}
            SELECT 'reply', event_id, room_id, sender, ts, event_id, root_id
            FROM replies WHERE redacted = 0""",
        f"""INSERT OR IGNORE INTO activity {_ACTIVITY_COLUMNS}
            SELECT 'answer', event_id, room_id, sender, ts, reply_id, question_id
            FROM accepted_answers WHERE reply_id IS NOT NULL""",
        """INSERT OR IGNORE INTO activity (kind, event_id, room_id, actor, ts,
                target_id, detail)
            SELECT 'file', event_id, room_id, sender, ts, event_id,
                CASE WHEN supersedes IS NOT NULL THEN 'version' END
            FROM files WHERE redacted = 0""",
        # One like per person and post: the earliest of their like events.
        f"""INSERT OR IGNORE INTO activity {_ACTIVITY_COLUMNS}
            SELECT 'like', r.event_id, r.room_id, r.sender, MIN(e.origin_server_ts),
                r.target_id, {_ROOT_OF_SQL.format(target="r.target_id")}
            FROM reactions r JOIN events e ON e.event_id = r.event_id
            WHERE r.key = '👍' GROUP BY r.sender, r.target_id""",
        _activity_mentions_insert("discussions", "s", "FROM discussions s"),
        _activity_mentions_insert("replies", "s", "FROM replies s"),
    ]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial",
        (
            # Key-value pairs: sync token, filter id, next timeline position.
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE rooms (
                room_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL DEFAULT 'board',
                name TEXT,
                topic TEXT,
                avatar_url TEXT,
                canonical_alias TEXT,
                join_rule TEXT,
                membership TEXT NOT NULL DEFAULT 'join',
                encrypted INTEGER NOT NULL DEFAULT 0,
                unread_count INTEGER NOT NULL DEFAULT 0,
                highlight_count INTEGER NOT NULL DEFAULT 0,
                joined_member_count INTEGER,
                last_activity_ts INTEGER,
                last_position INTEGER
            )""",
            """CREATE TABLE space_children (
                space_id TEXT NOT NULL,
                child_id TEXT NOT NULL,
                order_key TEXT,
                PRIMARY KEY (space_id, child_id)
            )""",
            "CREATE INDEX space_children_child ON space_children (child_id)",
            # Raw timeline events, kept so derived rows can be rebuilt and
            # relations that arrive before their target can be applied later.
            """CREATE TABLE events (
                event_id TEXT PRIMARY KEY,
                room_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                sender TEXT NOT NULL,
                type TEXT NOT NULL,
                origin_server_ts INTEGER NOT NULL,
                relates_to TEXT,
                content TEXT NOT NULL
            )""",
            "CREATE INDEX events_room_position ON events (room_id, position)",
            "CREATE INDEX events_relates_to ON events (relates_to)",
            """CREATE TABLE discussions (
                event_id TEXT PRIMARY KEY,
                room_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                sender TEXT NOT NULL,
                ts INTEGER NOT NULL,
                title TEXT NOT NULL,
                kind TEXT NOT NULL,
                tags TEXT NOT NULL DEFAULT '[]',
                body TEXT NOT NULL,
                formatted_body TEXT,
                edited_ts INTEGER,
                redacted INTEGER NOT NULL DEFAULT 0,
                reply_count INTEGER NOT NULL DEFAULT 0,
                last_activity_ts INTEGER NOT NULL,
                last_position INTEGER NOT NULL
            )""",
            """CREATE INDEX discussions_room_activity
                ON discussions (room_id, last_position DESC)""",
            """CREATE TABLE replies (
                event_id TEXT PRIMARY KEY,
                room_id TEXT NOT NULL,
                root_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                sender TEXT NOT NULL,
                ts INTEGER NOT NULL,
                body TEXT NOT NULL,
                formatted_body TEXT,
                in_reply_to TEXT,
                edited_ts INTEGER,
                redacted INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX replies_root_position ON replies (root_id, position)",
            """CREATE TABLE reactions (
                event_id TEXT PRIMARY KEY,
                room_id TEXT NOT NULL,
                target_id TEXT NOT NULL,
                sender TEXT NOT NULL,
                key TEXT NOT NULL
            )""",
            "CREATE INDEX reactions_target ON reactions (target_id, key)",
            """CREATE TABLE files (
                event_id TEXT PRIMARY KEY,
                room_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                sender TEXT NOT NULL,
                ts INTEGER NOT NULL,
                name TEXT NOT NULL,
                msgtype TEXT NOT NULL,
                mimetype TEXT,
                size INTEGER,
                url TEXT NOT NULL,
                supersedes TEXT,
                redacted INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX files_room_position ON files (room_id, position DESC)",
            """CREATE TABLE members (
                room_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                membership TEXT NOT NULL,
                display_name TEXT,
                avatar_url TEXT,
                PRIMARY KEY (room_id, user_id)
            )""",
            "CREATE INDEX members_user ON members (user_id)",
            # fetched_at is a Unix time in seconds; stale = 1 asks for a fetch
            # before the hourly limit because a membership event changed.
            """CREATE TABLE people (
                user_id TEXT PRIMARY KEY,
                display_name TEXT,
                avatar_url TEXT,
                title TEXT,
                department TEXT,
                location TEXT,
                pronouns TEXT,
                skills TEXT NOT NULL DEFAULT '[]',
                ask_me_about TEXT NOT NULL DEFAULT '[]',
                bio TEXT,
                fetched_at REAL,
                stale INTEGER NOT NULL DEFAULT 1
            )""",
        ),
    ),
    Migration(
        2,
        "outbox and drafts",
        (
            # One unsent text per composer: composer is 'discussion' (target:
            # the board's room id), 'reply' (target: the discussion) or 'edit'
            # (target: the post). updated_at is a Unix time in seconds.
            """CREATE TABLE drafts (
                composer TEXT NOT NULL,
                target_id TEXT NOT NULL,
                room_id TEXT NOT NULL,
                title TEXT NOT NULL DEFAULT '',
                body TEXT NOT NULL DEFAULT '',
                tags TEXT NOT NULL DEFAULT '[]',
                kind TEXT NOT NULL DEFAULT 'discussion',
                quote_id TEXT,
                updated_at REAL NOT NULL,
                PRIMARY KEY (composer, target_id)
            )""",
            # What the user did, in the order they did it, until the server
            # has it. id is the queue order. target_id names the post acted
            # on, and related_id a second one such as the quoted or accepted
            # reply. A value starting with "pending:" is another item's local
            # id, which is replaced by its event id once that item is sent.
            # state is queued, sending, failed or sent; echoed = 1 once the
            # sync has stored the event. Times are Unix times in seconds.
            # attempt_session is "device id/token fingerprint" of the last
            # send attempt, never the token itself.
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                client_id TEXT NOT NULL UNIQUE,
                txn_id TEXT NOT NULL UNIQUE,
                room_id TEXT NOT NULL,
                sender TEXT NOT NULL,
                action TEXT NOT NULL,
                event_type TEXT NOT NULL,
                target_id TEXT,
                related_id TEXT,
                content TEXT NOT NULL,
                title TEXT,
                body TEXT,
                formatted_body TEXT,
                kind TEXT,
                tags TEXT,
                state TEXT NOT NULL DEFAULT 'queued',
                error TEXT,
                error_details TEXT,
                event_id TEXT,
                echoed INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL,
                first_attempt_at REAL,
                attempt_session TEXT,
                sent_at REAL
            )""",
            "CREATE INDEX outbox_room_state ON outbox (room_id, state, id)",
            "CREATE INDEX outbox_target ON outbox (target_id)",
            "CREATE INDEX outbox_related ON outbox (related_id)",
            "CREATE INDEX outbox_event ON outbox (event_id)",
            # Every accepted-answer state event seen, in arrival order (seq).
            # Readers take the latest one per question from its author or a
            # moderator; reply_id NULL clears the answer.
            """CREATE TABLE accepted_answers (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                room_id TEXT NOT NULL,
                question_id TEXT NOT NULL,
                reply_id TEXT,
                sender TEXT NOT NULL,
                ts INTEGER NOT NULL
            )""",
            "CREATE INDEX accepted_answers_question ON accepted_answers (question_id)",
            # users is a JSON object of user id to power level.
            """CREATE TABLE power_levels (
                room_id TEXT PRIMARY KEY,
                users TEXT NOT NULL DEFAULT '{}',
                users_default INTEGER NOT NULL DEFAULT 0,
                redact INTEGER NOT NULL DEFAULT 50
            )""",
        ),
    ),
    Migration(
        3,
        "room_creators",
        (
            # Creators of rooms whose version gives them unlimited power; see
            # app.records.RoomCreators. Rooms synced before this migration
            # get their rows only if their m.room.create event is sent again.
            """CREATE TABLE room_creators (
                room_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                PRIMARY KEY (room_id, user_id)
            )""",
        ),
    ),
    Migration(
        4,
        "search index",
        (
            # One row per searchable thing; its id is the rowid of its text in
            # the full-text table of its kind (search_discussion, search_reply,
            # search_file, search_person, search_space). kind is one of those;
            # ref is its event id, user id or room id. Triggers keep the
            # tables in step with the rows they cover, in the same
            # transaction; search_fold is registered on every connection.
            """CREATE TABLE search_docs (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                ref TEXT NOT NULL,
                room_id TEXT,
                sender TEXT,
                ts INTEGER,
                UNIQUE (kind, ref)
            )""",
            "CREATE INDEX search_docs_kind_ts ON search_docs (kind, ts DESC)",
            """CREATE INDEX search_docs_sender
                ON search_docs (sender, kind, ts DESC)""",
            *_search_tables_v4(),
            *_search_triggers_v4(),
            *_search_fill_v4(),
        ),
    ),
    Migration(
        5,
        "people keys",
        (
            # sort_name is the folded display name (else user id), so the
            # directory sorts "Ángel" with "Angel", not after "Zoë".
            # expertise is "\n", then each folded skill and "ask me about"
            # topic followed by "\n", so the expert finder compares them in
            # SQL. Triggers keep both in step with the row, and a change to
            # search_fold must fill them again, as it must the search index.
            *_people_keys_v5(),
            # Accepted answers by reply, for the expert finder's counts.
            "CREATE INDEX accepted_answers_reply ON accepted_answers (reply_id)",
            # Covers the "shares a joined room" test that the directory runs
            # for every person it sorts, so it reads no members rows.
            """CREATE INDEX members_user_membership
                ON members (user_id, membership, room_id)""",
        ),
    ),
    Migration(
        6,
        "activity stream",
        tuple(_activity_v6()),
    ),
    Migration(
        7,
        "read state",
        (
            # The server's unread counts per thread of a room, from the sync's
            # unread_thread_notifications. thread_id is the root's event id.
            # Only threads with something unread have a row: each sync that
            # carries a room's counts replaces all of that room's rows.
            """CREATE TABLE thread_unread (
                room_id TEXT NOT NULL,
                thread_id TEXT NOT NULL,
                notification_count INTEGER NOT NULL DEFAULT 0,
                highlight_count INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (room_id, thread_id)
            )""",
            "CREATE INDEX thread_unread_thread ON thread_unread (thread_id)",
            # The newest receipt or read marker to send per room, type and
            # thread, until and after it is sent (sent = 1). receipt_type is
            # m.read or m.fully_read; thread_id is a root's event id, "main",
            # or "" for an unthreaded receipt or the read marker. position is
            # the event's position in the cache's timeline order, so an older
            # receipt than one already queued or sent is dropped.
            """CREATE TABLE read_receipts (
                room_id TEXT NOT NULL,
                receipt_type TEXT NOT NULL,
                thread_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                sent INTEGER NOT NULL DEFAULT 0,
                queued_at REAL NOT NULL,
                PRIMARY KEY (room_id, receipt_type, thread_id)
            )""",
            "CREATE INDEX read_receipts_unsent ON read_receipts (sent, queued_at)",
        ),
    ),
    Migration(8, "file transfers", FILE_STATEMENTS),
    Migration(9, "space administration", SPACE_STATEMENTS),
    Migration(
        10,
        "search folding of stroked letters, discussions by position",
        (
            # search_fold now spells ł, ø, đ, æ and the like as people type
            # them without accents ("lukasz" finds "Łukasz").
            *_refold_v10(),
            # New discussions are the newest ones after a read receipt's
            # position in their room.
            "CREATE INDEX discussions_room_position ON discussions (room_id, position)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].number
