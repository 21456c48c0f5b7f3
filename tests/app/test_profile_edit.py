"""Editing one's own profile: checks, queueing, replacement and the cached row.

These tests use the cache only; tests/app/test_profile_edit_synapse.py sends
the items to a real server.
"""

import asyncio
import json
import os
import time

import httpx
import pytest

from app import namespace as ns
from app.matrix import MatrixClient
from app.matrix.errors import TooLarge, error_from_response
from app.outbox import Outbox
from app.outbox_worker import failure_reason
from app.profile_edit import (
    MAX_AVATAR_BYTES,
    MAX_PROFILE_BYTES,
    ORPHAN_FILE_SECONDS,
    ProfileEditor,
    ProfileFields,
    ProfileRejected,
    avatar_folder,
    is_local_avatar,
    own_profile,
    profile_size,
    remove_unused_files,
    send_profile_item,
)
from app.records import Profile
from app.store import Store, outbox_queries, outbox_store, profile_store
from app.store.outbox_store import AVATAR, PROFILE, ClaimedItem
from app.store.writes import save_profiles
from ui.outbox_view import item_text

ME = "@me:test"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


def fields(**values) -> ProfileFields:
    defaults = {
        "display_name": "Ada Lovelace",
        "title": "",
        "department": "",
        "location": "",
        "pronouns": "",
        "skills": (),
        "ask_me_about": (),
        "bio": "",
    }
    return ProfileFields(**{**defaults, **values})


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    profile = Profile(ME, "Ada Lovelace", None, title="Analyst", skills=("maths",))
    store.write_blocking(save_profiles, [profile], time.time())
    yield store
    store.close()


@pytest.fixture
def announced():
    return {"changes": [], "wakes": 0}


@pytest.fixture
def editor(store, announced):
    def wake():
        announced["wakes"] += 1

    outbox = Outbox(store, ME, on_changes=announced["changes"].append, on_queued=wake)
    return ProfileEditor(outbox, ME)


def items(store):
    return outbox_queries.list_items(store.reader())


def contents(store):
    return [
        outbox_queries.item_content(store.reader(), item.id) for item in items(store)
    ]


# -- Reading ------------------------------------------------------------------


def test_own_profile_from_cache(store):
    profile, avatar, pending = own_profile(store.reader(), ME)

    assert profile == fields(title="Analyst", skills=("maths",))
    assert avatar is None
    assert pending is False


def test_own_profile_unknown_user_uses_localpart(store):
    profile, avatar, pending = own_profile(store.reader(), "@newcomer:test")

    assert profile.display_name == "newcomer"
    assert profile.skills == ()
    assert (avatar, pending) == (None, False)


# -- Saving -------------------------------------------------------------------


def test_save_queues_changed_fields_only(store, editor, announced):
    changes = editor.save(
        fields(title="Analyst", location="London", skills=("maths", "poetry"))
    )

    queued = items(store)
    assert [(item.action, item.target_id) for item in queued] == [
        (PROFILE, ns.PROFILE_LOCATION),
        (PROFILE, ns.PROFILE_SKILLS),
    ]
    assert contents(store) == [
        {ns.PROFILE_LOCATION: "London"},
        {ns.PROFILE_SKILLS: ["maths", "poetry"]},
    ]
    assert [item.room_id for item in queued] == [ME, ME]
    assert [item.title for item in queued] == [
        "Location: London",
        "Skills: maths, poetry",
    ]
    assert changes.people == {ME}
    assert changes.outbox is True
    assert announced["changes"] == [changes]
    assert announced["wakes"] == 1


def test_save_unchanged_queues_nothing(store, editor, announced):
    changes = editor.save(fields(title="Analyst", skills=("maths",)))

    assert not changes
    assert items(store) == []
    assert announced["wakes"] == 0


def test_own_profile_applies_pending(store, editor):
    editor.save(fields(display_name="Ada King", title="", skills=("maths",)))

    profile, _avatar, pending = own_profile(store.reader(), ME)

    assert profile == fields(display_name="Ada King", skills=("maths",))
    assert pending is True


def test_cleared_field_queued_as_removal(store, editor):
    editor.save(fields(title="  ", skills=()))

    assert [item.title for item in items(store)] == [
        "Job title removed",
        "Skills removed",
    ]
    assert contents(store) == [{}, {}]


