"""The reply box and the links on posts: replies, quotes, likes, edits, answers."""

import pytest
from PySide6.QtWidgets import QMessageBox

from app import drafts
from app.namespace import LIKE_KEY
from app.store.queries import list_replies, reactions_for
from tests.ui.builders import ME, fail_item
from ui.main_window import MainWindow
from ui.reply_box import EDIT, REPLY, REVISE
from ui.thread_html import PENDING_REACTION_TEXT


@pytest.fixture
def thread(cache):
    cache.space("!space:x", "Data engineering")
    cache.board("!general:x", "General", "!space:x")
    cache.member("!general:x", ME, "Me")
    root = cache.discussion("!general:x", "Query plans", kind="question", sender=ME)
    first = cache.reply("!general:x", root, "Use EXPLAIN ANALYZE.")
    own = cache.reply("!general:x", root, "Thanks, trying it.", sender=ME)
    cache.commit()
    return {"root": root, "first": first, "own": own}


@pytest.fixture
def window(qtbot, qasync_loop, app_session, thread):
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    main.thread_view.show_discussion(thread["root"])
    return main


def _replies(store, root):
    return list_replies(store.reader(), root, limit=100)


def _html(window):
    return window.thread_view.document().toHtml()


def _send(window, text):
    box = window.thread_view.reply_box
    box.editor.setPlainText(text)
    box.send_button.click()


def test_reply_box_send_disabled_while_blank(window):
    box = window.thread_view.reply_box
    assert not box.send_button.isEnabled()
    box.editor.setPlainText("  \n ")
    assert not box.send_button.isEnabled()
    box.editor.setPlainText("Some text")
    assert box.send_button.isEnabled()


def test_reply_shows_pending_at_once(qtbot, window, store, thread):
    _send(window, "Pending **reply**")
    qtbot.waitUntil(lambda: len(_replies(store, thread["root"])) == 3, timeout=3000)
    qtbot.waitUntil(lambda: "Pending" in _html(window), timeout=3000)

    assert _replies(store, thread["root"])[-1].send_state == "pending"
    assert "Sending…" in _html(window)
    # The cache announces the queued reply before the box hears back from
    # the outbox, so the box empties a moment after the reply shows.
    editor = window.thread_view.reply_box.editor
    qtbot.waitUntil(lambda: editor.toPlainText() == "", timeout=3000)


def test_failed_reply_shows_reason_and_retry(qtbot, window, app_session, thread):
    _send(window, "Will fail")
    qtbot.waitUntil(lambda: len(app_session.outbox.list_items()) == 1, timeout=3000)
    item = app_session.outbox.list_items()[0]
    fail_item(app_session, item.id, "The server is refusing replies.")
    qtbot.waitUntil(lambda: "refusing replies" in _html(window), timeout=3000)
    assert "Not sent" in _html(window)
    assert "Retry" in _html(window)
    assert "Discard" in _html(window)

    window.thread_view.run_post_action("retry", item.post_id)
    qtbot.waitUntil(
        lambda: app_session.outbox.get_item(item.id).state == "queued", timeout=3000
    )
    qtbot.waitUntil(lambda: "refusing replies" not in _html(window), timeout=3000)


def test_failed_reply_discard_removes_it(qtbot, window, app_session, store, thread):
    _send(window, "Will be discarded")
    qtbot.waitUntil(lambda: len(app_session.outbox.list_items()) == 1, timeout=3000)
    item = app_session.outbox.list_items()[0]
    fail_item(app_session, item.id, "Rejected.")
    qtbot.waitUntil(lambda: "Not sent" in _html(window), timeout=3000)

    window.thread_view.run_post_action("discard", item.post_id)
    qtbot.waitUntil(lambda: app_session.outbox.list_items() == [], timeout=3000)
    assert len(_replies(store, thread["root"])) == 2


def test_failed_reply_edit_revises_item(qtbot, window, app_session, store, thread):
    _send(window, "Typo here")
    qtbot.waitUntil(lambda: len(app_session.outbox.list_items()) == 1, timeout=3000)
    item = app_session.outbox.list_items()[0]
    fail_item(app_session, item.id, "Rejected.")
    qtbot.waitUntil(lambda: "Not sent" in _html(window), timeout=3000)
    box = window.thread_view.reply_box

    window.thread_view.run_post_action("revise", item.post_id)
    assert box.mode() == REVISE
    assert box.editor.toPlainText() == "Typo here"
    box.editor.setPlainText("Fixed text")
    box.send_button.click()
    qtbot.waitUntil(
        lambda: app_session.outbox.get_item(item.id).state == "queued", timeout=3000
    )
    assert app_session.outbox.get_item(item.id).body == "Fixed text"
    assert box.mode() == REPLY


