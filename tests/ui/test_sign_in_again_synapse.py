"""Signing in again through AppController after the server ends the session."""

import asyncio

import httpx
import pytest
from PySide6.QtWidgets import QApplication

from app.drafts import list_drafts, save_draft
from app.outbox import local_id as local_id_of
from app.store import outbox_queries, queries
from app.sync import SyncState
from tests.app.outbox_support import server_events
from tests.conftest import TEST_PASSWORD
from tests.other_client import OtherClient
from ui.app import AppController

pytestmark = pytest.mark.synapse


def visible_sign_in_dialog():
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible() and widget.objectName() == "signInDialog":
            return widget
    return None


def submit_password(qtbot, dialog) -> None:
    """Submit the sign-in dialog, for this session only if the keyring fails."""
    dialog.password_edit.setText(TEST_PASSWORD)
    dialog.submit()
    qtbot.waitUntil(
        lambda: (
            not dialog.isVisible() or "keyring" in dialog.error_label.text().lower()
        ),
        timeout=20_000,
    )
    if dialog.isVisible():
        dialog.remember_check.setChecked(False)
        dialog.password_edit.setText(TEST_PASSWORD)
        dialog.submit()


def test_sign_in_again_sends_queued_item(qtbot, qasync_loop, synapse, make_user):
    user = make_user("gui-again", displayname="Gui Again")
    other = OtherClient(synapse.base_url, user.access_token, user.user_id)
    _space, board = other.create_space_with_board("Again Guild")
    cached = other.discussion(board, "Cached before", "Synced before sign-out.")

    controller = AppController()
    run = asyncio.ensure_future(
        controller.run(synapse.base_url, user.localpart, TEST_PASSWORD)
    )
    qtbot.waitUntil(
        lambda: controller.window is not None or visible_sign_in_dialog() is not None,
        timeout=20_000,
    )
    if controller.window is None:
        submit_password(qtbot, visible_sign_in_dialog())
    qtbot.waitUntil(lambda: controller.window is not None, timeout=20_000)
    first = controller.app_session
    indicator = controller.window.status_indicator
    qtbot.waitUntil(
        lambda: indicator.status().state == SyncState.ONLINE, timeout=30_000
    )
    qtbot.waitUntil(
        lambda: queries.get_discussion_post(first.store.reader(), cached) is not None,
        timeout=20_000,
    )
    store_path = first.store.path
    old_token = first.session.access_token

    # Another client call ends the app's session on the server.
    response = httpx.post(
        f"{synapse.base_url}/_matrix/client/v3/logout",
        headers={"Authorization": f"Bearer {old_token}"},
    )
    assert response.status_code == 200

    async def queue():
        await save_draft(
            first.store, "reply", cached, room_id=board, body="Half a reply"
        )
        return await first.outbox.queue_discussion(board, "Queued offline", "Body")

    queue_task = asyncio.ensure_future(queue())
    qtbot.waitUntil(queue_task.done, timeout=10_000)
    local_id = queue_task.result()

    window = controller.window
    qtbot.waitUntil(
        lambda: indicator.status().state == SyncState.SIGNED_OUT, timeout=60_000
    )
    assert indicator.label.text().startswith("Signed out")
    assert indicator.sign_in_button.isVisible()
    assert indicator.sign_in_button.text() == "Sign in again"
    titles = [
        event["content"].get("body", "")
        for event in server_events(synapse, user, board)
    ]
    assert not any(title.startswith("Queued offline") for title in titles)
    waiting = outbox_queries.list_items(first.store.reader())
    assert [local_id_of(item.client_id) for item in waiting] == [local_id]
    assert outbox_queries.count_items(first.store.reader()) == (1, 0)

    indicator.sign_in_button.click()
    qtbot.waitUntil(lambda: visible_sign_in_dialog() is not None, timeout=10_000)
    submit_password(qtbot, visible_sign_in_dialog())
    qtbot.waitUntil(lambda: controller.app_session not in (None, first), timeout=20_000)

    second = controller.app_session
    assert controller.window is not window
    assert second.session.access_token != old_token
    assert second.session.user_id == user.user_id
    assert second.store.path == store_path
    conn = second.store.reader()
    assert queries.get_discussion_post(conn, cached) is not None
    drafts = list_drafts(second.store)
    assert [draft.body for draft in drafts] == ["Half a reply"]

    def sent_bodies():
        return [
            event["content"].get("body", "")
            for event in server_events(synapse, user, board)
            if event["content"].get("body", "").startswith("Queued offline")
        ]

    qtbot.waitUntil(lambda: len(sent_bodies()) >= 1, timeout=30_000)
    new_indicator = controller.window.status_indicator
    qtbot.waitUntil(
        lambda: new_indicator.status().state == SyncState.ONLINE, timeout=30_000
    )
    qtbot.wait(1_000)
    assert sent_bodies() == ["Queued offline\n\nBody"]
    assert outbox_queries.count_items(second.store.reader()) == (0, 0)

    controller.window.close()
    qtbot.waitUntil(run.done, timeout=20_000)
    assert run.result() == 0
    other.close()
