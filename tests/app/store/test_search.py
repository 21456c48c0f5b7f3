import datetime

import pytest

from app.records import Profile
from app.store import Store
from app.store.schema import MIGRATIONS
from app.store.search import KINDS, rebuild_index, search
from app.store.writes import apply_sync, save_profiles
from tests.factories import (
    discussion,
    event,
    member,
    reply,
    room_batch,
    space_batch,
    state,
)

GUILD = "!guild:test"
GUILD_BOARD = "!guild-board:test"
GUILD_FILES = "!guild-files:test"
DESIGN = "!design:test"
DESIGN_BOARD = "!design-board:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(
        apply_sync,
        [
            space_batch(GUILD, "Data Guild", [GUILD_BOARD, GUILD_FILES]),
            space_batch(DESIGN, "Design Practice", [DESIGN_BOARD]),
            room_batch(
                GUILD_BOARD, [member("@ann:test", "Ann Ångström"), member("@bob:test")]
            ),
            room_batch(GUILD_FILES),
            room_batch(DESIGN_BOARD, [member("@cho:test", "Cho")]),
        ],
        "t0",
    )
    yield store
    store.close()


def write(store, room_id, *events):
    store.write_blocking(apply_sync, [room_batch(room_id, [], list(events))], None)


def titles(results, kind="discussion"):
    return [
        "".join(text for text, _ in hit.title) for hit in results.groups.get(kind, [])
    ]


def marked(highlighted):
    return [text for text, matched in highlighted if matched]


def find(store, text):
    return search(store.reader(), text)


def shared_file(sender, name, **extra):
    content = {"msgtype": "m.file", "body": name, "url": "mxc://test/file"}
    return event(sender, content, **extra)


def edit_of(target, sender, body, title=None):
    new_content = {"msgtype": "m.text", "body": body}
    if title:
        new_content["app.commonplace.discussion"] = {
            "title": title,
            "kind": "discussion",
        }
    return event(
        sender,
        {
            "msgtype": "m.text",
            "body": f"* {body}",
            "m.new_content": new_content,
            "m.relates_to": {"rel_type": "m.replace", "event_id": target["event_id"]},
        },
    )


def redaction_of(target, sender):
    return event(sender, {}, type="m.room.redaction", redacts=target["event_id"])


def test_prefix_marks_typed_part(store):
    write(store, GUILD_BOARD, discussion("@ann:test", "Kubernetes for beginners"))

    results = find(store, "kube")

    assert titles(results) == ["Kubernetes for beginners"]
    assert marked(results.groups["discussion"][0].title) == ["Kube"]


def test_accents_and_case_are_ignored_both_ways(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Résumé tips"),
        discussion("@ann:test", "RESUME writing"),
    )

    assert sorted(titles(find(store, "resume"))) == ["RESUME writing", "Résumé tips"]
    assert sorted(titles(find(store, "RÉSUMÉ"))) == ["RESUME writing", "Résumé tips"]


def test_words_inside_chinese_and_japanese_text(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "機械学習の基礎"),
        discussion("@ann:test", "学生の集まり"),
    )

    results = find(store, "学習")

    assert titles(results) == ["機械学習の基礎"]
    assert marked(results.groups["discussion"][0].title) == ["学習"]


def test_emoji_and_emoji_sequences(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Pairing 👩\u200d💻 on Fridays"),
        discussion("@ann:test", "Ship it 🚀"),
        discussion("@ann:test", "Thanks 👍🏽"),
    )

    assert titles(find(store, "🚀")) == ["Ship it 🚀"]
    assert titles(find(store, "👩\u200d💻")) == ["Pairing 👩\u200d💻 on Fridays"]
    assert titles(find(store, "👍🏽")) == ["Thanks 👍🏽"]


def test_quoted_phrase_keeps_word_order(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Review the query plan"),
        discussion("@ann:test", "Plan the query review"),
    )

    assert titles(find(store, '"query plan"')) == ["Review the query plan"]
    assert len(titles(find(store, "query plan"))) == 2


def test_edited_post_latest_text_only(store):
    root = discussion("@ann:test", "Old title", "first draft about caching")
    write(store, GUILD_BOARD, root)
    write(
        store,
        GUILD_BOARD,
        edit_of(root, "@ann:test", "now about indexing", "New title"),
    )

    assert titles(find(store, "caching")) == []
    assert titles(find(store, "old")) == []
    assert titles(find(store, "indexing")) == ["New title"]
    assert titles(find(store, "new title")) == ["New title"]


