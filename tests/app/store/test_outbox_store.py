"""The outbox in the cache: pending rows in the read views, echoes, dependants.

No server: items are marked sent by hand and the server's copies are made
with the event factories, so each case is exact and fast.
"""

import asyncio
import sqlite3

import pytest

from app import compose
from app import namespace as ns
from app.drafts import load_draft, save_draft
from app.outbox import ItemConflict, NotAllowed, Outbox, TargetNotFound
from app.store import (
    Store,
    answers,
    database,
    outbox_queries,
    outbox_store,
    queries,
    schema,
)
from app.store.outbox_store import PENDING_PREFIX
from app.store.writes import apply_sync
from tests.factories import discussion, event, like, member, reply, room_batch, state

ME = "@me:test"
ANN = "@ann:test"
BOARD = "!board:test"
SESSION = "DEVICE/0123456789abcdef"


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(
        apply_sync, [room_batch(BOARD, [member(ME), member(ANN)])], "token"
    )
    yield store
    store.close()


@pytest.fixture
def announced():
    return []


@pytest.fixture
def outbox(store, announced):
    return Outbox(store, ME, on_changes=announced.append)


def sync(store, *timeline, state_events=()):
    return store.write_blocking(
        apply_sync, [room_batch(BOARD, state_events, timeline)], "token"
    )


def claim(store):
    return store.write_blocking(outbox_store.claim_next, BOARD, SESSION)


def echo_of(store, item_id, *, event_id, with_txn=True, with_client_id=True):
    """Return the server's copy of an item as the sync delivers it."""
    item = outbox_queries.get_item(store.reader(), item_id)
    content = outbox_queries.item_content(store.reader(), item_id)
    content = store.write_blocking(outbox_store._resolve_placeholders, content)
    if not with_client_id:
        content.pop(ns.CLIENT_ID_KEY, None)
    extra = {"unsigned": {"transaction_id": item.txn_id}} if with_txn else {}
    event_type = "m.reaction" if item.action == "like" else "m.room.message"
    return event(ME, content, type=event_type, event_id=event_id, **extra)


def titles(store):
    return [
        (d.title, d.send_state)
        for d in queries.list_discussions(store.reader(), [BOARD], limit=50)
    ]


