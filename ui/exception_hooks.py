"""Logging of exceptions that nothing catches, so the app keeps running.

PySide6 hands an exception raised in a slot or in a Python override of a Qt
method to sys.excepthook and then returns to the event loop. Python's default
hook prints it to stderr, which the user of a desktop app does not see, so
install_exception_hooks logs it with its traceback. The GUI's log goes to the
log file (app.logging_setup). Exceptions in tasks and their callbacks reach
the asyncio logger through the event loop's exception handler.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


def install_exception_hooks() -> Callable[[], None]:
    """Log uncaught exceptions of the UI thread and of other threads.

    Returns a function that puts the previous hooks back.
    """
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def log_uncaught(
        kind: type[BaseException],
        error: BaseException,
        traceback: TracebackType | None,
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous_hook(kind, error, traceback)
            return
        log.error(
            "Uncaught %s in the UI thread (the app keeps running)",
            kind.__name__,
            exc_info=(kind, error, traceback),
        )

    def log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "unknown"
        log.error(
            "Uncaught %s in thread %s",
            args.exc_type.__name__,
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = log_uncaught
    threading.excepthook = log_uncaught_in_thread

    def restore() -> None:
        sys.excepthook = previous_hook
        threading.excepthook = previous_thread_hook

    return restore
