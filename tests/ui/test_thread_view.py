"""The reading pane loads no remote resource, whatever HTML reaches it."""

import http.server
import threading
from typing import ClassVar

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument

from tests.ui.builders import BASE_TS
from ui.app import make_application
from ui.main_window import MainWindow
from ui.thread_view import SafeTextBrowser, ThreadView


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def image_server():
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    _CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_browser_rejects_remote_image(qtbot, image_server):
    port = image_server.server_address[1]
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    browser.show()
    url = f"http://127.0.0.1:{port}/tracker.png"
    # Set directly, without the sanitiser, to test the browser's own guard.
    browser.setHtml(f'<p>Before</p><img src="{url}"><p>After</p>')
    qtbot.wait(200)

    assert url in browser.rejected_urls
    assert _CountingHandler.requests == []
    loaded = browser.document().resource(
        QTextDocument.ResourceType.ImageResource, QUrl(url)
    )
    assert loaded.width() == 1


def test_browser_rejects_local_file(qtbot, tmp_path):
    picture = tmp_path / "secret.png"
    secret = QImage(4, 4, QImage.Format.Format_ARGB32)
    secret.fill(0xFFFF0000)
    assert secret.save(str(picture))
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    browser.show()
    browser.setHtml(f'<img src="{picture.as_uri()}">')
    qtbot.waitUntil(lambda: browser.rejected_urls != [])

    assert set(browser.rejected_urls) == {picture.as_uri()}
    loaded = browser.document().resource(
        QTextDocument.ResourceType.ImageResource, QUrl(picture.as_uri())
    )
    assert loaded.width() == 1
    rendered = browser.viewport().grab().toImage()
    red = [
        (x, y)
        for x in range(0, rendered.width(), 2)
        for y in range(0, min(rendered.height(), 60), 2)
        if rendered.pixelColor(x, y).name() == "#ff0000"
    ]
    assert red == []


def test_thread_view_post_with_remote_image_loads_nothing(
    qtbot, cache, store, image_server
):
    port = image_server.server_address[1]
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion(
        "!one:x",
        "Pictures",
        body=f"![tracker](http://127.0.0.1:{port}/markdown.png)",
        ts=BASE_TS,
    )
    cache.reply(
        "!one:x",
        root,
        "html",
        formatted_body=f'<img src="http://127.0.0.1:{port}/html.png">',
    )
    cache.commit()
    view = ThreadView(store, "@me:example.org")
    qtbot.addWidget(view)
    view.show()
    view.show_discussion(root)
    qtbot.wait(200)

    assert _CountingHandler.requests == []
    assert not any("127.0.0.1" in url for url in view.browser.rejected_urls)


@pytest.mark.parametrize(
    ("body", "shown", "hidden"),
    [
        ("Lunch on Friday?\n\nThe usual place at noon.", "The usual place", ""),
        ("Lunch on Friday?", "", "This post has no text"),
    ],
)
def test_plain_message_title_shown_once(qtbot, cache, store, body, shown, hidden):
    # Another client's message has no title: its first line becomes one.
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Lunch on Friday?", body=body)
    cache.commit()
    view = ThreadView(store, "@me:example.org")
    qtbot.addWidget(view)
    view.show_discussion(root)
    text = view.document().toPlainText()

    assert text.count("Lunch on Friday?") == 1
    assert shown in text
    if hidden:
        assert hidden not in text


def test_thread_view_shows_reactions_and_edits(qtbot, cache, store):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Liked", kind="question", tags=("sql",))
    cache.reaction("!one:x", root, "👍", "@ana:example.org")
    cache.reaction("!one:x", root, "👍", "@me:example.org")
    cache.reaction("!one:x", root, "🎉", "@ben:example.org")
    cache.commit()
    view = ThreadView(store, "@me:example.org")
    qtbot.addWidget(view)
    view.show_discussion(root)
    text = view.document().toPlainText()

    assert "👍 2" in text.replace("\xa0", " ")
    assert "🎉 1" in text.replace("\xa0", " ")
    assert "QUESTION" in text
    assert "#sql" in text
    assert "No replies yet." in text


def test_thread_view_pages_long_threads(qtbot, cache, store):
    from ui.thread_view import REPLY_PAGE

    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Long thread")
    for number in range(REPLY_PAGE + 3):
        cache.reply("!one:x", root, f"Reply number {number}.")
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.show_discussion(root)

    text = view.document().toPlainText()
    assert f"Reply number {REPLY_PAGE - 1}." in text
    assert f"Reply number {REPLY_PAGE}." not in text
    assert "Show more replies" in text
    view.browser.anchorClicked.emit(QUrl("cp-action:more-replies"))
    text = view.document().toPlainText()
    assert f"Reply number {REPLY_PAGE + 2}." in text
    assert "Show more replies" not in text