def test_migration_from_version_1_keeps_data(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    monkeypatch.setattr(database, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(database, "LATEST_VERSION", 1)
    old = database.open_database(path)
    old.conn.execute(
        "INSERT INTO discussions (event_id, room_id, position, sender, ts, title, "
        "kind, body, last_activity_ts, last_position) "
        "VALUES ('$kept', ?, 1, ?, 1, 'Kept', 'discussion', '', 1, 1)",
        (BOARD, ANN),
    )
    assert database.schema_version(old.conn) == 1
    old.conn.close()
    monkeypatch.undo()

    store = Store(path)
    try:
        conn = store.reader()
        assert database.schema_version(conn) == schema.LATEST_VERSION
        listed = queries.list_discussions(conn, [BOARD], limit=5)
        assert [d.title for d in listed] == ["Kept"]
        for table in ("outbox", "drafts", "accepted_answers", "power_levels"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    finally:
        store.close()


def test_queued_discussion_shows_pending_first(store, outbox, announced):
    sync(store, discussion(ANN, "Older"))
    local = run(outbox.queue_discussion(BOARD, "New one", "Text", kind="question"))

    assert local.startswith(PENDING_PREFIX)
    assert titles(store) == [("New one", "pending"), ("Older", None)]
    assert queries.count_discussions(store.reader(), [BOARD]) == 2
    summary = queries.get_discussion_summary(store.reader(), local)
    assert (summary.kind, summary.sender) == ("question", ME)
    post = queries.get_discussion_post(store.reader(), local)
    assert post.body == "Text"
    assert post.send_state == "pending"
    assert announced[-1].outbox
    assert local in announced[-1].discussions


def test_pending_discussions_page_with_stored_ones(store, outbox):
    sync(store, *(discussion(ANN, f"Stored {n}") for n in range(3)))
    for n in range(2):
        run(outbox.queue_discussion(BOARD, f"Pending {n}", ""))
    pages = [
        [
            d.title
            for d in queries.list_discussions(
                store.reader(), [BOARD], limit=2, offset=o
            )
        ]
        for o in (0, 2, 4)
    ]
    assert pages == [
        ["Pending 1", "Pending 0"],
        ["Stored 2", "Stored 1"],
        ["Stored 0"],
    ]


@pytest.mark.parametrize(
    "with_txn, with_client_id", [(True, True), (True, False), (False, True)]
)
def test_echo_replaces_pending_copy(store, outbox, with_txn, with_client_id):
    local = run(outbox.queue_discussion(BOARD, "Mine", "Body"))
    [item] = outbox.list_items()
    claim(store)

    changes = sync(
        store,
        echo_of(
            store,
            item.id,
            event_id="$mine",
            with_txn=with_txn,
            with_client_id=with_client_id,
        ),
    )

    assert changes.outbox
    assert titles(store) == [("Mine", None)]
    assert outbox.list_items() == []
    assert outbox_queries.resolve_id(store.reader(), local) == "$mine"
    assert queries.get_discussion_summary(store.reader(), local).event_id == "$mine"
    # The send's response arriving after the echo changes nothing.
    store.write_blocking(outbox_store.mark_sent, item.id, "$mine")
    assert titles(store) == [("Mine", None)]


def test_sent_but_not_synced_stays_pending(store, outbox):
    run(outbox.queue_discussion(BOARD, "Mine", "Body"))
    [item] = outbox.list_items()
    claim(store)
    store.write_blocking(outbox_store.mark_sent, item.id, "$mine")

    [summary] = queries.list_discussions(store.reader(), [BOARD], limit=5)
    assert (summary.event_id, summary.send_state) == ("$mine", "pending")
    sync(store, echo_of(store, item.id, event_id="$mine", with_txn=False))
    assert titles(store) == [("Mine", None)]


def test_someone_elses_event_is_no_echo(store, outbox):
    run(outbox.queue_discussion(BOARD, "Mine", "Body"))
    [item] = outbox.list_items()
    copy = echo_of(store, item.id, event_id="$copy")
    copy["sender"] = ANN
    sync(store, copy)
    assert ("Mine", "pending") in titles(store)


def test_reply_waits_for_pending_discussion(store, outbox):
    root = run(outbox.queue_discussion(BOARD, "Question", ""))
    first = run(outbox.queue_reply(root, "First"))
    run(outbox.queue_like(root))

    replies = queries.list_replies(store.reader(), root, limit=10)
    assert [(r.event_id, r.body, r.send_state) for r in replies] == [
        (first, "First", "pending")
    ]
    assert queries.get_discussion_summary(store.reader(), root).reply_count == 1
    [likes] = queries.reactions_for(store.reader(), [root], ME)[root]
    assert (likes.count, likes.mine, likes.pending) == (1, True, True)

    claimed = claim(store)
    assert claimed.action == "discussion"
    # The reply and the like wait while the root has no event id.
    assert claim(store) is None
    store.write_blocking(outbox_store.mark_sent, claimed.id, "$root")
    reply_item = store.write_blocking(outbox_store.claim_next, BOARD, SESSION)
    assert reply_item.action == "reply"
    assert reply_item.target_id == "$root"
    assert reply_item.content["m.relates_to"]["event_id"] == "$root"
    assert reply_item.content["m.relates_to"]["m.in_reply_to"] == {"event_id": "$root"}
    like_item = claim(store)
    assert like_item.content["m.relates_to"]["event_id"] == "$root"
    # The replies are still readable under the root's local id.
    assert len(queries.list_replies(store.reader(), root, limit=10)) == 1


def test_dependant_content_rewritten_when_sent(store, outbox):
    root = run(outbox.queue_discussion(BOARD, "Root", ""))
    run(outbox.queue_reply(root, "Waits"))
    claimed = claim(store)
    store.write_blocking(outbox_store.mark_sent, claimed.id, "$root")
    # Even once the root's item is gone, the reply knows its event id.
    store.write_blocking(
        lambda conn: conn.execute("DELETE FROM outbox WHERE id = ?", (claimed.id,))
    )
    [reply_item] = outbox.list_items()
    content = outbox_queries.item_content(store.reader(), reply_item.id)
    assert content["m.relates_to"]["event_id"] == "$root"
    assert content["m.relates_to"]["m.in_reply_to"] == {"event_id": "$root"}
    assert claim(store).content == content


def test_reply_follows_latest_pending_reply(store, outbox):
    sync(
        store,
        discussion(ANN, "Q", event_id="$q"),
        reply(ANN, "$q", "A1", event_id="$a1"),
    )
    first = run(outbox.queue_reply("$q", "Mine 1"))
    run(outbox.queue_reply("$q", "Mine 2"))
    run(outbox.queue_reply("$q", "Quote", quote_id="$a1"))

    items = outbox.list_items()
    assert [i.related_id for i in items] == ["$a1", first, "$a1"]
    bodies = [r.body for r in queries.list_replies(store.reader(), "$q", limit=10)]
    assert bodies == ["A1", "Mine 1", "Mine 2", "Quote"]
    page = queries.list_replies(store.reader(), "$q", limit=2, offset=1)
    assert [r.body for r in page] == ["Mine 1", "Mine 2"]


def test_failed_dependency_holds_only_its_dependants(store, outbox):
    root = run(outbox.queue_discussion(BOARD, "Will fail", ""))
    run(outbox.queue_reply(root, "Waits"))
    run(outbox.queue_discussion(BOARD, "Goes anyway", ""))
    first = claim(store)
    store.write_blocking(outbox_store.mark_failed, first.id, "Rejected.", "HTTP 403")

    next_item = claim(store)
    assert outbox_queries.get_item(store.reader(), next_item.id).title == "Goes anyway"
    assert claim(store) is None
    [failed] = [
        d
        for d in queries.list_discussions(store.reader(), [BOARD], limit=5)
        if d.send_state == "failed"
    ]
    assert failed.send_error == "Rejected."


def test_delete_of_unsent_post_removes_dependants(store, outbox, announced):
    run(save_draft(store, "reply", "$placeholder", room_id=BOARD, body="x"))
    root = run(outbox.queue_discussion(BOARD, "Oops", ""))
    run(save_draft(store, "reply", root, room_id=BOARD, body="half-written"))
    run(outbox.queue_reply(root, "Reply"))
    run(outbox.queue_like(root))
    sync(store, discussion(ANN, "Other", event_id="$other"))
    run(outbox.queue_like("$other"))

    assert run(outbox.queue_delete(root)) is None
    assert [i.action for i in outbox.list_items()] == ["like"]
    assert titles(store) == [("Other", None)]
    assert load_draft(store, "reply", root) is None
    assert announced[-1].outbox


def test_delete_of_attempted_post_waits_for_it(store, outbox):
    root = run(outbox.queue_discussion(BOARD, "In flight", ""))
    claimed = claim(store)
    local = run(outbox.queue_delete(root))
    assert local.startswith(PENDING_PREFIX)
    [summary] = queries.list_discussions(store.reader(), [BOARD], limit=5)
    assert summary.redacted
    assert claim(store) is None
    store.write_blocking(outbox_store.mark_sent, claimed.id, "$inflight")
    redaction = claim(store)
    assert (redaction.action, redaction.target_id) == ("delete", "$inflight")


def test_edit_of_unsent_post_rewrites_it(store, outbox):
    root = run(outbox.queue_discussion(BOARD, "Tpyo", "Body", tags=["a"]))
    run(save_draft(store, "edit", root, room_id=BOARD, title="Typo", body="Body 2"))
    assert run(outbox.queue_edit(root, "Body 2", title="Typo")) == root

    [item] = outbox.list_items()
    assert (item.action, item.title, item.body, item.tags) == (
        "discussion",
        "Typo",
        "Body 2",
        ("a",),
    )
    content = outbox_queries.item_content(store.reader(), item.id)
    assert content[ns.DISCUSSION_KEY]["title"] == "Typo"
    assert content[ns.CLIENT_ID_KEY] == item.client_id
    assert load_draft(store, "edit", root) is None


def test_edit_of_stored_post_shows_pending(store, outbox):
    sync(
        store,
        discussion(ME, "Old title", "Old", event_id="$d"),
        reply(ME, "$d", "old reply", event_id="$r"),
    )
    run(outbox.queue_edit("$d", "New body", title="New title"))
    run(outbox.queue_edit("$r", "new reply"))

    assert titles(store) == [("New title", "pending")]
    post = queries.get_discussion_post(store.reader(), "$d")
    assert (post.body, post.edited, post.send_state) == ("New body", True, "pending")
    [answer] = queries.list_replies(store.reader(), "$d", limit=5)
    assert (answer.body, answer.send_state) == ("new reply", "pending")

    item = claim(store)
    assert item.content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$d"}
    store.write_blocking(outbox_store.mark_sent, item.id, "$edit")
    sync(store, echo_of(store, item.id, event_id="$edit"))
    assert titles(store) == [("New title", None)]


def test_edit_of_attempted_post_waits(store, outbox):
    root = run(outbox.queue_discussion(BOARD, "Sent maybe", "v1"))
    claimed = claim(store)
    store.write_blocking(outbox_store.requeue, claimed.id)
    assert run(outbox.queue_edit(root, "v2", title="Edited")) == root

    assert [i.action for i in outbox.list_items()] == ["discussion", "edit"]
    assert titles(store) == [("Edited", "pending")]
    assert queries.get_discussion_post(store.reader(), root).body == "v2"
    again = claim(store)
    assert again.id == claimed.id
    assert claim(store) is None
    store.write_blocking(outbox_store.mark_sent, again.id, "$sent")
    edit = claim(store)
    assert edit.content["m.relates_to"] == {
        "rel_type": "m.replace",
        "event_id": "$sent",
    }
    assert edit.content["m.new_content"]["body"] == "Edited\n\nv2"


def test_revise_failed_edits(store, outbox):
    sync(
        store,
        discussion(ME, "Title", "Old", event_id="$d"),
        reply(ME, "$d", "old reply", event_id="$r"),
    )
    run(outbox.queue_edit("$d", "New", title="New title"))
    run(outbox.queue_edit("$r", "new reply"))
    for _ in range(2):
        item = claim(store)
        store.write_blocking(outbox_store.mark_failed, item.id, "Too large.", None)
    discussion_edit, reply_edit = outbox.list_items()

    run(outbox.revise(discussion_edit.id, "Shorter", tags=["x"]))
    run(outbox.revise(reply_edit.id, "shorter reply"))

    revised = claim(store)
    assert revised.client_id == discussion_edit.client_id
    assert revised.content["m.relates_to"]["event_id"] == "$d"
    new_content = revised.content["m.new_content"]
    assert new_content[ns.DISCUSSION_KEY] == {
        "title": "New title",
        "kind": "discussion",
        "tags": ["x"],
    }
    revised_reply = claim(store)
    assert revised_reply.content["m.new_content"]["body"] == "shorter reply"
    assert revised_reply.content["m.relates_to"]["event_id"] == "$r"
    with pytest.raises(ItemConflict):
        run(outbox.revise(revised.id, "again"))


def test_second_edit_revises_failed_edit(store, outbox, announced):
    sync(
        store,
        discussion(ME, "Title", "Old", event_id="$d"),
        reply(ME, "$d", "old reply", event_id="$r"),
    )
    run(outbox.queue_edit("$d", "First try", title="New title"))
    run(outbox.queue_edit("$r", "first reply try"))
    for _ in range(2):
        item = claim(store)
        store.write_blocking(outbox_store.mark_failed, item.id, "Too large.", None)
    failed_edit, failed_reply_edit = outbox.list_items()
    run(save_draft(store, "edit", "$d", room_id=BOARD, body="Second try"))
    announced.clear()

    run(outbox.queue_edit("$d", "Second try"))
    run(outbox.queue_edit("$r", "second reply try", mentions=[ANN]))

    items = outbox.list_items()
    assert [(i.id, i.action, i.state) for i in items] == [
        (failed_edit.id, "edit", "queued"),
        (failed_reply_edit.id, "edit", "queued"),
    ]
    assert items[0].error is None
    assert items[0].title == "New title"
    assert load_draft(store, "edit", "$d") is None
    assert announced
    edit = claim(store)
    assert edit.client_id == failed_edit.client_id
    assert edit.content["m.relates_to"]["event_id"] == "$d"
    assert edit.content["m.new_content"]["body"] == "New title\n\nSecond try"
    reply_edit = claim(store)
    assert reply_edit.content["m.new_content"]["body"] == "second reply try"
    assert reply_edit.content["m.new_content"]["m.mentions"] == {"user_ids": [ANN]}
    assert claim(store) is None


def test_second_edit_revises_queued_edit(store, outbox):
    sync(store, discussion(ME, "Title", "Old", event_id="$d"))
    run(outbox.queue_edit("$d", "First"))
    run(outbox.queue_edit("$d", "Second"))

    [item] = outbox.list_items()
    assert item.body == "Second"
    edit = claim(store)
    assert edit.content["m.new_content"]["body"] == "Title\n\nSecond"


def test_edit_after_attempted_edit_queues_another(store, outbox):
    sync(store, discussion(ME, "Title", "Old", event_id="$d"))
    run(outbox.queue_edit("$d", "First"))
    claimed = claim(store)
    store.write_blocking(outbox_store.requeue, claimed.id)

    run(outbox.queue_edit("$d", "Second"))

    assert [i.body for i in outbox.list_items()] == ["First", "Second"]


def test_editing_or_deleting_others_posts_not_allowed(store, outbox):
    sync(store, discussion(ANN, "Hers", event_id="$hers"))
    with pytest.raises(NotAllowed):
        run(outbox.queue_edit("$hers", "mine now"))
    with pytest.raises(NotAllowed):
        run(outbox.queue_delete("$hers"))
    with pytest.raises(TargetNotFound):
        run(outbox.queue_reply("$unknown", "hello"))
    assert outbox.list_items() == []


def test_like_and_unlike_merge_into_counts(store, outbox):
    sync(
        store,
        discussion(ANN, "Post", event_id="$post"),
        like(ANN, "$post"),
    )
    run(outbox.queue_like("$post"))
    [likes] = queries.reactions_for(store.reader(), ["$post"], ME)["$post"]
    assert (likes.count, likes.mine, likes.pending) == (2, True, True)
    assert run(outbox.queue_like("$post")) is None

    # Unliking an unsent like removes it without sending anything.
    assert run(outbox.queue_unlike("$post")) == []
    assert outbox.list_items() == []
    [likes] = queries.reactions_for(store.reader(), ["$post"], ME)["$post"]
    assert (likes.count, likes.mine, likes.pending) == (1, False, False)


def test_unlike_of_stored_like_redacts_it(store, outbox):
    mine = like(ME, "$post")
    sync(store, discussion(ANN, "Post", event_id="$post"), mine)
    [local] = run(outbox.queue_unlike("$post"))
    assert "$post" not in queries.reactions_for(store.reader(), ["$post"], ME)

    item = claim(store)
    assert (item.action, item.target_id, item.event_type) == (
        "unlike",
        mine["event_id"],
        "m.room.redaction",
    )
    # Liking again before the unlike is sent queues a new like.
    store.write_blocking(outbox_store.requeue, item.id)
    assert run(outbox.queue_like("$post")) is not None
    [likes] = queries.reactions_for(store.reader(), ["$post"], ME)["$post"]
    assert (likes.count, likes.mine) == (1, True)
    assert local.startswith(PENDING_PREFIX)


def test_retry_and_discard_of_failed_item(store, outbox):
    root = run(outbox.queue_discussion(BOARD, "Rejected", ""))
    run(outbox.queue_reply(root, "Depends"))
    item = claim(store)
    with pytest.raises(ItemConflict):
        run(outbox.discard(item.id))
    store.write_blocking(outbox_store.mark_failed, item.id, "Too large.", None)

    run(outbox.retry(item.id))
    assert outbox.get_item(item.id).state == "queued"
    assert outbox.get_item(item.id).error is None
    with pytest.raises(ItemConflict):
        run(outbox.retry(item.id))

    again = claim(store)
    assert again.txn_id == item.txn_id
    store.write_blocking(outbox_store.mark_failed, item.id, "Too large.", None)
    removed = run(outbox.discard(item.id))
    assert len(removed) == 2
    assert outbox.list_items() == []


def test_revise_failed_post_keeps_ids(store, outbox):
    run(outbox.queue_discussion(BOARD, "Long", "x"))
    item = claim(store)
    store.write_blocking(outbox_store.mark_failed, item.id, "Too large.", None)

    run(outbox.revise(item.id, "shorter", title="Short"))
    revised = claim(store)
    assert (revised.txn_id, revised.client_id) == (item.txn_id, item.client_id)
    assert revised.content[ns.DISCUSSION_KEY]["title"] == "Short"
    assert revised.content[ns.CLIENT_ID_KEY] == item.client_id
    assert revised.content["body"] == "Short\n\nshorter"


def test_rejected_content_keeps_draft(store, outbox):
    run(save_draft(store, "discussion", BOARD, room_id=BOARD, body="no title yet"))
    with pytest.raises(compose.EmptyPost):
        run(outbox.queue_discussion(BOARD, "  ", "no title yet"))
    huge = "word " * 20_000
    run(save_draft(store, "discussion", BOARD, room_id=BOARD, title="T", body=huge))
    with pytest.raises(compose.PostTooLarge) as rejected:
        run(outbox.queue_discussion(BOARD, "T", huge))
    assert "Shorten it" in rejected.value.message
    assert outbox.list_items() == []
    assert load_draft(store, "discussion", BOARD).body == huge

    run(outbox.queue_discussion(BOARD, "T", "short"))
    assert load_draft(store, "discussion", BOARD) is None


def test_queue_and_draft_commit_together(store, outbox, monkeypatch):
    run(save_draft(store, "discussion", BOARD, room_id=BOARD, title="T", body="b"))

    def broken_insert(conn, item, draft=None, now=None):
        outbox_store.delete_draft(conn, *draft)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(outbox_store, "insert_item", broken_insert)
    with pytest.raises(sqlite3.OperationalError):
        run(outbox.queue_discussion(BOARD, "T", "b"))
    assert load_draft(store, "discussion", BOARD) is not None


def test_interrupted_send_is_queued_again(store, outbox):
    run(outbox.queue_discussion(BOARD, "Interrupted", ""))
    item = claim(store)
    assert outbox.get_item(item.id).state == "sending"
    assert store.write_blocking(outbox_store.reset_interrupted) == 1
    again = claim(store)
    assert again.txn_id == item.txn_id
    assert again.previous_session == SESSION
    assert item.first_attempt_at is None
    assert again.first_attempt_at is not None


def test_prune_keeps_recent_and_unsent(store, outbox):
    for title in ("Old", "Recent", "Unsent"):
        run(outbox.queue_discussion(BOARD, title, ""))
    old, recent, _ = outbox.list_items()
    for item, event_id in ((old, "$old"), (recent, "$recent")):
        claim(store)
        store.write_blocking(outbox_store.mark_sent, item.id, event_id)
    store.write_blocking(
        lambda conn: conn.execute(
            "UPDATE outbox SET sent_at = 1 WHERE id = ?", (old.id,)
        )
    )
    assert store.write_blocking(outbox_store.prune_done, 1000) == 1
    assert [i.title for i in outbox.list_items()] == ["Recent", "Unsent"]


# -- Accepted answers ----------------------------------------------------------


def levels(users, redact=50):
    return state("m.room.power_levels", {"users": users, "redact": redact})


def answer_event(sender, question, reply_id, event_id=None):
    content = {} if reply_id is None else {"event_id": reply_id}
    return event(
        sender,
        content,
        type=ns.ACCEPTED_ANSWER_EVENT,
        state_key=question,
        event_id=event_id,
    )


def test_accepted_answer_only_from_author_or_moderator(store):
    mod = "@mod:test"
    sync(
        store,
        discussion(ANN, "Q", kind="question", event_id="$q"),
        reply(ME, "$q", "A1", event_id="$a1"),
        reply(mod, "$q", "A2", event_id="$a2"),
        discussion(ANN, "Other", event_id="$other"),
        reply(ANN, "$other", "elsewhere", event_id="$elsewhere"),
        state_events=[levels({mod: 50, ANN: 0})],
    )
    conn = store.reader()

    sync(store, answer_event(ANN, "$q", "$a1"))
    assert queries_answer(conn) == "$a1"
    sync(store, answer_event(ME, "$q", "$a2"))
    assert queries_answer(conn) == "$a1"
    sync(store, answer_event(mod, "$q", "$a2"))
    assert queries_answer(conn) == "$a2"
    sync(store, answer_event(ANN, "$q", "$elsewhere"))
    assert queries_answer(conn) == "$a2"
    sync(store, answer_event(ANN, "$q", None))
    assert queries_answer(conn) is None


def queries_answer(conn):
    info = answers.accepted_answers(conn, ["$q"]).get("$q")
    return info.reply_id if info else None


def test_queue_accept_answer_checks_rights(store, outbox):
    sync(
        store,
        discussion(ANN, "Hers", kind="question", event_id="$hers"),
        reply(ME, "$hers", "A", event_id="$a"),
        discussion(ME, "Mine", kind="question", event_id="$mine"),
        reply(ANN, "$mine", "B", event_id="$b"),
        discussion(ME, "Talk", event_id="$talk"),
        state_events=[levels({})],
    )
    with pytest.raises(NotAllowed):
        run(outbox.queue_accept_answer("$hers", "$a"))
    with pytest.raises(TargetNotFound):
        run(outbox.queue_accept_answer("$talk", None))
    with pytest.raises(TargetNotFound):
        run(outbox.queue_accept_answer("$mine", "$a"))

    run(outbox.queue_accept_answer("$mine", "$b"))
    info = answers.accepted_answers(store.reader(), ["$mine"])["$mine"]
    assert (info.reply_id, info.pending) == ("$b", True)
    item = claim(store)
    assert (item.event_type, item.target_id) == (ns.ACCEPTED_ANSWER_EVENT, "$mine")
    assert item.content["event_id"] == "$b"
    store.write_blocking(outbox_store.mark_sent, item.id, "$state")
    sync(
        store,
        event(
            ME,
            item.content,
            type=ns.ACCEPTED_ANSWER_EVENT,
            state_key="$mine",
            event_id="$state",
        ),
    )
    info = answers.accepted_answers(store.reader(), ["$mine"])["$mine"]
    assert (info.reply_id, info.pending) == ("$b", False)
    assert outbox.list_items() == []

    # A moderator may choose for someone else's question.
    sync(store, state_events=[levels({ME: 50})])
    run(outbox.queue_accept_answer("$hers", None))
    assert "$hers" not in answers.accepted_answers(store.reader(), ["$hers"])


def test_removing_unsent_reply_keeps_later_replies(store, outbox):
    sync(
        store,
        discussion(ANN, "Q", event_id="$q"),
        reply(ANN, "$q", "A1", event_id="$a1"),
    )
    first = run(outbox.queue_reply("$q", "Mine 1"))
    second = run(outbox.queue_reply("$q", "Mine 2"))
    run(outbox.queue_reply("$q", "Mine 3"))

    assert run(outbox.queue_delete(second)) is None

    items = outbox.list_items()
    assert [i.body for i in items] == ["Mine 1", "Mine 3"]
    assert items[1].related_id == first
    content = outbox_queries.item_content(store.reader(), items[1].id)
    assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == first


def test_failed_reply_does_not_hold_later_replies(store, outbox):
    sync(
        store,
        discussion(ANN, "Q", event_id="$q"),
        reply(ANN, "$q", "A1", event_id="$a1"),
    )
    run(outbox.queue_reply("$q", "Rejected"))
    run(outbox.queue_reply("$q", "Still goes"))
    failed = claim(store)
    store.write_blocking(outbox_store.mark_failed, failed.id, "Rejected.", "HTTP 403")

    next_item = claim(store)
    assert next_item is not None
    assert outbox_queries.get_item(store.reader(), next_item.id).body == "Still goes"
    content = outbox_queries.item_content(store.reader(), next_item.id)
    assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == "$a1"
