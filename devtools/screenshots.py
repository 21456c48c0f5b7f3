"""``python -m devtools.screenshots``: pictures of every screen, for review and docs.

It writes a cache of realistic sample content through app.store.writes.apply_sync
(Markdown, Japanese and Arabic text, emoji, a 500-character space name, an
encrypted board), opens each screen over it without any server, and saves
PNGs under docs/screenshots at 1024x700 and 1920x1080. ``./dev screenshots``
runs it under Xvfb; QT_QPA_PLATFORM=offscreen works too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((1024, 700), (1920, 1080))
HOUR = 3_600_000  # milliseconds

PEOPLE = {
    "@maya:demo.local": ("Maya Okafor", "Learning lead", "People & Culture"),
    "@kenji:demo.local": ("佐藤 健二", "Site reliability engineer", "Platform"),
    "@layla:demo.local": ("ليلى حداد", "Support team lead", "Customer support"),
    "@tom:demo.local": ("Tom Becker 🚲", "Data engineer", "Data"),
    "@ines:demo.local": ("Inês Carvalho", "Product designer", "Design"),
    "@sam:demo.local": ("Sam Rivera", "Security officer", "Compliance"),
}

LONG_NAME = (
    "Cross-functional community of practice for continuous improvement, "
    "knowledge sharing and mentoring across all regional offices "
) * 4

DBT_BODY = """We have about 400 dbt models now and every team versions them differently.

**What I would like to agree on:**

1. One folder per domain, with an owner in `CODEOWNERS`
2. Semantic versions for models that other teams read
3. A deprecation window of *two sprints* before a column goes away

```sql
select order_id, customer_id, total_eur
from {{ ref('orders_v2') }}
```

