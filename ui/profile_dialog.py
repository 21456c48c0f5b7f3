"""A person's profile: avatar, name, role, skills, what to ask them, and bio.

Below the fields it lists, from the cache, the spaces the person shares with
the user and their latest discussions, accepted answers and files; each one
opens where it is. The dialog of someone else offers "Message", which opens
a direct conversation; the user's own offers "Edit profile…".
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.profile_edit import is_local_avatar, own_profile
from app.records import Changes
from app.store import profile_store
from app.store.profile_activity import ActivityItem, person_activity
from app.store.queries import Person, get_person
from app.text import clean_name, clean_text, isolate
from ui.avatars import avatar_pixmap
from ui.tasks import TaskRunner
from ui.text_format import discussion_title, person_name, relative_time, space_name
from ui.thread_html import break_long_words
from ui.widgets import FlowLayout, LinkButton, chip, plain_label

log = logging.getLogger(__name__)

AVATAR_SIZE = 88

MESSAGE = "Message"
OPENING = "Opening…"

UNSENT_WAITING = "Your latest changes are shown here and wait to be sent to the server."
UNSENT_FAILED = (
    "Some of your changes could not be sent, so others do not see them. "
    "Open Commonplace ▸ Outbox… to see why, then retry or discard them."
)


class FittingScrollArea(QScrollArea):
    """A scroll area as tall as its content at its width, up to MAX_HEIGHT pixels.

    QScrollArea's own preferred height ignores the content, which leaves a
    short profile with empty space above the Close button. The minimum height
    follows the content too, because a shown dialog grows to its minimum size
    but not to its preferred one.
    """

    MAX_HEIGHT = 460
    MIN_HEIGHT = 160
    RESERVED_HEIGHT = 300

    def content_height(self) -> int:
        """Return the content's height, capped, at the width beside a scroll bar.

        Once QScrollArea shows a scroll bar, it keeps it while the content does
        not fit beside it, so the height is measured at that narrower width.
        """
        content = self.widget()
        if content is None:
            return 0
        scroll_bar = self.verticalScrollBar().sizeHint().width()
        width = self.width() - 2 * self.frameWidth() - scroll_bar
        height = content.heightForWidth(width) if content.hasHeightForWidth() else -1
        if height < 0:
            height = content.sizeHint().height()
        return min(height + 2 * self.frameWidth(), self.max_height())

    def max_height(self) -> int:
        """Return MAX_HEIGHT, or less on a screen too short for it and the dialog.

        RESERVED_HEIGHT is an estimate of the heading, buttons, margins and
        window frame. Without this cap the dialog outgrows a short screen, and
        its buttons are drawn over the details.
        """
        screen = self.screen()
        if screen is None:
            return self.MAX_HEIGHT
        available = screen.availableGeometry().height() - self.RESERVED_HEIGHT
        return max(self.MIN_HEIGHT, min(self.MAX_HEIGHT, available))

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.widget() is not None:
            hint.setHeight(self.content_height())
        return hint

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.setMinimumHeight(self.content_height())


class ProfileDialog(QDialog):
    """Emits what the user chose to open from the profile.

    With profiles (an app.profiles.ProfileFetcher), opening the dialog
    fetches the profile again when the cached copy is due for a refresh.

    discussion_requested(room_id, discussion_id, event_id): event_id is the
    reply to scroll to, or the discussion itself. file_requested(room_id,
    event_id), space_requested(room_id), message_requested(user_id) and
    edit_requested() for the user's own profile.
    """

    discussion_requested = Signal(str, str, str)
    file_requested = Signal(str, str)
    space_requested = Signal(str)
    message_requested = Signal(str)
    edit_requested = Signal()

    def __init__(
        self,
        store,
        user_id: str,
        thumbnails=None,
        parent: QWidget | None = None,
        *,
        own_user_id: str | None = None,
        profiles=None,
    ):
        super().__init__(parent)
        self.setObjectName("profileDialog")
        self._store = store
        self._thumbnails = thumbnails
        self.user_id = user_id
        self.is_own = user_id == own_user_id
        self.has_pending_edits = False
        self._runner = TaskRunner(self)
        self.setWindowTitle("Profile")
        self.setMinimumWidth(480)

        self.avatar = QLabel()
        self.avatar.setFixedSize(AVATAR_SIZE, AVATAR_SIZE)
        self.name_label = plain_label("", "profileName")
        self.name_label.setWordWrap(True)
        self.role_label = plain_label("", "profileRole")
        self.role_label.setWordWrap(True)
        self.user_id_label = plain_label(break_long_words(user_id), "profileUserId")
        self.user_id_label.setWordWrap(True)
        self.user_id_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )

        heading = QVBoxLayout()
        heading.setSpacing(2)
        heading.addStretch()
        heading.addWidget(self.name_label)
        heading.addWidget(self.role_label)
        heading.addWidget(self.user_id_label)
        self.pending_label = plain_label("", "profileNote")
        self.pending_label.setWordWrap(True)
        self.pending_label.hide()
        heading.addStretch()
        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(heading, 1)

        self.details = QFormLayout()
        self.details.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.details.setFormAlignment(Qt.AlignmentFlag.AlignTop)
        self.details.setHorizontalSpacing(16)
        self.details.setVerticalSpacing(10)
        self.details.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        details_widget = QWidget()
        details_widget.setObjectName("profileDetails")
        details_widget.setLayout(self.details)
        scroll = self._scroll = FittingScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Long titles elide instead; a sideways scroll bar only hides text.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(details_widget)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        if self.is_own:
            self.action_button = QPushButton("Edit profile…")
            self.action_button.clicked.connect(self.edit_requested)
        else:
            self.action_button = QPushButton(MESSAGE)
            self.action_button.setToolTip("Start or continue a direct conversation")
            self.action_button.clicked.connect(self._message_clicked)
        self.action_button.setObjectName("primaryButton")
        buttons.addButton(self.action_button, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 16)
        layout.setSpacing(16)
        layout.addLayout(top)
        layout.addWidget(self.pending_label)
        layout.addWidget(scroll, 1)
        self.error_label = plain_label("", "formError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.refresh()
        if profiles is not None:
            # Fetched only if the cached copy is over an hour old; the
            # dialog refreshes when the new one is stored.
            self._runner.run(
                profiles.refresh([user_id]),
                on_failure=lambda error: log.info(
                    "Profile of %s not refreshed: %s", user_id, error
                ),
                key="profile",
            )

    def _message_clicked(self) -> None:
        self.action_button.setEnabled(False)
        self.action_button.setText(OPENING)
        self.error_label.hide()
        self.message_requested.emit(self.user_id)

    def message_finished(self, error: str | None = None) -> None:
        """End the wait for a conversation; show error when it did not open."""
        if self.is_own or self.action_button.isEnabled():
            return
        self.action_button.setEnabled(True)
        self.action_button.setText(MESSAGE)
        if error:
            self.error_label.setText(error)
            self.error_label.show()

    def apply_changes(self, changes: Changes) -> None:
        if (
            self.user_id in changes.people
            or self.user_id in changes.senders
            or changes.spaces
            or (self.is_own and changes.outbox)
        ):
            self.refresh()

    def refresh(self) -> None:
        person = self._person()
        name = person_name(person.display_name if person else None, self.user_id)
        self.setWindowTitle(f"Profile of {name}")
        self.name_label.setText(break_long_words(name))
        # Each part is isolated, so a right-to-left title cannot reorder the
        # department after it.
        role = ", ".join(
            isolate(value)
            for value in (
                clean_name(person.title) if person else "",
                clean_name(person.department) if person else "",
            )
            if value
        )
        self.role_label.setText(break_long_words(role))
        self.role_label.setVisible(bool(role))
        self._show_avatar(name, person.avatar_url if person else None)
        self._fill_details(person)
        if self._scroll.isVisible():
            # Before the first show the width is not known yet; resizeEvent
            # sets the height then.
            self._scroll.setMinimumHeight(self._scroll.content_height())

    def _person(self) -> Person | None:
        """Return the cached person; the user's own with unsent edits applied."""
        conn = self._store.reader()
        person = get_person(conn, self.user_id)
        if not self.is_own:
            return person
        fields, avatar, self.has_pending_edits = own_profile(conn, self.user_id)
        note = unsent_changes_note(conn, self.user_id)
        self.pending_label.setText(note)
        self.pending_label.setVisible(bool(note))
        return Person(
            self.user_id,
            fields.display_name or None,
            avatar,
            fields.title or None,
            fields.department or None,
            fields.location or None,
            fields.pronouns or None,
            fields.skills,
            fields.ask_me_about,
            fields.bio or None,
            person.fetched_at if person else None,
        )

    def _show_avatar(self, name: str, mxc: str | None) -> None:
        ratio = self.devicePixelRatioF()
        path = None
        if is_local_avatar(mxc):
            # A new picture still in the outbox.
            path = Path(mxc)
        elif mxc and self._thumbnails is not None:
            path = self._thumbnails.cached(mxc, AVATAR_SIZE * 2)
            if path is None:
                self._runner.run(
                    self._thumbnails.fetch(mxc, AVATAR_SIZE * 2),
                    lambda fetched: self._avatar_fetched(name, fetched),
                    lambda error: log.info("Avatar of %s not shown: %s", name, error),
                    key="avatar",
                )
        self.avatar.setPixmap(
            avatar_pixmap(name, self.user_id, AVATAR_SIZE, path, ratio)
        )

    def _avatar_fetched(self, name: str, path) -> None:
        if path is not None:
            self.avatar.setPixmap(
                avatar_pixmap(
                    name, self.user_id, AVATAR_SIZE, path, self.devicePixelRatioF()
                )
            )

    def _fill_details(self, person) -> None:
        while self.details.rowCount():
            self.details.removeRow(0)
        if person is None or person.fetched_at is None and not _has_fields(person):
            note = plain_label(
                "No profile details have been fetched for this person yet. "
                "They appear here after the next sync.",
                "profileNote",
            )
            note.setWordWrap(True)
            self.details.addRow(note)
            if person is None:
                return
        for label, value in (
            ("Location", person.location),
            ("Pronouns", person.pronouns),
        ):
            text = clean_name(value)
            if text:
                value_label = plain_label(break_long_words(text))
                value_label.setWordWrap(True)
                self.details.addRow(_field_label(label), value_label)
        for label, values in (
            ("Skills", person.skills),
            ("Ask me about", person.ask_me_about),
        ):
            cleaned = [clean_name(value) for value in values if clean_name(value)]
            if cleaned:
                self.details.addRow(_field_label(label), _chips(cleaned))
        # The bio keeps its line breaks but loses bidi overrides, which would
        # reorder it, and invisible characters.
        bio = clean_text(person.bio)
        if bio:
            bio_label = plain_label(break_long_words(bio), "profileBio")
            bio_label.setWordWrap(True)
            bio_label.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse
            )
            self.details.addRow(_field_label("About"), bio_label)
        self._fill_activity()

    def _fill_activity(self) -> None:
        activity = person_activity(self._store.reader(), self.user_id)
        if activity.spaces:
            spaces = QWidget()
            flow = FlowLayout(spaces)
            for space in activity.spaces:
                button = _chip_button(space_name(space.name))
                button.clicked.connect(
                    lambda _=False, room=space.room_id: self.space_requested.emit(room)
                )
                flow.addWidget(button)
            label = "Spaces" if self.is_own else "Spaces in common"
            self.details.addRow(_field_label(label), spaces)
        for label, items in (
            ("Discussions", activity.discussions),
            ("Accepted answers", activity.answers),
            ("Files", activity.files),
        ):
            if items:
                self.details.addRow(_field_label(label), self._item_list(items))

    def _item_list(self, items: tuple[ActivityItem, ...]) -> QWidget:
        container = QWidget()
        column = QVBoxLayout(container)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        for item in items:
            title = (
                clean_name(item.title) or "Unnamed file"
                if item.kind == "file"
                else discussion_title(item.title)
            )
            button = LinkButton(title)
            where = " · ".join(
                part
                for part in (clean_name(item.place), relative_time(item.ts))
                if part
            )
            button.setToolTip(f"{title}\n{where}")
            button.clicked.connect(lambda _=False, item=item: self._open(item))
            column.addWidget(button)
        return container

    def _open(self, item: ActivityItem) -> None:
        if item.discussion_id is None:
            self.file_requested.emit(item.room_id, item.event_id)
        else:
            self.discussion_requested.emit(
                item.room_id, item.discussion_id, item.event_id
            )


def _has_fields(person) -> bool:
    return any(
        (person.title, person.department, person.location, person.bio, person.skills)
    )


def unsent_changes_note(conn, user_id: str) -> str:
    """Return a sentence about the user's unsent profile changes, or ""."""
    states = {item.state for item in profile_store.pending_items(conn, user_id)}
    if "failed" in states:
        return UNSENT_FAILED
    return UNSENT_WAITING if states else ""


def _chip_button(text: str) -> QPushButton:
    """Return a button styled as a chip; "&" is doubled so it is not a shortcut."""
    button = QPushButton(text.replace("&", "&&"))
    button.setObjectName("chipButton")
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return button


def _field_label(text: str) -> QLabel:
    return plain_label(text, "fieldLabel")


def _chips(values: list[str]) -> QWidget:
    container = QWidget()
    flow = FlowLayout(container)
    for value in values:
        flow.addWidget(chip(value))
    return container
