"""Errors of the core that are not network errors.

    CommonplaceError
    └── CacheError            the local cache cannot be used
        ├── SchemaTooNew      written by a newer Commonplace; left untouched
        ├── CacheCorrupt      SQLite reports the file as damaged
        └── CacheUnavailable  the file cannot be opened or written (permissions,
                              a read-only folder, a full disk, an I/O error)

Network and Matrix errors live in ``app.matrix.errors``.
"""


class CommonplaceError(Exception):
    """Base of the core's errors; ``message`` is a plain sentence for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CacheError(CommonplaceError):
    pass


class SchemaTooNew(CacheError):
    def __init__(self, path: str, found: int, supported: int):
        super().__init__(
            f"The cache at {path} was written by a newer version of Commonplace "
            f"(schema {found}; this version reads up to {supported}). Update "
            "Commonplace, or sign out and delete the cached content to start a "
            "new cache. "
            "The file was left unchanged."
        )
        self.path = path
        self.found = found
        self.supported = supported


class CacheCorrupt(CacheError):
    def __init__(self, path: str, detail: str):
        super().__init__(
            f"The cache at {path} is damaged ({detail}). Sign out and delete "
            "the cached content to rebuild it from the server."
        )
        self.path = path


class CacheUnavailable(CacheError):
    def __init__(self, path: str, detail: str):
        super().__init__(
            f"The cache at {path} cannot be opened ({detail}). Check that its "
            "folder exists and is writable and that the disk has free space, "
            "then try again. The cache was not changed."
        )
        self.path = path
