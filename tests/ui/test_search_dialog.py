"""The search window over a cache written through apply_sync, with no server."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence

from app.records import Profile
from tests.ui.builders import BASE_TS
from ui.main_window import MainWindow
from ui.models.search import AVATAR_URL_ROLE, HEADING_ROLE, HIT_ROLE
from ui.search_dialog import PERSON_AVATAR_SIZE, SYNTAX_HINT, fit_layout
from ui.thread_view import REPLY_PAGE

ANA = "@ana:example.org"
BEN = "@ben:example.org"


@pytest.fixture
def window(qtbot, qasync_loop, app_session, cache):
    """A main window over two spaces, with the first space selected."""
    cache.space("!first:x", "Alpha team")
    cache.board("!general:x", "General", "!first:x")
    cache.discussion("!general:x", "Lunch on Friday", sender=BEN)
    cache.space("!guild:x", "Data Guild", topic="Warehouses and pipelines")
    cache.board("!help:x", "Help", "!guild:x")
    cache.board("!infra:x", "Infrastructure", "!guild:x")
    cache.board("!guild-files:x", "Files", "!guild:x", kind="files")
    cache.member("!help:x", ANA, "Ana Lima")
    cache.member("!help:x", BEN, "Ben Okafor")
    cache.profile(
        Profile(
            ANA,
            "Ana Lima",
            None,
            title="Data engineer",
            department="Platform",
            skills=("Kubernetes", "SQL"),
        )
    )
    cache.commit()
    main = MainWindow(app_session)
    qtbot.addWidget(main)
    main.show()
    main.space_pane.select_space("!first:x")
    return main


def _search(qtbot, main, text):
    """Open the search window, type text and wait for its results or message."""
    dialog = main.show_search()
    qtbot.waitExposed(dialog)
    dialog.search_edit.clear()
    dialog.run_search()
    qtbot.keyClicks(dialog.search_edit, text)
    qtbot.waitUntil(lambda: dialog.message() != SYNTAX_HINT or not text.strip())
    return dialog


def _rows(dialog):
    """Return the shown rows as (is heading, first line of text) pairs."""
    model = dialog.model
    rows = []
    for row in range(model.rowCount()):
        index = model.index(row)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        rows.append((bool(index.data(HEADING_ROLE)), text.splitlines()[0]))
    return rows


def _bold_texts(layout):
    """Return the parts of a laid-out text drawn in bold."""
    text = layout.text()
    units = text.encode("utf-16-le")
    return [
        units[2 * item.start : 2 * (item.start + item.length)].decode("utf-16-le")
        for item in layout.formats()
        if item.format.fontWeight() >= QFont.Weight.Bold
    ]


def test_typing_shows_grouped_highlighted_results(window, cache, qtbot):
    root = cache.discussion(
        "!infra:x",
        "Kubernetes upgrade plan",
        sender=ANA,
        body="We move the cluster to the new Kubernetes release in May.",
    )
    cache.reply("!infra:x", root, "Is kubectl part of the upgrade?", sender=BEN)
    cache.commit()

    dialog = _search(qtbot, window, "kube")

    assert dialog.message() is None
    assert _rows(dialog) == [
        (True, "Discussions and questions"),
        (False, "Kubernetes upgrade plan"),
        (True, "Replies"),
        (False, "Re: Kubernetes upgrade plan"),
        (True, "People"),
        (False, "Ana Lima"),
    ]
    discussion = dialog.model.index(1)
    assert "Question" not in discussion.data()
    assert "Discussion · Data Guild · Ana Lima" in discussion.data()
    hit = discussion.data(HIT_ROLE)
    title = fit_layout(hit.title, dialog.font(), 600, 2)
    assert _bold_texts(title) == ["Kube"]
    snippet = fit_layout(hit.snippet, dialog.font(), 600, 2)
    assert _bold_texts(snippet) == ["Kube"]
    assert dialog.current_row() == 1


def test_accentless_query_finds_accented_title(window, cache, qtbot):
    cache.discussion("!help:x", "Réunion au café de l’équipe", sender=ANA)
    cache.commit()

    dialog = _search(qtbot, window, "reunion cafe")

    assert (False, "Réunion au café de l’équipe") in _rows(dialog)


def test_enter_opens_discussion_in_its_space(window, cache, qtbot):
    target = cache.discussion("!infra:x", "Backup schedule for warehouses", sender=ANA)
    cache.discussion("!help:x", "Other question", sender=BEN, kind="question")
    cache.commit()
    assert window.space_pane.selected_space() == "!first:x"

    dialog = _search(qtbot, window, "backup schedule")
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)

    assert not dialog.isVisible()
    assert window.space_pane.selected_space() == "!guild:x"
    assert window.thread_view.current_discussion() == target
    pane = window.discussion_pane
    assert pane.list_view.currentIndex().data() == "Backup schedule for warehouses"
    text = window.thread_view.document().toPlainText()
    assert "Backup schedule for warehouses" in text


def test_enter_before_delay_searches_first(window, cache, qtbot):
    target = cache.discussion("!help:x", "Onboarding checklist", sender=ANA)
    cache.commit()
    dialog = window.show_search()
    qtbot.waitExposed(dialog)

    qtbot.keyClicks(dialog.search_edit, "onboarding")
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)

    assert not dialog.isVisible()
    assert window.thread_view.current_discussion() == target


def test_reply_result_opens_its_discussion(window, cache, qtbot):
    root = cache.discussion("!help:x", "Dashboard is slow", sender=ANA)
    cache.reply("!help:x", root, "Try the materialized view instead.", sender=BEN)
    cache.commit()

    dialog = _search(qtbot, window, "materialized")
    assert _rows(dialog) == [(True, "Replies"), (False, "Re: Dashboard is slow")]
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)

    assert window.thread_view.current_discussion() == root
    text = window.thread_view.document().toPlainText()
    assert "Try the materialized view instead." in text


def test_reply_result_scrolls_to_reply(window, cache, qtbot):
    root = cache.discussion("!help:x", "Long thread", sender=ANA)
    for number in range(40):
        cache.reply("!help:x", root, f"Filler reply number {number}.", sender=ANA)
    cache.reply("!help:x", root, "The zeppelin answer is here.", sender=BEN)
    cache.commit()
    window.resize(1000, 500)

    dialog = _search(qtbot, window, "zeppelin")
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)

    view = window.thread_view
    assert view.current_discussion() == root
    assert view.browser.verticalScrollBar().value() > 0
    assert "The zeppelin answer is here." in view.marked_text()
    assert "Filler reply number 39." not in view.marked_text()


def test_scroll_to_post_loads_later_pages(window, cache):
    root = cache.discussion("!help:x", "Very long thread", sender=ANA)
    for number in range(REPLY_PAGE + 5):
        last = cache.reply("!help:x", root, f"Reply {number}.", ts=BASE_TS + number)
    cache.commit()
    window.open_discussion("!help:x", root)
    view = window.thread_view
    assert f"Reply {REPLY_PAGE + 4}." not in view.document().toPlainText()

    assert view.scroll_to_post(last)

    assert f"Reply {REPLY_PAGE + 4}." in view.marked_text()
    assert not view.scroll_to_post("$not-in-this-thread")


def test_person_result_opens_profile(window, qtbot):
    dialog = _search(qtbot, window, "ana lima")
    assert _rows(dialog) == [(True, "People"), (False, "Ana Lima")]

    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)

    profile = window._profiles[ANA]
    assert profile.isVisible()
    assert profile.name_label.text() == "Ana Lima"
    assert not dialog.isVisible()


def test_space_result_selects_space(window, qtbot):
    dialog = _search(qtbot, window, "warehouses")
    assert _rows(dialog) == [(True, "Spaces"), (False, "Data Guild")]

    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)

    assert window.space_pane.selected_space() == "!guild:x"
    assert window.discussion_pane.title_label.text() == "Data Guild"


def test_file_result_selects_file_in_files_area(window, cache, qtbot):
    cache.file("!guild-files:x", "roadmap-2024.pdf", 2048, sender=ANA)
    cache.file("!guild-files:x", "budget.xlsx", 4096, sender=BEN, ts=BASE_TS + 1)
    cache.commit()

    dialog = _search(qtbot, window, "roadmap")
    assert _rows(dialog) == [(True, "Files"), (False, "roadmap-2024.pdf")]
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)

    pane = window.discussion_pane
    assert pane.current_entry().kind == "files"
    assert pane.file_view.isVisible()
    assert pane.file_view.currentIndex().data() == "roadmap-2024.pdf"


def test_arrow_keys_skip_headings(window, cache, qtbot):
    root = cache.discussion("!help:x", "Python packaging", sender=ANA)
    cache.discussion("!help:x", "Python typing", sender=ANA)
    cache.reply("!help:x", root, "Python wheels are easiest.", sender=BEN)
    cache.commit()

    dialog = _search(qtbot, window, "python")
    titles = []
    for _ in range(4):
        titles.append(dialog.model.index(dialog.current_row()).data().splitlines()[0])
        qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Down)

    assert sorted(titles[:2]) == ["Python packaging", "Python typing"]
    assert titles[2:] == ["Re: Python packaging", "Re: Python packaging"]
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Up)
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Up)
    row = dialog.current_row()
    assert not dialog.model.index(row).data(HEADING_ROLE)
    assert dialog.model.index(row).data().startswith("Python")


def test_empty_box_shows_syntax_hint(window, qtbot):
    dialog = window.show_search()
    qtbot.waitExposed(dialog)

    assert dialog.message() == SYNTAX_HINT
    assert "is:question" in dialog.message()
    assert 'in:"Data Guild"' in dialog.message()
    assert "is:question" in dialog.help_label.text()
    assert "is:question" in dialog.search_edit.placeholderText()


def test_no_match_says_so(window, qtbot):
    dialog = _search(qtbot, window, "zebra")

    assert dialog.message() == "Nothing in the cache matches this search."


def test_unknown_filter_notice_beside_results(window, cache, qtbot):
    cache.discussion("!help:x", "Spark tuning", sender=ANA)
    cache.commit()

    dialog = _search(qtbot, window, "spark is:pinned")

    assert dialog.message() is None
    assert dialog.notice_label.isVisible()
    assert "is:pinned" in dialog.notice_label.text()


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "NEAR(", "*", "x" * 10_000, 'title:"a" OR b)', "^-+:"],
)
def test_hostile_query_shows_plain_message(window, qtbot, query):
    dialog = window.show_search()
    qtbot.waitExposed(dialog)

    dialog.search_edit.setText(query)
    dialog.run_search()

    message = dialog.message()
    assert message
    assert "<" not in message
    assert "Traceback" not in message


def test_escape_closes_window(window, qtbot):
    dialog = window.show_search()
    qtbot.waitExposed(dialog)

    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Escape)

    assert not dialog.isVisible()


def test_search_shortcuts(window, qtbot):
    shortcuts = window.search_action.shortcuts()

    assert QKeySequence("Ctrl+K") in shortcuts
    assert QKeySequence(QKeySequence.StandardKey.Find) in shortcuts
    window.search_action.trigger()
    dialog = window._search_dialog
    qtbot.waitExposed(dialog)
    assert dialog.focusWidget() is dialog.search_edit


def test_reopening_keeps_and_selects_text(window, cache, qtbot):
    cache.discussion("!help:x", "Spark tuning", sender=ANA)
    cache.commit()
    dialog = _search(qtbot, window, "spark")
    dialog.close()

    again = window.show_search()

    assert again is dialog
    assert again.search_edit.selectedText() == "spark"


def test_long_title_cut_to_two_lines(window):
    words = " ".join(["Kubernetes"] * 60)
    parts = (("Kubernetes", True), (" " + words, False))

    layout = fit_layout(parts, window.font(), 300, 2)

    assert layout.lineCount() == 2
    assert layout.text().rstrip("\u2069").endswith("…")
    assert _bold_texts(layout) == ["Kubernetes"]


def test_detail_isolates_each_part():
    from app.text import FSI, PDI
    from ui.search_dialog import isolated_detail

    line = isolated_detail(("Reply", "فريق الدعم", "Ann · Lee"))

    assert line == f"{FSI}Reply{PDI} · {FSI}فريق الدعم{PDI} · {FSI}Ann · Lee{PDI}"


def test_person_results_carry_their_picture(window, qtbot, cache):
    cache.profile(Profile(BEN, "Ben Okafor", "mxc://example.org/ben"))
    cache.commit()
    dialog = _search(qtbot, window, "okafor")
    model = dialog.model
    rows = [model.index(row) for row in range(model.rowCount())]
    person = next(
        index
        for index in rows
        if index.data(HIT_ROLE) is not None and index.data(HIT_ROLE).kind == "person"
    )

    assert person.data(AVATAR_URL_ROLE) == "mxc://example.org/ben"
    assert dialog.results_view.visualRect(person).height() >= PERSON_AVATAR_SIZE
