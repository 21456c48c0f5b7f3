"""Test doubles for the UI tests: an AppSession without network, a cache builder.

The cache is written with the same records the sync loop produces, so the
views read exactly what a real sync would leave behind, without a server.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from app import namespace as ns
from app.outbox import Outbox
from app.records import (
    AcceptedAnswer,
    Changes,
    DirectRooms,
    Discussion,
    Membership,
    Profile,
    RawEvent,
    Reaction,
    Redaction,
    Reply,
    RoomBatch,
    RoomState,
    SharedFile,
    SpaceChild,
)
from app.store import Store, outbox_store
from app.store.writes import apply_sync, save_profiles

ME = "@me:example.org"
BASE_TS = 1_700_000_000_000  # 2023-11-14, milliseconds


@dataclass
class Session:
    homeserver_url: str = "https://matrix.example.org"
    user_id: str = ME
    device_id: str = "DEVICEABC"
    access_token: str = field(default="secret-token", repr=False)
    session_only: bool = False


class FakeAppSession:
    """AppSession without a client or sync loop, over a real Store."""

    def __init__(self, store: Store, session: Session | None = None, thumbnails=None):
        self.session = session or Session()
        self.user_id = self.session.user_id
        self.store = store
        self.thumbnails = thumbnails
        self.last_status = None
        self.started = False
        self.closed = False
        self._change_listeners = []
        self._status_listeners = []
        self._outbox_status_listeners = []
        # The real outbox over the test's store: queueing needs no server, and
        # no worker runs, so queued items stay pending.
        self.outbox = Outbox(store, self.user_id, on_changes=self.announce)

    def add_changes_listener(self, listener) -> None:
        self._change_listeners.append(listener)

    def add_status_listener(self, listener) -> None:
        self._status_listeners.append(listener)

    def add_outbox_status_listener(self, listener) -> None:
        self._outbox_status_listeners.append(listener)

    def report_outbox(self, status) -> None:
        for listener in self._outbox_status_listeners:
            listener(status)

    def announce(self, changes: Changes) -> None:
        for listener in self._change_listeners:
            listener(changes)

    def report(self, status) -> None:
        self.last_status = status
        for listener in self._status_listeners:
            listener(status)

    def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True
        self.store.close()


class CacheBuilder:
    """Collects sync records room by room and writes them with apply_sync."""

    def __init__(self, store: Store):
        self.store = store
        self._batches: dict[str, RoomBatch] = {}
        self._ids = itertools.count(1)
        self._profiles: list[Profile] = []
        self._direct: dict[str, tuple[str, ...]] = {}

    def _batch(self, room_id: str, membership: str = "join") -> RoomBatch:
        batch = self._batches.get(room_id)
        if batch is None:
            batch = self._batches[room_id] = RoomBatch(room_id, membership)
        return batch

    def _event(self, room_id: str, sender: str, ts: int, kind="m.room.message"):
        event_id = f"$e{next(self._ids)}"
        self._batch(room_id).items.append(
            RawEvent(event_id, room_id, sender, kind, ts, None, json.dumps({}))
        )
        return event_id

    def space(
        self,
        room_id: str,
        name: str | None,
        *,
        topic: str | None = None,
        membership: str = "join",
        unread: int = 0,
        highlight: int = 0,
    ) -> str:
        batch = self._batch(room_id, membership)
        batch.membership = membership
        batch.unread_count = unread
        batch.highlight_count = highlight
        batch.items.append(RoomState(room_id, kind="space", name=name, topic=topic))
        return room_id

    def board(
        self,
        room_id: str,
        name: str | None,
        space_id: str | None,
        *,
        kind: str = "board",
        encrypted: bool = False,
        unread: int = 0,
        highlight: int = 0,
        order: str | None = None,
    ) -> str:
        batch = self._batch(room_id)
        batch.unread_count = unread
        batch.highlight_count = highlight
        batch.items.append(
            RoomState(room_id, kind=kind, name=name, encrypted=encrypted or None)
        )
        if space_id is not None:
            self._batch(space_id).items.append(
                SpaceChild(space_id, room_id, order, False)
            )
        return room_id

    def direct(self, room_id: str, other_user_id: str, name: str | None) -> str:
        """Add a direct room with other_user_id, listed in m.direct."""
        self._batch(room_id).items.append(RoomState(room_id, kind="board"))
        self.member(room_id, other_user_id, name)
        self._direct[other_user_id] = (room_id,)
        return room_id

    def member(self, room_id: str, user_id: str, name: str | None) -> None:
        self._batch(room_id).items.append(
            Membership(room_id, user_id, "join", name, None)
        )

    def discussion(
        self,
        room_id: str,
        title: str,
        *,
        sender: str = "@ana:example.org",
        body: str | None = None,
        formatted_body: str | None = None,
        kind: str = "discussion",
        tags: tuple[str, ...] = (),
        ts: int = BASE_TS,
    ) -> str:
        event_id = self._event(room_id, sender, ts)
        self._batch(room_id).items.append(
            Discussion(
                event_id,
                room_id,
                sender,
                ts,
                title,
                kind,
                tags,
                body if body is not None else f"{title}\n\nBody of {title}.",
                formatted_body,
            )
        )
        return event_id

    def reply(
        self,
        room_id: str,
        root_id: str,
        body: str,
        *,
        sender: str = "@ben:example.org",
        ts: int = BASE_TS,
        in_reply_to: str | None = None,
        formatted_body: str | None = None,
    ) -> str:
        event_id = self._event(room_id, sender, ts)
        self._batch(room_id).items.append(
            Reply(
                event_id,
                room_id,
                root_id,
                sender,
                ts,
                body,
                formatted_body,
                in_reply_to or root_id,
            )
        )
        return event_id

    def reaction(self, room_id: str, target_id: str, key: str, sender: str) -> None:
        event_id = self._event(room_id, sender, BASE_TS, "m.reaction")
        self._batch(room_id).items.append(
            Reaction(event_id, room_id, target_id, sender, key)
        )

    def file(
        self,
        room_id: str,
        name: str,
        size: int,
        *,
        sender: str,
        ts: int = BASE_TS,
        supersedes: str | None = None,
        mimetype: str | None = "application/pdf",
        msgtype: str = "m.file",
        url: str = "mxc://example.org/file",
    ) -> str:
        """Share a file; supersedes names the event of the version it replaces."""
        event_id = self._event(room_id, sender, ts)
        self._batch(room_id).items.append(
            SharedFile(
                event_id,
                room_id,
                sender,
                ts,
                name,
                msgtype,
                mimetype,
                size,
                url,
                supersedes,
            )
        )
        return event_id

    def accept(self, room_id: str, question_id: str, reply_id: str, *, sender: str):
        """Mark reply_id as the accepted answer of question_id, set by sender."""
        event_id = self._event(room_id, sender, BASE_TS, ns.ACCEPTED_ANSWER_EVENT)
        self._batch(room_id).items.append(
            AcceptedAnswer(event_id, room_id, question_id, reply_id, sender, BASE_TS)
        )

    def redact(self, room_id: str, target_id: str, *, sender: str) -> None:
        """Delete target_id, as a redaction event from sender would."""
        event_id = self._event(room_id, sender, BASE_TS, "m.room.redaction")
        self._batch(room_id).items.append(Redaction(event_id, room_id, target_id))

    def profile(self, profile: Profile) -> None:
        self._profiles.append(profile)

    def commit(self) -> Changes:
        """Write everything collected in one sync batch; return its Changes."""
        direct = DirectRooms(dict(self._direct)) if self._direct else None
        changes = self.store.write_blocking(
            apply_sync, list(self._batches.values()), f"token{next(self._ids)}", (), direct
        )
        self._batches.clear()
        if self._profiles:
            changes.merge(self.store.write_blocking(save_profiles, self._profiles, 1.0))
            self._profiles = []
        return changes


def _fail(conn, item_id: int, reason: str) -> Changes:
    # The worker marks an item failed only while it is sending it.
    conn.execute("UPDATE outbox SET state = 'sending' WHERE id = ?", (item_id,))
    return outbox_store.mark_failed(conn, item_id, reason, None)


def fail_item(app_session: FakeAppSession, item_id: int, reason: str) -> None:
    """Mark an outbox item failed as the worker would, and announce it."""
    app_session.announce(app_session.store.write_blocking(_fail, item_id, reason))
