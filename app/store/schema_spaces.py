"""Cache tables of space administration: pins and join requests (migration 9)."""

SPACE_STATEMENTS: tuple[str, ...] = ()
