"""The sync indicator's text for each state."""

from datetime import datetime

import pytest

from app.sync import SyncState, SyncStatus
from ui.status_bar import StatusIndicator, status_text

NOW = datetime(2025, 3, 4, 15, 0).timestamp()
SYNCED = datetime(2025, 3, 4, 14, 32).timestamp()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (SyncStatus(SyncState.ONLINE, SYNCED), "Online · synced 14:32"),
        (SyncStatus(SyncState.SYNCING, SYNCED), "Syncing…"),
        (
            SyncStatus(SyncState.OFFLINE, SYNCED, retry_in=8),
            "Offline — retrying in 8 s (last synced 14:32)",
        ),
        (
            SyncStatus(SyncState.OFFLINE, None, retry_in=30),
            "Offline — retrying in 30 s",
        ),
        (
            SyncStatus(SyncState.SIGNED_OUT, SYNCED, message="The session has ended."),
            "Signed out: The session has ended.",
        ),
    ],
)
def test_status_text_for_each_state(status, expected):
    assert status_text(status, NOW) == expected


def test_status_text_names_day_of_older_sync():
    yesterday = datetime(2025, 3, 3, 9, 5).timestamp()
    text = status_text(SyncStatus(SyncState.ONLINE, yesterday), NOW)
    assert text == "Online · synced 3 Mar 09:05"


def test_sign_in_again_shows_only_when_signed_out(qtbot):
    indicator = StatusIndicator()
    qtbot.addWidget(indicator)
    indicator.show()

    indicator.set_status(SyncStatus(SyncState.ONLINE, SYNCED))
    assert not indicator.sign_in_button.isVisible()
    indicator.set_status(SyncStatus(SyncState.SIGNED_OUT, message="Token revoked."))
    assert indicator.sign_in_button.isVisible()
    assert indicator.label.text() == "Signed out: Token revoked."
    with qtbot.waitSignal(indicator.sign_in_requested):
        indicator.sign_in_button.click()


def test_offline_countdown_updates(qtbot):
    indicator = StatusIndicator()
    qtbot.addWidget(indicator)
    indicator.set_status(SyncStatus(SyncState.OFFLINE, None, retry_in=3))
    assert indicator.label.text() == "Offline — retrying in 3 s"
    qtbot.waitUntil(
        lambda: indicator.label.text() == "Offline — retrying in 2 s", timeout=3000
    )


def test_main_window_status_follows_listener(qtbot, qasync_loop, app_session):
    from ui.main_window import MainWindow

    window = MainWindow(app_session)
    qtbot.addWidget(window)
    app_session.report(SyncStatus(SyncState.ONLINE, SYNCED))
    assert window.status_indicator.label.text().startswith("Online · synced ")
    app_session.report(SyncStatus(SyncState.OFFLINE, None, retry_in=8))
    # The time of the last sync is kept when the loop reports none.
    assert "(last synced " in window.status_indicator.label.text()


class _CrashingClient:
    """A client whose /sync raises an error that no network code maps."""

    async def sync(self, **request):
        raise RuntimeError("bug while syncing")


def test_sync_crash_shows_offline_not_syncing(qtbot, qasync_loop, app_session, store):
    from app.sync import SyncLoop
    from ui.main_window import MainWindow

    window = MainWindow(app_session)
    qtbot.addWidget(window)
    app_session.report(SyncStatus(SyncState.SYNCING))
    assert window.status_indicator.label.text() == "Syncing…"
    sync = SyncLoop(_CrashingClient(), store, on_status=app_session.report)
    task = qasync_loop.create_task(sync.run())

    label = window.status_indicator.label
    qtbot.waitUntil(lambda: label.text().startswith("Offline — retrying in "))
    assert "unexpected error" in label.toolTip()
    task.cancel()
    qtbot.waitUntil(task.done)
