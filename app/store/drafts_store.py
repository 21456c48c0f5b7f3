"""Drafts in the cache: the unsent text of each composer.

Writes run on the store's writer thread inside Store.write; reads take a
reader connection. ``app.drafts`` is the API over these, and the outbox
deletes a draft in the same transaction that queues its text.
"""

import json
import sqlite3
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Draft:
    """Unsent text of one composer; times are Unix times in seconds."""

    composer: str
    target_id: str
    room_id: str
    title: str
    body: str
    tags: tuple[str, ...]
    kind: str
    quote_id: str | None
    updated_at: float


def save_draft(
    conn: sqlite3.Connection,
    composer: str,
    target_id: str,
    room_id: str,
    title: str,
    body: str,
    tags: tuple[str, ...],
    kind: str,
    quote_id: str | None,
    now: float | None = None,
) -> None:
    conn.execute(
        """INSERT INTO drafts (composer, target_id, room_id, title, body, tags, kind,
            quote_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (composer, target_id) DO UPDATE SET room_id = excluded.room_id,
            title = excluded.title, body = excluded.body, tags = excluded.tags,
            kind = excluded.kind, quote_id = excluded.quote_id,
            updated_at = excluded.updated_at""",
        (
            composer,
            target_id,
            room_id,
            title,
            body,
            json.dumps(list(tags), ensure_ascii=False),
            kind,
            quote_id,
            time.time() if now is None else now,
        ),
    )


def delete_draft(conn: sqlite3.Connection, composer: str, target_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM drafts WHERE composer = ? AND target_id = ?",
        (composer, target_id),
    )
    return cursor.rowcount > 0


def _draft(row: sqlite3.Row) -> Draft:
    return Draft(
        row["composer"],
        row["target_id"],
        row["room_id"],
        row["title"],
        row["body"],
        tuple(json.loads(row["tags"])),
        row["kind"],
        row["quote_id"],
        row["updated_at"],
    )


def load_draft(conn: sqlite3.Connection, composer: str, target_id: str) -> Draft | None:
    row = conn.execute(
        "SELECT * FROM drafts WHERE composer = ? AND target_id = ?",
        (composer, target_id),
    ).fetchone()
    return _draft(row) if row else None


def list_drafts(conn: sqlite3.Connection) -> list[Draft]:
    """Return every draft, most recently changed first."""
    rows = conn.execute("SELECT * FROM drafts ORDER BY updated_at DESC").fetchall()
    return [_draft(row) for row in rows]