def test_person_link_carries_no_user_id(qtbot, cache, store):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Hi", sender='@"><script>:example.org')
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.show_discussion(root)

    with qtbot.waitSignal(view.person_activated) as signal:
        view.browser.anchorClicked.emit(QUrl("cp-person:0"))
    assert signal.args == ['@"><script>:example.org']
    assert "<script>" not in view.browser.toHtml()


def test_root_post_drops_copy_of_title(qtbot, cache, store):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion(
        "!one:x",
        "Tips & tricks",
        formatted_body="<h3>Tips &amp; tricks</h3><p>First tip.</p>",
    )
    other = cache.discussion(
        "!one:x",
        "Another title",
        formatted_body="<h3>A different heading</h3><p>Text.</p>",
    )
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)

    view.show_discussion(root)
    text = view.document().toPlainText()
    assert text.count("Tips & tricks") == 1
    assert "First tip." in text

    view.show_discussion(other)
    text = view.document().toPlainText()
    assert "A different heading" in text


def test_long_code_line_wraps_without_scroll_bar(qtbot, cache, store):
    # The application style sheet narrows the scroll bars; the width of the
    # text must follow them too.
    make_application()
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    long_line = "select " + ", ".join(f"column_{n}" for n in range(60)) + " from t"
    root = cache.discussion(
        "!one:x",
        "Wide code",
        body=f"Wide code\n\n```sql\n{long_line}\n```\n\nAfter the code.",
    )
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.resize(420, 500)
    view.show()
    view.show_discussion(root)
    qtbot.waitUntil(lambda: view.browser.viewport().width() > 0)

    assert view.browser.horizontalScrollBar().maximum() == 0
    assert view.document().idealWidth() <= view.browser.viewport().width()
    # The code block ends with its last line, not with an empty one.
    code = next(b for b in _blocks(view.document()) if b.text() == long_line)
    assert code.next().text() == "After the code."


def _blocks(document):
    block = document.begin()
    while block.isValid():
        yield block
        block = block.next()


def test_reading_width_stops_at_maximum(qtbot, cache, store):
    from ui.thread_view import MAX_READING_WIDTH

    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Long lines", body="word " * 400)
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.resize(MAX_READING_WIDTH + 400, 500)
    view.show()
    view.show_discussion(root)
    qtbot.waitUntil(lambda: view.browser.viewport().width() > MAX_READING_WIDTH)

    assert view.document().textWidth() == MAX_READING_WIDTH
    view.resize(500, 500)
    qtbot.waitUntil(lambda: view.browser.viewport().width() < 500)
    assert view.document().textWidth() == view.browser.viewport().width()
    assert view.browser.horizontalScrollBar().maximum() == 0


def test_placeholder_shows_heading_and_text(qtbot, store):
    view = ThreadView(store, None)
    qtbot.addWidget(view)

    view.show_placeholder("Choose one.", "Nothing open")
    assert view.current_discussion() is None
    assert view.placeholder.heading.text() == "Nothing open"
    assert view.placeholder.text.text() == "Choose one."
    assert not view.placeholder.heading.isHidden()

    view.show_placeholder("")
    assert view.placeholder.heading.isHidden()
    assert view.placeholder.text.isHidden()


def test_thread_view_opens_post_from_year_33658(qtbot, cache, store):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "From the future", ts=10**15)
    cache.reply("!one:x", root, "From long ago.", ts=-(10**15))
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.show_discussion(root)

    text = view.document().toPlainText()
    assert "From the future" in text
    assert "From long ago." in text
    assert text.count("unknown date") == 2


def test_one_word_post_gets_line_breaks(qtbot, cache, store):
    from ui.thread_html import BREAK_INTERVAL, SOFT_BREAK

    word = "a" * 65_536
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Long word", body=word)
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.show_discussion(root)

    text = view.document().toPlainText()
    runs = text.replace(SOFT_BREAK, "\n").split()
    assert max(len(run) for run in runs) <= 2 * BREAK_INTERVAL
    assert word in text.replace(SOFT_BREAK, "")

    # The copy is checked through the mime data that copy() would put on the
    # clipboard: data left on the offscreen clipboard crashes Qt at exit.
    view.browser.selectAll()
    copied = view.browser.createMimeDataFromSelection().text()
    assert word in copied
    assert SOFT_BREAK not in copied


def _rebuilt_html(store, root: str, user_id: str | None) -> str:
    """Return the HTML of a new view of root, which renders the thread whole."""
    fresh = ThreadView(store, user_id)
    fresh.show_discussion(root)
    html = fresh.document().toHtml()
    fresh.deleteLater()
    return html


@pytest.fixture
def long_thread(cache):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Appending", kind="question")
    first = cache.reply("!one:x", root, "- a list\n- of items")
    cache.reply("!one:x", root, "```\ncode block\n```", sender="@cy:example.org")
    cache.reply("!one:x", root, "> quoted\n\nThen text.", in_reply_to=first)
    cache.commit()
    return {"root": root, "first": first}