def test_later_edit_replaces_queued_item(store, editor):
    editor.save(fields(title="First", skills=("maths",)))
    editor.save(fields(title="First", location="Paris", skills=("maths",)))
    editor.save(fields(title="Second", location="Paris", skills=("maths",)))

    assert [item.target_id for item in items(store)] == [
        ns.PROFILE_LOCATION,
        ns.PROFILE_TITLE,
    ]
    assert contents(store) == [
        {ns.PROFILE_LOCATION: "Paris"},
        {ns.PROFILE_TITLE: "Second"},
    ]


def test_edit_back_to_cached_value_drops_item(store, editor):
    editor.save(fields(title="Temporary", skills=("maths",)))
    changes = editor.save(fields(title="Analyst", skills=("maths",)))

    assert items(store) == []
    assert changes.outbox is True
    assert own_profile(store.reader(), ME)[2] is False


def test_edit_back_after_attempt_still_sent(store, editor):
    editor.save(fields(title="Temporary", skills=("maths",)))
    [item] = items(store)
    store.write_blocking(
        lambda conn: conn.execute(
            "UPDATE outbox SET first_attempt_at = 1 WHERE id = ?", (item.id,)
        )
    )

    editor.save(fields(title="Analyst", skills=("maths",)))

    assert contents(store) == [{ns.PROFILE_TITLE: "Analyst"}]


def test_edit_while_sending_queues_after(store, editor):
    editor.save(fields(title="First", skills=("maths",)))
    [first] = items(store)
    store.write_blocking(
        lambda conn: conn.execute(
            "UPDATE outbox SET state = 'sending' WHERE id = ?", (first.id,)
        )
    )

    editor.save(fields(title="Second", skills=("maths",)))

    assert [(item.id == first.id, item.state) for item in items(store)] == [
        (True, "sending"),
        (False, "queued"),
    ]
    assert own_profile(store.reader(), ME)[0].title == "Second"


def test_failed_item_replaced_by_new_save(store, editor):
    editor.save(fields(title="Rejected", skills=("maths",)))
    [item] = items(store)
    store.write_blocking(
        lambda conn: conn.execute(
            "UPDATE outbox SET state = 'failed', error = 'too large' WHERE id = ?",
            (item.id,),
        )
    )

    editor.save(fields(title="Shorter", skills=("maths",)))

    assert [(entry.state, entry.title) for entry in items(store)] == [
        ("queued", "Job title: Shorter")
    ]


def test_text_kept_as_typed(store, editor):
    typed = {
        "display_name": "\t Ada <b>Lovelace</b> 👩‍💻\n",
        "title": "مهندسة بيانات",
        "bio": "\x00 Line one\n\n<script>alert(1)</script>\n\u200fשלום 🎉 \x1f",
        "skills": (" <i>SQL</i> ", "", "SQL", "<i>SQL</i>", "数据"),
    }

    editor.save(fields(**typed))

    profile = own_profile(store.reader(), ME)[0]
    assert profile.display_name == "Ada <b>Lovelace</b> 👩‍💻"
    assert profile.title == "مهندسة بيانات"
    assert profile.bio == "Line one\n\n<script>alert(1)</script>\n\u200fשלום 🎉"
    assert profile.skills == ("<i>SQL</i>", "SQL", "数据")


# -- Checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"display_name": " \n "}, "display_name", "Enter a name"),
        ({"display_name": "x" * 257}, "display_name", "at most 256"),
        ({"title": "x" * 2001}, "title", "at most 2,000"),
        ({"bio": "é" * 2001}, "bio", "About is 2,001 characters"),
        ({"skills": ("x" * 101,)}, "skills", "at most 100"),
        ({"ask_me_about": tuple(f"t{i}" for i in range(51))}, "ask_me_about", "51"),
    ],
)
def test_invalid_fields_rejected(store, editor, values, field, words):
    with pytest.raises(ProfileRejected) as caught:
        editor.save(fields(**values))

    assert caught.value.field == field
    assert words in caught.value.message
    assert items(store) == []


def test_limits_inclusive(store, editor):
    editor.save(
        fields(
            display_name="n" * 256,
            title="Analyst",
            bio="b" * 2000,
            skills=tuple(f"{i:03d}" + "s" * 97 for i in range(50)),
        )
    )

    assert len(items(store)) == 3


