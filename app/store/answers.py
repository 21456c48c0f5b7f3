"""Accepted answers as the reader shows them, with the user's unsent changes.

Every accepted-answer state event is stored as it arrives (by the sync's
writes); who may set one is decided here, when it is read, because a
question may reach the cache after its accepted-answer event.
"""

import json
import sqlite3
from dataclasses import dataclass

from app.store.outbox_queries import send_state_of


@dataclass(frozen=True, slots=True)
class AcceptedAnswerInfo:
    """The accepted answer of a question; pending until the server has it."""

    question_id: str
    reply_id: str | None
    sender: str
    pending: bool = False
    send_state: str | None = None


def _marks(values) -> str:
    return ",".join("?" for _ in values)


def is_moderator(conn: sqlite3.Connection, room_id: str, user_id: str) -> bool:
    """Return whether user_id created the room or reaches its redact level.

    Creators count only in room versions that give them unlimited power; the
    store records them from m.room.create.
    """
    creator = conn.execute(
        "SELECT 1 FROM room_creators WHERE room_id = ? AND user_id = ?",
        (room_id, user_id),
    ).fetchone()
    if creator is not None:
        return True
    row = conn.execute(
        "SELECT users, users_default, redact FROM power_levels WHERE room_id = ?",
        (room_id,),
    ).fetchone()
    if row is None:
        return False
    users = json.loads(row["users"])
    return users.get(user_id, row["users_default"]) >= row["redact"]


def may_accept_answer(
    conn: sqlite3.Connection, room_id: str, question_author: str, user_id: str
) -> bool:
    """Return whether user_id may set the accepted answer of the question."""
    return user_id == question_author or is_moderator(conn, room_id, user_id)


def accepted_answers(
    conn: sqlite3.Connection, question_ids: list[str]
) -> dict[str, AcceptedAnswerInfo]:
    """Return the accepted answer of each question that has one.

    The latest accepted-answer event from the question's author or a
    moderator counts. Events from anyone else are ignored, and so is one that
    names a cached reply of another thread. An unsent change by the user
    replaces the result, marked pending. A cleared answer is left out.
    """
    if not question_ids:
        return {}
    result: dict[str, AcceptedAnswerInfo] = {}
    rows = conn.execute(
        f"""SELECT a.question_id, a.reply_id, a.sender, a.room_id, d.sender AS author,
            r.root_id AS reply_root
        FROM accepted_answers a JOIN discussions d ON d.event_id = a.question_id
        LEFT JOIN replies r ON r.event_id = a.reply_id
        WHERE a.question_id IN ({_marks(question_ids)}) ORDER BY a.seq""",
        question_ids,
    ).fetchall()
    for row in rows:
        if not may_accept_answer(conn, row["room_id"], row["author"], row["sender"]):
            continue
        if row["reply_root"] is not None and row["reply_root"] != row["question_id"]:
            # A reply in another thread cannot answer this question.
            continue
        result[row["question_id"]] = AcceptedAnswerInfo(
            row["question_id"], row["reply_id"], row["sender"]
        )
    pending = conn.execute(
        f"""SELECT * FROM outbox WHERE action = 'accept_answer' AND echoed = 0
        AND target_id IN ({_marks(question_ids)}) ORDER BY id""",
        question_ids,
    ).fetchall()
    for row in pending:
        result[row["target_id"]] = AcceptedAnswerInfo(
            row["target_id"], row["related_id"], row["sender"], True, send_state_of(row)
        )
    return {key: value for key, value in result.items() if value.reply_id}
