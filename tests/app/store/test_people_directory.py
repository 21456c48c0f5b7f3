import pytest

from app.records import Profile
from app.store import Store
from app.store.people_directory import (
    PARTIAL_MATCH,
    WHOLE_MATCH,
    departments,
    directory,
    find_experts,
)
from app.store.writes import apply_sync, save_profiles
from tests.factories import discussion, member, reply, room_batch, space_batch, state

GUILD = "!guild:test"
GUILD_BOARD = "!guild-board:test"
DESIGN = "!design:test"
DESIGN_BOARD = "!design-board:test"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "cache.sqlite3")
    store.write_blocking(
        apply_sync,
        [
            space_batch(GUILD, "Data Guild", [GUILD_BOARD]),
            space_batch(DESIGN, "Design Practice", [DESIGN_BOARD]),
            room_batch(
                GUILD_BOARD,
                [
                    member("@jose:test", "José Núñez"),
                    member("@ann:test", "Ann"),
                    member("@bob:test", "Bob"),
                ],
            ),
            room_batch(DESIGN_BOARD, [member("@taro:test", "田中太郎")]),
        ],
        "t0",
    )
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
            Profile("@taro:test", "田中太郎", None, "Designer", "Design"),
            Profile("@ann:test", "Ann", None, "Analyst", "platform"),
            Profile("@bob:test", "Bob", None, "Support", "Customer Success"),
            # Fetched from the server's user directory; in no joined room.
            Profile("@zed:test", "Zed Outsider", None, "Engineer", "Platform"),
        ],
        1.0,
    )
    yield store
    store.close()


def write(store, room_id, *events):
    store.write_blocking(apply_sync, [room_batch(room_id, [], list(events))], None)


def profiles(store, *items):
    store.write_blocking(save_profiles, list(items), 2.0)


def names(entries):
    return [entry.display_name for entry in entries]


def accept(question, answer):
    return state(
        "app.commonplace.accepted_answer",
        {"event_id": answer["event_id"]},
        state_key=question["event_id"],
        sender=question["sender"],
    )


# ---------------------------------------------------------------- directory


def test_directory_lists_sharing_people_first_by_name(store):
    entries = directory(store.reader())

    assert names(entries) == ["Ann", "Bob", "José Núñez", "田中太郎", "Zed Outsider"]
    assert [entry.shares_space for entry in entries] == [True] * 4 + [False]


def test_directory_pages_with_limit_and_offset(store):
    conn = store.reader()

    assert names(directory(conn, limit=2)) == ["Ann", "Bob"]
    assert names(directory(conn, limit=2, offset=2)) == ["José Núñez", "田中太郎"]
    assert names(directory(conn, limit=2, offset=4)) == ["Zed Outsider"]


def test_directory_folds_accents_and_case(store):
    conn = store.reader()

    assert names(directory(conn, "jose")) == ["José Núñez"]
    assert names(directory(conn, "NUNEZ")) == ["José Núñez"]
    assert names(directory(conn, "JOSÉ")) == ["José Núñez"]


def test_directory_finds_by_prefix_title_department_and_skill(store):
    conn = store.reader()

    assert names(directory(conn, "postg")) == ["José Núñez"]
    assert names(directory(conn, "airflow")) == ["José Núñez"]
    assert names(directory(conn, "analyst")) == ["Ann"]
    assert names(directory(conn, "customer succ")) == ["Bob"]
    assert names(directory(conn, "zzz")) == []


def test_directory_finds_by_user_id_localpart(store):
    profiles(store, Profile("@maya.s:test", "Maya Smith", None))

    assert names(directory(store.reader(), "maya.s")) == ["Maya Smith"]


def test_directory_finds_chinese_substring(store):
    conn = store.reader()

    assert names(directory(conn, "田中")) == ["田中太郎"]
    assert names(directory(conn, "太郎")) == ["田中太郎"]


def test_directory_finds_emoji_in_name_and_skill(store):
    profiles(
        store,
        Profile("@rocket:test", "Rocket 🚀 Rae", None),
        Profile("@cook:test", "Cook", None, skills=("Baking 🍰",)),
    )
    conn = store.reader()

    assert names(directory(conn, "🚀")) == ["Rocket 🚀 Rae"]
    assert names(directory(conn, "🍰")) == ["Cook"]


