"""``python -m devtools.screenshots``: pictures of every screen, for review and docs.

It starts or reuses the demo server (devtools.demo), signs in as the demo user
in a throw-away profile, syncs once, caches every avatar, then opens each
screen over the demo organisation and saves PNGs under docs/screenshots at
1024x700 and 1920x1080. The encrypted board, which the demo organisation does
not have, and every screen when Synapse cannot start (or with --sample) show
sample content written straight into a cache: Markdown, Japanese and Arabic
text, emoji and a 500-character space name. ``./dev screenshots`` runs it
under Xvfb; QT_QPA_PLATFORM=offscreen works too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((1024, 700), (1920, 1080))

# Discussions of the demo organisation that the main and question screens open:
# Markdown with headings, lists and a reply in Japanese, and a question whose
# post and answers have SQL code blocks.
MAIN_DISCUSSION = "Welcome to Commonplace! Start here 👋"
QUESTION = "How do I get a running total per customer with window functions?"
# The search screen's query. In the sample content it finds discussions, a
# person and a space.
SEARCH_QUERY = "data"
EXPERT_QUERY = "sql"
# PNG files larger than this are saved with a 256-colour palette instead, so
# that every committed screenshot stays well under 300 kB.
MAX_PNG_BYTES = 250_000


@dataclass
class Scene:
    """The content of the screens: a session for MainWindow and the ids to open."""

    session: object
    space: str
    discussion: str
    profile_user: str
    synced_at: float
    question: str | None = None
    encrypted_space: str | None = None
    sign_in: Callable | None = None  # async (server, user, password, session_only)
    server: str = ""
    user: str = ""


class DemoUnavailable(RuntimeError):
    """The demo server could not be started, seeded or signed in to."""


def start_demo_server():
    """Start or reuse the demo Synapse; raise DemoUnavailable when it fails."""
    from devtools.demo import start_and_seed
    from devtools.seed import SeedError
    from devtools.synapse import SynapseError

    try:
        return start_and_seed()
    except (SynapseError, SeedError, OSError) as error:
        raise DemoUnavailable(str(error)) from error


async def open_demo(server, accounts) -> Scene:
    """Sign in as the demo user, sync once and cache every avatar."""
    from app.matrix.errors import MatrixError
    from app.session import AppSession
    from devtools.seed import DEMO_PASSWORD, DEMO_USER

    try:
        session = await accounts.sign_in(
            server.base_url,
            DEMO_USER,
            DEMO_PASSWORD,
            session_only=not accounts.keyring_ready,
        )
    except MatrixError as error:
        raise DemoUnavailable(f"signing in as {DEMO_USER} failed: {error}") from error
    app_session = AppSession(session)
    try:
        await app_session.sync.sync_once()
        await app_session.sync.wait_for_background()
    except MatrixError as error:
        await app_session.close()
        raise DemoUnavailable(f"syncing as {DEMO_USER} failed: {error}") from error
    await cache_avatars(app_session)

    conn = app_session.store.reader()
    discussion = _discussion_id(conn, MAIN_DISCUSSION, "discussion")
    question = _discussion_id(conn, QUESTION, "question")
    if discussion is None:
        await app_session.close()
        raise DemoUnavailable("the demo organisation has no discussions to show")

    async def sign_in(server_url, user, password, session_only):
        return await accounts.sign_in(
            server_url, user, password, session_only=session_only
        )

    return Scene(
        session=app_session,
        space=_space_of(conn, discussion),
        discussion=discussion,
        question=question,
        profile_user=_richest_profile(conn, discussion),
        synced_at=time.time(),
        sign_in=sign_in,
        server=server.base_url,
        user=DEMO_USER,
    )


async def cache_avatars(app_session) -> None:
    """Download everyone's avatar at the sizes the thread and profile show."""
    from app.store.queries import list_people
    from ui import people_view, profile_dialog, thread_html

    sizes = (
        thread_html.AVATAR_SIZE * 2,
        profile_dialog.AVATAR_SIZE * 2,
        people_view.AVATAR_SIZE * 2,
    )
    people = list_people(app_session.store.reader())
    fetches = [
        app_session.thumbnails.fetch(person.avatar_url, size)
        for person in people
        if person.avatar_url
        for size in sizes
    ]
    paths = await asyncio.gather(*fetches)
    missing = sum(path is None for path in paths)
    print(f"Cached {len(paths) - missing} avatar thumbnails; {missing} failed.")


