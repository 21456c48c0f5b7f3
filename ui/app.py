"""The desktop app's entry point and the controller of its windows.

run_gui makes the QApplication and one qasync event loop, then AppController
decides what to show: the main window at once from the cache when a saved
session loads, a sign-in with the given credentials, or the sign-in dialog.
The window opens from the cache first, and syncing starts after it is shown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ui.cache_dialogs import (
    new_cache_box,
    not_deleted_box,
    offers_new_cache,
    unavailable_box,
    unavailable_text,
)
from ui.dialogs import KeyringChoice, KeyringProblemDialog, run_dialog
from ui.exception_hooks import install_exception_hooks
from ui.resources import app_icon, style_sheet
from ui.tasks import TaskRunner

log = logging.getLogger(__name__)

APP_NAME = "Commonplace"
BODY_POINT_SIZE = 10
# When set, the app prints this variable's value once the main window has
# shown its lists, then quits: benchmarks/startup.py times that moment.
BENCHMARK_READY_VARIABLE = "COMMONPLACE_BENCHMARK_READY"
# The command line's code for a cache that cannot be used (app.cli.EXIT_CACHE).
CACHE_EXIT_CODE = 8
# The command line's code for a missing display (app.cli.EXIT_NO_DISPLAY).
NO_DISPLAY_EXIT_CODE = 10
NO_DISPLAY_MESSAGE = (
    "No display found: neither DISPLAY nor WAYLAND_DISPLAY is set, so the "
    "desktop app cannot open a window.\n"
    "To run on a virtual display: xvfb-run -a commonplace\n"
    "The command line works without a display: see commonplace --help"
)


def _configure_logging() -> None:
    """Set up logging unless the caller (the command line) already has."""
    if logging.getLogger().handlers:
        return
    try:
        from app.logging_setup import configure_logging
    except ImportError:
        logging.basicConfig(level=logging.INFO)
        return
    configure_logging(logging.INFO, console=False)


def missing_display() -> bool:
    """Return whether Qt would find no display to open a window on.

    On Linux without DISPLAY or WAYLAND_DISPLAY, PySide6 6.11 aborts the
    process (exit code 134) with a misleading hint to install libxcb-cursor0.
    A QT_QPA_PLATFORM of the user's choice (offscreen, vnc) is left to Qt.
    """
    if not sys.platform.startswith("linux"):
        return False
    if os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def make_application(argv: list[str] | None = None) -> QApplication:
    """Return the QApplication, made with Commonplace's name, icon and style."""
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("commonplace")
    app.setWindowIcon(app_icon())
    font = app.font()
    if font.pointSizeF() < BODY_POINT_SIZE:
        font.setPointSizeF(BODY_POINT_SIZE)
        app.setFont(font)
    app.setStyleSheet(style_sheet())
    return app


def run_gui(
    server: str | None = None, user: str | None = None, password: str | None = None
) -> int:
    """Run the desktop app until its last window closes; return the exit code.

    With no saved session, server, user and password sign in at start-up
    (the demo passes them); any of them missing opens the sign-in dialog.
    Without a display it prints what to do and returns NO_DISPLAY_EXIT_CODE.
    """
    _configure_logging()
    if missing_display():
        log.error("Desktop app not started: DISPLAY and WAYLAND_DISPLAY are not set")
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return NO_DISPLAY_EXIT_CODE
    import qasync

    restore_hooks = install_exception_hooks()
    try:
        app = make_application()
        app.setQuitOnLastWindowClosed(False)
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        from app.policy import system_policy

        controller = AppController(policy=system_policy())
        with loop:
            return loop.run_until_complete(controller.run(server, user, password))
    finally:
        restore_hooks()


