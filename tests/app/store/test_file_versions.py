import itertools
import time

import pytest

from app.store import Store
from app.store.file_versions import (
    file_history,
    latest_files,
    latest_version_of,
    may_add_version,
)
from app.store.writes import apply_sync
from tests.factories import event, member, room_batch, state

ROOM = "!files:test"
OTHER_ROOM = "!other:test"
_media_ids = itertools.count(1)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    yield store
    store.close()


def write(store, *batches):
    store.write_blocking(apply_sync, list(batches), "token")


def shared_file(name, *, sender="@ann:test", supersedes=None, size=1000):
    content = {
        "msgtype": "m.file",
        "body": name,
        "url": f"mxc://test/media{next(_media_ids)}",
        "info": {"mimetype": "application/pdf", "size": size},
    }
    if supersedes is not None:
        content["app.commonplace.supersedes"] = supersedes
    return event(sender, content)


def redaction(target_id, sender="@ann:test"):
    return event(sender, {}, type="m.room.redaction", redacts=target_id)


def power_levels(users, redact=50):
    return state("m.room.power_levels", {"users": users, "redact": redact})


def names(page):
    return [entry.latest.name for entry in page.entries]


def test_latest_version_hides_older_ones(store):
    first = shared_file("Plan v1.pdf")
    second = shared_file("Plan v2.pdf", supersedes=first["event_id"])
    third = shared_file("Plan v3.pdf", supersedes=second["event_id"])
    other = shared_file("Budget.pdf")
    write(store, room_batch(ROOM, timeline=[first, second, other, third]))

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Plan v3.pdf", "Budget.pdf"]
    assert page.total == 2
    assert [entry.version_count for entry in page.entries] == [3, 1]


def test_history_lists_versions_newest_first(store):
    first = shared_file("Plan v1.pdf", sender="@ann:test")
    second = shared_file(
        "Plan v2.pdf", sender="@bob:test", supersedes=first["event_id"]
    )
    write(
        store,
        room_batch(
            ROOM,
            [member("@bob:test", "Bob Stone"), power_levels({"@bob:test": 50})],
            [first, second],
        ),
    )

    history = file_history(store.reader(), second["event_id"])

    assert [version.name for version in history] == ["Plan v2.pdf", "Plan v1.pdf"]
    assert history[0].sender == "@bob:test"
    assert history[0].sender_name == "Bob Stone"
    assert history[1].sender == "@ann:test"


def test_member_cannot_replace_others_file(store):
    original = shared_file("photo.jpg", sender="@maya:test")
    lookalike = shared_file(
        "photo.jpg", sender="@jonas:test", supersedes=original["event_id"]
    )
    write(
        store,
        room_batch(
            ROOM,
            [power_levels({"@maya:test": 0, "@jonas:test": 49})],
            [original, lookalike],
        ),
    )

    page = latest_files(store.reader(), ROOM)

    assert [entry.latest.sender for entry in page.entries] == [
        "@jonas:test",
        "@maya:test",
    ]
    assert [entry.version_count for entry in page.entries] == [1, 1]
    history = file_history(store.reader(), lookalike["event_id"])
    assert [version.sender for version in history] == ["@jonas:test"]
    conn = store.reader()
    assert latest_version_of(conn, original["event_id"]) == original["event_id"]


def test_moderator_can_replace_others_file(store):
    original = shared_file("Rules.pdf", sender="@maya:test")
    update = shared_file(
        "Rules.pdf", sender="@mod:test", supersedes=original["event_id"]
    )
    write(
        store,
        room_batch(ROOM, [power_levels({"@mod:test": 50})], [original, update]),
    )

    page = latest_files(store.reader(), ROOM)

    assert [entry.latest.sender for entry in page.entries] == ["@mod:test"]
    assert page.entries[0].version_count == 2


def test_redact_level_decides_moderator(store):
    original = shared_file("Rules.pdf", sender="@maya:test")
    update = shared_file(
        "Rules.pdf", sender="@helper:test", supersedes=original["event_id"]
    )
    write(
        store,
        room_batch(
            ROOM,
            [power_levels({"@helper:test": 20}, redact=20)],
            [original, update],
        ),
    )

    page = latest_files(store.reader(), ROOM)

    assert page.entries[0].version_count == 2


def test_replacement_of_others_version_is_own_file(store):
    first = shared_file("Plan v1.pdf", sender="@ann:test")
    second = shared_file(
        "Plan v2.pdf", sender="@ann:test", supersedes=first["event_id"]
    )
    third = shared_file(
        "Plan v3.pdf", sender="@eve:test", supersedes=second["event_id"]
    )
    write(store, room_batch(ROOM, timeline=[first, second, third]))

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Plan v3.pdf", "Plan v2.pdf"]
    assert [entry.version_count for entry in page.entries] == [1, 2]


def test_may_add_version_sender_or_moderator(store):
    original = shared_file("Rules.pdf", sender="@maya:test")
    write(
        store,
        room_batch(ROOM, [power_levels({"@mod:test": 50})], [original]),
    )
    conn = store.reader()

    assert may_add_version(conn, original["event_id"], "@maya:test")
    assert may_add_version(conn, original["event_id"], "@mod:test")
    assert not may_add_version(conn, original["event_id"], "@jonas:test")
    assert not may_add_version(conn, "$missing", "@maya:test")


