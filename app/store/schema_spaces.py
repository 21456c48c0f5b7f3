"""Cache tables of space administration: pins and join requests (migration 9).

Rooms synced before this migration get rows here only when their
m.room.pinned_events, m.room.power_levels or m.room.join_rules event, or a
knock, arrives again. Until then the readers use the spec's defaults.
"""

SPACE_STATEMENTS: tuple[str, ...] = (
    # The event ids of a room's m.room.pinned_events, in the event's order
    # (seq). pinned_by is the sender of the pinned-events change that added
    # the event id to the cached list, or NULL where several ids arrived at
    # once in the first list the cache saw, so who pinned each is unknown.
    """CREATE TABLE pinned_events (
        room_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        pinned_by TEXT,
        PRIMARY KEY (room_id, event_id)
    )""",
    # Open knocks: people asking to join a room. A row goes when the
    # person's membership changes from knock (invited, refused, withdrawn).
    # ts is the knock's origin_server_ts in milliseconds.
    """CREATE TABLE join_requests (
        room_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        reason TEXT,
        ts INTEGER,
        PRIMARY KEY (room_id, user_id)
    )""",
    # The keys of m.room.power_levels that power_levels lacks. events is a
    # JSON object of event type to the level needed to send it.
    """CREATE TABLE power_level_rules (
        room_id TEXT PRIMARY KEY,
        invite INTEGER NOT NULL DEFAULT 0,
        kick INTEGER NOT NULL DEFAULT 50,
        ban INTEGER NOT NULL DEFAULT 50,
        state_default INTEGER NOT NULL DEFAULT 50,
        events_default INTEGER NOT NULL DEFAULT 0,
        events TEXT NOT NULL DEFAULT '{}'
    )""",
    # The rooms whose members may join a room with the restricted join rule
    # (m.room.join_rules "allow" entries of type m.room_membership).
    """CREATE TABLE join_rule_allow (
        room_id TEXT NOT NULL,
        allowed_room_id TEXT NOT NULL,
        PRIMARY KEY (room_id, allowed_room_id)
    )""",
    "CREATE INDEX join_rule_allow_allowed ON join_rule_allow (allowed_room_id)",
    # Spaces being created, so that a creation cut short is resumed instead
    # of made twice. client_id is the marker in the space's m.room.create
    # content; the child rooms' markers are client_id + "/board" and
    # client_id + "/files". finished = 1 once every step is done.
    # created_at is a Unix time in seconds.
    """CREATE TABLE space_creations (
        client_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        topic TEXT NOT NULL DEFAULT '',
        visibility TEXT NOT NULL,
        avatar_url TEXT,
        space_id TEXT,
        board_id TEXT,
        files_id TEXT,
        alias TEXT,
        finished INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )""",
)
