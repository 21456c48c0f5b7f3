"""Time in the desktop UI from pressing Post or Send to the pending post on screen.

The real MainWindow runs on Qt's offscreen platform over a copy of the
start-up benchmark's cache (10,000 discussions), with a real Outbox and no
worker or server, so every queued post stays pending. Each discussion sample
opens the composer on the first board, fills the title and text, starts the
clock and clicks Post. The clock stops when the discussion list's first row
is that title with send state "pending" and the list's viewport has painted
since. Each reply sample types into the open thread's reply box and clicks
Send. The clock stops when the thread document shows that reply and
"Sending…" and the thread's viewport has painted since.
"""

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.generate_cache import generate

CACHE = Path(__file__).resolve().parent / "out" / "startup-cache.sqlite3"
USER_ID = "@person0:bench.test"
# No client is built, so nothing is sent to this address.
HOMESERVER_URL = "http://127.0.0.1:9"
TIMEOUT_S = 10.0


class _PaintCounter:
    """Counts paint events on one widget through an event filter."""

    def __init__(self, widget):
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint

        class Filter(QObject):
            def eventFilter(filter_self, watched, event):
                if event.type() == paint:
                    self.count += 1
                return False

        self.count = 0
        self._filter = Filter()
        widget.installEventFilter(self._filter)


def _wait_until(app, post_is_shown, painter: _PaintCounter) -> None:
    """Process events until post_is_shown() is true and a paint has followed."""
    deadline = time.perf_counter() + TIMEOUT_S
    paints_when_shown = None
    while time.perf_counter() < deadline:
        app.processEvents()
        if paints_when_shown is None and post_is_shown():
            paints_when_shown = painter.count
        if paints_when_shown is not None and painter.count > paints_when_shown:
            return
    raise TimeoutError(f"The pending post was not painted within {TIMEOUT_S} s.")


def _settle(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()


def _choose_first_board(window) -> str:
    pane = window.discussion_pane
    for row in range(pane.boards.rowCount()):
        entry = pane.boards.entry(row)
        if entry.kind == "board" and entry.joined and len(entry.room_ids) == 1:
            pane.choose_board(entry.entry_id)
            room_id = pane.board_for_new_discussion()
            if room_id is not None:
                return room_id
    raise RuntimeError("The first space has no board that takes new discussions.")


def _figures(samples_ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


def _measure_discussions(app, window, room_id: str, samples: int) -> list[float]:
    from ui.models.discussions import SEND_STATE_ROLE

    model = window.discussion_pane.discussions
    painter = _PaintCounter(window.discussion_pane.list_view.viewport())
    results = []
    for number in range(samples):
        title = f"Latency sample {number}"
        composer = window.show_composer(room_id)
        composer.title_edit.setText(title)
        composer.body_edit.setPlainText("Measured from the click on Post.")
        _settle(app, 0.02)

        def post_is_shown(title: str = title) -> bool:
            index = model.index(0, 0)
            return (
                index.isValid()
                and model.data(index) == title
                and model.data(index, SEND_STATE_ROLE) == "pending"
            )

        started = time.perf_counter()
        composer.post_button.click()
        _wait_until(app, post_is_shown, painter)
        results.append((time.perf_counter() - started) * 1000)
        _settle(app, 0.02)
    return results


def _measure_replies(app, window, samples: int) -> list[float]:
    thread = window.thread_view
    box = thread.reply_box
    painter = _PaintCounter(thread.browser.viewport())
    results = []
    for number in range(samples):
        body = f"Latency reply {number}"
        box.editor.setPlainText(body)
        _settle(app, 0.02)

        def post_is_shown(body: str = body) -> bool:
            text = thread.document().toPlainText()
            return body in text and "Sending…" in text

        started = time.perf_counter()
        box.send_button.click()
        _wait_until(app, post_is_shown, painter)
        results.append((time.perf_counter() - started) * 1000)
        # Let the outbox finish the draft and label updates before the next one.
        _settle(app, 0.05)
    return results


def run(samples: int = 100) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not CACHE.exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        generate(CACHE)
    home = Path(tempfile.mkdtemp(prefix="cp-send-latency-"))
    os.environ["COMMONPLACE_HOME"] = str(home)
    try:
        return _run_in_window(home, samples)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_in_window(home: Path, samples: int) -> dict:
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from tests.ui.builders import FakeAppSession, Session
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)

    database = home / "cache.sqlite3"
    shutil.copy(CACHE, database)
    store = Store(database)
    session = FakeAppSession(
        store, Session(homeserver_url=HOMESERVER_URL, user_id=USER_ID)
    )
    window = MainWindow(session)
    window.show()
    try:
        room_id = _choose_first_board(window)
        _settle(app, 0.5)
        discussions = _measure_discussions(app, window, room_id, samples)

        # The last post is selected after Post, so its thread is open.
        _settle(app, 0.5)
        if window.thread_view.current_discussion() is None:
            raise RuntimeError("No thread is open for the reply samples.")
        replies = _measure_replies(app, window, samples)
    finally:
        window.close()
        app.processEvents()
        store.close()

    post_median, post_p95, post_max = _figures(discussions)
    reply_median, reply_p95, reply_max = _figures(replies)
    return {
        "samples": samples,
        "discussion median ms": post_median,
        "discussion p95 ms": post_p95,
        "discussion max ms": post_max,
        "reply median ms": reply_median,
        "reply p95 ms": reply_p95,
        "reply max ms": reply_max,
    }


if __name__ == "__main__":
    print(run())
