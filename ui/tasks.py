"""Running coroutines for the UI and delivering their results on the UI thread.

Every piece of asynchronous work that a window or dialog starts goes through a
TaskRunner. The runner keeps a reference to each task until it ends, calls
back with the result or the error on the UI thread, and cancels whatever is
still running when its owner closes, so no task outlives the widget that
waits for it and no callback reaches a deleted widget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")

SuccessCallback = Callable[[Any], None]
FailureCallback = Callable[[BaseException], None]


class TaskRunner(QObject):
    """Runs coroutines on the qasync loop on behalf of one owner object.

    Callbacks run on the UI thread because qasync runs the asyncio loop there.
    A failure without an ``on_failure`` callback is logged with its traceback
    at ERROR, and one with a callback at DEBUG.
    """

    task_failed = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._tasks: set[asyncio.Task] = set()
        self._keyed: dict[Hashable, asyncio.Task] = {}
        self._closed = False
        if parent is not None:
            parent.destroyed.connect(self.cancel_all)

    def run(
        self,
        coroutine: Awaitable[T],
        on_success: Callable[[T], None] | None = None,
        on_failure: FailureCallback | None = None,
        *,
        key: Hashable | None = None,
    ) -> asyncio.Task:
        """Start coroutine and call back with its result or its exception.

        A task started with a key cancels the running task of the same key
        first, so only the latest request for one thing (one avatar, one
        sign-in) delivers a result.
        """
        if self._closed:
            coroutine.close()
            raise RuntimeError("TaskRunner.run called after cancel_all")
        if key is not None:
            previous = self._keyed.pop(key, None)
            if previous is not None:
                previous.cancel()

        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        if key is not None:
            self._keyed[key] = task
        task.add_done_callback(
            lambda done: self._finished(done, key, on_success, on_failure)
        )
        return task

    def _finished(
        self,
        task: asyncio.Task,
        key: Hashable | None,
        on_success: Callable[[Any], None] | None,
        on_failure: FailureCallback | None,
    ) -> None:
        self._tasks.discard(task)
        if key is not None and self._keyed.get(key) is task:
            del self._keyed[key]
        if self._closed or task.cancelled():
            return

        error = task.exception()
        if error is None:
            if on_success is not None:
                on_success(task.result())
            return
        if on_failure is not None:
            log.debug("Task %s failed", _task_name(task, key), exc_info=error)
            on_failure(error)
            return
        log.error("Background task %s failed", _task_name(task, key), exc_info=error)
        self.task_failed.emit(error)

    def pending(self) -> int:
        """Return how many tasks are still running."""
        return len(self._tasks)

    def cancel(self, key: Hashable) -> None:
        task = self._keyed.pop(key, None)
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        """Cancel every running task; their callbacks are never called."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._keyed.clear()

    async def wait_closed(self) -> None:
        """Cancel every task and wait until all of them have ended."""
        tasks = list(self._tasks)
        self.cancel_all()
        await asyncio.gather(*tasks, return_exceptions=True)


def _task_name(task: asyncio.Task, key: Hashable | None) -> str:
    """Return the task's coroutine name, with its key if it has one."""
    coroutine = task.get_coro()
    name = getattr(coroutine, "__qualname__", None) or task.get_name()
    return f"{name} ({key!r})" if key is not None else name