def test_edited_reply_is_found_by_latest_text(store):
    root = discussion("@ann:test", "Question")
    answer = reply("@bob:test", root["event_id"], "use a btree")
    write(store, GUILD_BOARD, root, answer)
    write(store, GUILD_BOARD, edit_of(answer, "@bob:test", "use a hash index"))

    assert find(store, "btree").groups == {}
    hits = find(store, "hash").groups["reply"]
    assert [hit.ref for hit in hits] == [answer["event_id"]]
    assert hits[0].discussion_id == root["event_id"]


def test_deleted_posts_and_files_disappear(store):
    root = discussion("@ann:test", "Deleted topic")
    answer = reply("@bob:test", root["event_id"], "deleted reply")
    upload = shared_file("@ann:test", "deleted-report.pdf")
    write(store, GUILD_BOARD, root, answer)
    write(store, GUILD_FILES, upload)
    assert find(store, "deleted").total == 3

    write(store, GUILD_BOARD, redaction_of(root, "@ann:test"))
    write(store, GUILD_BOARD, redaction_of(answer, "@bob:test"))
    write(store, GUILD_FILES, redaction_of(upload, "@ann:test"))

    assert find(store, "deleted").groups == {}


def test_title_match_ranks_above_body_match(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Weekly notes", "we talked about latency"),
        discussion("@ann:test", "Latency budget"),
    )

    assert titles(find(store, "latency")) == ["Latency budget", "Weekly notes"]


def test_recency_breaks_ties(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Retro", event_id="$older", ts=1_700_000_000_000),
        discussion("@ann:test", "Retro", event_id="$newer", ts=1_800_000_000_000),
    )

    hits = find(store, "retro").groups["discussion"]
    assert [hit.ref for hit in hits] == ["$newer", "$older"]


def test_results_are_grouped_by_kind(store):
    root = discussion("@ann:test", "Onboarding guide")
    write(
        store, GUILD_BOARD, root, reply("@bob:test", root["event_id"], "onboarding tip")
    )
    write(store, GUILD_FILES, shared_file("@ann:test", "onboarding.pdf"))
    store.write_blocking(
        save_profiles,
        [Profile("@cho:test", "Cho", None, "Onboarding lead", skills=("Onboarding",))],
        1.0,
    )
    store.write_blocking(
        apply_sync,
        [space_batch("!onboarding:test", "Onboarding Circle", [])],
        None,
    )

    results = find(store, "onboarding")

    assert list(results.groups) == ["discussion", "reply", "file", "person", "space"]
    assert results.groups["reply"][0].discussion_id == root["event_id"]
    person = results.groups["person"][0]
    assert person.ref == "@cho:test"
    assert "Onboarding" in marked(person.snippet)


def test_people_by_name_skill_and_folded_name(store):
    store.write_blocking(
        save_profiles,
        [
            Profile(
                "@jose:test",
                "José Núñez",
                None,
                "Data engineer",
                "Platform",
                skills=("PostgreSQL", "Airflow"),
            ),
            Profile("@taro:test", "田中太郎", None, "Designer"),
        ],
        1.0,
    )

    assert titles(find(store, "jose"), "person") == ["José Núñez"]
    assert titles(find(store, "postgres"), "person") == ["José Núñez"]
    assert titles(find(store, "platform"), "person") == ["José Núñez"]
    assert titles(find(store, "田中"), "person") == ["田中太郎"]


def test_space_names_are_found(store):
    assert titles(find(store, "guild"), "space") == ["Data Guild"]


def test_left_space_is_not_a_result(store):
    store.write_blocking(apply_sync, [], None, [GUILD])
    assert titles(find(store, "guild"), "space") == []


def test_in_filter_limits_to_a_space(store):
    write(store, GUILD_BOARD, discussion("@ann:test", "Deploy checklist"))
    write(store, DESIGN_BOARD, discussion("@cho:test", "Deploy the design system"))

    assert titles(find(store, 'deploy in:"Data Guild"')) == ["Deploy checklist"]
    assert titles(find(store, "deploy in:design")) == ["Deploy the design system"]
    results = find(store, "deploy in:nowhere")
    assert results.groups == {}
    assert results.notices == ["You are in no space called “nowhere”."]


def test_from_filter_limits_to_a_person(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Cache tips"),
        discussion("@bob:test", "Cache warnings"),
    )

    assert titles(find(store, "cache from:ann")) == ["Cache tips"]
    assert titles(find(store, "cache from:@bob:test")) == ["Cache warnings"]
    assert find(store, "cache from:zed").notices == [
        "Nobody called “zed” is known here."
    ]