def test_quote_link_sets_quote_target(qtbot, window, app_session, thread):
    window.thread_view.run_post_action("quote", thread["first"])
    box = window.thread_view.reply_box
    assert box.quote_id() == thread["first"]
    assert box.quote_label.isVisible()

    _send(window, "Quoting you")
    qtbot.waitUntil(lambda: len(app_session.outbox.list_items()) == 1, timeout=3000)
    assert app_session.outbox.list_items()[0].related_id == thread["first"]
    # The box clears the quote when the store confirms the send, which can
    # come a moment after the item is visible to other readers.
    qtbot.waitUntil(lambda: box.quote_id() is None, timeout=3000)


def test_reply_draft_autosaves_and_returns(qtbot, window, store, thread):
    box = window.thread_view.reply_box
    box.editor.setPlainText("Half a reply")
    qtbot.waitUntil(
        lambda: drafts.load_draft(store, "reply", thread["root"]) is not None,
        timeout=3000,
    )
    box.set_discussion(None, None)
    assert box.editor.toPlainText() == ""

    window.thread_view.show_discussion(thread["root"])
    box.set_discussion(thread["root"], "!general:x")
    assert box.editor.toPlainText() == "Half a reply"


def test_like_link_toggles_like(qtbot, window, store, thread):
    def liked():
        reactions = reactions_for(store.reader(), [thread["first"]], ME)
        return any(
            r.key == LIKE_KEY and r.mine for r in reactions.get(thread["first"], [])
        )

    assert f"{LIKE_KEY} Like" in _html(window)
    window.thread_view.run_post_action("like", thread["first"])
    qtbot.waitUntil(liked, timeout=3000)
    qtbot.waitUntil(lambda: f"{LIKE_KEY} Liked" in _html(window), timeout=3000)
    # No worker runs in these tests, so the like stays in the outbox.
    assert PENDING_REACTION_TEXT in _html(window)

    window.thread_view.run_post_action("unlike", thread["first"])
    qtbot.waitUntil(lambda: not liked(), timeout=3000)


def test_edit_own_reply_queues_edit(qtbot, window, app_session, thread):
    window.thread_view.run_post_action("edit", thread["own"])
    box = window.thread_view.reply_box
    assert box.mode() == EDIT
    assert box.editor.toPlainText() == "Thanks, trying it."

    box.editor.setPlainText("Thanks, it worked.")
    box.send_button.click()
    qtbot.waitUntil(lambda: len(app_session.outbox.list_items()) == 1, timeout=3000)
    item = app_session.outbox.list_items()[0]
    assert item.action == "edit"
    assert item.target_id == thread["own"]


def test_edit_links_only_on_own_posts(window, thread):
    html = _html(window)
    assert html.count(">Edit<") == 2  # the own question and the own reply
    assert html.count(">Delete<") == 2


def test_delete_asks_then_queues(qtbot, window, app_session, thread, monkeypatch):
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *args: next(answers))

    window.thread_view.run_post_action("delete", thread["own"])
    qtbot.wait(50)
    assert app_session.outbox.list_items() == []

    window.thread_view.run_post_action("delete", thread["own"])
    qtbot.waitUntil(lambda: len(app_session.outbox.list_items()) == 1, timeout=3000)
    assert app_session.outbox.list_items()[0].action == "delete"


def test_mark_as_answer_shows_answer_first(qtbot, window, app_session, thread):
    assert "Mark as answer" in _html(window)
    window.thread_view.run_post_action("accept", thread["first"])
    qtbot.waitUntil(lambda: "Accepted answer" in _html(window), timeout=3000)
    item = app_session.outbox.list_items()[0]
    assert item.action == "accept_answer"
    assert item.related_id == thread["first"]
    assert "Unmark answer" in _html(window)


def test_answer_link_hidden_from_others(qtbot, qasync_loop, app_session, cache):
    cache.space("!space:x", "Data engineering")
    cache.board("!general:x", "General", "!space:x")
    root = cache.discussion("!general:x", "Someone's question", kind="question")
    cache.reply("!general:x", root, "An answer")
    cache.commit()
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.thread_view.show_discussion(root)
    assert "Mark as answer" not in _html(main)
    assert f"{LIKE_KEY} Like" in _html(main)
