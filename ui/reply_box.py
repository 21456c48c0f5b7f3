"""The reply box under a discussion: write a reply, quote one, or edit your own.

The box has three modes. A reply is queued with Outbox.queue_reply, an edit
of one of the user's replies with queue_edit, and a failed reply is revised
with Outbox.revise. Replies and edits keep a draft (ui.compose_support);
a revision starts from the failed item's text, which the outbox keeps.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.compose import ContentRejected
from app.outbox import OutboxError
from ui.compose_support import DraftAutosave, MentionCompleter
from ui.tasks import TaskRunner

log = logging.getLogger(__name__)

REPLY, EDIT, REVISE = "reply", "edit", "revise"
MODE_LABELS = {EDIT: "Editing your reply", REVISE: "Editing a reply that was not sent"}
SEND_LABELS = {REPLY: "Send", EDIT: "Save", REVISE: "Send again"}


class ReplyBox(QWidget):
    """Emits sent(post id) after the outbox has queued the reply or the edit."""

    sent = Signal(str)

    def __init__(self, store, outbox, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("replyBox")
        self._store = store
        self._outbox = outbox
        self._runner = TaskRunner(self)
        self._root_id: str | None = None
        self._room_id: str | None = None
        self._mode = REPLY
        self._edit_target: str | None = None  # post id or outbox item id
        self._quote_id: str | None = None

        self.mode_label = QLabel()
        self.mode_label.setObjectName("replyMode")
        self.quote_label = QLabel()
        self.quote_label.setObjectName("replyQuote")
        self.quote_label.setTextFormat(Qt.TextFormat.PlainText)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("replyCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("replyEditor")
        self.editor.setPlaceholderText("Write a reply in Markdown. Type @ to mention.")
        self.editor.setMaximumHeight(110)
        self.mentions = MentionCompleter(store, self.editor)
        self.send_button = QPushButton(SEND_LABELS[REPLY])
        self.send_button.setObjectName("replySend")
        self.send_button.setToolTip("Send the reply (Ctrl+Return)")
        self.send_button.clicked.connect(self.send)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self.editor)
        shortcut.activated.connect(self.send)
        self.error_label = QLabel()
        self.error_label.setObjectName("replyError")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        top = QHBoxLayout()
        top.addWidget(self.mode_label)
        top.addWidget(self.quote_label, 1)
        top.addWidget(self.cancel_button)
        row = QHBoxLayout()
        row.addWidget(self.editor, 1)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 10)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addWidget(self.error_label)

        self.autosave = DraftAutosave(
            store, REPLY, self._draft_fields, self, on_changes=outbox.on_changes
        )
        self.autosave.save_failed.connect(self.show_error)
        self.editor.textChanged.connect(self._changed)
        self._update_labels()

    # -- Targets -------------------------------------------------------------

    def set_discussion(self, root_id: str | None, room_id: str | None) -> None:
        """Reply in root_id's thread, restoring its reply draft."""
        self.autosave.set_target(root_id, room_id, REPLY)
        self._root_id = root_id
        self._room_id = room_id
        self._mode = REPLY
        self._edit_target = None
        self._quote_id = None
        self.quote_label.setText("")
        draft = self.autosave.load()
        self._set_text(draft.body if draft else "")
        if draft is not None and draft.quote_id:
            self._quote_id = draft.quote_id
            self.quote_label.setText("Quoting a reply")
        self.show_error("")
        self._update_labels()

    def discussion(self) -> str | None:
        return self._root_id

    def set_quote(self, post_id: str | None, name: str = "") -> None:
        """Quote post_id in the next reply; None stops quoting."""
        if self._mode != REPLY:
            self.cancel()
        self._quote_id = post_id
        self.quote_label.setText(f"Quoting {name}" if post_id else "")
        self._update_labels()
        self.autosave.schedule()
        self.editor.setFocus()

    def quote_id(self) -> str | None:
        return self._quote_id

    def start_edit(self, post_id: str, body: str) -> None:
        """Edit the user's reply post_id, from its edit draft if there is one."""
        self.autosave.set_target(post_id, self._room_id, EDIT)
        self._mode = EDIT
        self._edit_target = post_id
        self._quote_id = None
        draft = self.autosave.load()
        self._set_text(draft.body if draft else body)
        self._update_labels()
        self.editor.setFocus()

    def start_revise(self, item_id: int, body: str) -> None:
        """Change the text of the failed reply item_id and send it again."""
        self.autosave.set_target(None, None)
        self._mode = REVISE
        self._edit_target = str(item_id)
        self._quote_id = None
        self._set_text(body)
        self._update_labels()
        self.editor.setFocus()

    def mode(self) -> str:
        return self._mode

    def cancel(self) -> None:
        """Leave quoting, editing or revising and go back to the reply draft."""
        self.set_discussion(self._root_id, self._room_id)

    # -- Editing -------------------------------------------------------------

    def _set_text(self, text: str) -> None:
        self.editor.blockSignals(True)
        self.editor.setPlainText(text)
        self.editor.blockSignals(False)
        self._update_labels()

    def _draft_fields(self) -> dict:
        return {"body": self.editor.toPlainText(), "quote_id": self._quote_id}

    def _changed(self) -> None:
        self.autosave.schedule()
        self._update_labels()

    def _update_labels(self) -> None:
        self.mode_label.setText(MODE_LABELS.get(self._mode, ""))
        self.mode_label.setVisible(self._mode != REPLY)
        self.quote_label.setVisible(bool(self.quote_label.text()))
        self.cancel_button.setVisible(self._mode != REPLY or self._quote_id is not None)
        self.send_button.setText(SEND_LABELS[self._mode])
        ready = self._root_id is not None and bool(self.editor.toPlainText().strip())
        self.send_button.setEnabled(ready)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    # -- Sending -------------------------------------------------------------

    def send(self) -> None:
        body = self.editor.toPlainText()
        if self._root_id is None or not body.strip():
            return
        self.autosave.stop()
        self.show_error("")
        self.send_button.setEnabled(False)
        mentions = self.mentions.mentioned(body)
        if self._mode == EDIT:
            work = self._outbox.queue_edit(self._edit_target, body, mentions=mentions)
        elif self._mode == REVISE:
            work = self._revise(int(self._edit_target), body)
        else:
            work = self._outbox.queue_reply(
                self._root_id, body, quote_id=self._quote_id, mentions=mentions
            )
        self._runner.run(work, self._queued, self._rejected, key="send")

    async def _revise(self, item_id: int, body: str) -> str:
        await self._outbox.revise(item_id, body)
        return self._root_id

    def _queued(self, post_id) -> None:
        # The outbox deleted the draft in the same write that queued the text.
        self.set_discussion(self._root_id, self._room_id)
        self.sent.emit(post_id or "")

    def _rejected(self, error: BaseException) -> None:
        self._update_labels()
        if isinstance(error, (ContentRejected, OutboxError)):
            self.show_error(error.message)
        else:
            log.error("Reply in %s not queued", self._root_id, exc_info=error)
            self.show_error(f"The reply was not queued: {error}")
        self.autosave.schedule()
        self.autosave.save_now()
