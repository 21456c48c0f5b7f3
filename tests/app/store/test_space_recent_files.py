"""A space home's recent files are the files areas' latest versions."""

from app.store import Store
from app.store.space_queries import recent_files
from tests.ui.builders import BASE_TS, CacheBuilder

SPACE = "!guild:x"
FILES = "!files:x"
ANA = "@ana:example.org"


def test_recent_files_lists_latest_versions_only(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    try:
        cache = CacheBuilder(store)
        cache.space(SPACE, "Guild")
        cache.board(FILES, "Documents", SPACE, kind="files")
        first = cache.file(FILES, "Plan.pdf", 100, sender=ANA, ts=BASE_TS)
        latest = cache.file(
            FILES, "Plan.pdf", 120, sender=ANA, ts=BASE_TS + 10, supersedes=first
        )
        other = cache.file(FILES, "Budget.xlsx", 90, sender=ANA, ts=BASE_TS + 5)
        cache.commit()

        found = recent_files(store.reader(), [FILES])
    finally:
        store.close()

    assert [recent.event_id for recent in found] == [latest, other]