def _discussion_id(conn, title: str, kind: str) -> str | None:
    """Return the discussion titled title, else the longest one of that kind."""
    row = conn.execute(
        "SELECT event_id FROM discussions WHERE title = ? AND redacted = 0", (title,)
    ).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT event_id FROM discussions WHERE kind = ? AND redacted = 0 "
            "ORDER BY reply_count DESC, LENGTH(body) DESC LIMIT 1",
            (kind,),
        ).fetchone()
    return row[0] if row else None


def _space_of(conn, event_id: str) -> str:
    row = conn.execute(
        "SELECT c.space_id FROM discussions d "
        "JOIN space_children c ON c.child_id = d.room_id WHERE d.event_id = ?",
        (event_id,),
    ).fetchone()
    return row[0] if row else ""


def _richest_profile(conn, event_id: str) -> str:
    """Return the discussion's author, else the person with the fullest profile."""
    row = conn.execute(
        "SELECT p.user_id FROM people p LEFT JOIN discussions d "
        "ON d.sender = p.user_id AND d.event_id = ? "
        "ORDER BY p.avatar_url IS NOT NULL DESC, d.event_id IS NOT NULL DESC, "
        "LENGTH(p.skills) + LENGTH(p.ask_me_about) + LENGTH(COALESCE(p.bio, '')) "
        "DESC LIMIT 1",
        (event_id,),
    ).fetchone()
    return row[0]


def open_sample(home: Path) -> Scene:
    """Write the sample content into a cache of its own and return its scene."""
    from app.matrix.errors import InvalidCredentials
    from app.store import Store
    from devtools.screenshot_sample import (
        SAMPLE_USER,
        SampleSession,
        build_sample_cache,
    )

    folder = home / "sample"
    folder.mkdir()
    store = Store(folder / "cache.sqlite3")
    ids = build_sample_cache(store)

    async def rejects_password(*args):
        # The message MatrixClient.login_password raises for M_FORBIDDEN.
        raise InvalidCredentials(
            "The user name or password is incorrect. Check both and try again."
        )

    return Scene(
        session=SampleSession(store),
        space=ids["space"],
        discussion=ids["discussion"],
        profile_user=SAMPLE_USER,
        synced_at=time.time() - 4 * 60,
        encrypted_space=ids["encrypted_space"],
        sign_in=rejects_password,
        server="example.org",
        user="maya",
    )


async def _settle(rounds: int = 6) -> None:
    """Let Qt lay out and paint, and finished downloads call back.

    Sleeping hands control to the qasync loop, which is Qt's, so events are
    processed there. Calling processEvents() here instead would run other
    tasks inside this one, which asyncio refuses.
    """
    for _ in range(rounds):
        await asyncio.sleep(0.03)


def _over_window(background, dialog, *, dim: bool = True):
    """Return the background picture, dimmed, with the dialog's centred on it."""
    from PySide6.QtGui import QColor, QPainter

    picture = background.copy()
    painter = QPainter(picture)
    if dim:
        painter.fillRect(picture.rect(), QColor(20, 24, 30, 110))
    front = dialog.grab()
    ratio = front.devicePixelRatio()
    x = int((picture.width() / ratio - front.width() / ratio) / 2)
    y = int((picture.height() / ratio - front.height() / ratio) / 2)
    painter.drawPixmap(x, y, front)
    painter.end()
    return picture