def test_oversized_profile_rejected_before_queueing(store, editor):
    emoji = "😀" * 2000  # 8,000 bytes each
    big = fields(
        title=emoji,
        department=emoji,
        location=emoji,
        pronouns=emoji,
        bio=emoji,
        skills=tuple(f"{i:02d}" + "🎉" * 98 for i in range(50)),
        ask_me_about=tuple(f"{i:02d}" + "🎈" * 48 for i in range(50)),
    )

    with pytest.raises(ProfileRejected) as caught:
        editor.save(big)

    assert "65,536 bytes" in caught.value.message
    assert caught.value.field == "skills"
    assert items(store) == []


def test_profile_size_follows_synapse_measure():
    profile = {
        "displayname": "Ada",
        "avatar_url": "mxc://test/abc",
        ns.PROFILE_TITLE: "Analyst",
        ns.PROFILE_SKILLS: ["a", "b"],
    }
    # Stored fields other than the one set, as PostgreSQL prints them, less
    # the braces plus a comma: {"app.commonplace.skills": ["a", "b"]} - 1.
    others = len('{"app.commonplace.skills": ["a", "b"]}') - 1
    name = len("Ada") + len("displayname") + 6
    avatar = len("mxc://test/abc") + len("avatar_url") + 6
    new = len('{"app.commonplace.title":"Analyst"}')

    assert profile_size(profile, ns.PROFILE_TITLE) == others + name + avatar + new


def test_shrinking_changes_sent_first(store, editor):
    editor.save(fields(title="", location="Somewhere far", skills=("maths",)))

    assert [item.target_id for item in items(store)] == [
        ns.PROFILE_TITLE,
        ns.PROFILE_LOCATION,
    ]


def test_growth_order_keeps_profile_under_limit(store, editor):
    near_limit = "😀" * 2000
    editor.save(
        fields(
            title=near_limit,
            department=near_limit,
            location=near_limit,
            pronouns=near_limit,
            skills=("maths",),
        )
    )
    # Swapping most of the bio for the title keeps the total under the limit
    # only if the title shrinks before the bio grows.
    editor.save(
        fields(
            title="",
            department=near_limit,
            location=near_limit,
            pronouns=near_limit,
            bio=near_limit,
            skills=("maths",),
        )
    )

    assert [item.target_id for item in items(store)] == [
        ns.PROFILE_DEPARTMENT,
        ns.PROFILE_LOCATION,
        ns.PROFILE_PRONOUNS,
        ns.PROFILE_TITLE,
        ns.PROFILE_BIO,
    ]


# -- The picture --------------------------------------------------------------


def test_avatar_waits_in_file(store, editor):
    changes = editor.set_avatar(PNG, "image/png")

    [item] = items(store)
    content = contents(store)[0]
    _profile, avatar, pending = own_profile(store.reader(), ME)
    assert (item.action, item.target_id) == (AVATAR, "avatar_url")
    assert content == {"file": content["file"], "mimetype": "image/png", "size": 72}
    assert is_local_avatar(avatar)
    with open(avatar, "rb") as file:
        assert file.read() == PNG
    assert oct(os.stat(avatar).st_mode & 0o777) == "0o600"
    assert pending is True
    assert changes.people == {ME}
    assert item.title == "New picture (PNG, 0 KB)"


def test_new_avatar_replaces_queued_one(store, editor):
    editor.set_avatar(PNG, "image/png")
    first = own_profile(store.reader(), ME)[1]

    editor.set_avatar(JPEG, "image/jpeg")

    second = own_profile(store.reader(), ME)[1]
    assert len(items(store)) == 1
    assert second.endswith(".jpg")
    assert not os.path.exists(first)
    assert os.path.exists(second)


def test_remove_unsent_avatar_queues_nothing(store, editor):
    editor.set_avatar(PNG, "image/png")
    path = own_profile(store.reader(), ME)[1]

    editor.remove_avatar()

    assert items(store) == []
    assert not os.path.exists(path)
    assert own_profile(store.reader(), ME)[1] is None


def test_remove_cached_avatar_queued(store, editor):
    profile = Profile(ME, "Ada Lovelace", "mxc://test/old")
    store.write_blocking(save_profiles, [profile], time.time())

    editor.remove_avatar()

    assert [item.title for item in items(store)] == ["Picture removed"]
    assert own_profile(store.reader(), ME)[1] is None


@pytest.mark.parametrize(
    ("image", "mimetype", "words"),
    [
        (PNG, "image/gif", "PNG or JPEG"),
        (JPEG, "image/png", "not a valid PNG"),
        (PNG + b"\0" * MAX_AVATAR_BYTES, "image/png", "smaller picture"),
    ],
)
def test_invalid_avatar_rejected(store, editor, image, mimetype, words):
    with pytest.raises(ProfileRejected) as caught:
        editor.set_avatar(image, mimetype)

    assert words in caught.value.message
    assert items(store) == []


