"""The reading pane: one discussion, its root post and its replies.

SafeTextBrowser never loads anything named by a URL in a post: its
loadResource returns only the avatar images that this module put there.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QImage,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QStackedWidget,
    QTextBrowser,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.follows import is_following
from app.records import Changes
from app.store.answers import accepted_answers, may_accept_answer
from app.store.queries import (
    Post,
    get_discussion_post,
    get_discussion_summary,
    get_room,
    list_replies,
    reactions_for,
)
from ui.avatars import initials_image, round_image
from ui.outbox_actions import failed_item_for
from ui.reply_box import ReplyBox
from ui.tasks import TaskRunner
from ui.text_format import person_name
from ui.thread_html import (
    AVATAR_SCHEME,
    AVATAR_SIZE,
    MORE_REPLIES_URL,
    PERSON_SCHEME,
    POST_SCHEME,
    SOFT_BREAK,
    STYLE_SHEET,
    ThreadHtml,
    ThreadOptions,
    build_thread_html,
    post_anchor,
)
from ui.widgets import plain_label

log = logging.getLogger(__name__)

REPLY_PAGE = 100
# How long a post that scroll_to_post found stays marked (ms), and its colour.
POST_MARK_MS = 2500
POST_MARK_COLOUR = QColor("#fff3c4")
# Pages of replies scroll_to_post loads, at most, to find a post.
MAX_PAGES_TO_FIND = 20
# Maximum width of a discussion's text in pixels, margins included, because
# longer lines are hard to follow on a wide window.
MAX_READING_WIDTH = 860
EXTERNAL_SCHEMES = {"http", "https", "mailto"}
LINKS_TURNED_OFF_MESSAGE = "Opening links is turned off by your organisation."
ENCRYPTED_NOTICE = (
    "This board is end-to-end encrypted. Commonplace cannot read encrypted rooms yet."
)


class SafeDocument(QTextDocument):
    """A text document that loads no resource except images given to set_image.

    QTextDocument's own loadResource reads any local file that an image URL
    names when its parent widget returns nothing, so this class replaces it
    rather than relying on QTextBrowser.loadResource alone.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images: dict[str, QImage] = {}
        self.rejected_urls: list[str] = []

    def set_image(self, name: str, image: QImage) -> None:
        self._images[name] = image

    def clear_images(self) -> None:
        self._images.clear()

    def loadResource(self, kind: int, url: QUrl):
        if url.scheme() == AVATAR_SCHEME and url.path() in self._images:
            return self._images[url.path()]
        # Anything else (http, file, relative paths) would reach the network or
        # the disk on behalf of untrusted HTML, so it is rejected. A null image
        # is not enough: Qt's image handler then loads the path itself.
        self.rejected_urls.append(url.toString())
        log.debug("Rejected resource %s", url.toString())
        if kind == QTextDocument.ResourceType.ImageResource:
            return _blank_image()
        return ""


def _blank_image() -> QImage:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(0)
    return image


