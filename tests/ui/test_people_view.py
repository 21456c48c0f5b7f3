"""The People window and the profile page, over a cache written through apply_sync."""

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.matrix.errors import ConnectionFailed
from app.records import Profile
from app.store.writes import save_profiles
from app.text import isolate
from tests.ui.builders import BASE_TS, ME
from ui.main_window import MainWindow
from ui.models.roles import ID_ROLE, REASON_ROLE, ROLE_LINE_ROLE
from ui.people_view import (
    ALL_DEPARTMENTS,
    EXPERT_INTRO,
    EXPERT_TAB,
    NO_EXPERTS,
    NO_PEOPLE_FILTERED,
    SERVER_SEARCH_DELAY_MS,
    SERVER_SEARCHED,
    SERVER_UNREACHABLE,
    PeopleWindow,
)
from ui.widgets import LinkButton

ANA = "@ana:example.org"
BEN = "@ben:example.org"
JOSE = "@jose:example.org"
ZED = "@zed:example.org"


@pytest.fixture
def window(qtbot, qasync_loop, app_session, cache):
    cache.space("!guild:x", "Data Guild")
    cache.board("!help:x", "Help", "!guild:x")
    cache.board("!guild-files:x", "Files", "!guild:x", kind="files")
    cache.space("!design:x", "Design Practice")
    cache.board("!studio:x", "Studio", "!design:x")
    for user_id, name in ((ANA, "Ana Lima"), (JOSE, "José Núñez"), (ME, "Me")):
        cache.member("!help:x", user_id, name)
    cache.member("!studio:x", BEN, "Ben Okafor")
    cache.profile(
        Profile(
            ANA,
            "Ana Lima",
            None,
            title="Data engineer",
            department="Platform",
            skills=("SQL", "Kubernetes"),
        )
    )
    cache.profile(
        Profile(JOSE, "José Núñez", None, title="Analyst", department="Finance")
    )
    cache.profile(
        Profile(BEN, "Ben Okafor", None, title="Designer", department="Design")
    )
    cache.profile(Profile(ME, "Me", None, title="Engineer", department="Platform"))
    question = cache.discussion(
        "!help:x", "Slow query on orders", sender=JOSE, kind="question", ts=BASE_TS
    )
    answer = cache.reply(
        "!help:x", question, "Add an index on SQL orders(customer).", sender=ANA
    )
    cache.discussion("!help:x", "SQL style guide", sender=ANA, ts=BASE_TS + 1000)
    cache.file("!guild-files:x", "schema & notes.pdf", 2048, sender=ANA)
    cache.accept("!help:x", question, answer, sender=JOSE)
    cache.commit()
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    main.answer_id = answer
    main.question_id = question
    return main


def _names(view):
    model = view.list_view.model()
    return [
        model.index(row).data(Qt.ItemDataRole.DisplayRole)
        for row in range(model.rowCount())
    ]


def _search(qtbot, people, text):
    people.search_box.clear()
    qtbot.keyClicks(people.search_box, text)
    people._search_cache()


def test_directory_leaves_out_user(qtbot, window):
    people = window.show_people()
    qtbot.waitExposed(people)

    assert _names(people) == ["Ana Lima", "Ben Okafor", "José Núñez"]
    first = people.list_view.model().index(0)
    assert (
        first.data(ROLE_LINE_ROLE)
        == f"{isolate('Data engineer')} · {isolate('Platform')}"
    )


def test_directory_search_accents_skills(qtbot, window):
    people = window.show_people()

    _search(qtbot, people, "jose")
    assert _names(people) == ["José Núñez"]
    _search(qtbot, people, "kube")
    assert _names(people) == ["Ana Lima"]


def test_directory_department_space_filters(qtbot, window):
    people = window.show_people()

    assert people.department_box.itemText(0) == ALL_DEPARTMENTS
    people.department_box.setCurrentIndex(people.department_box.findData("Finance"))
    assert _names(people) == ["José Núñez"]
    people.department_box.setCurrentIndex(0)
    people.space_box.setCurrentIndex(people.space_box.findText("Design Practice"))
    assert _names(people) == ["Ben Okafor"]


def test_enter_opens_profile(qtbot, window):
    people = window.show_people()
    _search(qtbot, people, "ben")

    qtbot.keyClick(people.search_box, Qt.Key.Key_Return)

    assert BEN in window._profiles
    assert window._profiles[BEN].windowTitle() == "Profile of Ben Okafor"


def test_server_results_join_list(qtbot, window, app_session):
    async def search(term):
        await asyncio.sleep(0)
        await app_session.store.write(
            save_profiles, [Profile(ZED, "Zed Outsider", None)], 5.0
        )
        return [ZED]

    people = PeopleWindow(app_session.store, ME, None, search)
    qtbot.addWidget(people)
    people.start()

    qtbot.keyClicks(people.search_box, "zed")
    qtbot.waitUntil(lambda: people.status_label.text() == SERVER_SEARCHED)

    assert _names(people) == ["Zed Outsider"]