def test_new_replies_append_like_rebuild(qtbot, cache, store, long_thread):
    root = long_thread["root"]
    view = ThreadView(store, "@me:example.org")
    qtbot.addWidget(view)
    view.show()
    view.show_discussion(root)
    # Text selected in the root post survives only if the document is kept.
    cursor = view.document().find("Body of Appending.")
    view.browser.setTextCursor(cursor)

    cache.reply("!one:x", root, "| a | b |\n| - | - |\n| 1 | 2 |", sender="@dee:x")
    cache.reply("!one:x", root, "x" * 500, in_reply_to=long_thread["first"])
    view.apply_changes(cache.commit())
    qtbot.waitUntil(lambda: "5 replies" in view.document().toPlainText())

    assert view.browser.textCursor().selectedText() == "Body of Appending."
    assert view.document().toHtml() == _rebuilt_html(store, root, "@me:example.org")


def test_links_work_in_appended_reply(qtbot, cache, store, long_thread):
    root = long_thread["root"]
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.show_discussion(root)
    cache.reply("!one:x", root, "Newest.", sender="@eve:example.org")
    view.apply_changes(cache.commit())
    qtbot.waitUntil(lambda: "Newest." in view.document().toPlainText())

    # Ana, Ben and Cy have cp-person:0 to 2 in the thread shown before.
    with qtbot.waitSignal(view.person_activated) as signal:
        view.browser.anchorClicked.emit(QUrl("cp-person:3"))
    assert signal.args == ["@eve:example.org"]


def test_change_after_append_rebuilds(qtbot, cache, store, long_thread):
    root = long_thread["root"]
    view = ThreadView(store, "@me:example.org")
    qtbot.addWidget(view)
    view.show_discussion(root)
    newest = cache.reply("!one:x", root, "Newest.")
    view.apply_changes(cache.commit())
    qtbot.waitUntil(lambda: "Newest." in view.document().toPlainText())

    cache.reaction("!one:x", newest, "🎉", "@ana:example.org")
    cache.reaction("!one:x", long_thread["first"], "👍", "@me:example.org")
    view.apply_changes(cache.commit())
    qtbot.waitUntil(lambda: "🎉" in view.document().toPlainText())

    text = view.document().toPlainText()
    assert text.count("Newest.") == 1
    assert "👍 1" in text.replace("\xa0", " ")
    assert view.document().toHtml() == _rebuilt_html(store, root, "@me:example.org")


def test_append_keeps_bottom_scroll(qtbot, cache, store, long_thread):
    root = long_thread["root"]
    for number in range(20):
        cache.reply("!one:x", root, f"Filler {number}.")
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    view.show_discussion(root)
    bar = view.browser.verticalScrollBar()
    view.document().pageCount()  # finishes the layout, so maximum is final
    bar.setValue(bar.maximum())
    bottom = bar.value()
    assert bottom > 0

    cache.reply("!one:x", root, "Paragraph.\n\n" * 10 + "At the end.")
    view.apply_changes(cache.commit())
    qtbot.waitUntil(lambda: "At the end." in view.document().toPlainText())

    assert bar.value() > bottom
    assert bar.value() == bar.maximum()


def test_append_keeps_scroll_above_bottom(qtbot, cache, store, long_thread):
    root = long_thread["root"]
    for number in range(20):
        cache.reply("!one:x", root, f"Filler {number}.")
    cache.commit()
    view = ThreadView(store, None)
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    view.show_discussion(root)
    bar = view.browser.verticalScrollBar()
    bar.setValue(40)

    cache.reply("!one:x", root, "At the end.")
    view.apply_changes(cache.commit())
    qtbot.waitUntil(lambda: "At the end." in view.document().toPlainText())

    assert bar.value() == 40


def test_deleted_discussion_reads_as_one_notice(qtbot, qasync_loop, cache, app_session):
    cache.space("!a:x", "Space")
    cache.board("!one:x", "One", "!a:x")
    root = cache.discussion("!one:x", "Cheap watches", sender="@spam:x")
    replies = [
        cache.reply("!one:x", root, f"Reply {n}", sender="@ana:example.org")
        for n in range(2)
    ]
    cache.commit()
    for target in (*replies, root):
        cache.redact("!one:x", target, sender="@me:example.org")
    app_session.announce(cache.commit())
    window = MainWindow(app_session)
    qtbot.addWidget(window)
    window.show()
    window.open_discussion("!one:x", root)
    text = window.thread_view.document().toPlainText()

    assert text.count("This discussion was deleted.") == 1
    assert "This post was deleted." not in text
    assert "No replies yet." not in text
    assert not window.thread_view.reply_box.isVisible()