class SafeTextBrowser(QTextBrowser):
    """A QTextBrowser over a SafeDocument, which follows no link by itself."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDocument(SafeDocument(self))
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self._max_line_width: int | None = None

    def set_max_line_width(self, pixels: int | None) -> None:
        """Lay text out no wider than pixels; None follows the viewport's width."""
        self._max_line_width = pixels
        self._fit_line_width(self.viewport().width())

    def _fit_line_width(self, viewport_width: int) -> None:
        # Narrower than the maximum, the text follows the viewport as usual.
        # The vertical scroll bar can appear later without another resize
        # event, so the fixed width is used only while it leaves room for it.
        maximum = self._max_line_width
        room = viewport_width - self.verticalScrollBar().sizeHint().width()
        if maximum is None or room <= maximum:
            self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
            return
        self.setLineWrapMode(QTextEdit.LineWrapMode.FixedPixelWidth)
        if self.lineWrapColumnOrWidth() != maximum:
            self.setLineWrapColumnOrWidth(maximum)

    def resizeEvent(self, event) -> None:
        # QAbstractScrollArea sends the viewport's resize events here.
        self._fit_line_width(event.size().width())
        super().resizeEvent(event)

    @property
    def rejected_urls(self) -> list[str]:
        return self.document().rejected_urls

    def set_image(self, name: str, image: QImage) -> None:
        self.document().set_image(name, image)

    def clear_images(self) -> None:
        self.document().clear_images()

    def loadResource(self, kind: int, url: QUrl):
        return self.document().loadResource(kind, url)

    def createMimeDataFromSelection(self) -> QMimeData:
        # build_thread_html puts SOFT_BREAK into long words such as URLs, and
        # a copied URL must work when pasted. NOTE: a zero-width space that
        # the post itself contains is dropped from the copy too.
        fragment = self.textCursor().selection()
        data = QMimeData()
        data.setHtml(fragment.toHtml().replace(SOFT_BREAK, ""))
        data.setText(fragment.toPlainText().replace(SOFT_BREAK, ""))
        return data


class Placeholder(QWidget):
    """A heading and a sentence, centred, in place of a discussion."""

    MAX_TEXT_WIDTH = 380  # pixels, so the sentence stays a short paragraph

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.heading = plain_label("", "placeholderHeading")
        self.text = plain_label("", "placeholderText")
        column = QWidget()
        column.setMaximumWidth(self.MAX_TEXT_WIDTH)
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(8)
        for label in (self.heading, self.text):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setWordWrap(True)
            column_layout.addWidget(label)

        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 4)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)

    def set_text(self, text: str, heading: str = "") -> None:
        self.heading.setText(heading)
        self.heading.setVisible(bool(heading))
        self.text.setText(text)
        self.text.setVisible(bool(text))