class Camera:
    """Saves window and dialog pictures as NAME-WIDTHxHEIGHT.png in one folder."""

    def __init__(self, output: Path):
        self.output = output
        self.saved: list[Path] = []
        output.mkdir(parents=True, exist_ok=True)

    def save(self, picture, name: str, size: tuple[int, int]) -> None:
        path = self.output / f"{name}-{size[0]}x{size[1]}.png"
        picture.save(str(path), "PNG")
        if path.stat().st_size > MAX_PNG_BYTES:
            _save_with_palette(path)
        self.saved.append(path)


def _save_with_palette(path: Path) -> None:
    """Re-save a PNG with 256 colours and no dithering; text stays crisp."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    quantized.save(path, optimize=True)


def _open_window(scene: Scene, size: tuple[int, int]):
    from app.sync import SyncState, SyncStatus
    from ui.main_window import MainWindow

    window = MainWindow(scene.session)
    window.resize(*size)
    window.show()
    window.set_status(SyncStatus(SyncState.ONLINE, scene.synced_at))
    return window


def _open_discussion(window, scene: Scene, event_id: str) -> None:
    """Select the discussion's space and board, open it and scroll to it."""
    from PySide6.QtWidgets import QAbstractItemView

    from app.store.queries import get_discussion_summary

    conn = scene.session.store.reader()
    window.space_pane.select_space(_space_of(conn, event_id) or scene.space)
    summary = get_discussion_summary(conn, event_id)
    pane = window.discussion_pane
    if summary is not None and pane.discussions.row_of(event_id) is None:
        pane.choose_board(summary.room_id)
    pane.select_discussion(event_id)
    pane.list_view.scrollTo(
        pane.list_view.currentIndex(),
        QAbstractItemView.ScrollHint.PositionAtCenter,
    )


async def shoot_screens(camera: Camera, scene: Scene, size: tuple[int, int]) -> None:
    """Save every screen of scene at size, except the encrypted board."""
    from app.sync import SyncState, SyncStatus

    window = _open_window(scene, size)
    _open_discussion(window, scene, scene.discussion)
    await _settle()
    main = window.grab()
    camera.save(main, "main", size)

    window.show_home()
    await _settle()
    camera.save(window.grab(), "home", size)
    window.show_home(False)

    profile = window.show_profile(scene.profile_user)
    await _settle()
    camera.save(_over_window(main, profile), "profile", size)
    profile.close()

    settings = window.show_settings()
    await _settle()
    camera.save(_over_window(main, settings), "settings", size)
    settings.close()

    search = window.show_search()
    search.search_edit.setText(SEARCH_QUERY)
    search.run_search()
    await _settle()
    camera.save(_over_window(main, search), "search", size)
    search.close()

    await shoot_people(camera, window, main, size)

    notifications = getattr(window, "notifications", None)
    if notifications is not None and notifications.notifier is not None:
        panel = notifications.show_notifications()
        await _settle(12)
        camera.save(_over_window(main, panel), "notifications", size)
        panel.close()

    await shoot_sign_in_error(camera, scene, main, size)
    await shoot_policy(camera, scene, window, main, size)

    if scene.question is not None:
        _open_discussion(window, scene, scene.question)
        await _settle()
        camera.save(window.grab(), "question", size)

    window.set_status(SyncStatus(SyncState.OFFLINE, scene.synced_at - 3600, retry_in=8))
    await _settle()
    camera.save(window.grab(), "offline", size)
    window.close()
    await _settle()


async def shoot_people(camera: Camera, window, main, size) -> None:
    """Save the directory, "find an expert" and the own profile's editor."""
    from ui.people_view import DIRECTORY_TAB, EXPERT_TAB

    people = window.show_people(DIRECTORY_TAB)
    await _settle()
    camera.save(_over_window(main, people), "people", size)
    people = window.show_people(EXPERT_TAB)
    people.search_box.setText(EXPERT_QUERY)
    people._search_cache()
    await _settle()
    camera.save(_over_window(main, people), "expert", size)
    people.close()

    editor = window.show_profile_editor()
    await _settle()
    camera.save(_over_window(main, editor), "profile-editor", size)
    editor.close()