def test_directory_marks_people_not_sharing_a_space(store):
    entries = directory(store.reader(), "engineer")

    by_name = {entry.display_name: entry.shares_space for entry in entries}
    assert by_name == {"José Núñez": True, "Zed Outsider": False}
    assert names(entries) == ["José Núñez", "Zed Outsider"]


def test_directory_left_room_no_longer_shares(store):
    write(store, DESIGN_BOARD, member("@taro:test", "田中太郎", membership="leave"))

    [taro] = directory(store.reader(), "田中")

    assert taro.shares_space is False


def test_directory_department_filter_ignores_case(store):
    conn = store.reader()

    assert names(directory(conn, department="platform")) == [
        "Ann",
        "José Núñez",
        "Zed Outsider",
    ]
    assert names(directory(conn, department="PLATFORM")) == [
        "Ann",
        "José Núñez",
        "Zed Outsider",
    ]
    assert names(directory(conn, "jose", department="Platform")) == ["José Núñez"]
    assert names(directory(conn, department="Plat")) == []
    assert names(directory(conn, department="Nowhere")) == []


def test_directory_department_filter_folds_non_ascii_case(store):
    profiles(store, Profile("@eve:test", "Eve", None, department="Études"))

    assert names(directory(store.reader(), department="ÉTUDES")) == ["Eve"]


def test_directory_space_filter_includes_child_rooms(store):
    conn = store.reader()

    assert names(directory(conn, space_id=GUILD)) == ["Ann", "Bob", "José Núñez"]
    assert names(directory(conn, space_id=DESIGN)) == ["田中太郎"]
    assert names(directory(conn, "ann", space_id=GUILD)) == ["Ann"]
    assert names(directory(conn, "ann", space_id=DESIGN)) == []
    assert names(directory(conn, space_id="!unknown:test")) == []


def test_directory_returns_hostile_profile_text_intact(store):
    long_title = "Principal " * 2_000
    profiles(
        store,
        Profile(
            "@html:test",
            "<b>Bold</b> <script>alert(1)</script>",
            "mxc://test/avatar",
            long_title,
            "\u202eevil\u202c تطوير",
        ),
    )

    [entry] = directory(store.reader(), "bold")

    assert entry.display_name == "<b>Bold</b> <script>alert(1)</script>"
    assert entry.title == long_title
    assert entry.department == "\u202eevil\u202c تطوير"
    assert entry.avatar_url == "mxc://test/avatar"


def test_directory_text_without_words_lists_everyone(store):
    conn = store.reader()

    assert len(directory(conn, '" * ( )')) == 5
    assert len(directory(conn, "   ")) == 5


@pytest.mark.parametrize(
    "text",
    ['"', "NEAR(", "*", "jose*", "AND OR NOT", "title:x", "x" * 10_000, "^ - +"],
)
def test_directory_hostile_text_never_raises(store, text):
    entries = directory(store.reader(), text)

    assert isinstance(entries, list)


def test_directory_sorts_by_folded_name(store):
    profiles(
        store,
        Profile("@bob.sales:test", "Bob", None, department="Sales"),
        Profile("@angel:test", "Ángel", None, department="Sales"),
        Profile("@adam:test", "Adam", None, department="Sales"),
        Profile("@zoe:test", "Zoë", None, department="Sales"),
    )

    assert names(directory(store.reader(), department="Sales")) == [
        "Adam",
        "Ángel",
        "Bob",
        "Zoë",
    ]


def test_directory_sort_follows_renames(store):
    profiles(
        store,
        Profile("@adam:test", "Adam", None, department="Sales"),
        Profile("@angel:test", "Ángel", None, department="Sales"),
    )
    profiles(store, Profile("@angel:test", "Ólafur", None, department="Sales"))

    assert names(directory(store.reader(), department="Sales")) == ["Adam", "Ólafur"]
    profiles(store, Profile("@adam:test", "Zack", None, department="Sales"))
    assert names(directory(store.reader(), department="Sales")) == ["Ólafur", "Zack"]


def test_directory_sorts_member_names_from_sync(store):
    write(store, GUILD_BOARD, member("@eli:test", "Élise"))

    assert names(directory(store.reader(), space_id=GUILD)) == [
        "Ann",
        "Bob",
        "Élise",
        "José Núñez",
    ]


