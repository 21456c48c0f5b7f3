"""A person's profile: avatar, name, role, skills, what to ask them, and bio."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.records import Changes
from app.store.queries import get_person
from app.text import clean_name, clean_text
from ui.avatars import avatar_pixmap
from ui.tasks import TaskRunner
from ui.text_format import person_name
from ui.widgets import FlowLayout, chip, plain_label

log = logging.getLogger(__name__)

AVATAR_SIZE = 88


class FittingScrollArea(QScrollArea):
    """A scroll area as tall as its content at its width, up to MAX_HEIGHT pixels.

    QScrollArea's own preferred height ignores the content, which leaves a
    short profile with empty space above the Close button. The minimum height
    follows the content too, because a shown dialog grows to its minimum size
    but not to its preferred one.
    """

    MAX_HEIGHT = 460

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
        return min(height + 2 * self.frameWidth(), self.MAX_HEIGHT)

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
    def __init__(
        self,
        store,
        user_id: str,
        thumbnails=None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("profileDialog")
        self._store = store
        self._thumbnails = thumbnails
        self.user_id = user_id
        self._runner = TaskRunner(self)
        self.setWindowTitle("Profile")
        self.setMinimumWidth(480)

        self.avatar = QLabel()
        self.avatar.setFixedSize(AVATAR_SIZE, AVATAR_SIZE)
        self.name_label = plain_label("", "profileName")
        self.name_label.setWordWrap(True)
        self.role_label = plain_label("", "profileRole")
        self.role_label.setWordWrap(True)
        self.user_id_label = plain_label(user_id, "profileUserId")
        self.user_id_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )

        heading = QVBoxLayout()
        heading.setSpacing(2)
        heading.addStretch()
        heading.addWidget(self.name_label)
        heading.addWidget(self.role_label)
        heading.addWidget(self.user_id_label)
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
        scroll.setWidget(details_widget)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 16)
        layout.setSpacing(16)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.refresh()

    def apply_changes(self, changes: Changes) -> None:
        if self.user_id in changes.people:
            self.refresh()

    def refresh(self) -> None:
        person = get_person(self._store.reader(), self.user_id)
        name = person_name(person.display_name if person else None, self.user_id)
        self.setWindowTitle(f"Profile of {name}")
        self.name_label.setText(name)
        role = ", ".join(
            value
            for value in (
                clean_name(person.title) if person else "",
                clean_name(person.department) if person else "",
            )
            if value
        )
        self.role_label.setText(role)
        self.role_label.setVisible(bool(role))
        self._show_avatar(name, person.avatar_url if person else None)
        self._fill_details(person)
        if self._scroll.isVisible():
            # Before the first show the width is not known yet; resizeEvent
            # sets the height then.
            self._scroll.setMinimumHeight(self._scroll.content_height())

    def _show_avatar(self, name: str, mxc: str | None) -> None:
        ratio = self.devicePixelRatioF()
        path = None
        if mxc and self._thumbnails is not None:
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
                self.details.addRow(_field_label(label), plain_label(text))
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
            bio_label = plain_label(bio, "profileBio")
            bio_label.setWordWrap(True)
            bio_label.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse
            )
            self.details.addRow(_field_label("About"), bio_label)


def _has_fields(person) -> bool:
    return any(
        (person.title, person.department, person.location, person.bio, person.skills)
    )


def _field_label(text: str) -> QLabel:
    return plain_label(text, "fieldLabel")


def _chips(values: list[str]) -> QWidget:
    container = QWidget()
    flow = FlowLayout(container)
    for value in values:
        flow.addWidget(chip(value))
    return container
