"""Errors of the core that are not network errors.

    CommonplaceError
    └── CacheError            the local cache cannot be used
        ├── SchemaTooNew      written by a newer Commonplace; left untouched
        └── CacheCorrupt      SQLite reports the file as damaged

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
            "Commonplace, or sign out with 'wipe cache' to start a new cache. "
            "The file was left unchanged."
        )
        self.path = path
        self.found = found
        self.supported = supported


class CacheCorrupt(CacheError):
    def __init__(self, path: str, detail: str):
        super().__init__(
            f"The cache at {path} is damaged ({detail}). Sign out with "
            "'wipe cache' to rebuild it from the server."
        )
        self.path = path
