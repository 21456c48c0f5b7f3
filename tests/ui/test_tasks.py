"""TaskRunner delivers results on the UI thread and cancels on close."""

import asyncio
import logging

from PySide6.QtCore import QObject

from ui.tasks import TaskRunner


async def _value(value, delay=0.0):
    await asyncio.sleep(delay)
    return value


async def _fail():
    raise ValueError("broken")


def test_runner_delivers_success(qtbot, qasync_loop):
    runner = TaskRunner()
    results = []
    runner.run(_value(42), results.append)
    # Done callbacks run one loop turn after the task finishes.
    qtbot.waitUntil(lambda: results != [])
    assert results == [42]
    assert runner.pending() == 0


def test_runner_delivers_failure(qtbot, qasync_loop):
    runner = TaskRunner()
    errors = []
    runner.run(_fail(), on_failure=errors.append)
    qtbot.waitUntil(lambda: errors != [])
    assert len(errors) == 1
    assert isinstance(errors[0], ValueError)


def test_unhandled_failure_is_signalled(qtbot, qasync_loop, caplog):
    runner = TaskRunner()
    with qtbot.waitSignal(runner.task_failed) as signal:
        runner.run(_fail())
    assert isinstance(signal.args[0], ValueError)
    assert "Background task _fail failed" in caplog.text
    assert "ValueError: broken" in caplog.text


def test_same_key_cancels_earlier_task(qtbot, qasync_loop):
    runner = TaskRunner()
    results = []
    first = runner.run(_value("first", 5), results.append, key="avatar")
    runner.run(_value("second"), results.append, key="avatar")
    qtbot.waitUntil(lambda: results != [])
    assert first.cancelled()
    assert results == ["second"]


def test_owner_destroyed_cancels_tasks(qtbot, qasync_loop):
    owner = QObject()
    runner = TaskRunner(owner)
    results = []
    task = runner.run(_value("late", 5), results.append)
    owner.deleteLater()
    qtbot.waitUntil(task.done)
    qtbot.wait(50)
    assert task.cancelled()
    assert results == []


def test_wait_closed_waits_for_cancellation(qtbot, qasync_loop):
    runner = TaskRunner()
    slow = runner.run(_value("slow", 5))
    closing = qasync_loop.create_task(runner.wait_closed())
    qtbot.waitUntil(closing.done)
    assert slow.cancelled()
    assert runner.pending() == 0


def test_failure_with_callback_is_logged(qtbot, qasync_loop, caplog):
    caplog.set_level(logging.DEBUG, logger="ui.tasks")
    runner = TaskRunner()
    errors = []
    runner.run(_fail(), on_failure=errors.append, key="sign-in")
    qtbot.waitUntil(lambda: errors != [])

    record = next(r for r in caplog.records if r.name == "ui.tasks")
    assert record.levelno == logging.DEBUG
    assert "_fail ('sign-in') failed" in record.getMessage()
    assert record.exc_info[1] is errors[0]


def test_callback_exception_is_logged(qtbot, qasync_loop, caplog):
    runner = TaskRunner()
    called = []

    def broken_callback(value):
        called.append(value)
        raise RuntimeError("callback broke")

    runner.run(_value(1), broken_callback)
    qtbot.waitUntil(lambda: called != [])
    qtbot.wait(20)

    assert "RuntimeError: callback broke" in caplog.text
    assert runner.pending() == 0