class AppController(QObject):
    """Owns the account manager, the signed-in AppSession and the main window.

    ``accounts`` and ``session_factory`` replace AccountManager and AppSession
    in tests. ``policy`` is the system-wide policy (app.policy.Policy), read
    once at start; None reads this computer's.
    """

    def __init__(self, accounts=None, session_factory=None, parent=None, policy=None):
        super().__init__(parent)
        self._accounts = accounts
        self._session_factory = session_factory
        self._policy = policy
        self.runner = TaskRunner(self)
        self.app_session = None
        self.window = None
        self._finished: asyncio.Future[int] | None = None
        self._replacing_window = False

    @property
    def accounts(self):
        if self._accounts is None:
            from app.account import AccountManager

            self._accounts = AccountManager(policy=self.policy)
        return self._accounts

    @property
    def policy(self):
        if self._policy is None:
            from app.policy import system_policy

            self._policy = system_policy()
        return self._policy

    # -- Start-up ------------------------------------------------------------

    async def run(
        self,
        server: str | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> int:
        """Show the first window and wait until the app should exit."""
        self._finished = asyncio.get_running_loop().create_future()
        await self._report_policy_problems()
        session, keyring_available = await self._restore_session()
        if session is _QUIT:
            return 0

        # A saved session on a server that the policy no longer allows.
        error = getattr(self.accounts, "signed_out_reason", "")
        if session is None and server and user and password:
            session, error = await self._sign_in_directly(server, user, password)
        if session is None:
            session = await self.ask_sign_in(
                server=server or "",
                user=user or "",
                keyring_available=keyring_available,
                error=error,
            )
        if session is None or not await self.open_main(session):
            return self._finished.result() if self._finished.done() else 0
        return await self._finished

    async def _report_policy_problems(self) -> None:
        """Show what was wrong with the policy; the app goes on without those parts."""
        problems = self.policy.problems
        if not problems:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Policy not fully applied", "")
        box.setObjectName("policyProblemBox")
        box.setText(
            "Part of your organisation's policy for Commonplace could not be "
            "applied, so default settings are used for it. Tell your IT "
            "department."
        )
        box.setDetailedText("\n\n".join(problems))
        await run_dialog(box)
        box.deleteLater()

    async def _restore_session(self):
        """Return (saved session or None or _QUIT, whether the keyring works)."""
        from app.credentials import KeyringLocked, KeyringUnavailable

        while True:
            try:
                session = await _in_thread(self.accounts.load_session)
            except KeyringUnavailable as error:
                log.warning("Saved session not loaded: %s", error.reason)
                dialog = KeyringProblemDialog(
                    error.message, isinstance(error, KeyringLocked)
                )
                choice = await run_dialog(dialog)
                dialog.deleteLater()
                if choice == KeyringChoice.RETRY:
                    continue
                if choice == KeyringChoice.SESSION_ONLY:
                    return None, False
                return _QUIT, False
            return session, True

    async def _sign_in_directly(self, server: str, user: str, password: str):
        from app.credentials import KeyringUnavailable
        from app.matrix.errors import MatrixError
        from ui.sign_in_dialog import sign_in_error_text

        try:
            return await self.accounts.sign_in(server, user, password), ""
        except (MatrixError, KeyringUnavailable) as error:
            log.warning("Sign-in at start-up failed: %s", type(error).__name__)
            return None, sign_in_error_text(error)

    async def ask_sign_in(
        self,
        *,
        server: str = "",
        user: str = "",
        keyring_available: bool = True,
        error: str = "",
        parent: QWidget | None = None,
    ):
        """Show the sign-in dialog; return the new session, or None if cancelled."""
        from ui.sign_in_dialog import SignInDialog

        if not server:
            server = getattr(
                getattr(self.accounts, "settings", None), "last_server", ""
            )
        result = {}

        async def sign_in(server, user, password, session_only):
            return await self.accounts.sign_in(
                server, user, password, session_only=session_only
            )

        async def login_flows(server):
            return await self.accounts.login_flows(server)

        async def sign_in_sso(server, idp_id, session_only, open_url, on_browser):
            return await self.accounts.sign_in_sso(
                server,
                open_url,
                idp_id=idp_id,
                session_only=session_only,
                on_browser=on_browser,
            )

        dialog = SignInDialog(
            sign_in,
            policy=self.policy,
            server=server,
            user=user,
            session_only=not keyring_available,
            keyring_available=keyring_available,
            login_flows=login_flows,
            sign_in_sso=sign_in_sso,
            parent=parent,
        )
        dialog.signed_in.connect(lambda session: result.setdefault("session", session))
        dialog.show_error(error)
        await run_dialog(dialog)
        dialog.deleteLater()
        return result.get("session")

    # -- The main window -----------------------------------------------------

    def _make_app_session(self, session):
        if self._session_factory is not None:
            return self._session_factory(session)
        from app.session import AppSession

        return AppSession(session, policy=self.policy)

    async def open_main(self, session) -> bool:
        """Open the cache and the main window for session, then start syncing.

        Returns False when the cache could not be opened. If the user cannot
        fix that from here, the exit code is CACHE_EXIT_CODE.
        """
        app_session = await self._open_app_session(session)
        if app_session is None:
            return False

        from ui.main_window import MainWindow

        self.app_session = app_session
        self.window = MainWindow(app_session)
        self.window.sign_out_requested.connect(self._sign_out_requested)
        self.window.sign_in_requested.connect(self._sign_in_again_requested)
        self.window.closed.connect(self._window_closed)
        self.window.show()
        app_session.start()
        log.info("Main window open for %s", session.user_id)
        ready_line = os.environ.get(BENCHMARK_READY_VARIABLE)
        if ready_line:
            # Runs after the show and paint events queued above.
            QTimer.singleShot(0, lambda: self._report_ready(ready_line))
        return True

    def _report_ready(self, ready_line: str) -> None:
        """Print ready_line for the start-up benchmark, then close the window."""
        self.window.repaint()
        print(ready_line, flush=True)
        self.window.close()

    async def _open_app_session(self, session):
        """Return an AppSession for session, or None if its cache cannot be used."""
        from app.errors import CacheError

        try:
            return self._make_app_session(session)
        except (CacheError, OSError) as error:
            log.error("Cache not opened: %s", unavailable_text(error))
            if not offers_new_cache(error):
                await self._quit_for_cache_error(error)
                return None
            if not await self._offer_new_cache(error):
                return None
        try:
            return self._make_app_session(session)
        except (CacheError, OSError) as error:
            log.error("New cache not opened: %s", unavailable_text(error))
            await self._quit_for_cache_error(error)
            return None

    async def _offer_new_cache(self, error) -> bool:
        """Ask whether to replace the cache, and delete it if so."""
        from app.store.store import delete_cache_files

        box, new_cache = new_cache_box(error)
        await run_dialog(box)
        box.deleteLater()
        if box.clickedButton() is not new_cache:
            return False
        try:
            delete_cache_files(error.path)
        except OSError as delete_error:
            log.error("Cache at %s not deleted: %s", error.path, delete_error)
            await self._quit_for_cache_error(delete_error)
            return False
        log.info("Deleted the cache at %s to start a new one", error.path)
        return True

    async def _quit_for_cache_error(self, error: BaseException) -> None:
        """Explain why the cache cannot be opened, then end with CACHE_EXIT_CODE."""
        box = unavailable_box(error)
        await run_dialog(box)
        box.deleteLater()
        self._finish(CACHE_EXIT_CODE)

    async def _delete_cache(self, path) -> None:
        """Delete the cache at path; on OSError, log it, show a warning and go on."""
        from app.store.store import delete_cache_files

        try:
            delete_cache_files(path)
        except OSError as error:
            log.warning("Cache at %s not deleted: %s", path, error)
            box = not_deleted_box(path, error)
            await run_dialog(box)
            box.deleteLater()
            return
        log.info("Deleted the cache at %s", path)

    def _window_closed(self) -> None:
        if self._replacing_window:
            return
        self.runner.run(self._shut_down(), on_failure=self._shutdown_failed)

    def _shutdown_failed(self, error: BaseException) -> None:
        log.error("Closing the session failed", exc_info=error)
        self._finish(1)

    async def _shut_down(self) -> None:
        await self._close_session()
        self._finish(0)

    async def _close_session(self) -> None:
        app_session, self.app_session = self.app_session, None
        if app_session is not None:
            await app_session.close()

    def _finish(self, code: int) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(code)

    def _replace_window(self) -> None:
        window, self.window = self.window, None
        if window is not None:
            self._replacing_window = True
            try:
                window.close()
            finally:
                self._replacing_window = False
            window.deleteLater()

    # -- Signing out and in again --------------------------------------------

    def _sign_out_requested(self, delete_cache: bool) -> None:
        self.runner.run(
            self.sign_out(delete_cache),
            on_failure=self._sign_out_failed,
            key="sign-out",
        )

    def _sign_out_failed(self, error: BaseException) -> None:
        log.error("Sign-out failed", exc_info=error)
        if self.window is not None:
            self.window.setEnabled(True)
            QMessageBox.warning(
                self.window,
                "Sign-out failed",
                f"Signing out failed ({type(error).__name__}). Details are in "
                "the log file. Try again, or quit Commonplace.",
            )

    async def sign_out(self, delete_cache: bool) -> None:
        """Sign out on the server if it responds, close the session, then ask again."""
        from app.credentials import KeyringUnavailable

        app_session = self.app_session
        if app_session is None:
            return
        if self.window is not None:
            self.window.setEnabled(False)
            self.window.statusBar().showMessage("Signing out…")
        try:
            await self.accounts.sign_out(app_session.session)
        except KeyringUnavailable as error:
            # The settings no longer name the account, so the token left in the
            # keyring is never read again.
            log.warning("Token not deleted from the keyring: %s", error.reason)
        store_path = app_session.store.path
        thumbnails = getattr(app_session, "thumbnails", None)
        files = getattr(app_session, "files", None)
        await self._close_session()
        self._replace_window()
        if self.policy.is_locked("wipe_cache_on_sign_out"):
            delete_cache = self.policy.wipe_cache_on_sign_out
        if delete_cache:
            await self._delete_cache(store_path)
            # Downloaded files are content too, as sensitive as the posts.
            for media in (thumbnails, files):
                if media is not None:
                    shutil.rmtree(media.folder, ignore_errors=True)

        session = await self.ask_sign_in()
        if session is None or not await self.open_main(session):
            self._finish(0)

    def _sign_in_again_requested(self) -> None:
        self.runner.run(self.sign_in_again(), key="sign-in-again")

    async def sign_in_again(self) -> None:
        """Sign in after the server ended the session, keeping the cache."""
        old = self.app_session
        if old is None:
            return
        session = await self.ask_sign_in(
            server=old.session.homeserver_url,
            user=old.session.user_id,
            parent=self.window,
        )
        if session is None:
            return
        await self._close_session()
        self._replace_window()
        if session.user_id != old.session.user_id:
            # Another account must not see this one's cached content.
            await self._delete_cache(old.store.path)
        if not await self.open_main(session):
            self._finish(0)


async def _in_thread(function):
    """Run a blocking call (a keyring read can wait for an unlock prompt)."""
    # A pool of our own, shut down at once: qasync's default executor keeps
    # QThreads that Qt reports as destroyed while running at exit.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyring") as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, function)


class _Quit:
    """Marks the user's choice to quit at the keyring prompt."""


_QUIT = _Quit()
