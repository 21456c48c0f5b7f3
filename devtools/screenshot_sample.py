"""Sample content for the screenshots, written into a cache without any server.

build_sample_cache writes realistic content through app.store.writes.apply_sync:
Markdown, Japanese and Arabic text, emoji, a 500-character space name and
encrypted boards. SampleSession is the part of AppSession that MainWindow
uses, with no network behind it. devtools.screenshots shows it when the demo
server cannot start, and for the encrypted board, which the demo lacks.
"""

from __future__ import annotations

import itertools
import json
import time

HOUR = 3_600_000  # milliseconds
# The signed-in user of the sample session, who has the fullest profile.
SAMPLE_USER = "@maya:demo.local"

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
        if membership == "join":
            # The space home lists the space's members.
            for user_id, (display_name, _, _) in PEOPLE.items():
                sample.add(
                    room_id, Membership(room_id, user_id, "join", display_name, None)
                )

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
    # (name, size, sender, media type, hours ago, index of the file it replaces)
    shared = (
        (
            "Onboarding checklist.pdf",
            41_950,
            "@maya:demo.local",
            "application/pdf",
            70,
            None,
        ),
        ("dbt style guide v3.docx", 212_400, "@tom:demo.local", None, 60, None),
        (
            "Incident review — March.pdf",
            1_830_112,
            "@sam:demo.local",
            "application/pdf",
            55,
            None,
        ),
        (
            "Onboarding checklist.pdf",
            47_020,
            "@maya:demo.local",
            "application/pdf",
            52,
            0,
        ),
        ("バックアップ手順.xlsx", 96_004, "@kenji:demo.local", None, 51, None),
        (
            "Onboarding checklist.pdf",
            48_213,
            "@maya:demo.local",
            "application/pdf",
            50,
            3,
        ),
        ("Warehouse diagram.png", 310_522, "@ines:demo.local", "image/png", 30, None),
    )
    file_ids: list[str] = []
    for name, size, sender, mimetype, hours, replaces in shared:
        file_id = sample.event(files, sender, now - hours * HOUR)
        file_ids.append(file_id)
        sample.add(
            files,
            SharedFile(
                file_id,
                files,
                sender,
                now - hours * HOUR,
                name,
                "m.image" if mimetype == "image/png" else "m.file",
                mimetype,
                size,
                "mxc://demo.local/x",
                file_ids[replaces] if replaces is not None else None,
            ),
        )
    sample.commit()
    # The latest checklist is downloaded, so its preview shows its first page.
    _save_sample_download(store, file_ids[5], files, "Onboarding checklist.pdf")

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


def _save_sample_download(store, event_id: str, room_id: str, name: str) -> None:
    """Write a one-page checklist PDF and record it as event_id's downloaded copy."""
    from PySide6.QtCore import QMarginsF, QRectF, Qt
    from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter

    from app.store import file_transfers_store

    folder = store.path.parent / "files"
    folder.mkdir(exist_ok=True)
    path = folder / name
    writer = QPdfWriter(str(path))
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(20, 20, 20, 20),
        )
    )
    writer.setResolution(72)
    painter = QPainter(writer)
    width = writer.width()
    title = QFont("Noto Sans", 22)
    title.setBold(True)
    painter.setFont(title)
    painter.drawText(
        QRectF(0, 0, width, 40), Qt.AlignmentFlag.AlignLeft, "Onboarding checklist"
    )
    painter.setFont(QFont("Noto Sans", 11))
    steps = (
        "Get access to the warehouse (ask in #data-access)",
        "Clone the dbt project and run dbt build",
        "Read the style guide and the naming conventions",
        "Pair with a buddy on your first model",
        "Join the Thursday office hours",
        "Add yourself to the on-call rota after four weeks",
    )
    for number, step in enumerate(steps):
        top = 70 + number * 34
        painter.drawRect(QRectF(0, top + 2, 12, 12))
        painter.drawText(
            QRectF(24, top, width - 24, 20), Qt.AlignmentFlag.AlignLeft, step
        )
    painter.end()
    store.write_blocking(
        file_transfers_store.start_download, event_id, room_id, str(path) + ".part"
    )
    store.write_blocking(
        file_transfers_store.finish_download, event_id, str(path), path.stat().st_size
    )


class SampleSession:
    """The part of AppSession that MainWindow uses, with no network behind it."""

    def __init__(self, store):
        from types import SimpleNamespace

        self.store = store
        self.user_id = SAMPLE_USER
        self.session = SimpleNamespace(
            homeserver_url="https://matrix.example.org",
            user_id=self.user_id,
            device_id="QWERTY1234",
            session_only=False,
        )
        self.thumbnails = None
        self.last_status = None
        # A real outbox over the sample cache: queueing needs no server, and
        # the sample screens queue nothing, so it stays empty.
        from app.outbox import Outbox

        self.outbox = Outbox(store, self.user_id)
        from app.file_transfers import FileTransfers
        from app.policy import NO_POLICY

        # No client: the files area reads marks and copies from the cache only.
        self.files = FileTransfers(None, store, self.user_id, NO_POLICY, lambda _: None)

    # Nothing changes the sample cache and no sync runs, so no listener is
    # ever called.
    def add_changes_listener(self, listener) -> None:
        pass

    def add_status_listener(self, listener) -> None:
        pass

    def add_outbox_status_listener(self, listener) -> None:
        pass