class ThreadView(QWidget):
    """Shows one discussion; emits person_activated when an author is clicked.

    With outbox actions (ui.outbox_actions.OutboxActions), each post has
    links to like, quote, edit, delete and mark answers, and a reply box
    sits under the thread. edit_discussion_requested(post id, failed item
    id or 0) asks the window to open the discussion's composer. With
    ``read_state`` (app.read_state.ReadState), showing a discussion marks it
    read on the server, and so do new replies while the window is active.
    With a user_id, the Follow button above the thread emits
    follow_toggled(discussion id, following) for the window to store.
    """

    person_activated = Signal(str)
    follow_toggled = Signal(str, bool)
    edit_discussion_requested = Signal(str, int)
    # A sentence for the status bar, such as why a link did not open.
    status_message = Signal(str)
    # (room id, discussion id, True to pin or False to unpin)
    pin_requested = Signal(str, str, bool)
    # (room id, post id, True for the discussion's first post)
    remove_requested = Signal(str, str, bool)

    def __init__(
        self,
        store,
        user_id: str | None,
        thumbnails=None,
        parent=None,
        actions=None,
        *,
        external_links_allowed: bool = True,
        read_state=None,
        moderation=None,
    ):
        super().__init__(parent)
        self._actions = actions
        # An object with can_moderate(room_id) and is_pinned(room_id,
        # event_id), for the Pin and Remove post links; None shows neither.
        self.moderation = moderation
        self._read_state = read_state
        self._external_links_allowed = external_links_allowed
        self._posts: dict[str, Post] = {}
        self._post_ids: list[str] = []
        self._store = store
        self._user_id = user_id
        self._thumbnails = thumbnails
        self._runner = TaskRunner(self)
        self._event_id: str | None = None
        self._reply_limit = REPLY_PAGE
        self._people: list[str] = []
        self._avatars: list[tuple[str, str, str | None]] = []
        # The thread that the document shows, or None when the next render
        # must replace the document (another discussion, a new avatar image).
        self._shown_thread: ThreadHtml | None = None
        self._rerender = QTimer(self, singleShot=True, interval=150)
        self._rerender.timeout.connect(self._render_keeping_scroll)
        # The post that scroll_to_post marked last, until its mark is cleared.
        self._marked_post: str | None = None

        self.browser = SafeTextBrowser()
        self.browser.setObjectName("threadBrowser")
        self.browser.document().setDefaultStyleSheet(STYLE_SHEET)
        self.browser.document().setDocumentMargin(24)
        # Appended replies would otherwise pile up as undo steps, because
        # only setHtml clears the undo stack, and the reader cannot undo.
        self.browser.document().setUndoRedoEnabled(False)
        self.browser.anchorClicked.connect(self._anchor_clicked)
        self.browser.set_max_line_width(MAX_READING_WIDTH)

        self.placeholder = Placeholder()

        # The discussion id that the Follow button stores, None while unsent.
        self._follow_target: str | None = None
        self.follow_button = QToolButton()
        self.follow_button.setObjectName("followButton")
        self.follow_button.setCheckable(True)
        self.follow_button.clicked.connect(self._follow_clicked)
        header = QHBoxLayout()
        header.setContentsMargins(8, 4, 8, 0)
        header.addStretch(1)
        header.addWidget(self.follow_button)
        self.follow_button.setVisible(user_id is not None)

        self.reply_box = None
        reading = QWidget()
        reading_layout = QVBoxLayout(reading)
        reading_layout.setContentsMargins(0, 0, 0, 0)
        reading_layout.setSpacing(0)
        reading_layout.addLayout(header)
        reading_layout.addWidget(self.browser, 1)
        if actions is not None:
            self.reply_box = ReplyBox(store, actions.outbox)
            reading_layout.addWidget(self.reply_box)

        self._stack = QStackedWidget()
        self._stack.addWidget(self.placeholder)
        self._stack.addWidget(reading)
        self._reading = reading
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    def stop(self) -> None:
        """Stop the pending re-render, because the cache is about to close."""
        self._rerender.stop()
        self._event_id = None

    def current_discussion(self) -> str | None:
        return self._event_id

    def show_placeholder(self, text: str, heading: str = "") -> None:
        """Close the discussion and show a sentence, under a heading if given."""
        self._event_id = None
        self.placeholder.set_text(text, heading)
        self._stack.setCurrentWidget(self.placeholder)

    def show_discussion(self, event_id: str) -> None:
        self._event_id = event_id
        self._reply_limit = REPLY_PAGE
        self._shown_thread = None
        self._render()
        self.browser.verticalScrollBar().setValue(0)
        self._mark_read()
        root = self._posts.get(event_id)
        box = self.reply_box
        if box is not None and root is not None and box.discussion() != event_id:
            box.set_discussion(event_id, root.room_id)

    def apply_changes(self, changes: Changes) -> None:
        if self._event_id is None:
            return
        root = self._posts.get(self._event_id)
        if root is not None and root.room_id in changes.administration:
            # A pin or a power level changed: the links under the posts change.
            self._shown_thread = None
            self._rerender.start()
            return
        if self._event_id in changes.discussions or changes.people & set(self._people):
            if changes.outbox:
                # The user's own action (or its echo): show it now, because
                # the debounce alone would delay a sent reply by 150 ms.
                self._rerender.stop()
                self._render_keeping_scroll()
            else:
                self._rerender.start()

    def _render_keeping_scroll(self) -> None:
        """Render again, at the same scroll position or still at the bottom."""
        if self._event_id is None:
            return
        bar = self.browser.verticalScrollBar()
        position = bar.value()
        at_bottom = position > 0 and position == bar.maximum()
        self._render()
        if at_bottom:
            # QTextEdit lays a new document out in steps, so the scroll bar's
            # maximum is final only once pageCount has finished the layout.
            self.browser.document().pageCount()
            bar.setValue(bar.maximum())
        else:
            bar.setValue(position)
        if self.window().isActiveWindow():
            self._mark_read()

    def _mark_read(self) -> None:
        if self._read_state is not None and self._event_id in self._posts:
            self._read_state.discussion_opened(self._event_id)

    def _render(self) -> None:
        conn = self._store.reader()
        root = get_discussion_post(conn, self._event_id)
        if root is None:
            self.show_placeholder("This discussion is no longer in the cache.")
            return
        summary = get_discussion_summary(conn, self._event_id)
        replies = list_replies(conn, self._event_id, limit=self._reply_limit + 1)
        has_more = len(replies) > self._reply_limit
        replies = replies[: self._reply_limit]
        ids = [root.event_id] + [reply.event_id for reply in replies]
        reactions = reactions_for(conn, ids, self._user_id)
        room = get_room(conn, root.room_id)
        notice = ENCRYPTED_NOTICE if room is not None and room.encrypted else None
        self._posts = {post.event_id: post for post in [root, *replies]}

        thread = build_thread_html(
            summary,
            root,
            replies,
            reactions,
            reply_count=summary.reply_count if summary else len(replies),
            has_more=has_more,
            notice=notice,
            options=self._options(conn, root, summary),
        )
        self._post_ids = thread.posts
        self._people = thread.people
        self._avatars = thread.avatars
        self._load_avatars()
        if not self._append_replies(thread):
            self.browser.setHtml(thread.html)
        self._shown_thread = thread
        self._update_follow_button(conn, root)
        if self.reply_box is not None:
            # Nobody can reply to a deleted discussion; a draft stays saved.
            self.reply_box.setVisible(not root.redacted)
        self._stack.setCurrentWidget(self._reading)

    def _update_follow_button(self, conn, root: Post) -> None:
        if self._user_id is None:
            return
        # An unsent discussion has only a local id, which the server's lists
        # cannot name. Its author follows it anyway once it is sent.
        sent = root.event_id.startswith("$")
        self._follow_target = root.event_id if sent else None
        self.follow_button.setEnabled(sent)
        following = sent and is_following(conn, self._user_id, root.event_id)
        self._set_follow_button(following or not sent)

    def _set_follow_button(self, following: bool) -> None:
        self.follow_button.setChecked(following)
        self.follow_button.setText("Following" if following else "Follow")
        if following:
            tip = "You are notified of new replies. Click to unfollow."
        else:
            tip = "Follow to be notified of new replies."
        self.follow_button.setToolTip(tip)

    def _follow_clicked(self, checked: bool) -> None:
        if self._follow_target is None:
            return
        self._set_follow_button(checked)
        self.follow_toggled.emit(self._follow_target, checked)

    def _append_replies(self, thread: ThreadHtml) -> bool:
        """Add thread's new last replies to the document if nothing else changed.

        Returns False, changing nothing, when the document must be replaced.
        Replacing it takes time that grows with the thread, which delayed the
        user's own reply in long threads. The document that results is the
        one that setHtml(thread.html) makes, as tests check.
        """
        shown = self._shown_thread
        if (
            shown is None
            or not shown.replies
            or shown.more
            or thread.more
            or thread.head != shown.head
            or len(thread.replies) <= len(shown.replies)
            or thread.replies[: len(shown.replies)] != shown.replies
        ):
            return False
        section = self._section_block(shown.section_label)
        if section is None:
            log.warning("Replies label not found in the thread; rendering it again")
            return False
        if thread.section_label != shown.section_label:
            label = QTextCursor(section)
            label.movePosition(
                QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor
            )
            label.insertText(thread.section_label)
        # Qt's importer ends the document with an empty block after the last
        # reply's table, and a table inserted there matches an imported one.
        # A paragraph inserted there would take that block's margins, which
        # is why a change to the "Show more replies" link replaces everything.
        # The two edits stay separate: one edit block spanning both made Qt
        # lay out again everything between the label and the end.
        cursor = QTextCursor(self.browser.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertHtml("".join(thread.replies[len(shown.replies) :]))
        return True

    def _section_block(self, label: str):
        """Return the block of the replies label, the first text after the root post."""
        document = self.browser.document()
        root_frame = document.rootFrame()
        tables = root_frame.childFrames()
        if not tables:
            return None
        end = tables[0].lastPosition()
        block = document.findBlock(end).next()
        while block.isValid():
            in_root_frame = QTextCursor(block).currentFrame() == root_frame
            if in_root_frame and block.text():
                return block if block.text() == label else None
            block = block.next()
        return None

    def _options(self, conn, root: Post, summary) -> ThreadOptions:
        if self._actions is None or self._user_id is None:
            return ThreadOptions()
        can_moderate, pinned = self._moderation_state(root)
        if summary is None or summary.kind != "question":
            return ThreadOptions(
                self._user_id, can_moderate=can_moderate, pinned=pinned
            )
        accepted = accepted_answers(conn, [root.event_id]).get(root.event_id)
        return ThreadOptions(
            self._user_id,
            can_accept=may_accept_answer(
                conn, root.room_id, root.sender, self._user_id
            ),
            accepted_reply_id=accepted.reply_id if accepted else None,
            can_moderate=can_moderate,
            pinned=pinned,
        )

    def _moderation_state(self, root: Post) -> tuple[bool, bool]:
        """Return whether the user moderates root's room, and whether root is pinned."""
        if self.moderation is None or not self.moderation.can_moderate(root.room_id):
            return False, False
        return True, self.moderation.is_pinned(root.room_id, root.event_id)

    def _load_avatars(self) -> None:
        ratio = self.devicePixelRatioF()
        self.browser.clear_images()
        for index, (name, user_id, mxc) in enumerate(self._avatars):
            image = None
            if mxc and self._thumbnails is not None:
                path = self._thumbnails.cached(mxc, AVATAR_SIZE * 2)
                if path is not None:
                    image = round_image(path, AVATAR_SIZE, ratio)
                else:
                    self._fetch_avatar(mxc)
            if image is None:
                image = initials_image(name, user_id, AVATAR_SIZE, ratio)
            self.browser.set_image(str(index), image)

    def _fetch_avatar(self, mxc: str) -> None:
        self._runner.run(
            self._thumbnails.fetch(mxc, AVATAR_SIZE * 2),
            lambda path: self._avatar_fetched() if path is not None else None,
            lambda error: log.info("Avatar %s not shown: %s", mxc, error),
            key=("avatar", mxc),
        )

    def _avatar_fetched(self) -> None:
        # A fetched image changes no HTML, so replace the whole document
        # rather than append, to show the image in every post.
        self._shown_thread = None
        self._rerender.start()

    def scroll_to_post(self, event_id: str) -> bool:
        """Scroll the open discussion to post event_id and mark it for a moment.

        Loads more pages of replies while the post is not among those shown.
        Returns False if the open discussion has no such post.
        """
        for _ in range(MAX_PAGES_TO_FIND):
            thread = self._shown_thread
            if self._event_id is None or event_id in self._post_ids:
                break
            if thread is None or not thread.more:
                return False
            self._reply_limit += REPLY_PAGE
            self._render()
        if self._event_id is None or event_id not in self._post_ids:
            return False
        name = post_anchor(self._post_ids.index(event_id))
        # The scroll bar's range is final only once the layout has finished.
        self.browser.document().pageCount()
        self.browser.scrollToAnchor(name)
        self._mark_post(name)
        return True

    def _mark_post(self, name: str) -> None:
        """Give the post with anchor name a background until POST_MARK_MS pass."""
        cursor = self._anchor_cursor(name)
        table = cursor.currentTable() if cursor is not None else None
        if table is None:
            return
        selection = QTextEdit.ExtraSelection()
        selection.cursor = QTextCursor(self.browser.document())
        selection.cursor.setPosition(table.firstPosition())
        selection.cursor.setPosition(
            table.lastPosition(), QTextCursor.MoveMode.KeepAnchor
        )
        selection.format = QTextCharFormat()
        selection.format.setBackground(POST_MARK_COLOUR)
        self.browser.setExtraSelections([selection])
        self._marked_post = name
        QTimer.singleShot(POST_MARK_MS, self, lambda: self._clear_mark(name))

    def _clear_mark(self, name: str) -> None:
        if self._marked_post == name:
            self._marked_post = None
            self.browser.setExtraSelections([])

    def marked_text(self) -> str:
        """Return the text that scroll_to_post marks now, or "" if none."""
        return "".join(
            selection.cursor.selectedText()
            for selection in self.browser.extraSelections()
        )

    def _anchor_cursor(self, name: str) -> QTextCursor | None:
        """Return a cursor at the text with anchor name, or None if none has it."""
        document = self.browser.document()
        block = document.begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                if name in fragment.charFormat().anchorNames():
                    cursor = QTextCursor(document)
                    cursor.setPosition(fragment.position())
                    return cursor
                fragments += 1
            block = block.next()
        return None

    def _anchor_clicked(self, url: QUrl) -> None:
        scheme = url.scheme()
        if scheme == PERSON_SCHEME:
            try:
                self.person_activated.emit(self._people[int(url.path())])
            except (ValueError, IndexError):
                log.warning("Unknown person link %s", url.toString())
            return
        if scheme == POST_SCHEME:
            self._post_link(url.path())
            return
        if url.toString() == MORE_REPLIES_URL:
            self._reply_limit += REPLY_PAGE
            self._render_keeping_scroll()
            return
        if scheme in EXTERNAL_SCHEMES:
            if not self._external_links_allowed:
                log.info("Did not open a %s link: turned off by policy", scheme)
                self.status_message.emit(LINKS_TURNED_OFF_MESSAGE)
                return
            QDesktopServices.openUrl(url)
            return
        log.info("Ignored a link with the %r scheme", scheme)

    def _post_link(self, path: str) -> None:
        action, _, number = path.partition("/")
        try:
            post_id = self._post_ids[int(number)]
        except (ValueError, IndexError):
            log.warning("Unknown post link %s", path)
            return
        self.run_post_action(action, post_id)

    def run_post_action(self, action: str, post_id: str) -> None:
        """Run a link's action (like, quote, edit, delete, accept, retry...)."""
        actions = self._actions
        post = self._posts.get(post_id)
        if actions is None or post is None or self._event_id is None:
            return
        is_root = post_id == self._event_id
        if action in ("like", "unlike"):
            actions.set_liked(post_id, action == "like")
        elif action == "quote":
            name = person_name(post.sender_name, post.sender)
            self.reply_box.set_quote(None if is_root else post_id, name)
        elif action == "edit" and is_root:
            self.edit_discussion_requested.emit(post_id, 0)
        elif action == "edit":
            self.reply_box.start_edit(post_id, post.body)
        elif action == "delete":
            self._confirm_delete(post_id, is_root)
        elif action in ("accept", "unaccept"):
            reply_id = post_id if action == "accept" else None
            actions.accept_answer(self._event_id, reply_id)
        elif action == "retry":
            actions.retry_post(post_id)
        elif action == "discard":
            actions.discard_post(post_id)
        elif action == "revise":
            self._revise(post_id, is_root)
        elif action in ("pin", "unpin"):
            self.pin_requested.emit(post.room_id, post_id, action == "pin")
        elif action == "remove":
            self.remove_requested.emit(post.room_id, post_id, is_root)

    def _confirm_delete(self, post_id: str, is_root: bool) -> None:
        what = "discussion and its replies" if is_root else "reply"
        answer = QMessageBox.question(
            self,
            "Delete post",
            f"Delete this {what}? Other people will no longer see it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._actions.delete(post_id)

    def _revise(self, post_id: str, is_root: bool) -> None:
        item = failed_item_for(self._actions.outbox, post_id)
        if item is None:
            return
        if is_root:
            self.edit_discussion_requested.emit(post_id, item.id)
        else:
            self.reply_box.start_revise(item.id, item.body or "")

    def document(self) -> QTextDocument:
        return self.browser.document()