def test_unreachable_server_keeps_cache(qtbot, window, app_session):
    async def search(term):
        raise ConnectionFailed("The server is unreachable.")

    people = PeopleWindow(app_session.store, ME, None, search)
    qtbot.addWidget(people)
    people.start()

    qtbot.keyClicks(people.search_box, "lima")
    qtbot.waitUntil(lambda: people.status_label.text() == SERVER_UNREACHABLE)

    assert _names(people) == ["Ana Lima"]


def test_expert_tab_shows_reasons(qtbot, window):
    people = window.show_people(EXPERT_TAB)
    assert people.empty_label.text() == EXPERT_INTRO
    assert not people.filters.isVisible()

    _search(qtbot, people, "sql")

    assert _names(people) == ["Ana Lima"]
    reason = people.list_view.model().index(0).data(REASON_ROLE)
    assert "SQL" in reason
    _search(qtbot, people, "underwater basket weaving")
    assert people.empty_label.text() == NO_EXPERTS


def test_profile_contributions_open(qtbot, window):
    profile = window.show_profile(ANA)
    qtbot.waitExposed(profile)
    texts = {button.full_text: button for button in _link_buttons(profile)}
    spaces = [
        button.text()
        for button in profile.findChildren(QPushButton)
        if button.objectName() == "chipButton"
    ]

    assert "SQL style guide" in texts
    assert "Slow query on orders" in texts
    assert "schema & notes.pdf" in texts
    assert spaces == ["Data Guild"]

    texts["Slow query on orders"].click()
    assert window.thread_view.current_discussion() == window.question_id


def test_profile_action_button(qtbot, window):
    other = window.show_profile(ANA)
    own = window.show_profile(ME)

    assert other.action_button.text() == "Message"
    assert own.action_button.text() == "Edit profile…"


def _link_buttons(dialog):
    return dialog.findChildren(LinkButton)


def test_people_rows_user_ids(qtbot, window):
    people = window.show_people()
    model = people.list_view.model()

    assert {model.index(row).data(ID_ROLE) for row in range(model.rowCount())} == {
        ANA,
        BEN,
        JOSE,
    }


def test_profile_long_titles_elide(qtbot, window, cache):
    title = "Why " + "very " * 80 + "long titles matter"
    cache.discussion("!help:x", title, sender=BEN, ts=BASE_TS + 5000)
    cache.commit()
    profile = window.show_profile(BEN)
    qtbot.waitExposed(profile)

    button = next(b for b in _link_buttons(profile) if b.full_text == title)

    assert button.text().endswith("…")
    assert button.width() < profile.width()
    scroll = profile._scroll
    assert scroll.widget().width() <= scroll.viewport().width()


def test_profile_long_fields_wrap(qtbot, window, cache):
    cache.profile(
        Profile(
            BEN,
            "Ben Okafor",
            None,
            title="Designer " + "x" * 300,
            location="L" * 400,
            bio="שלום " * 200 + "y" * 500,
        )
    )
    cache.commit()
    profile = window.show_profile(BEN)
    qtbot.waitExposed(profile)

    scroll = profile._scroll
    assert scroll.widget().width() <= scroll.viewport().width()
    assert profile.role_label.width() <= profile.width()


def test_server_search_one_chinese_character(qtbot, window, app_session):
    asked = []

    async def search(term):
        asked.append(term)
        return []

    people = PeopleWindow(app_session.store, ME, None, search)
    qtbot.addWidget(people)
    people.start()

    people.search_box.setText("李")
    qtbot.waitUntil(lambda: asked == ["李"])
    people.search_box.setText("k")
    qtbot.wait(SERVER_SEARCH_DELAY_MS + 200)

    assert asked == ["李"]


def test_empty_list_names_filters(qtbot, window):
    people = window.show_people()
    people.department_box.setCurrentIndex(people.department_box.findData("Finance"))

    _search(qtbot, people, "ana")

    assert people.empty_label.text() == NO_PEOPLE_FILTERED


def test_profile_message_failure_shown(qtbot, window, monkeypatch):
    # The conversation itself is tested against Synapse in test_direct_actions.
    monkeypatch.setattr(window.direct_actions, "message", lambda user_id: None)
    profile = window.show_profile(ANA)
    profile.action_button.click()
    assert not profile.action_button.isEnabled()

    window._direct_room_failed("Can't start a conversation while offline.")

    assert profile.action_button.isEnabled()
    assert profile.error_label.isVisible()
    assert profile.error_label.text() == "Can't start a conversation while offline."
    profile.action_button.click()
    assert not profile.error_label.isVisible()


def test_shortcuts_application_wide(window):
    for action in (window.search_action, window.people_action, window.expert_action):
        assert action.shortcutContext() == Qt.ShortcutContext.ApplicationShortcut