def test_directory_excludes_given_user(store):
    conn = store.reader()

    assert names(directory(conn, exclude="@ann:test")) == [
        "Bob",
        "José Núñez",
        "田中太郎",
        "Zed Outsider",
    ]
    assert names(directory(conn, "platform", exclude="@jose:test")) == [
        "Ann",
        "Zed Outsider",
    ]
    assert names(directory(conn, space_id=GUILD, exclude="@bob:test")) == [
        "Ann",
        "José Núñez",
    ]
    assert len(directory(conn, exclude="@nobody:test")) == 5


def test_departments_are_distinct_and_sorted(store):
    profiles(store, Profile("@eve:test", "Eve", None, department=" Études "))

    assert departments(store.reader()) == [
        "Customer Success",
        "Design",
        "Platform",
        " Études ",
    ]


# ---------------------------------------------------------------- experts


def experts(store, topic, **options):
    return find_experts(store.reader(), topic, **options)


def expert_names(results):
    return [expert.display_name for expert in results]


def test_experts_declared_skill_beats_contributions(store):
    profiles(store, Profile("@zed:test", "Zed Outsider", None, skills=("SQL",)))
    question = discussion("@bob:test", "SQL question", kind="question")
    answer = reply("@ann:test", question["event_id"], "Use SQL window functions")
    write(store, GUILD_BOARD, question, answer, accept(question, answer))

    results = experts(store, "sql")

    assert expert_names(results) == ["Zed Outsider", "Ann", "Bob"]
    assert results[0].declared == WHOLE_MATCH
    assert results[1].accepted_answers == 1


def test_experts_whole_skill_beats_partial(store):
    profiles(
        store,
        Profile("@ann:test", "Ann", None, skills=("SQL tuning",)),
        Profile("@bob:test", "Bob", None, skills=("SQLite",)),
        Profile("@zed:test", "Zed Outsider", None, skills=("sql",)),
    )

    results = experts(store, "SQL")

    assert expert_names(results)[0] == "Zed Outsider"
    assert sorted(expert_names(results)[1:]) == ["Ann", "Bob"]
    assert [expert.declared for expert in results] == [
        WHOLE_MATCH,
        PARTIAL_MATCH,
        PARTIAL_MATCH,
    ]


def test_experts_ask_me_about_counts_as_declared(store):
    profiles(store, Profile("@bob:test", "Bob", None, ask_me_about=("Onboarding",)))

    [bob] = experts(store, "onboarding")

    assert bob.matched_topics == ("Onboarding",)
    assert bob.reason == "Invites questions about Onboarding"


def test_experts_accepted_answer_beats_plain_replies(store):
    question = discussion("@bob:test", "How do I tune Kafka?", kind="question")
    answered = reply("@ann:test", question["event_id"], "Raise the batch size")
    first = reply("@jose:test", question["event_id"], "Kafka docs help")
    second = reply("@jose:test", question["event_id"], "Kafka partitions matter")
    write(
        store,
        GUILD_BOARD,
        question,
        answered,
        first,
        second,
        accept(question, answered),
    )

    results = experts(store, "kafka")

    assert expert_names(results) == ["Ann", "José Núñez", "Bob"]
    assert (results[0].accepted_answers, results[0].replies) == (1, 0)
    assert (results[1].accepted_answers, results[1].replies) == (0, 2)
    assert results[2].discussions == 1


def test_experts_accepted_by_non_author_does_not_count(store):
    question = discussion("@bob:test", "Kafka lag", kind="question")
    answer = reply("@ann:test", question["event_id"], "Check consumers")
    forged = state(
        "app.commonplace.accepted_answer",
        {"event_id": answer["event_id"]},
        state_key=question["event_id"],
        sender="@ann:test",
    )
    write(store, GUILD_BOARD, question, answer, forged)

    results = experts(store, "kafka")

    assert expert_names(results) == ["Bob"]


def test_experts_matching_reply_is_not_counted_twice(store):
    question = discussion("@bob:test", "Airflow retries", kind="question")
    answer = reply("@ann:test", question["event_id"], "Airflow retries per task")
    write(store, GUILD_BOARD, question, answer, accept(question, answer))

    ann, bob = experts(store, "airflow retries")

    assert (ann.display_name, bob.display_name) == ("Ann", "Bob")
    assert (ann.accepted_answers, ann.replies) == (1, 0)