def test_unused_files_deleted_when_old(store, editor):
    editor.set_avatar(PNG, "image/png")
    folder = avatar_folder(store.reader())
    orphan = folder / "orphan.png"
    fresh = folder / "fresh.png"
    orphan.write_bytes(PNG)
    fresh.write_bytes(PNG)
    old = time.time() - ORPHAN_FILE_SECONDS - 10
    os.utime(orphan, (old, old))
    in_use = own_profile(store.reader(), ME)[1]
    os.utime(in_use, (old, old))

    removed = remove_unused_files(store.reader())

    assert removed == ["orphan.png"]
    assert os.path.exists(in_use)
    assert fresh.exists()


# -- After sending ------------------------------------------------------------


def test_mark_sent_updates_cached_person(store, editor):
    editor.save(fields(title="Engineer", skills=("maths", "engines")))
    queued = items(store)

    changes = [store.write_blocking(profile_store.mark_sent, i.id) for i in queued]

    person = (
        store.reader()
        .execute("SELECT title, skills FROM people WHERE user_id = ?", (ME,))
        .fetchone()
    )
    assert (person["title"], json.loads(person["skills"])) == (
        "Engineer",
        ["maths", "engines"],
    )
    assert all(change.people == {ME} for change in changes)
    assert items(store) == []
    assert own_profile(store.reader(), ME)[2] is False


def test_discarded_item_announces_person(store, editor):
    editor.save(fields(title="Engineer", skills=("maths",)))
    [item] = items(store)

    removed = store.write_blocking(outbox_store.discard, item.id)

    assert removed.changes.people == {ME}
    assert removed.changes.rooms == set()


def test_server_size_rejection_reason():
    error = error_from_response(
        400,
        {"errcode": "M_PROFILE_TOO_LARGE", "error": "Profile too large"},
        {},
        host="example.org",
        authenticated=True,
    )

    reason = failure_reason(error, PROFILE)

    assert isinstance(error, TooLarge)
    assert "64 KiB" in reason
    assert "save it again" in reason
    assert MAX_PROFILE_BYTES == 64 * 1024


def test_outbox_view_describes_items(store, editor):
    editor.save(fields(title="Data engineer", skills=()))
    editor.set_avatar(PNG, "image/png")

    assert [item_text(item) for item in items(store)] == [
        "Profile · waiting · Skills removed",
        "Profile · waiting · Job title: Data engineer",
        "Profile picture · waiting · New picture (PNG, 0 KB)",
    ]


def _removal(key: str) -> ClaimedItem:
    return ClaimedItem(1, "c", "t", ME, PROFILE, key, key, {}, None, None)


def test_removal_without_delete_support():
    """A server without DELETE on profile fields gets an empty value instead."""
    requests = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append((request.method, request.content))
        if request.method == "DELETE":
            body = {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
            return httpx.Response(405, json=body)
        return httpx.Response(200, json={})

    async def remove_both():
        transport = httpx.MockTransport(handler)
        async with MatrixClient(
            "http://127.0.0.1:1", "token", transport=transport
        ) as c:
            await send_profile_item(c, None, _removal(ns.PROFILE_TITLE))
            await send_profile_item(c, None, _removal(ns.PROFILE_SKILLS))

    asyncio.run(remove_both())

    assert [method for method, _body in requests] == ["DELETE", "PUT"] * 2
    assert json.loads(requests[1][1]) == {ns.PROFILE_TITLE: ""}
    assert json.loads(requests[3][1]) == {ns.PROFILE_SKILLS: []}


def test_name_of_invisible_characters_only_is_rejected(store, editor):
    with pytest.raises(ProfileRejected) as caught:
        editor.save(fields(display_name="\u200b\u200b\u2060"))

    assert caught.value.field == "display_name"
    assert own_profile(store.reader(), ME)[2] is False


def test_control_characters_inside_fields_are_removed(store, editor):
    editor.save(fields(title="Data\x00 \x1b[31mengineer\x07", bio="One\nTwo\tthree\r"))

    saved, _avatar, _pending = own_profile(store.reader(), ME)
    assert saved.title == "Data [31mengineer"
    assert saved.bio == "One\nTwo\tthree"
