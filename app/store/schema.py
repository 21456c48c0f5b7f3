"""Numbered migrations of the cache schema.

Each migration is a list of statements run in one transaction together with
its row in ``_migrations``. Never edit a released migration: add a new one.
"""

from typing import NamedTuple


class Migration(NamedTuple):
    number: int
    name: str
    statements: tuple[str, ...]


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
)

LATEST_VERSION = MIGRATIONS[-1].number
