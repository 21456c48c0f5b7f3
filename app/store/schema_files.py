"""Cache tables of file uploads, downloads and offline copies (migration 8)."""

FILE_STATEMENTS: tuple[str, ...] = ()