def test_supersedes_from_other_room_is_ignored(store):
    original = shared_file("Plan.pdf")
    foreign = shared_file("Plan (other room).pdf", supersedes=original["event_id"])
    write(
        store,
        room_batch(ROOM, timeline=[original]),
        room_batch(OTHER_ROOM, timeline=[foreign]),
    )

    assert names(latest_files(store.reader(), ROOM)) == ["Plan.pdf"]
    other = latest_files(store.reader(), OTHER_ROOM)
    assert names(other) == ["Plan (other room).pdf"]
    assert other.entries[0].version_count == 1


def test_supersedes_of_later_file_is_ignored(store):
    later_id = "$later"
    early = shared_file("Early.pdf", supersedes=later_id)
    later = shared_file("Later.pdf")
    later["event_id"] = later_id
    write(store, room_batch(ROOM, timeline=[early, later]))

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Later.pdf", "Early.pdf"]
    assert [entry.version_count for entry in page.entries] == [1, 1]


def test_supersedes_of_unknown_event_starts_history(store):
    orphan = shared_file("Notes.pdf", supersedes="$not-cached")
    write(store, room_batch(ROOM, timeline=[orphan]))

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Notes.pdf"]
    assert page.entries[0].version_count == 1


def test_deleted_newest_version_shows_previous(store):
    first = shared_file("Plan v1.pdf")
    second = shared_file("Plan v2.pdf", supersedes=first["event_id"])
    write(
        store, room_batch(ROOM, timeline=[first, second, redaction(second["event_id"])])
    )

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Plan v1.pdf"]
    assert page.entries[0].version_count == 1


def test_deleted_middle_version_keeps_chain(store):
    first = shared_file("Plan v1.pdf")
    second = shared_file("Plan v2.pdf", supersedes=first["event_id"])
    third = shared_file("Plan v3.pdf", supersedes=second["event_id"])
    write(
        store,
        room_batch(
            ROOM, timeline=[first, second, third, redaction(second["event_id"])]
        ),
    )

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Plan v3.pdf"]
    assert page.entries[0].version_count == 2
    history = file_history(store.reader(), third["event_id"])
    assert [version.name for version in history] == ["Plan v3.pdf", "Plan v1.pdf"]


def test_two_new_versions_both_listed(store):
    first = shared_file("Plan.pdf")
    ann = shared_file("Plan (Ann).pdf", supersedes=first["event_id"])
    bob = shared_file(
        "Plan (Bob).pdf", sender="@bob:test", supersedes=first["event_id"]
    )
    write(
        store,
        room_batch(ROOM, [power_levels({"@bob:test": 50})], [first, ann, bob]),
    )

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Plan (Bob).pdf", "Plan (Ann).pdf"]
    assert [entry.version_count for entry in page.entries] == [2, 2]
    assert latest_version_of(store.reader(), first["event_id"]) == bob["event_id"]


def test_latest_version_of_old_version(store):
    first = shared_file("Plan v1.pdf")
    second = shared_file("Plan v2.pdf", supersedes=first["event_id"])
    third = shared_file("Plan v3.pdf", supersedes=second["event_id"])
    write(store, room_batch(ROOM, timeline=[first, second, third]))

    conn = store.reader()
    assert latest_version_of(conn, first["event_id"]) == third["event_id"]
    assert latest_version_of(conn, third["event_id"]) == third["event_id"]
    assert latest_version_of(conn, "$missing") is None


def test_pages_cover_every_file(store):
    files = [shared_file(f"File {number:03}.pdf") for number in range(250)]
    write(store, room_batch(ROOM, timeline=files))

    first = latest_files(store.reader(), ROOM, limit=200)
    second = latest_files(store.reader(), ROOM, limit=200, offset=200)

    assert first.total == 250
    assert len(first.entries) == 200
    assert names(first)[0] == "File 249.pdf"
    assert names(second) == [f"File {number:03}.pdf" for number in range(49, -1, -1)]


def test_long_chain_is_followed(store):
    versions = [shared_file("Plan v0.pdf")]
    for number in range(1, 300):
        versions.append(
            shared_file(f"Plan v{number}.pdf", supersedes=versions[-1]["event_id"])
        )
    write(store, room_batch(ROOM, timeline=versions))

    page = latest_files(store.reader(), ROOM)

    assert names(page) == ["Plan v299.pdf"]
    assert page.entries[0].version_count == 300


def test_history_of_missing_file_is_empty(store):
    assert file_history(store.reader(), "$missing") == []


def test_ten_thousand_files_read_quickly(store):
    # Not a timing assertion: a gross regression (a scan per file) would
    # take minutes here, and the pytest timeout catches it.
    files = [shared_file(f"File {number}.pdf") for number in range(10_000)]
    for number in range(1, 10_000, 2):
        files[number]["content"]["app.commonplace.supersedes"] = files[number - 1][
            "event_id"
        ]
    write(store, room_batch(ROOM, timeline=files))

    started = time.perf_counter()
    page = latest_files(store.reader(), ROOM)
    elapsed = time.perf_counter() - started

    assert page.total == 5_000
    assert all(entry.version_count == 2 for entry in page.entries)
    print(f"latest_files over 10,000 files: {elapsed * 1000:.0f} ms")