def test_question_filters(store):
    answered = discussion("@ann:test", "How to index?", kind="question")
    open_question = discussion("@ann:test", "How to shard?", kind="question")
    answer = reply("@bob:test", answered["event_id"], "like this")
    accept = state(
        "app.commonplace.accepted_answer",
        {"event_id": answer["event_id"]},
        state_key=answered["event_id"],
        sender="@ann:test",
    )
    write(
        store,
        GUILD_BOARD,
        answered,
        open_question,
        answer,
        discussion("@ann:test", "How to relax"),
        accept,
    )

    assert sorted(titles(find(store, "how is:question"))) == [
        "How to index?",
        "How to shard?",
    ]
    assert titles(find(store, "how is:unanswered")) == ["How to shard?"]
    assert titles(find(store, "is:unanswered")) == ["How to shard?"]
    details = [hit.detail for hit in find(store, "is:question").groups["discussion"]]
    assert sorted(detail.split(" · ")[0] for detail in details) == [
        "Question, answered",
        "Question, unanswered",
    ]


def test_has_file_and_dates(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Report due", ts=_ms(2025, 6, 1)),
    )
    write(
        store,
        GUILD_FILES,
        shared_file("@ann:test", "report-2024.pdf", ts=_ms(2024, 3, 5)),
        shared_file("@ann:test", "report-2026.pdf", ts=_ms(2026, 2, 1)),
    )

    assert titles(find(store, "report has:file"), "file") == [
        "report-2026.pdf",
        "report-2024.pdf",
    ]
    assert "discussion" not in find(store, "report has:file").groups
    assert titles(find(store, "report before:2025-01-01"), "file") == [
        "report-2024.pdf"
    ]
    found = find(store, "report after:2025-06")
    assert titles(found) == ["Report due"]
    assert titles(found, "file") == ["report-2026.pdf"]


def _ms(year, month, day):
    return int(datetime.datetime(year, month, day, 12).astimezone().timestamp() * 1000)


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced',
        "NEAR(a b)",
        "a OR b AND NOT c",
        "*",
        "title:x",
        "'; DROP TABLE discussions; --",
        "x" * 10_000,
        "word " * 2_000,
        "in:",
        'in:"',
        "before:yesterday",
        "is:everything has:cake",
        "^ - + : ( ) { }",
        "\x00\x1b[31m",
    ],
)
def test_hostile_queries_return_results_or_a_plain_message(store, text):
    write(store, GUILD_BOARD, discussion("@ann:test", "Title with words"))

    results = find(store, text)

    assert results.groups or results.notices
    assert all(notice.endswith(".") for notice in results.notices)
    assert titles(find(store, "title")) == ["Title with words"]


def test_long_text_gives_a_snippet_around_the_match(store):
    body = " ".join(["filler"] * 80) + " the needle is here " + " ".join(["tail"] * 80)
    root = discussion("@ann:test", "Long post")
    write(store, GUILD_BOARD, root, reply("@bob:test", root["event_id"], body))

    snippet = find(store, "needle").groups["reply"][0].snippet

    text = "".join(part for part, _ in snippet)
    assert text.startswith("…")
    assert text.endswith("…")
    assert "needle" in text
    assert len(text) < 200
    assert marked(snippet) == ["needle"]


def _index_contents(conn):
    """Return every document with every token the index holds for it."""
    documents = {
        row["id"]: tuple(row)[1:]
        for row in conn.execute(
            "SELECT id, kind, ref, room_id, sender, ts FROM search_docs"
        )
    }
    tokens = {}
    for kind in KINDS:
        conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab_{kind} "
            f"USING fts5vocab(main, search_{kind}, instance)"
        )
        for row in conn.execute(f"SELECT doc, col, offset, term FROM vocab_{kind}"):
            tokens.setdefault(row[0], []).append(tuple(row)[1:])
    assert set(tokens) <= set(documents)
    return sorted(
        (documents[doc_id], sorted(tokens.get(doc_id, []))) for doc_id in documents
    )


def test_index_kept_by_triggers_equals_a_rebuild(store):
    root = discussion("@ann:test", "Café culture", "Résumé ✨", tags=["culture"])
    other = discussion("@bob:test", "To be removed")
    answer = reply("@bob:test", root["event_id"], "日本語の返信 👍")
    write(store, GUILD_BOARD, root, other, answer)
    write(store, GUILD_FILES, shared_file("@ann:test", "plan.pdf"))
    write(store, GUILD_BOARD, edit_of(root, "@ann:test", "changed body", "Changed"))
    write(store, GUILD_BOARD, redaction_of(other, "@bob:test"))
    store.write_blocking(
        save_profiles, [Profile("@ann:test", "Ann", None, "Lead", skills=("SQL",))], 1.0
    )
    store.write_blocking(
        apply_sync,
        [room_batch(GUILD, [state("m.room.topic", {"topic": "Data people"})])],
        None,
    )
    by_triggers = store.write_blocking(_index_contents)

    store.write_blocking(rebuild_index)

    assert store.write_blocking(_index_contents) == by_triggers
    assert len(by_triggers) == 8  # a discussion, a reply, a file, 3 people, 2 spaces


