"""Rebuilding the content of a failed outbox item after the user revised its text.

The item keeps its client id and transaction id, so the rebuilt content
carries the same client id; a reply keeps the thread relation it was queued
with.
"""

from collections.abc import Iterable

from app import compose
from app import namespace as ns
from app.store import outbox_store
from app.store.outbox_queries import OutboxItem


def mentioned_users(content: dict) -> list[str]:
    """Return the user ids that content's m.mentions names."""
    mentions = content.get("m.mentions")
    if isinstance(mentions, dict) and isinstance(mentions.get("user_ids"), list):
        return [user for user in mentions["user_ids"] if isinstance(user, str)]
    return []


def _mentioned_before_edit(content: dict) -> list[str]:
    """Return who the post mentioned before the edit whose content is given."""
    new_users = mentioned_users(content.get("m.new_content") or {})
    notified = set(mentioned_users(content))
    return [user for user in new_users if user not in notified]


def revised_content(
    item: OutboxItem,
    queued_content: dict,
    body: str,
    title,
    kind,
    tags,
    mentions: Iterable[str] = (),
) -> compose.Built | None:
    """Build item's content with new text; None for an item without text.

    title, kind and tags apply to discussions and their edits; None keeps the
    item's value. mentions are the users an edit's new text mentions. Raises
    compose.ContentRejected like the builders.
    """
    title = item.title if title is None else title
    kind = (item.kind or "discussion") if kind is None else kind
    tags = (item.tags or ()) if tags is None else tags
    if item.action == outbox_store.REPLY:
        built = compose.reply_content(
            item.target_id, body, in_reply_to=item.target_id, client_id=""
        )
        built.content["m.relates_to"] = queued_content["m.relates_to"]
    elif item.action == outbox_store.DISCUSSION:
        built = compose.discussion_content(
            title, body, kind=kind, tags=tags, client_id=item.client_id
        )
    elif item.action == outbox_store.EDIT and item.title is not None:
        built = compose.edit_discussion_content(
            item.target_id,
            title,
            body,
            kind=kind,
            tags=tags,
            client_id=item.client_id,
            previous_mentions=_mentioned_before_edit(queued_content),
            mentions=mentions,
        )
    elif item.action == outbox_store.EDIT:
        built = compose.edit_reply_content(
            item.target_id,
            body,
            client_id=item.client_id,
            previous_mentions=_mentioned_before_edit(queued_content),
            mentions=mentions,
        )
    else:
        return None
    built.content[ns.CLIENT_ID_KEY] = item.client_id
    compose.check_size(built.content)
    return built