async def shoot_sign_in_error(camera: Camera, scene: Scene, main, size) -> None:
    """Save the sign-in form after the server rejected a wrong password."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QDialog

    from ui.sign_in_dialog import SignInDialog

    sign_in = SignInDialog(scene.sign_in, server=scene.server, user=scene.user)
    sign_in.password_edit.setText("not the password")
    sign_in.show()
    sign_in.submit()
    for _ in range(200):
        if not sign_in.is_busy():
            break
        await asyncio.sleep(0.05)
    # The failed sign-in selects the password; typed again, it shows as dots.
    sign_in.password_edit.setText("not the password")
    await _settle()
    backdrop = main.copy()
    backdrop.fill(QColor("#e9ecf0"))
    camera.save(_over_window(backdrop, sign_in, dim=False), "sign-in-error", size)
    sign_in.done(QDialog.DialogCode.Rejected)


async def shoot_policy(camera: Camera, scene: Scene, window, main, size) -> None:
    """Save the settings and the sign-in form under a policy that locks values."""
    from pathlib import PurePosixPath

    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QDialog

    from app.policy import Policy
    from ui.sign_in_dialog import SignInDialog

    values = {
        "homeserver": scene.server,
        "proxy": "http://proxy.corp.example:3128",
        "ca_bundle": PurePosixPath("/etc/commonplace/organisation-ca.pem"),
        "retention_days": 90,
        "disable_external_links": True,
        "wipe_cache_on_sign_out": True,
    }
    policy = Policy(**values, locked=frozenset(values), source="policy.example")
    had_policy = hasattr(scene.session, "policy")
    saved = getattr(scene.session, "policy", None)
    scene.session.policy = policy
    try:
        settings = window.show_settings()
        await _settle()
        camera.save(_over_window(main, settings), "settings-policy", size)
        settings.close()
    finally:
        if had_policy:
            scene.session.policy = saved
        else:
            del scene.session.policy
    await _settle()

    sign_in = SignInDialog(scene.sign_in, user=scene.user, policy=policy)
    sign_in.show()
    await _settle()
    backdrop = main.copy()
    backdrop.fill(QColor("#e9ecf0"))
    camera.save(_over_window(backdrop, sign_in, dim=False), "sign-in-policy", size)
    sign_in.done(QDialog.DialogCode.Rejected)


async def shoot_encrypted_board(camera: Camera, scene: Scene, size) -> None:
    """Save the main window with scene's encrypted space selected."""
    window = _open_window(scene, size)
    window.space_pane.select_space(scene.encrypted_space)
    await _settle()
    camera.save(window.grab(), "encrypted-board", size)
    window.close()
    await _settle()


async def shoot_files_area(camera: Camera, scene: Scene, size) -> None:
    """Save the main window with the space's first files area and a file selected.

    The file with the most versions is selected, so the row shows its count.
    """
    window = _open_window(scene, size)
    window.space_pane.select_space(scene.space)
    pane = window.discussion_pane
    boards = pane.boards
    files_area = next(
        (
            entry.entry_id
            for row in range(boards.rowCount())
            if (entry := boards.entry(row)).kind == "files"
        ),
        None,
    )
    if files_area is not None and pane.choose_board(files_area):
        model = pane.files
        entries = [model.entry(row) for row in range(model.rowCount())]
        if entries:
            chosen = max(entries, key=lambda entry: entry.version_count)
            pane.files_view.select_file(chosen.latest.event_id)
        await _settle()
        camera.save(window.grab(), "files", size)
    window.close()
    await _settle()


