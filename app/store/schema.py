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
)

LATEST_VERSION = MIGRATIONS[-1].number
