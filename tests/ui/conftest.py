"""Fixtures for the UI tests: one qasync loop, and a cache filled through apply_sync."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import qasync

from app.store import Store
from tests.ui.builders import CacheBuilder, FakeAppSession


@pytest.fixture(scope="session")
def qasync_loop(qapp) -> Iterator[qasync.QEventLoop]:
    """One qasync loop for the whole session, running inside Qt's own loop.

    Stopping a qasync loop calls QApplication.exit(), after which qtbot's
    waits return at once, so the loop is never stopped between tests.
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    # NOTE: qasync's default executor runs asyncio.to_thread on QThreads that
    # are never joined, and Qt aborts the process at exit when one is left
    # (exit code 134). Plain threads end cleanly. ui/app.py does not set this,
    # so the desktop app may abort the same way at exit after a file transfer.
    executor = ThreadPoolExecutor(thread_name_prefix="asyncio")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    executor.shutdown(wait=True)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


@pytest.fixture
def cache(store: Store) -> CacheBuilder:
    return CacheBuilder(store)


@pytest.fixture
def app_session(store: Store) -> FakeAppSession:
    return FakeAppSession(store)


@pytest.fixture(scope="session", autouse=True)
def empty_clipboard_at_exit(qapp) -> Iterator[None]:
    """Clear the clipboard after the UI tests.

    Data left on the offscreen platform's clipboard makes Qt crash while the
    interpreter exits, which turns a passing run into exit code 139.
    """
    yield
    qapp.clipboard().clear()
