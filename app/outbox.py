"""The outbox: every action is stored first, shown at once, then sent.

``Outbox`` is the API that the composer and the views call. Each ``queue_*``
method checks the input and builds the event content (``app.compose``). It
then writes the item to the outbox in the cache and deletes the composer's
draft in the same transaction. Last, it announces the rows it changed and
wakes the worker (``app.outbox_worker``), which sends the item. Until the
sync stores the server's copy, the read queries in ``app.store.queries`` show
the item, marked pending.

A post that is still in the outbox has a local id (``pending:<client id>``);
actions can aim at it at once and are sent after it, with its event id.

    OutboxError             the action cannot be queued; message explains why
    ├── TargetNotFound      no such room or post in the cache
    ├── NotAllowed          not the user's post, not theirs to decide, or an
    │                       announcement from someone who is not a moderator
    └── ItemConflict        retry or discard of an item in another state

Invalid text raises ``app.compose.ContentRejected`` instead; nothing is
queued and the draft stays.

Changes of the user's own profile go to the same outbox through
``app.profile_edit.ProfileEditor``.
"""

import logging
from collections.abc import Callable, Iterable

from app import compose
from app import namespace as ns
from app.errors import CommonplaceError
from app.outbox_revise import mentioned_users, revised_content
from app.outbox_worker import (
    DrainReport,
    OutboxState,
    OutboxStatus,
    OutboxWorker,
    session_fingerprint,
)
from app.records import Changes
from app.store import Store, answers, outbox_queries, outbox_store
from app.store.outbox_queries import OutboxItem, PostRef
from app.store.outbox_store import (
    NewItem,
    OutboxConflict,
    OutboxItemMissing,
    local_id,
)

log = logging.getLogger(__name__)

__all__ = [
    "DrainReport",
    "ItemConflict",
    "NotAllowed",
    "Outbox",
    "OutboxError",
    "OutboxItem",
    "OutboxState",
    "OutboxStatus",
    "OutboxWorker",
    "TargetNotFound",
    "session_fingerprint",
]


class OutboxError(CommonplaceError):
    """The action was not queued; ``message`` explains why and what to do."""


class TargetNotFound(OutboxError):
    pass


class NotAllowed(OutboxError):
    pass


class ItemConflict(OutboxError):
    pass


