"""Helpers that both composers share: draft autosave and @-mention completion.

DraftAutosave saves a composer's fields through app.drafts a short while after
the last change, and emits saved() or save_failed(message). MentionCompleter
offers the names of cached people after "@" in a QPlainTextEdit and inserts
the chosen person's user id, which app.compose turns into a mention.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from PySide6.QtCore import QObject, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QCompleter, QPlainTextEdit

from app import drafts
from app.records import Changes
from app.store.queries import list_people
from ui.tasks import TaskRunner
from ui.text_format import person_name

log = logging.getLogger(__name__)

# Time in milliseconds between the last keystroke and the draft's save.
AUTOSAVE_DELAY_MS = 800

# A word being typed after "@", up to the cursor.
_MENTION_PREFIX = re.compile(r"(?:^|(?<=\s))@([^\s@]*)$")


class DraftAutosave(QObject):
    """Saves the draft of one composer target AUTOSAVE_DELAY_MS after a change.

    read_fields returns the keyword arguments of app.drafts.save_draft other
    than the store, composer, target and room. on_changes receives the
    Changes(drafts=True) that each save or discard announces.
    """

    saved = Signal()
    save_failed = Signal(str)

    def __init__(
        self,
        store,
        composer: str,
        read_fields: Callable[[], dict],
        parent: QObject | None = None,
        *,
        on_changes: Callable[[Changes], None] | None = None,
    ):
        super().__init__(parent)
        self._store = store
        self._on_changes = on_changes
        self._composer = composer
        self._read_fields = read_fields
        self._target: tuple[str, str] | None = None  # (target id, room id)
        self._runner = TaskRunner(self)
        self._timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self._save)

    def set_target(
        self, target_id: str | None, room_id: str | None, composer: str | None = None
    ) -> None:
        """Save what is pending for the old target, then follow the new one.

        composer changes the kind of draft ("reply" or "edit") when given.
        """
        self.save_now()
        if composer is not None:
            self._composer = composer
        if target_id is None or room_id is None:
            self._target = None
        else:
            self._target = (target_id, room_id)

    def load(self) -> drafts.Draft | None:
        if self._target is None:
            return None
        return drafts.load_draft(self._store, self._composer, self._target[0])

    def schedule(self) -> None:
        if self._target is not None:
            self._timer.start()

    def is_pending(self) -> bool:
        return self._timer.isActive()

    def stop(self) -> None:
        """Drop a scheduled save, because the text is being sent or discarded."""
        self._timer.stop()

    def save_now(self) -> None:
        """Save at once if a save is scheduled."""
        if self._timer.isActive():
            self._timer.stop()
            self._save()

    def _save(self) -> None:
        if self._target is None:
            return
        target_id, room_id = self._target
        self._runner.run(
            drafts.save_draft(
                self._store,
                self._composer,
                target_id,
                room_id=room_id,
                on_changes=self._on_changes,
                **self._read_fields(),
            ),
            lambda _result: self.saved.emit(),
            lambda error: self._failed(target_id, error),
        )

    def discard(self, on_done: Callable[[], None] | None = None) -> None:
        """Stop saving and delete the target's draft."""
        self._timer.stop()
        if self._target is None:
            return
        target_id = self._target[0]
        self._runner.run(
            drafts.discard_draft(
                self._store, self._composer, target_id, on_changes=self._on_changes
            ),
            lambda _removed: on_done() if on_done else None,
            lambda error: self._failed(target_id, error),
        )

    def _failed(self, target_id: str, error: BaseException) -> None:
        log.warning("Draft %s %s not saved: %s", self._composer, target_id, error)
        self.save_failed.emit(f"The draft was not saved: {error}")


class MentionCompleter(QObject):
    """Completes "@name" in editor with cached people; tracks chosen user ids."""

    def __init__(self, store, editor: QPlainTextEdit):
        super().__init__(editor)
        self._store = store
        self._editor = editor
        self._names: dict[str, str] = {}  # completion text -> user id
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(editor)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self.insert)
        editor.textChanged.connect(self._text_changed)

    def _load_people(self) -> None:
        people = list_people(self._store.reader(), limit=2000)
        self._names = {
            f"{person_name(person.display_name, person.user_id)} "
            f"({person.user_id})": person.user_id
            for person in people
        }
        self.model.setStringList(list(self._names))

    def _typed_prefix(self) -> str | None:
        cursor = self._editor.textCursor()
        line = cursor.block().text()[: cursor.positionInBlock()]
        match = _MENTION_PREFIX.search(line)
        return match.group(1) if match else None

    def _text_changed(self) -> None:
        prefix = self._typed_prefix()
        if prefix is None:
            self.completer.popup().hide()
            return
        if not self._names or prefix == "":
            # A new "@" reads the people again, who may have synced since.
            self._load_people()
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0:
            self.completer.popup().hide()
            return
        rect = self._editor.cursorRect()
        rect.setWidth(320)
        self.completer.complete(rect)

    def insert(self, text: str) -> None:
        """Replace the "@prefix" before the cursor with the person's user id."""
        user_id = self._names.get(text)
        prefix = self._typed_prefix()
        if user_id is None or prefix is None:
            return
        cursor = self._editor.textCursor()
        cursor.movePosition(
            QTextCursor.MoveOperation.Left,
            QTextCursor.MoveMode.KeepAnchor,
            len(prefix) + 1,
        )
        cursor.insertText(f"{user_id} ")
        self._editor.setTextCursor(cursor)

    def mentioned(self, text: str) -> list[str]:
        """Return the user ids of known people that text mentions."""
        return [user_id for user_id in self._names.values() if user_id in text]
