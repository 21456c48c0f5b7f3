"""Signing in through AppController against a real Synapse, then syncing."""

import asyncio

import pytest
from PySide6.QtWidgets import QApplication

from app.sync import SyncState
from devtools.synapse import unique_localpart
from tests.conftest import TEST_PASSWORD
from ui.app import AppController
from ui.main_window import MainWindow

pytestmark = pytest.mark.synapse


def test_sign_in_opens_window_and_syncs(qtbot, qasync_loop, synapse):
    localpart = unique_localpart("gui")
    synapse.register(localpart, TEST_PASSWORD, displayname="GUI tester")
    controller = AppController()
    run = asyncio.ensure_future(
        controller.run(synapse.base_url, localpart, TEST_PASSWORD)
    )
    # The test keyring always fails, so the sign-in dialog comes back with
    # the keyring error; signing in for this session only then succeeds.
    qtbot.waitUntil(
        lambda: (
            controller.window is not None
            or any(
                widget.isVisible() and widget.objectName() == "signInDialog"
                for widget in QApplication.topLevelWidgets()
            )
        ),
        timeout=20_000,
    )
    if controller.window is None:
        dialog = next(
            widget
            for widget in QApplication.topLevelWidgets()
            if widget.isVisible() and widget.objectName() == "signInDialog"
        )
        assert "keyring" in dialog.error_label.text().lower()
        dialog.remember_check.setChecked(False)
        dialog.password_edit.setText(TEST_PASSWORD)
        dialog.submit()
    qtbot.waitUntil(lambda: controller.window is not None, timeout=20_000)

    window: MainWindow = controller.window
    indicator = window.status_indicator
    qtbot.waitUntil(
        lambda: indicator.status().state == SyncState.ONLINE, timeout=30_000
    )
    assert indicator.label.text().startswith("Online · synced ")
    window.close()
    qtbot.waitUntil(run.done, timeout=20_000)
    assert run.result() == 0