def test_migration_fills_the_index_of_an_existing_cache(tmp_path, monkeypatch):
    from app.store import database, writes

    # A cache written by a version whose newest migration was 3, before the
    # search index and the tables of later migrations existed.
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(database, "MIGRATIONS", MIGRATIONS[:3])
        patch.setattr(database, "LATEST_VERSION", 3)
        patch.setattr(writes, "record_member_event", lambda conn, member: None)
        old = Store(path)
        write(old, GUILD_BOARD, discussion("@ann:test", "Written before search"))
        old.close()

    reopened = Store(path)
    try:
        assert titles(find(reopened, "before")) == ["Written before search"]
    finally:
        reopened.close()


def test_stroked_letters_are_found_as_typed(store):
    write(store, GUILD_BOARD, discussion("@ann:test", "Łódź meetup with Søren"))

    assert titles(find(store, "lodz")) == ["Łódź meetup with Søren"]
    assert titles(find(store, "soren")) == ["Łódź meetup with Søren"]
    assert titles(find(store, "ŁÓDŹ")) == ["Łódź meetup with Søren"]


def test_migration_10_folds_stroked_letters_again(tmp_path, monkeypatch):
    from app.store import database, search_text

    # A cache written by a version whose newest migration was 9, when
    # search_fold kept ł and ø as they are.
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(database, "MIGRATIONS", MIGRATIONS[:9])
        patch.setattr(database, "LATEST_VERSION", 9)
        patch.setattr(search_text, "_LATIN_SPELLINGS", {})
        search_text._fold_char.cache_clear()
        old = Store(path)
        write(old, GUILD_BOARD, discussion("@ann:test", "Łódź meetup"))
        old.write_blocking(
            save_profiles, [Profile("@lukasz:test", "Łukasz Nowak", None)], 1.0
        )
        assert titles(find(old, "lodz")) == []
        old.close()
    search_text._fold_char.cache_clear()

    reopened = Store(path)
    try:
        assert titles(find(reopened, "lodz")) == ["Łódź meetup"]
        people = find(reopened, "lukasz").groups["person"]
        assert [hit.title for hit in people] == [
            (("Łukasz", True), (" Nowak", False))
        ]
        sort_name = reopened.reader().execute(
            "SELECT sort_name FROM people WHERE user_id = '@lukasz:test'"
        ).fetchone()[0]
        assert sort_name == "lukasz nowak"
    finally:
        reopened.close()


def test_tag_match_shows_tags(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Versioning models", "How do you do it?", tags=["dbt"]),
    )

    snippet = find(store, "dbt").groups["discussion"][0].snippet

    assert "".join(part for part, _ in snippet) == "#dbt · How do you do it?"
    assert marked(snippet) == ["dbt"]


def test_filters_apply_before_the_rank_window(store, monkeypatch):
    monkeypatch.setattr("app.store.search.RANK_WINDOW", 2)
    old_question = discussion("@ann:test", "Deploy question", kind="question")
    newer = [discussion("@bob:test", f"Deploy note {n}") for n in range(4)]
    write(store, GUILD_BOARD, old_question, *newer)

    assert titles(find(store, "deploy is:question")) == ["Deploy question"]
    assert titles(find(store, "deploy from:ann")) == ["Deploy question"]
    assert len(titles(find(store, "deploy"))) == 2


def test_title_matches_outrank_within_the_window(store, monkeypatch):
    monkeypatch.setattr("app.store.search.RANK_WINDOW", 3)
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Notes", "about latency"),
        discussion("@ann:test", "Latency budget"),
        discussion("@ann:test", "More notes", "latency again"),
    )

    assert titles(find(store, "latency"))[0] == "Latency budget"


def test_snippet_shows_the_longest_matching_word(store):
    body = "Any hot desk will do. " + "filler " * 40 + "Try the pastéis de nata."
    root = discussion("@ann:test", "Lisbon office")
    write(store, GUILD_BOARD, root, reply("@bob:test", root["event_id"], body))

    snippet = find(store, "pastéis de").groups["reply"][0].snippet

    assert "pastéis" in marked(snippet)