class Outbox:
    """Queues the actions of ``user_id`` in ``store``'s outbox.

    on_changes receives the rows each change affects; on_queued is called
    after every new item (the session wakes the worker with it).
    """

    def __init__(
        self,
        store: Store,
        user_id: str,
        *,
        on_changes: Callable[[Changes], None] = lambda changes: None,
        on_queued: Callable[[], None] = lambda: None,
    ):
        self.store = store
        self.user_id = user_id
        self.on_changes = on_changes
        self.on_queued = on_queued

    # -- Helpers ----------------------------------------------------------------

    def _reader(self):
        return self.store.reader()

    def _post(self, post_id: str) -> PostRef:
        post = outbox_queries.find_post(self._reader(), post_id)
        if post is None:
            raise TargetNotFound(
                f"The post {post_id} is not in the cache. Sync, then try again."
            )
        return post

    def _own_post(self, post_id: str, verb: str) -> PostRef:
        post = self._post(post_id)
        if post.sender != self.user_id:
            raise NotAllowed(f"You can only {verb} your own posts.")
        return post

    async def _queue(
        self, item: NewItem, changes: Changes, draft: tuple[str, str] | None = None
    ) -> str:
        await self.store.write(outbox_store.insert_item, item, draft)
        changes.outbox = True
        changes.drafts = draft is not None
        changes.rooms.add(item.room_id)
        self._announce(changes)
        log.info("Queued %s %s in %s", item.action, item.client_id, item.room_id)
        return local_id(item.client_id)

    def _announce(self, changes: Changes) -> None:
        self.on_changes(changes)
        self.on_queued()

    def _new_item(self, room_id: str, action: str, event_type: str, content, **fields):
        return NewItem(
            fields.pop("client_id"),
            compose.new_transaction_id(),
            room_id,
            self.user_id,
            action,
            event_type,
            content,
            **fields,
        )

    # -- Posts ------------------------------------------------------------------

    async def queue_discussion(
        self,
        room_id: str,
        title: str,
        body: str,
        *,
        kind: str = "discussion",
        tags: Iterable[str] = (),
        mentions: Iterable[str] = (),
    ) -> str:
        """Queue a new discussion, question or announcement; return its local id.

        body is Markdown. The board's discussion draft is deleted with it.
        """
        room = (
            self._reader()
            .execute("SELECT membership FROM rooms WHERE room_id = ?", (room_id,))
            .fetchone()
        )
        if room is None or room[0] != "join":
            raise TargetNotFound(
                f"You are not a member of the room {room_id}. Join it first."
            )
        if kind == "announcement" and not answers.is_moderator(
            self._reader(), room_id, self.user_id
        ):
            raise NotAllowed(
                "Only moderators of this room can post announcements. "
                "Post a discussion instead, or ask a moderator."
            )
        client_id = compose.new_client_id()
        built = compose.discussion_content(
            title, body, kind=kind, tags=tags, client_id=client_id, mentions=mentions
        )
        item = self._new_item(
            room_id,
            outbox_store.DISCUSSION,
            "m.room.message",
            built.content,
            client_id=client_id,
            title=built.title,
            body=built.body,
            formatted_body=built.formatted_body,
            kind=built.kind,
            tags=built.tags,
        )
        changes = Changes(discussions={local_id(client_id)})
        return await self._queue(item, changes, ("discussion", room_id))

    async def queue_reply(
        self,
        root_id: str,
        body: str,
        *,
        quote_id: str | None = None,
        mentions: Iterable[str] = (),
    ) -> str:
        """Queue a reply in the thread of root_id; return its local id.

        With quote_id, the reply quotes that reply (or the root) instead of
        following the latest one. The thread's reply draft is deleted with it.
        """
        root = self._post(root_id)
        if root.is_reply:
            raise TargetNotFound(f"{root_id} is a reply, not a discussion.")
        conn = self._reader()
        if quote_id is not None:
            quoted = self._post(quote_id)
            if quoted.root_id != root.post_id:
                raise TargetNotFound("The quoted reply is not in this discussion.")
            in_reply_to = quoted.post_id
        else:
            in_reply_to = outbox_queries.latest_in_thread(conn, root.post_id)
        client_id = compose.new_client_id()
        built = compose.reply_content(
            root.post_id,
            body,
            in_reply_to=in_reply_to,
            quoting=quote_id is not None,
            client_id=client_id,
            mentions=mentions,
        )
        item = self._new_item(
            root.room_id,
            outbox_store.REPLY,
            "m.room.message",
            built.content,
            client_id=client_id,
            target_id=root.post_id,
            related_id=in_reply_to,
            body=built.body,
            formatted_body=built.formatted_body,
        )
        changes = Changes(discussions={root.post_id})
        return await self._queue(item, changes, ("reply", root.post_id))

    async def queue_edit(
        self,
        post_id: str,
        body: str,
        *,
        title: str | None = None,
        kind: str | None = None,
        tags: Iterable[str] | None = None,
        mentions: Iterable[str] = (),
    ) -> str:
        """Queue an edit of the user's own post; return the post's id.

        title, kind and tags apply to discussions; None keeps the current
        value. A post that no send has touched yet is rewritten in place, and
        the user's failed or never-attempted edit of the post gets the new
        text instead of a second edit being queued.
        """
        post = self._own_post(post_id, "edit")
        previous = mentioned_users(post.content)
        if post.is_reply:
            new_post = compose.reply_content(
                post.root_id,
                body,
                in_reply_to=post.root_id,
                client_id="",
                mentions=mentions,
            )
        else:
            new_post = compose.discussion_content(
                post.title if title is None else title,
                body,
                kind=(post.kind or "discussion") if kind is None else kind,
                tags=post.tags if tags is None else tags,
                client_id="",
                mentions=mentions,
            )
        draft = ("edit", post.post_id)
        if post.item is not None and await self._rewrite_unsent(post, new_post, draft):
            return post.post_id
        if await self._revise_unsent_edit(
            post, body, title, kind, tags, mentions, draft
        ):
            return post.post_id

        client_id = compose.new_client_id()
        if post.is_reply:
            built = compose.edit_reply_content(
                post.post_id,
                body,
                client_id=client_id,
                previous_mentions=previous,
                mentions=mentions,
            )
        else:
            built = compose.edit_discussion_content(
                post.post_id,
                new_post.title,
                body,
                kind=new_post.kind,
                tags=new_post.tags,
                client_id=client_id,
                previous_mentions=previous,
                mentions=mentions,
            )
        item = self._new_item(
            post.room_id,
            outbox_store.EDIT,
            "m.room.message",
            built.content,
            client_id=client_id,
            target_id=post.post_id,
            title=built.title,
            body=built.body,
            formatted_body=built.formatted_body,
            kind=built.kind,
            tags=built.tags,
        )
        await self._queue(item, Changes(discussions={post.root_id}), draft)
        return post.post_id

    async def _rewrite_unsent(
        self, post: PostRef, new_post: compose.Built, draft: tuple[str, str]
    ) -> bool:
        content = dict(new_post.content)
        content[ns.CLIENT_ID_KEY] = post.item.client_id
        if post.is_reply:
            # Keep the thread relation the reply was queued with.
            content["m.relates_to"] = post.content["m.relates_to"]
        compose.check_size(content)
        rewritten = await self.store.write(
            outbox_store.replace_unsent_post,
            post.post_id,
            content,
            new_post.title,
            new_post.body,
            new_post.formatted_body,
            new_post.kind,
            new_post.tags,
            draft,
        )
        if rewritten:
            self._announce(
                Changes(discussions={post.root_id}, outbox=True, drafts=True)
            )
        return rewritten

    async def _revise_unsent_edit(
        self,
        post: PostRef,
        body: str,
        title: str | None,
        kind: str | None,
        tags: Iterable[str] | None,
        mentions: Iterable[str],
        draft: tuple[str, str],
    ) -> bool:
        """Give the user's failed or never-attempted edit of post the new text.

        The server then receives one edit with the final text. Returns False
        when there is no such edit, or when the worker claimed it meanwhile
        (the store checks the state and the sender again in the write).
        """
        conn = self._reader()
        edits = [
            edit
            for edit in outbox_queries.unfinished_items_for(
                conn, outbox_store.EDIT, target_id=post.post_id
            )
            if edit.state == outbox_store.FAILED
            or (edit.state == outbox_store.QUEUED and not edit.first_attempt_at)
        ]
        if not edits:
            return False
        edit = edits[-1]
        content = outbox_queries.item_content(conn, edit.id)
        built = revised_content(edit, content, body, title, kind, tags, mentions)
        changes = await self.store.write(
            outbox_store.revise_unsent_edit,
            edit.id,
            self.user_id,
            built.content,
            built.title,
            built.body,
            built.formatted_body,
            built.kind,
            built.tags,
            draft,
        )
        if changes is None:
            return False
        log.info("Revised unsent edit %s of %s", edit.client_id, post.post_id)
        changes.drafts = True
        self._announce(changes)
        return True

    async def queue_delete(self, post_id: str, *, reason: str | None = None):
        """Queue the deletion of the user's own post; return the item's local id.

        A post that no send has touched yet is removed from the outbox with
        everything aimed at it, nothing is sent, and None is returned.
        """
        post = self._own_post(post_id, "delete")
        if post.item is not None:
            removed = await self.store.write(outbox_store.remove_unsent, post.post_id)
            if removed is not None:
                log.info("Removed unsent items %s", removed.item_ids)
                self._announce(removed.changes)
                return None
        client_id = compose.new_client_id()
        item = self._new_item(
            post.room_id,
            outbox_store.DELETE,
            "m.room.redaction",
            compose.redaction_content(client_id=client_id, reason=reason),
            client_id=client_id,
            target_id=post.post_id,
        )
        return await self._queue(item, Changes(discussions={post.root_id}))

    # -- Likes ------------------------------------------------------------------

    def _liked(self, post: PostRef) -> bool:
        reactions = outbox_queries.pending_likes(self._reader(), [post.post_id])
        if post.post_id in reactions:
            return reactions[post.post_id][0]
        return bool(
            outbox_queries.own_reactions(
                self._reader(), post.post_id, self.user_id, ns.LIKE_KEY
            )
        )

    async def queue_like(self, post_id: str) -> str | None:
        """Queue a like of a post; return the item's local id.

        Returns None when the post is liked already, or when the like only
        cancels an unsent unlike.
        """
        post = self._post(post_id)
        if self._liked(post):
            return None
        conn = self._reader()
        for unlike in outbox_queries.unfinished_items_for(
            conn, outbox_store.UNLIKE, related_id=post.post_id
        ):
            if await self._remove_unsent(unlike):
                return None
        client_id = compose.new_client_id()
        item = self._new_item(
            post.room_id,
            outbox_store.LIKE,
            "m.reaction",
            compose.like_content(post.post_id, client_id=client_id),
            client_id=client_id,
            target_id=post.post_id,
        )
        return await self._queue(item, Changes(discussions={post.root_id}))

    async def _remove_unsent(self, item: OutboxItem) -> bool:
        removed = await self.store.write(outbox_store.remove_unsent, item.post_id)
        if removed is None:
            return False
        self._announce(removed.changes)
        return True

    async def queue_unlike(self, post_id: str) -> list[str]:
        """Queue the removal of the user's like; return the items' local ids.

        An unsent like is removed without sending anything. Each stored like
        event of the user on the post is redacted, in case another client
        sent more than one.
        """
        post = self._post(post_id)
        conn = self._reader()
        queued = []
        likes = outbox_queries.unfinished_items_for(
            conn, outbox_store.LIKE, target_id=post.post_id
        )
        targets = []
        for like in likes:
            if not await self._remove_unsent(like):
                targets.append(like.post_id)
        targets += outbox_queries.own_reactions(
            conn, post.post_id, self.user_id, ns.LIKE_KEY
        )
        for target in dict.fromkeys(targets):
            client_id = compose.new_client_id()
            item = self._new_item(
                post.room_id,
                outbox_store.UNLIKE,
                "m.room.redaction",
                compose.redaction_content(client_id=client_id),
                client_id=client_id,
                target_id=target,
                related_id=post.post_id,
            )
            queued.append(await self._queue(item, Changes(discussions={post.root_id})))
        return queued

    # -- Accepted answers ---------------------------------------------------------

    async def queue_accept_answer(self, question_id: str, reply_id: str | None) -> str:
        """Queue marking reply_id as the question's accepted answer; None clears it.

        Only the question's author or a moderator of the room may do this.
        """
        question = self._post(question_id)
        if question.is_reply or question.kind != "question":
            raise TargetNotFound(f"{question_id} is not a question.")
        conn = self._reader()
        if not answers.may_accept_answer(
            conn, question.room_id, question.sender, self.user_id
        ):
            raise NotAllowed(
                "Only the author of the question or a moderator of the room can "
                "choose its accepted answer."
            )
        related = None
        if reply_id is not None:
            reply = self._post(reply_id)
            if not reply.is_reply or reply.root_id != question.post_id:
                raise TargetNotFound("That reply does not belong to this question.")
            related = reply.post_id
        client_id = compose.new_client_id()
        item = self._new_item(
            question.room_id,
            outbox_store.ACCEPT,
            ns.ACCEPTED_ANSWER_EVENT,
            compose.accepted_answer_content(related, client_id=client_id),
            client_id=client_id,
            target_id=question.post_id,
            related_id=related,
        )
        return await self._queue(item, Changes(discussions={question.post_id}))

    # -- Handling items -------------------------------------------------------------

    def list_items(self, *, include_done: bool = False) -> list[OutboxItem]:
        """Return the outbox in queue order; see outbox_queries.list_items."""
        return outbox_queries.list_items(self._reader(), include_done=include_done)

    def get_item(self, item_id: int) -> OutboxItem | None:
        return outbox_queries.get_item(self._reader(), item_id)

    async def retry(self, item_id: int) -> None:
        """Queue a failed item again; it keeps its transaction id."""
        try:
            changes = await self.store.write(outbox_store.retry, item_id)
        except OutboxItemMissing as error:
            raise TargetNotFound(error.message) from error
        except OutboxConflict as error:
            raise ItemConflict(error.message) from error
        self._announce(changes)

    async def discard(self, item_id: int) -> list[int]:
        """Remove a failed or never-sent item and its dependants; return their ids."""
        try:
            removed = await self.store.write(outbox_store.discard, item_id)
        except OutboxItemMissing as error:
            raise TargetNotFound(error.message) from error
        except OutboxConflict as error:
            raise ItemConflict(error.message) from error
        log.info("Discarded outbox items %s", removed.item_ids)
        self._announce(removed.changes)
        return removed.item_ids

    async def revise(
        self,
        item_id: int,
        body: str,
        *,
        title: str | None = None,
        kind: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> None:
        """Replace the text of a failed post or edit, then queue it again.

        It keeps its client and transaction ids: the server rejected it, so
        it stored nothing under them. title, kind and tags apply to
        discussions; None keeps the item's value.
        """
        item = self.get_item(item_id)
        if item is None or item.state != outbox_store.FAILED:
            raise ItemConflict(
                f"Item {item_id} has not failed, so it cannot be revised."
            )
        content = outbox_queries.item_content(self._reader(), item.id)
        built = revised_content(item, content, body, title, kind, tags)
        if built is None:
            raise ItemConflict(
                f"Item {item_id} is a {item.action.replace('_', ' ')}, which has no "
                "text to revise. Retry or discard it."
            )
        try:
            changes = await self.store.write(
                outbox_store.revise_failed,
                item_id,
                built.content,
                built.title,
                built.body,
                built.formatted_body,
                built.kind,
                built.tags,
            )
        except OutboxConflict as error:
            raise ItemConflict(error.message) from error
        self._announce(changes)
