"""Cache tables of file uploads, downloads and offline copies (migration 8)."""

FILE_STATEMENTS: tuple[str, ...] = (
    # One row per file upload queued in the outbox (action "file"), keyed by
    # the outbox item's client id. The source file stays where the user keeps
    # it: source_size and source_mtime_ns (os.stat's st_mtime_ns) are taken
    # when it is queued, and a file that differs at upload time is not sent.
    # mxc is the URI reserved with POST /_matrix/media/v1/create, and
    # mxc_expires_at (Unix milliseconds, the server's unused_expires_at) is
    # when it expires on the server if nothing was uploaded. uploaded = 1 once
    # the server has the content, so only the event remains to be sent.
    """CREATE TABLE file_uploads (
        client_id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        source_path TEXT NOT NULL,
        name TEXT NOT NULL,
        mimetype TEXT NOT NULL,
        source_size INTEGER NOT NULL,
        source_mtime_ns INTEGER NOT NULL,
        mxc TEXT,
        mxc_expires_at INTEGER,
        uploaded INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )""",
    # Downloaded copies of shared files in the cache folder, one per event.
    # path is absolute; complete = 0 while the bytes go to path's ".part"
    # file. size is the number of bytes on disk once complete.
    """CREATE TABLE file_downloads (
        event_id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER,
        complete INTEGER NOT NULL DEFAULT 0,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX file_downloads_room ON file_downloads (room_id)",
    # Files and files areas the user wants available offline. target is an
    # event id (one file) or a room id (every file in the area, also later
    # ones); kind is "file" or "room".
    """CREATE TABLE offline_marks (
        target TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        marked_at REAL NOT NULL
    )""",
)