def test_experts_reason_names_skill_counts_and_space(store):
    profiles(store, Profile("@ann:test", "Ann", None, skills=("SQL",)))
    events = []
    for number in range(3):
        question = discussion("@bob:test", f"SQL question {number}", kind="question")
        answer = reply("@ann:test", question["event_id"], "Try a SQL index")
        events += [question, answer, accept(question, answer)]
    for number in range(7):
        events.append(reply("@ann:test", events[0]["event_id"], f"More SQL {number}"))
    write(store, GUILD_BOARD, *events)

    ann = experts(store, "SQL")[0]

    assert ann.reason == (
        "Lists SQL as a skill; 3 accepted answers and 7 replies about SQL in Data Guild"
    )
    assert ann.place == "Data Guild"


def test_experts_reason_says_mostly_when_spread(store):
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Figma tokens"),
        discussion("@ann:test", "Figma plugins"),
    )
    write(store, DESIGN_BOARD, discussion("@ann:test", "Figma libraries"))

    [ann] = experts(store, "figma")

    assert ann.reason == "3 discussions started about figma mostly in Data Guild"


def test_experts_reason_cleans_user_text(store):
    profiles(store, Profile("@ann:test", "Ann", None, skills=("\u202eSQL\u202c",)))

    [ann] = experts(store, "sql")

    assert ann.reason == "Lists SQL as a skill"
    assert ann.matched_skills == ("\u202eSQL\u202c",)


def test_experts_contributions_need_whole_words(store):
    write(store, GUILD_BOARD, discussion("@ann:test", "Good morning"))

    assert experts(store, "go") == []


def test_experts_chinese_topic_and_emoji_skill(store):
    profiles(
        store,
        Profile("@taro:test", "田中太郎", None, skills=("機械学習",)),
        Profile("@ann:test", "Ann", None, skills=("🚀 launches",)),
    )

    assert expert_names(experts(store, "機械学習")) == ["田中太郎"]
    assert expert_names(experts(store, "🚀")) == ["Ann"]


def test_experts_limit(store):
    for user in ("@ann:test", "@bob:test", "@jose:test"):
        write(store, GUILD_BOARD, discussion(user, "Terraform state"))

    assert len(experts(store, "terraform", limit=2)) == 2
    assert experts(store, "terraform", limit=0) == []


@pytest.mark.parametrize(
    "topic",
    ['"', "NEAR(", "*", "NEAR(sql", 'sql"', "sql*", "AND", "x" * 10_000, "", "^:"],
)
def test_experts_hostile_topic_never_raises(store, topic):
    profiles(store, Profile("@ann:test", "Ann", None, skills=("SQL",)))
    write(store, GUILD_BOARD, discussion("@bob:test", "SQL tips"))

    results = experts(store, topic)

    assert isinstance(results, list)
    assert all(expert.reason for expert in results)


def test_experts_long_topic_is_cut_in_reason(store):
    write(store, GUILD_BOARD, discussion("@ann:test", "word " * 50))

    [ann] = experts(store, "word " * 50)

    assert len(ann.reason) < 200
    assert "…" in ann.reason


def test_experts_exclude_given_user(store):
    profiles(store, Profile("@zed:test", "Zed Outsider", None, skills=("SQL",)))
    question = discussion("@bob:test", "SQL question", kind="question")
    answer = reply("@ann:test", question["event_id"], "Use SQL window functions")
    write(store, GUILD_BOARD, question, answer, accept(question, answer))

    assert expert_names(experts(store, "sql", exclude="@zed:test")) == ["Ann", "Bob"]
    assert expert_names(experts(store, "sql", limit=1)) == ["Zed Outsider"]
    assert expert_names(experts(store, "sql", limit=1, exclude="@zed:test")) == ["Ann"]
    assert expert_names(experts(store, "sql", exclude="@ann:test")) == [
        "Zed Outsider",
        "Bob",
    ]


@pytest.mark.parametrize(
    ("items", "topic", "level"),
    [
        (("SQL",), "sql", WHOLE_MATCH),
        (("  Sql!",), "SQL", WHOLE_MATCH),
        (("SQL tuning",), "sql", PARTIAL_MATCH),
        (("Advanced SQL",), "sql", PARTIAL_MATCH),
        (("PostgreSQL",), "postgres", PARTIAL_MATCH),
        (("PostgreSQL",), "sql", None),
        (("Machine", "Learning"), "machine learning", None),
        (("Machine learning",), "machine learning", WHOLE_MATCH),
        (("Machine learning ops",), "machine learn", PARTIAL_MATCH),
        (("Résumé writing",), "RESUME", PARTIAL_MATCH),
        (("機械学習",), "学習", PARTIAL_MATCH),
    ],
)
def test_experts_declared_level_by_item(store, items, topic, level):
    profiles(store, Profile("@ann:test", "Ann", None, skills=items))

    results = [e for e in experts(store, topic) if e.user_id == "@ann:test"]

    if level is None:
        assert results == []
    else:
        assert [expert.declared for expert in results] == [level]
        assert results[0].matched_skills == items