How do your teams handle this? Links to [the dbt docs](https://docs.getdbt.com/) welcome."""

REPLIES = [
    (
        "@kenji:demo.local",
        (
            "We pin versions with `ref('orders', v=2)` and keep the old one "
            "for a month. It works well as long as the owner announces the change."
        ),
    ),
    (
        "@tom:demo.local",
        (
            "+1 for owners in CODEOWNERS. We also added a CI check that "
            "fails when a column disappears without a deprecation note."
        ),
    ),
    (
        "@layla:demo.local",
        (
            "من جهة الدعم: نحتاج إلى إشعار قبل تغيير أي تقرير يستخدمه العملاء. "
            "Could the announcement go to the support space too?"
        ),
    ),
    (
        "@maya:demo.local",
        (
            "Good point, Layla. I'll draft a short checklist and post it "
            "as an announcement next week 🙌"
        ),
    ),
    (
        "@ines:demo.local",
        (
            "Could we show the version in the dashboards' footers? Users "
            "often ask which numbers are current."
        ),
    ),
]

OTHER_TOPICS = [
    ("Welcome to the Data Engineering Guild 👋", "announcement", "@maya:demo.local"),
    ("Airflow 3 upgrade: what broke for you?", "question", "@tom:demo.local"),
    (
        "Reading group: Designing Data-Intensive Applications, chapter 5",
        "discussion",
        "@ines:demo.local",
    ),
    ("本番環境のバックアップ手順について", "question", "@kenji:demo.local"),
    ("Office hours every Thursday at 15:00", "announcement", "@maya:demo.local"),
    ("Which column naming convention do you follow?", "discussion", "@tom:demo.local"),
    ("Lessons from last month's incident review", "discussion", "@sam:demo.local"),
    ("How do I request access to the warehouse?", "question", "@layla:demo.local"),
]


class _SampleCache:
    """Collects records per room and writes them with apply_sync in one batch."""

    def __init__(self, store):
        from app.records import RoomBatch

        self._store = store
        self._room_batch = RoomBatch
        self._batches: dict = {}
        self._ids = itertools.count(1)

    def batch(self, room_id: str, membership: str = "join"):
        if room_id not in self._batches:
            self._batches[room_id] = self._room_batch(room_id, membership)
        return self._batches[room_id]

    def event(self, room_id: str, sender: str, ts: int, kind="m.room.message") -> str:
        from app.records import RawEvent

        event_id = f"$sample{next(self._ids)}"
        self.batch(room_id).items.append(
            RawEvent(event_id, room_id, sender, kind, ts, None, json.dumps({}))
        )
        return event_id

    def add(self, room_id: str, record) -> None:
        self.batch(room_id).items.append(record)

    def commit(self) -> None:
        from app.store.writes import apply_sync

        self._store.write_blocking(apply_sync, list(self._batches.values()), "sample")
        self._batches.clear()


def build_sample_cache(store) -> dict[str, str]:
    """Write the sample content into store; return the ids the screens open."""
    from app.records import (
        Discussion,
        Membership,
        Profile,
        Reaction,
        Reply,
        RoomState,
        SharedFile,
        SpaceChild,
    )
    from app.store.writes import save_profiles

    now = int(time.time() * 1000)
    sample = _SampleCache(store)

    def space(room_id, name, topic=None, membership="join", unread=0, highlight=0):
        batch = sample.batch(room_id, membership)
        batch.unread_count, batch.highlight_count = unread, highlight
        sample.add(room_id, RoomState(room_id, kind="space", name=name, topic=topic))

    def board(room_id, name, space_id, kind="board", encrypted=None, unread=0):
        sample.batch(room_id).unread_count = unread
        sample.add(
            room_id, RoomState(room_id, kind=kind, name=name, encrypted=encrypted)
        )
        sample.add(space_id, SpaceChild(space_id, room_id, name, False))
        for user_id, (display_name, _, _) in PEOPLE.items():
            sample.add(
                room_id, Membership(room_id, user_id, "join", display_name, None)
            )

    space(
        "!guild:demo.local",
        "Data Engineering Guild",
        "Pipelines, warehouses and the people who run them",
        unread=7,
        highlight=1,
    )
    board("!guild-general:demo.local", "General", "!guild:demo.local", unread=4)
    board("!guild-questions:demo.local", "Questions", "!guild:demo.local", unread=3)
    board(
        "!guild-leads:demo.local",
        "Leads (private)",
        "!guild:demo.local",
        encrypted=True,
    )
    board("!guild-files:demo.local", "Shared files", "!guild:demo.local", kind="files")
    space(
        "!joiners:demo.local",
        "New joiners 2025",
        "Everything for your first 90 days",
        unread=2,
    )
    board("!joiners-board:demo.local", "Ask anything", "!joiners:demo.local")
    space("!tokyo:demo.local", "東京オフィス · Tokyo office", "Local news and events")
    board("!tokyo-board:demo.local", "お知らせ", "!tokyo:demo.local")
    space("!support:demo.local", "فريق الدعم · Support team", unread=12)
    board("!support-board:demo.local", "Escalations", "!support:demo.local")
    space("!design:demo.local", "Design systems 🎨")
    board("!design-board:demo.local", "Critique", "!design:demo.local")
    space("!long:demo.local", LONG_NAME.strip())
    board("!long-board:demo.local", "General", "!long:demo.local")
    space("!security:demo.local", "Security champions", membership="invite")
    space("!board-room:demo.local", "Leadership", "Private to the leadership team")
    board(
        "!board-secret:demo.local",
        "Board minutes",
        "!board-room:demo.local",
        encrypted=True,
    )

    general = "!guild-general:demo.local"
    for number, (title, kind, sender) in enumerate(OTHER_TOPICS):
        # Older first, so the timeline order and the clocks agree.
        ts = now - (len(OTHER_TOPICS) - number) * 9 * HOUR - 30 * HOUR
        room = general if number % 2 == 0 else "!guild-questions:demo.local"
        event_id = sample.event(room, sender, ts)
        sample.add(
            room,
            Discussion(
                event_id,
                room,
                sender,
                ts,
                title,
                kind,
                (),
                f"{title}\n\nSee the thread for details.",
                None,
            ),
        )
        for reply_number in range(number % 4):
            reply_sender = list(PEOPLE)[(number + reply_number) % len(PEOPLE)]
            reply_id = sample.event(room, reply_sender, ts + HOUR)
            sample.add(
                room,
                Reply(
                    reply_id,
                    room,
                    event_id,
                    reply_sender,
                    ts + HOUR,
                    "Thanks, that helps.",
                    None,
                    event_id,
                ),
            )
        # One sync per topic, so the rooms' events interleave as they happened.
        sample.commit()

    root_ts = now - 26 * HOUR
    root = sample.event(general, "@maya:demo.local", root_ts)
    sample.add(
        general,
        Discussion(
            root,
            general,
            "@maya:demo.local",
            root_ts,
            "How do we version our dbt models across teams?",
            "question",
            ("dbt", "data-contracts"),
            DBT_BODY,
            None,
        ),
    )
    previous = root
    for number, (sender, body) in enumerate(REPLIES):
        ts = root_ts + (number + 1) * 2 * HOUR
        reply_id = sample.event(general, sender, ts)
        quoted = previous if number == 3 else root
        sample.add(
            general,
            Reply(
                reply_id,
                general,
                root,
                sender,
                ts,
                body,
                None,
                quoted if number == 3 else previous,
            ),
        )
        previous = reply_id if number != 3 else previous
        if number in (0, 3):
            for liker in list(PEOPLE)[: 3 + number]:
                like_id = sample.event(general, liker, ts, "m.reaction")
                sample.add(general, Reaction(like_id, general, reply_id, liker, "👍"))
    for liker, key in (
        ("@tom:demo.local", "👍"),
        ("@kenji:demo.local", "👍"),
        ("@ines:demo.local", "🎉"),
        ("@layla:demo.local", "👍"),
    ):
        like_id = sample.event(general, liker, root_ts, "m.reaction")
        sample.add(general, Reaction(like_id, general, root, liker, key))

    files = "!guild-files:demo.local"
    for name, size, sender in (
        ("Onboarding checklist.pdf", 48_213, "@maya:demo.local"),
        ("dbt style guide v3.docx", 212_400, "@tom:demo.local"),
        ("Incident review — March.pdf", 1_830_112, "@sam:demo.local"),
        ("バックアップ手順.xlsx", 96_004, "@kenji:demo.local"),
    ):
        file_id = sample.event(files, sender, now - 50 * HOUR)
        sample.add(
            files,
            SharedFile(
                file_id,
                files,
                sender,
                now - 50 * HOUR,
                name,
                "m.file",
                None,
                size,
                "mxc://demo.local/x",
                None,
            ),
        )
    sample.commit()

    profiles = [
        Profile(
            user_id,
            name,
            None,
            title=title,
            department=department,
            location="Lisbon" if user_id.startswith("@maya") else "Remote",
            pronouns="she/her" if user_id.startswith("@maya") else None,
            skills=(
                "Facilitation",
                "Mentoring",
                "SQL",
                "Curriculum design",
                "Public speaking",
            )
            if user_id.startswith("@maya")
            else ("SQL",),
            ask_me_about=("Running a community of practice", "Onboarding"),
            bio="I help teams learn from each other. Before Commonplace I ran "
            "the graduate programme for six years.\n\nOutside work: "
            "choirs, long bike rides and too many houseplants.",
        )
        for user_id, (name, title, department) in PEOPLE.items()
    ]
    store.write_blocking(save_profiles, profiles, time.time())
    return {
        "discussion": root,
        "space": "!guild:demo.local",
        "encrypted_space": "!board-room:demo.local",
    }


class _SampleSession:
    """The part of AppSession that MainWindow uses, with no network behind it."""

    def __init__(self, store):
        from types import SimpleNamespace

        self.store = store
        self.user_id = "@maya:demo.local"
        self.session = SimpleNamespace(
            homeserver_url="https://matrix.example.org",
            user_id=self.user_id,
            device_id="QWERTY1234",
            session_only=False,
        )
        self.thumbnails = None
        self.last_status = None
        self._status_listeners = []

    def add_changes_listener(self, listener) -> None:
        pass

    def add_status_listener(self, listener) -> None:
        self._status_listeners.append(listener)

    def report(self, status) -> None:
        for listener in self._status_listeners:
            listener(status)


def _settle(app, rounds: int = 5) -> None:
    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.02)


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