async def shoot_spaces(camera: Camera, scene: Scene, size) -> None:
    """Save the space home, Browse spaces and Create space.

    The sample content has no server, so its space home reads the cache
    through a Spaces without a client, and Browse spaces is left out.
    """
    from app.spaces import Spaces
    from ui.space_browser import LOADING

    session = scene.session
    online = getattr(session, "client", None) is not None
    if getattr(session, "spaces", None) is None:
        session.spaces = Spaces(None, session.store, session.user_id, lambda _: None)
    window = _open_window(scene, size)
    window.space_pane.select_space(scene.space)
    await _settle()
    main = window.grab()
    camera.save(main, "space-home", size)

    if online:
        browser = window.space_controller.show_browser()
        for _ in range(100):
            if browser.model.rowCount() or browser.message() not in (None, LOADING):
                break
            await asyncio.sleep(0.05)
        await _settle(10)
        camera.save(_over_window(main, browser), "browse-spaces", size)
        browser.close()

    create = window.space_controller.show_create()
    create.name_edit.setText("Analytics engineering")
    create.topic_edit.setPlainText("Modelling, testing and documenting our data.")
    await _settle()
    camera.save(_over_window(main, create), "create-space", size)
    create.close()
    window.close()
    await _settle()


class Accounts:
    """Signs in to the demo server, and signs out at the end to delete the device.

    The token goes to a private Secret Service when one can be started, so the
    settings screen shows the usual keyring sign-in. Without one, the sign-in
    is for this session only.
    """

    def __init__(self, stack: contextlib.ExitStack):
        from app.account import AccountManager
        from devtools.secret_service import SecretServiceDaemon, SecretServiceError

        self.keyring_ready = False
        if SecretServiceDaemon.available():
            try:
                stack.enter_context(SecretServiceDaemon())
                self.keyring_ready = True
            except SecretServiceError as error:
                log.warning(
                    "No private keyring (%s); signing in for this session", error
                )
        self.manager = AccountManager()
        self.sessions: list = []

    async def sign_in(self, server, user, password, *, session_only):
        session = await self.manager.sign_in(
            server, user, password, session_only=session_only
        )
        self.sessions.append(session)
        return session

    async def sign_out_all(self) -> None:
        for session in self.sessions:
            await self.manager.sign_out(session)


async def take_screenshots(output: Path, home: Path, server) -> list[Path]:
    """Save every screen at every size; server None means sample content only."""
    camera = Camera(output)
    sample = open_sample(home)
    with contextlib.ExitStack() as stack:
        scene = sample
        accounts = None
        if server is not None:
            accounts = Accounts(stack)
            try:
                scene = await open_demo(server, accounts)
            except DemoUnavailable as error:
                print(f"Showing sample content: {error}", file=sys.stderr)
        try:
            for size in SIZES:
                await shoot_screens(camera, scene, size)
                await shoot_encrypted_board(camera, sample, size)
                await shoot_files_area(camera, sample, size)
                await shoot_spaces(camera, scene, size)
        finally:
            if scene is not sample:
                await scene.session.close()
            if accounts is not None:
                await accounts.sign_out_all()
            sample.session.store.close()
    return camera.saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "docs" / "screenshots",
        help="folder for the PNG files (default: docs/screenshots)",
    )
    parser.add_argument(
        "--sample",
        action="store_true",
        help="show the built-in sample content instead of the demo server's",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    with tempfile.TemporaryDirectory(prefix="commonplace-screenshots-") as home:
        # A throw-away profile, so window geometry, settings and the cache
        # never touch the user's own.
        os.environ["COMMONPLACE_HOME"] = home
        saved = run(args.output, Path(home), use_demo=not args.sample)
    for path in saved:
        display_path = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{display_path}  {path.stat().st_size // 1024} KB")
    return 0


def run(output: Path, home: Path, *, use_demo: bool) -> list[Path]:
    import qasync

    from ui.app import make_application

    # The application comes first, so that seeding draws its pictures with it.
    app = make_application()
    # Closing one screen's window must not end the loop that takes the next.
    app.setQuitOnLastWindowClosed(False)
    server = None
    if use_demo:
        try:
            server = start_demo_server()
        except DemoUnavailable as error:
            print(f"Showing sample content: {error}", file=sys.stderr)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(take_screenshots(output, home, server))


if __name__ == "__main__":
    sys.exit(main())