def test_experts_matching_answer_counts_alone(store):
    question = discussion("@bob:test", "Weekly sync", kind="question")
    answer = reply("@ann:test", question["event_id"], "Use Terraform workspaces")
    write(store, GUILD_BOARD, question, answer, accept(question, answer))

    [ann] = experts(store, "terraform")

    assert (ann.accepted_answers, ann.replies) == (1, 0)
    assert ann.place == "Data Guild"


def test_experts_newest_contributions_only(store, monkeypatch):
    monkeypatch.setattr("app.store.people_directory.MAX_CONTRIBUTION_DOCS", 2)
    write(store, GUILD_BOARD, discussion("@bob:test", "Helm charts"))
    write(
        store,
        GUILD_BOARD,
        discussion("@ann:test", "Helm values"),
        discussion("@ann:test", "Helm hooks"),
    )

    assert expert_names(experts(store, "helm")) == ["Ann"]


# ---------------------------------------------------------------- migration


def _write_people_and_answers(store):
    store.write_blocking(
        apply_sync, [space_batch(GUILD, "Data Guild", [GUILD_BOARD])], "t0"
    )
    write(
        store,
        GUILD_BOARD,
        member("@jose:test", "José Núñez"),
        member("@ann:test", "Ann"),
        member("@bob:test", "Bob"),
        member("@angel:test", "Ángel"),
        member("@eve:test", "Eve"),
    )
    profiles(
        store,
        Profile("@angel:test", "Ángel", None, "Analyst", "Data", skills=("SQL",)),
        Profile("@eve:test", "Eve", None, ask_me_about=("SQL tuning", "Kafka")),
    )
    question = discussion("@bob:test", "SQL joins", kind="question")
    answer = reply("@ann:test", question["event_id"], "Index the SQL join keys")
    other = reply("@jose:test", question["event_id"], "SQL explain helps")
    write(store, GUILD_BOARD, question, answer, other, accept(question, answer))


def _results(store):
    conn = store.reader()
    return (
        directory(conn),
        directory(conn, "sql"),
        directory(conn, department="data"),
        find_experts(conn, "sql"),
        find_experts(conn, "kafka"),
    )


def test_migration_5_keeps_results(tmp_path, monkeypatch):
    from app.store import database, writes
    from app.store.schema import MIGRATIONS

    # A cache written by a version whose newest migration was 4, which had
    # no activity table for member events.
    with monkeypatch.context() as patch:
        patch.setattr(database, "MIGRATIONS", MIGRATIONS[:4])
        patch.setattr(database, "LATEST_VERSION", 4)
        patch.setattr(writes, "record_member_event", lambda conn, member: None)
        old = Store(tmp_path / "old.sqlite3")
        _write_people_and_answers(old)
        columns = [row[1] for row in old.reader().execute("PRAGMA table_info(people)")]
        old.close()
    assert "sort_name" not in columns

    migrated = Store(tmp_path / "old.sqlite3")
    fresh = Store(tmp_path / "fresh.sqlite3")
    try:
        _write_people_and_answers(fresh)
        expected = _results(fresh)
        found = _results(migrated)
    finally:
        migrated.close()
        fresh.close()

    assert found == expected
    everyone, _, _, sql_experts, kafka_experts = found
    assert [entry.display_name for entry in everyone] == [
        "Ángel",
        "Ann",
        "Bob",
        "Eve",
        "José Núñez",
    ]
    assert [expert.display_name for expert in sql_experts][:2] == ["Ángel", "Eve"]
    assert sql_experts[2].accepted_answers == 1
    assert [expert.display_name for expert in kafka_experts] == ["Eve"]


def test_directory_finds_a_person_by_whole_user_id(store):
    conn = store.reader()

    assert names(directory(conn, "@jose:test")) == ["José Núñez"]
    assert names(directory(conn, "@zed:test")) == ["Zed Outsider"]