def take_screenshots(output: Path) -> list[Path]:
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QDialog

    from app.matrix.errors import InvalidCredentials
    from app.store import Store
    from app.sync import SyncState, SyncStatus
    from ui.app import make_application
    from ui.main_window import MainWindow
    from ui.sign_in_dialog import SignInDialog, sign_in_error_text

    app = make_application()
    output.mkdir(parents=True, exist_ok=True)
    store = Store(Path(os.environ["COMMONPLACE_HOME"]) / "cache.sqlite3")
    ids = build_sample_cache(store)
    session = _SampleSession(store)
    saved: list[Path] = []

    def save(picture, name: str, size: tuple[int, int]) -> None:
        path = output / f"{name}-{size[0]}x{size[1]}.png"
        picture.save(str(path), "PNG")
        saved.append(path)

    synced = time.time() - 4 * 60
    for size in SIZES:
        window = MainWindow(session)
        window.resize(*size)
        window.splitter.setSizes(
            [int(size[0] * 0.18), int(size[0] * 0.34), int(size[0] * 0.48)]
        )
        window.show()
        session.report(SyncStatus(SyncState.ONLINE, synced))
        window.space_pane.select_space(ids["space"])
        window.discussion_pane.select_discussion(ids["discussion"])
        _settle(app)
        main = window.grab()
        save(main, "main", size)

        profile = window.show_profile("@maya:demo.local")
        _settle(app)
        save(_over_window(main, profile), "profile", size)
        profile.close()

        settings = window.show_settings()
        _settle(app)
        save(_over_window(main, settings), "settings", size)
        settings.close()

        async def never(*args):
            return None

        sign_in = SignInDialog(never, server="example.org", user="maya")
        sign_in.show_error(
            sign_in_error_text(
                InvalidCredentials(
                    "The user name or password is wrong. Check them and try again."
                )
            )
        )
        sign_in.show()
        _settle(app)
        backdrop = main.copy()
        backdrop.fill(QColor("#e9ecf0"))
        save(_over_window(backdrop, sign_in, dim=False), "sign-in-error", size)
        sign_in.done(QDialog.DialogCode.Rejected)

        session.report(SyncStatus(SyncState.OFFLINE, None, retry_in=8))
        window.set_status(SyncStatus(SyncState.OFFLINE, synced - 3600, retry_in=8))
        _settle(app)
        save(window.grab(), "offline", size)

        window.space_pane.select_space(ids["encrypted_space"])
        _settle(app)
        save(window.grab(), "encrypted-board", size)
        window.close()
        _settle(app)
    store.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "docs" / "screenshots",
        help="folder for the PNG files (default: docs/screenshots)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="commonplace-screenshots-") as home:
        # A throw-away profile, so window geometry and the cache never touch
        # the user's own.
        os.environ["COMMONPLACE_HOME"] = home
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        for path in take_screenshots(args.output):
            print(
                f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                f"  {path.stat().st_size // 1024} KB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
