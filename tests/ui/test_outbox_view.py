"""The outbox indicator and window, and the Drafts window."""

import asyncio

import pytest

from app import drafts
from app.outbox import OutboxState, OutboxStatus
from tests.ui.builders import ME, fail_item
from ui.main_window import MainWindow
from ui.outbox_view import indicator_text


@pytest.fixture
def thread(cache):
    cache.space("!space:x", "Data engineering")
    cache.board("!general:x", "General", "!space:x")
    cache.member("!general:x", ME, "Me")
    root = cache.discussion("!general:x", "Query plans")
    cache.commit()
    return root


@pytest.fixture
def window(qtbot, qasync_loop, app_session, thread):
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    return main


def _queue_reply(qtbot, app_session, thread, text="A reply"):
    count = len(app_session.outbox.list_items())
    asyncio.ensure_future(app_session.outbox.queue_reply(thread, text))
    qtbot.waitUntil(
        lambda: len(app_session.outbox.list_items()) == count + 1, timeout=3000
    )
    return app_session.outbox.list_items()[-1]


def test_indicator_text_counts():
    assert indicator_text(0, 0) == ""
    assert indicator_text(2, 0) == "2 waiting to send"
    assert indicator_text(0, 1) == "1 failed"
    assert indicator_text(3, 1) == "3 waiting to send · 1 failed"


def test_indicator_follows_outbox(qtbot, window, app_session, thread):
    indicator = window.outbox_indicator
    assert not indicator.isVisible()

    item = _queue_reply(qtbot, app_session, thread)
    assert indicator.isVisible()
    assert indicator.text() == "1 waiting to send"

    fail_item(app_session, item.id, "Rejected.")
    assert indicator.text() == "1 failed"


def test_indicator_shows_worker_status(window, app_session):
    app_session.report_outbox(
        OutboxStatus(OutboxState.OFFLINE, queued=4, failed=0, message="Offline.")
    )
    assert window.outbox_indicator.text() == "4 waiting to send"
    assert window.outbox_indicator.toolTip() == "Offline."


def test_outbox_dialog_retries_and_discards(qtbot, window, app_session, thread):
    item = _queue_reply(qtbot, app_session, thread)
    fail_item(app_session, item.id, "The server rejected it.")
    window.outbox_indicator.click()
    dialog = window._outbox_dialog
    assert dialog.isVisible()
    assert dialog.list.count() == 1
    assert "The server rejected it." in dialog.list.item(0).text()

    dialog.list.setCurrentRow(0)
    assert dialog.retry_button.isEnabled()
    dialog.retry_button.click()
    qtbot.waitUntil(
        lambda: app_session.outbox.get_item(item.id).state == "queued", timeout=3000
    )
    qtbot.waitUntil(lambda: "waiting" in dialog.list.item(0).text(), timeout=3000)
    assert not dialog.retry_button.isEnabled()

    dialog.discard_button.click()
    qtbot.waitUntil(lambda: app_session.outbox.list_items() == [], timeout=3000)
    qtbot.waitUntil(lambda: dialog.empty_label.isVisible(), timeout=3000)


def test_drafts_dialog_lists_and_opens(qtbot, window, store, thread):
    window.show_composer("!general:x").title_edit.setText("Unfinished")
    qtbot.waitUntil(lambda: len(drafts.list_drafts(store)) == 1, timeout=3000)
    window._composers[("discussion", "!general:x")].close()

    dialog = window.show_drafts()
    assert dialog.list.count() == 1
    assert "New discussion in General" in dialog.list.item(0).text()
    assert "Unfinished" in dialog.list.item(0).text()

    opened = []
    dialog.open_requested.connect(opened.append)
    dialog.open_button.click()
    assert opened[0].composer == "discussion"
    composer = window._composers[("discussion", "!general:x")]
    assert composer.isVisible()
    assert composer.title_edit.text() == "Unfinished"


def test_reply_draft_opens_its_thread(qtbot, window, store, thread):
    asyncio.ensure_future(
        drafts.save_draft(store, "reply", thread, room_id="!general:x", body="Later")
    )
    qtbot.waitUntil(lambda: len(drafts.list_drafts(store)) == 1, timeout=3000)

    dialog = window.show_drafts()
    assert "Reply in General" in dialog.list.item(0).text()
    dialog.open_button.click()
    assert window.thread_view.current_discussion() == thread
    assert window.thread_view.reply_box.editor.toPlainText() == "Later"


def test_drafts_dialog_follows_saves(qtbot, window, store, thread):
    dialog = window.show_drafts()
    assert dialog.empty_label.isVisible()

    composer = window.show_composer("!general:x")
    composer.title_edit.setText("Typed while open")
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=3000)
    assert "Typed while open" in dialog.list.item(0).text()
    assert not dialog.empty_label.isVisible()

    composer.discard_button.click()
    qtbot.waitUntil(lambda: dialog.empty_label.isVisible(), timeout=3000)
    assert drafts.list_drafts(store) == []
