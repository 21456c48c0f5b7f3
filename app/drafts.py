"""Drafts: the unsent text of each composer, kept in the cache as the user types.

A draft is keyed by its composer and what the composer is for:

    ("discussion", board room id)   a new discussion in a board
    ("reply", discussion id)         a reply in a discussion's thread
    ("edit", post id)                an edit of a post

The composer saves it within a second of a change. Each save is a committed
row, so a draft survives the process being killed. A draft is deleted only
when its text is queued (by ``app.outbox``, in the same transaction) or when
it is discarded. Ids may be local ids of unsent posts; once a post is sent,
drafts aimed at it move to its event id.
"""

from collections.abc import Callable, Iterable

from app.records import Changes
from app.store import Store, drafts_store, outbox_queries
from app.store.drafts_store import Draft

__all__ = [
    "COMPOSERS",
    "Draft",
    "discard_draft",
    "list_drafts",
    "load_draft",
    "save_draft",
]

COMPOSERS = ("discussion", "reply", "edit")


def _check_composer(composer: str) -> None:
    if composer not in COMPOSERS:
        raise ValueError(
            f"composer must be one of {', '.join(COMPOSERS)}, not {composer!r}"
        )


async def save_draft(
    store: Store,
    composer: str,
    target_id: str,
    *,
    room_id: str,
    title: str = "",
    body: str = "",
    tags: Iterable[str] = (),
    kind: str = "discussion",
    quote_id: str | None = None,
    on_changes: Callable[[Changes], None] | None = None,
) -> None:
    """Save a composer's text; a draft with no title, text or tags is deleted.

    on_changes, when given, receives Changes(drafts=True) after the write.
    """
    _check_composer(composer)
    target_id = outbox_queries.resolve_id(store.reader(), target_id)
    tags = tuple(tags)
    if not (title.strip() or body.strip() or tags):
        await store.write(drafts_store.delete_draft, composer, target_id)
        _announce(on_changes)
        return
    await store.write(
        drafts_store.save_draft,
        composer,
        target_id,
        room_id,
        title,
        body,
        tags,
        kind,
        quote_id,
    )
    _announce(on_changes)


def _announce(on_changes: Callable[[Changes], None] | None) -> None:
    if on_changes is not None:
        on_changes(Changes(drafts=True))


def load_draft(store: Store, composer: str, target_id: str) -> Draft | None:
    """Return the composer's saved draft, or None."""
    _check_composer(composer)
    conn = store.reader()
    return drafts_store.load_draft(
        conn, composer, outbox_queries.resolve_id(conn, target_id)
    )


async def discard_draft(
    store: Store,
    composer: str,
    target_id: str,
    *,
    on_changes: Callable[[Changes], None] | None = None,
) -> bool:
    """Delete the composer's draft; return whether there was one.

    on_changes, when given, receives Changes(drafts=True) if one was deleted.
    """
    _check_composer(composer)
    target_id = outbox_queries.resolve_id(store.reader(), target_id)
    removed = await store.write(drafts_store.delete_draft, composer, target_id)
    if removed:
        _announce(on_changes)
    return removed


def list_drafts(store: Store) -> list[Draft]:
    """Return every draft, most recently changed first."""
    return drafts_store.list_drafts(store.reader())
