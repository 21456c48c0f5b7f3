"""The discussion composer, its drafts and the pending rows it leaves in the list."""

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from app import drafts
from app.records import Profile
from app.store import outbox_queries, outbox_store
from app.store.writes import apply_sync
from tests.factories import event, room_batch
from tests.ui.builders import ME, fail_item
from ui.compose_support import AUTOSAVE_DELAY_MS
from ui.composer import DiscussionComposer, split_tags
from ui.main_window import MainWindow
from ui.models.roles import ID_ROLE, SEND_ERROR_ROLE, SEND_STATE_ROLE


@pytest.fixture
def board(cache):
    cache.space("!space:x", "Data engineering")
    cache.board("!general:x", "General", "!space:x")
    cache.member("!general:x", ME, "Me")
    cache.discussion("!general:x", "Older topic")
    cache.commit()
    return "!general:x"


@pytest.fixture
def window(qtbot, qasync_loop, app_session, board):
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    return main


def _type_post(composer, title="Query plans", body="How do I read **EXPLAIN**?"):
    composer.title_edit.setText(title)
    composer.body_edit.setPlainText(body)


def _rows(window):
    model = window.discussion_pane.discussions
    return [model.index(row) for row in range(model.rowCount())]


def test_split_tags_accepts_commas_spaces_and_hashes():
    assert split_tags("sql, #postgres  sql tuning") == ["sql", "postgres", "tuning"]
    assert split_tags(" , ") == []


def test_new_discussion_button_opens_composer(window, board):
    button = window.discussion_pane.new_button
    assert button.isEnabled()
    button.click()
    composer = window._composers[("discussion", board)]
    assert composer.isVisible()
    assert "General" in composer.windowTitle()


def test_composer_post_shows_pending_row_at_once(qtbot, window, board):
    composer = window.show_composer(board)
    _type_post(composer)
    composer.post_button.click()

    qtbot.waitUntil(lambda: len(_rows(window)) == 2, timeout=3000)
    first = _rows(window)[0]
    assert first.data() == "Query plans"
    assert first.data(SEND_STATE_ROLE) == "pending"
    assert first.data(ID_ROLE).startswith("pending:")
    assert "Sending…" in first.data(Qt.ItemDataRole.ToolTipRole)
    # The composer closes after the queue call returns, which can come just
    # after the list shows the row.
    qtbot.waitUntil(
        lambda: ("discussion", board) not in window._composers, timeout=3000
    )


def test_composer_post_disabled_while_empty(window, board):
    composer = window.show_composer(board)
    assert not composer.post_button.isEnabled()
    composer.body_edit.setPlainText("Text without a title")
    assert not composer.post_button.isEnabled()
    composer.title_edit.setText("   ")
    assert not composer.post_button.isEnabled()
    composer.title_edit.setText("A title")
    assert composer.post_button.isEnabled()


def test_composer_long_title_shows_core_message(qtbot, window, board, app_session):
    composer = window.show_composer(board)
    _type_post(composer, title="x" * 400)
    composer.post_button.click()

    qtbot.waitUntil(lambda: composer.error_label.isVisible(), timeout=3000)
    assert composer.error_label.text()
    assert composer.isVisible()
    assert app_session.outbox.list_items() == []


def test_composer_too_large_keeps_draft(qtbot, window, board, store):
    composer = window.show_composer(board)
    _type_post(composer, body="word " * 20_000)
    composer.post_button.click()

    qtbot.waitUntil(lambda: composer.error_label.isVisible(), timeout=3000)
    assert "too long" in composer.error_label.text()
    qtbot.waitUntil(
        lambda: drafts.load_draft(store, "discussion", board) is not None,
        timeout=3000,
    )
    assert drafts.load_draft(store, "discussion", board).title == "Query plans"


