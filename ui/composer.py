"""The composer of a new discussion, question or announcement, and of its edits.

The composer queues the post through app.outbox and closes. The discussion
list shows the post at once, marked "Sending…". The text is saved as a draft
while the user types (ui.compose_support.DraftAutosave) and comes back when
the composer for the same board, or the same post, opens again. Text that
the core rejects (empty, too long, too large) keeps the composer open with
the core's message and the draft kept.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.compose import ContentRejected
from app.outbox import OutboxError
from app.render import markdown_to_html
from app.store.answers import is_moderator
from ui.compose_support import DraftAutosave, MentionCompleter
from ui.tasks import TaskRunner
from ui.thread_html import STYLE_SHEET
from ui.thread_view import SafeTextBrowser

log = logging.getLogger(__name__)

KINDS = [("discussion", "Discussion"), ("question", "Question")]
ANNOUNCEMENT = ("announcement", "Announcement")
PREVIEW_DELAY_MS = 200
PREVIEW_EMPTY = '<p class="muted">The preview of the text appears here.</p>'


def split_tags(text: str) -> list[str]:
    """Return the tags typed as words separated by commas or spaces, without "#"."""
    tags = [tag.lstrip("#") for tag in re.split(r"[,\s]+", text)]
    return list(dict.fromkeys(tag for tag in tags if tag))


class DiscussionComposer(QDialog):
    """Writes a new discussion in room_id, or edits post_id when it is given.

    Emits posted(post id) after the outbox has queued the post.
    """

    posted = Signal(str)

    def __init__(
        self,
        store,
        outbox,
        room_id: str,
        *,
        room_name: str = "",
        post=None,
        failed_item_id: int | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("discussionComposer")
        self._store = store
        self._outbox = outbox
        self._room_id = room_id
        self._post = post  # an app.store.outbox_queries.PostRef when editing
        self._failed_item_id = failed_item_id
        self._runner = TaskRunner(self)
        editing = post is not None
        if editing:
            self.setWindowTitle("Edit discussion")
        else:
            self.setWindowTitle(f"New discussion in {room_name}".strip())

        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("composerTitle")
        self.title_edit.setPlaceholderText("Title")
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("composerKind")
        kinds = list(KINDS)
        if is_moderator(store.reader(), room_id, outbox.user_id):
            kinds.append(ANNOUNCEMENT)
        for value, label in kinds:
            self.kind_combo.addItem(label, value)
        self.tags_edit = QLineEdit()
        self.tags_edit.setObjectName("composerTags")
        self.tags_edit.setPlaceholderText("Tags, separated by commas")

        self.body_edit = QPlainTextEdit()
        self.body_edit.setObjectName("composerBody")
        self.body_edit.setPlaceholderText(
            "Write in Markdown. Type @ to mention someone."
        )
        self.mentions = MentionCompleter(store, self.body_edit)
        self.preview = SafeTextBrowser()
        self.preview.setObjectName("composerPreview")
        self.preview.document().setDefaultStyleSheet(STYLE_SHEET)
        self.preview.setHtml(PREVIEW_EMPTY)
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.update_preview)

        self.error_label = QLabel()
        self.error_label.setObjectName("composerError")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.error_label.hide()
        self.draft_label = QLabel()
        self.draft_label.setObjectName("composerDraftState")

        self.buttons = QDialogButtonBox()
        self.post_button = self.buttons.addButton(
            "Save" if editing else "Post", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.post_button.setObjectName("composerPost")
        self.discard_button = self.buttons.addButton(
            "Discard draft", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.post_button.clicked.connect(self.submit)
        self.discard_button.clicked.connect(self.discard)
        close.clicked.connect(self.close)

        self._layout_fields()
        composer = "edit" if editing else "discussion"
        self.autosave = DraftAutosave(
            store, composer, self._draft_fields, self, on_changes=outbox.on_changes
        )
        self.autosave.set_target(post.post_id if editing else room_id, room_id)
        self.autosave.saved.connect(lambda: self.draft_label.setText("Draft saved"))
        self.autosave.save_failed.connect(self.show_error)
        self._fill()
        for signal in (
            self.title_edit.textChanged,
            self.tags_edit.textChanged,
            self.body_edit.textChanged,
            self.kind_combo.currentIndexChanged,
        ):
            signal.connect(self._changed)
        self._update_post_button()
        self.resize(900, 620)

    def _layout_fields(self) -> None:
        form = QFormLayout()
        form.addRow("Title", self.title_edit)
        form.addRow("Kind", self.kind_combo)
        form.addRow("Tags", self.tags_edit)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self.body_edit)
        split.addWidget(self.preview)
        split.setSizes([1, 1])
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(split, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.draft_label)
        layout.addWidget(self.buttons)

    # -- Fields ----------------------------------------------------------------

    def _fill(self) -> None:
        """Fill the fields from the saved draft, else from the post being edited."""
        draft = self.autosave.load()
        post = self._post
        if draft is not None:
            title, body, tags, kind = draft.title, draft.body, draft.tags, draft.kind
            self.draft_label.setText("Draft restored")
        elif post is not None:
            title, body, tags = post.title or "", post.body, post.tags
            kind = post.kind or "discussion"
        else:
            return
        self.title_edit.setText(title)
        self.body_edit.setPlainText(body)
        self.tags_edit.setText(", ".join(tags))
        row = self.kind_combo.findData(kind)
        if row < 0 and kind == ANNOUNCEMENT[0]:
            # An announcement being edited keeps its kind.
            self.kind_combo.addItem(ANNOUNCEMENT[1], ANNOUNCEMENT[0])
            row = self.kind_combo.count() - 1
        self.kind_combo.setCurrentIndex(max(row, 0))
        self.update_preview()

    def _draft_fields(self) -> dict:
        return {
            "title": self.title_edit.text(),
            "body": self.body_edit.toPlainText(),
            "tags": split_tags(self.tags_edit.text()),
            "kind": self.kind_combo.currentData(),
        }

    def _changed(self) -> None:
        self.draft_label.setText("")
        self.autosave.schedule()
        self._preview_timer.start()
        self._update_post_button()

    def _update_post_button(self) -> None:
        # A discussion needs a title; its text may be empty (app.compose).
        ready = bool(self.title_edit.text().strip())
        self.post_button.setEnabled(ready)
        self.post_button.setToolTip("" if ready else "Write a title first.")

    def update_preview(self) -> None:
        text = self.body_edit.toPlainText()
        self.preview.setHtml(markdown_to_html(text) if text.strip() else PREVIEW_EMPTY)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    # -- Actions ---------------------------------------------------------------

    def submit(self) -> None:
        """Queue the post; the draft is deleted by the outbox in the same write."""
        fields = self._draft_fields()
        self.show_error("")
        self.post_button.setEnabled(False)
        self.autosave.stop()
        mentions = self.mentions.mentioned(fields["body"])
        if self._post is None:
            work = self._outbox.queue_discussion(
                self._room_id,
                fields["title"],
                fields["body"],
                kind=fields["kind"],
                tags=fields["tags"],
                mentions=mentions,
            )
        elif self._failed_item_id is not None:
            work = self._revise(fields)
        else:
            work = self._outbox.queue_edit(
                self._post.post_id,
                fields["body"],
                title=fields["title"],
                kind=fields["kind"],
                tags=fields["tags"],
                mentions=mentions,
            )
        self._runner.run(work, self._queued, self._rejected, key="submit")

    async def _revise(self, fields: dict) -> str:
        await self._outbox.revise(
            self._failed_item_id,
            fields["body"],
            title=fields["title"],
            kind=fields["kind"],
            tags=fields["tags"],
        )
        return self._post.post_id

    def _queued(self, post_id: str) -> None:
        self.posted.emit(post_id)
        self.accept()

    def _rejected(self, error: BaseException) -> None:
        self._update_post_button()
        if isinstance(error, (ContentRejected, OutboxError)):
            self.show_error(error.message)
        else:
            log.error("Post not queued", exc_info=error)
            self.show_error(f"The post was not queued: {error}")
        # The draft stays; save what is in the fields now.
        self.autosave.schedule()
        self.autosave.save_now()

    def discard(self) -> None:
        self.autosave.discard(on_done=self.reject)

    def closeEvent(self, event) -> None:
        self.autosave.save_now()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        if result != QDialog.DialogCode.Accepted:
            self.autosave.save_now()
        super().done(result)