def test_composer_autosaves_and_restores_draft(qtbot, qasync_loop, store, board):
    composer = DiscussionComposer(store, _outbox(store), board, room_name="General")
    qtbot.addWidget(composer)
    _type_post(composer, title="Half-written", body="Some *text*")
    composer.tags_edit.setText("sql, tuning")
    assert composer.autosave.is_pending()

    qtbot.wait(AUTOSAVE_DELAY_MS // 2)
    assert drafts.load_draft(store, "discussion", board) is None
    qtbot.waitUntil(
        lambda: drafts.load_draft(store, "discussion", board) is not None,
        timeout=3000,
    )
    composer.close()

    reopened = DiscussionComposer(store, _outbox(store), board, room_name="General")
    qtbot.addWidget(reopened)
    assert reopened.title_edit.text() == "Half-written"
    assert reopened.body_edit.toPlainText() == "Some *text*"
    assert reopened.tags_edit.text() == "sql, tuning"
    assert reopened.draft_label.text() == "Draft restored"


def test_composer_post_clears_draft(qtbot, window, board, store):
    composer = window.show_composer(board)
    _type_post(composer)
    qtbot.waitUntil(
        lambda: drafts.load_draft(store, "discussion", board) is not None,
        timeout=3000,
    )
    composer.post_button.click()
    qtbot.waitUntil(lambda: len(_rows(window)) == 2, timeout=3000)
    assert drafts.load_draft(store, "discussion", board) is None


def test_composer_discard_deletes_draft(qtbot, window, board, store):
    composer = window.show_composer(board)
    _type_post(composer)
    qtbot.waitUntil(
        lambda: drafts.load_draft(store, "discussion", board) is not None,
        timeout=3000,
    )
    composer.discard_button.click()
    qtbot.waitUntil(lambda: not composer.isVisible(), timeout=3000)
    assert drafts.load_draft(store, "discussion", board) is None


def test_composer_preview_renders_markdown(window, board):
    composer = window.show_composer(board)
    composer.body_edit.setPlainText("**bold** <script>x</script>")
    composer.update_preview()
    html = composer.preview.toHtml()
    assert "font-weight" in html
    assert "<script>" not in html


def test_composer_offers_announcement_only_to_moderators(window, board):
    composer = window.show_composer(board)
    kinds = [
        composer.kind_combo.itemData(i) for i in range(composer.kind_combo.count())
    ]
    assert kinds == ["discussion", "question"]


def test_failed_discussion_shows_reason_and_retries(qtbot, window, board, app_session):
    composer = window.show_composer(board)
    _type_post(composer)
    composer.post_button.click()
    qtbot.waitUntil(lambda: len(_rows(window)) == 2, timeout=3000)
    item = app_session.outbox.list_items()[0]

    fail_item(app_session, item.id, "The server rejected the post.")
    first = _rows(window)[0]
    assert first.data(SEND_STATE_ROLE) == "failed"
    assert first.data(SEND_ERROR_ROLE) == "The server rejected the post."
    assert "rejected" in first.data(Qt.ItemDataRole.ToolTipRole)

    window.discussion_pane.retry_requested.emit(first.data(ID_ROLE))
    qtbot.waitUntil(
        lambda: _rows(window)[0].data(SEND_STATE_ROLE) == "pending", timeout=3000
    )
    assert app_session.outbox.get_item(item.id).state == "queued"


def test_failed_discussion_discard_removes_row(qtbot, window, board, app_session):
    composer = window.show_composer(board)
    _type_post(composer)
    composer.post_button.click()
    qtbot.waitUntil(lambda: len(_rows(window)) == 2, timeout=3000)
    item = app_session.outbox.list_items()[0]
    fail_item(app_session, item.id, "Rejected.")

    window.discussion_pane.discard_requested.emit(_rows(window)[0].data(ID_ROLE))
    qtbot.waitUntil(lambda: len(_rows(window)) == 1, timeout=3000)
    assert _rows(window)[0].data() == "Older topic"
    assert app_session.outbox.list_items() == []


def _outbox(store):
    from app.outbox import Outbox

    return Outbox(store, ME)


def test_mention_completer_inserts_user_id(window, board, cache):
    cache.member("!general:x", "@ana:example.org", "Ana Lima")
    cache.profile(Profile("@ana:example.org", "Ana Lima", None))
    cache.commit()
    composer = window.show_composer(board)
    editor = composer.body_edit
    editor.setPlainText("Thanks ")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor.insertPlainText("@an")
    mentions = composer.mentions
    assert mentions.completer.completionPrefix() == "an"
    assert mentions.completer.completionCount() == 1

    mentions.insert("Ana Lima (@ana:example.org)")
    assert editor.toPlainText() == "Thanks @ana:example.org "
    assert mentions.mentioned(editor.toPlainText()) == ["@ana:example.org"]


def _send_and_echo(app_session, item, event_id: str) -> None:
    """Store the server's copy of an outbox item as the sync does, and announce it."""
    store = app_session.store
    store.write_blocking(outbox_store.claim_next, item.room_id, "DEVICE/test")
    content = outbox_queries.item_content(store.reader(), item.id)
    echo = event(
        ME,
        content,
        event_id=event_id,
        ts=int(time.time() * 1000),
        unsigned={"transaction_id": item.txn_id},
    )
    changes = store.write_blocking(
        apply_sync, [room_batch(item.room_id, timeline=[echo])], "token-echo"
    )
    app_session.announce(changes)


def test_open_pending_discussion_stays_open_when_sent(
    qtbot, window, board, app_session
):
    composer = window.show_composer(board)
    _type_post(composer, title="Jump test")
    composer.post_button.click()
    qtbot.waitUntil(lambda: len(_rows(window)) == 2, timeout=3000)
    pane = window.discussion_pane
    local = _rows(window)[0].data(ID_ROLE)
    assert pane.select_discussion(local)
    assert window.thread_view.current_discussion() == local
    opened = []
    pane.discussion_opened.connect(opened.append)
    [item] = app_session.outbox.list_items()

    _send_and_echo(app_session, item, "$jump")

    assert [row.data() for row in _rows(window)] == ["Jump test", "Older topic"]
    current = pane.list_view.currentIndex()
    assert current.isValid()
    assert current.data(ID_ROLE) == "$jump"
    assert window.thread_view.current_discussion() == "$jump"
    assert opened == ["$jump"]


def test_removed_open_discussion_opens_no_neighbour(qtbot, window, board, app_session):
    composer = window.show_composer(board)
    _type_post(composer, title="Doomed")
    composer.post_button.click()
    qtbot.waitUntil(lambda: len(_rows(window)) == 2, timeout=3000)
    pane = window.discussion_pane
    local = _rows(window)[0].data(ID_ROLE)
    assert pane.select_discussion(local)
    [item] = app_session.outbox.list_items()
    fail_item(app_session, item.id, "Rejected.")
    opened = []
    pane.discussion_opened.connect(opened.append)

    pane.discard_requested.emit(local)
    qtbot.waitUntil(lambda: len(_rows(window)) == 1, timeout=3000)

    assert opened == []
    assert not pane.list_view.currentIndex().isValid()
    assert not pane.list_view.selectionModel().hasSelection()
    assert window.thread_view.current_discussion() != _rows(window)[0].data(ID_ROLE)
