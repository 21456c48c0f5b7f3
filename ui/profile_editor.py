"""Editing one's own profile: picture, name, role, skills, topics and bio.

The dialog shows the cached profile with edits still in the outbox applied,
so it opens with what the user last saved even offline. Saving hands the
fields to app.profile_edit.ProfileEditor, which checks them and queues one
outbox item per changed field; the dialog closes at once and the outbox
sends them, later if the computer is offline. A rejected value keeps the
dialog open with the reason in plain words and nothing lost.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import CommonplaceError
from app.profile_edit import (
    ProfileEditor,
    ProfileFields,
    ProfileRejected,
    is_local_avatar,
    own_profile,
)
from app.store.people_directory import departments
from app.sync.translate import MAX_PROFILE_TEXT
from ui.avatar_crop import choose_picture_file, crop_picture_file
from ui.avatars import avatar_pixmap, initials_image, round_image_from
from ui.profile_dialog import unsent_changes_note
from ui.tasks import TaskRunner
from ui.text_format import person_name
from ui.widgets import plain_label

log = logging.getLogger(__name__)

AVATAR_SIZE = 88
SENT_LATER = (
    "Changes are sent to the server in the background. Without a connection "
    "they wait in the outbox and are sent when you are back online."
)


def split_list(text: str) -> tuple[str, ...]:
    """Return the items typed as a comma-separated list, without repeats or blanks.

    The ideographic and full-width commas of Chinese and Japanese text
    separate items too.
    """
    items = (item.strip() for item in re.split(r"[,、，]", text))
    return tuple(dict.fromkeys(item for item in items if item))


class ProfileEditorDialog(QDialog):
    """Edits the signed-in user's profile through the outbox."""

    def __init__(
        self,
        store,
        outbox,
        user_id: str,
        thumbnails=None,
        parent: QWidget | None = None,
        *,
        uploads_allowed: bool = True,
    ):
        super().__init__(parent)
        self.setObjectName("profileEditor")
        self.setWindowTitle("Edit profile")
        self.setMinimumWidth(520)
        self._store = store
        self._thumbnails = thumbnails
        self.user_id = user_id
        self.editor = ProfileEditor(outbox, user_id)
        # (data, mimetype) of a newly chosen picture, or b"" to remove it.
        self._new_avatar: tuple[bytes, str] | None = None
        self._runner = TaskRunner(self)

        fields, avatar, _pending = own_profile(store.reader(), user_id)
        self._saved = fields
        self._avatar_url = avatar

        self.avatar = QLabel()
        self.avatar.setObjectName("editorAvatar")
        self.avatar.setFixedSize(AVATAR_SIZE, AVATAR_SIZE)
        self.choose_button = QPushButton("Change picture…")
        self.choose_button.clicked.connect(self.choose_picture)
        # A new picture is an upload, which the policy can turn off.
        self.choose_button.setVisible(uploads_allowed)
        self._uploads_allowed = uploads_allowed
        self.remove_button = QPushButton("Remove picture")
        self.remove_button.clicked.connect(self.remove_picture)
        picture_buttons = QVBoxLayout()
        picture_buttons.addStretch()
        picture_buttons.addWidget(self.choose_button)
        picture_buttons.addWidget(self.remove_button)
        picture_buttons.addStretch()
        picture = QHBoxLayout()
        picture.setSpacing(16)
        picture.addWidget(self.avatar)
        picture.addLayout(picture_buttons)
        picture.addStretch()

        self.name_edit = _line(fields.display_name, "editorName")
        self.title_edit = _line(
            fields.title, "editorTitle", "For example: Data engineer"
        )
        self.department_box = QComboBox()
        self.department_box.setObjectName("editorDepartment")
        self.department_box.setEditable(True)
        self.department_box.addItems(departments(store.reader()))
        self.department_box.setCurrentText(fields.department)
        self.department_box.lineEdit().setPlaceholderText("For example: Platform")
        self.location_edit = _line(fields.location, "editorLocation", "City or office")
        self.pronouns_edit = _line(
            fields.pronouns, "editorPronouns", "For example: she/her"
        )
        self.skills_edit = _line(
            ", ".join(fields.skills), "editorSkills", "Separated by commas: SQL, Python"
        )
        self.topics_edit = _line(
            ", ".join(fields.ask_me_about),
            "editorTopics",
            "Separated by commas: onboarding, data modelling",
        )
        self.bio_edit = QPlainTextEdit(fields.bio)
        self.bio_edit.setObjectName("editorBio")
        self.bio_edit.setPlaceholderText(
            f"A few lines about your work, up to {MAX_PROFILE_TEXT:,} characters"
        )
        self.bio_edit.setTabChangesFocus(True)
        self.bio_edit.setFixedHeight(110)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(8)
        form.addRow("Name", self.name_edit)
        form.addRow("Job title", self.title_edit)
        form.addRow("Department", self.department_box)
        form.addRow("Location", self.location_edit)
        form.addRow("Pronouns", self.pronouns_edit)
        form.addRow("Skills", self.skills_edit)
        form.addRow("Ask me about", self.topics_edit)
        form.addRow("About", self.bio_edit)

        self.error_label = plain_label("", "formError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        unsent = unsent_changes_note(store.reader(), user_id)
        note = plain_label(f"{SENT_LATER} {unsent}".strip(), "settingsNote")
        note.setWordWrap(True)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("primaryButton")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(14)
        layout.addLayout(picture)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._show_avatar()

    # -- Fields --------------------------------------------------------------

    def fields(self) -> ProfileFields:
        return ProfileFields(
            display_name=self.name_edit.text().strip(),
            title=self.title_edit.text().strip(),
            department=self.department_box.currentText().strip(),
            location=self.location_edit.text().strip(),
            pronouns=self.pronouns_edit.text().strip(),
            skills=split_list(self.skills_edit.text()),
            ask_me_about=split_list(self.topics_edit.text()),
            bio=self.bio_edit.toPlainText().strip(),
        )

    def save(self) -> None:
        """Queue the changed fields, then the picture; stay open on an error.

        The fields go first: they are what the user can get wrong, and then
        nothing is queued. The picture was made by the crop dialog, which
        keeps it within the editor's limits.
        """
        try:
            self.editor.save(self.fields())
            if self._new_avatar is not None:
                data, mimetype = self._new_avatar
                if data:
                    self.editor.set_avatar(data, mimetype)
                else:
                    self.editor.remove_avatar()
                self._new_avatar = None
        except ProfileRejected as error:
            self.show_error(error.message)
            field = self._field_widgets().get(error.field or "")
            if field is not None:
                field.setFocus()
            return
        except CommonplaceError as error:
            self.show_error(error.message)
            return
        self.accept()

    def _field_widgets(self) -> dict[str, QWidget]:
        return {
            "display_name": self.name_edit,
            "title": self.title_edit,
            "department": self.department_box,
            "location": self.location_edit,
            "pronouns": self.pronouns_edit,
            "skills": self.skills_edit,
            "ask_me_about": self.topics_edit,
            "bio": self.bio_edit,
        }

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    # -- Picture -------------------------------------------------------------

    def choose_picture(self) -> None:
        if not self._uploads_allowed:
            return
        path = choose_picture_file(self)
        if path is not None:
            self.use_picture(path)

    def use_picture(self, path: Path) -> bool:
        """Load path, let the user crop it, and show it; False if not used."""
        if not self._uploads_allowed:
            return False
        picture = crop_picture_file(self, path, self.show_error)
        if picture is None:
            return False
        self.set_picture(*picture)
        return True

    def set_picture(self, data: bytes, mimetype: str) -> None:
        self._new_avatar = (data, mimetype)
        self.error_label.hide()
        self._show_avatar()

    def remove_picture(self) -> None:
        self._new_avatar = (b"", "")
        self._show_avatar()

    def _show_avatar(self) -> None:
        ratio = self.devicePixelRatioF()
        name = person_name(self.name_edit.text().strip() or None, self.user_id)
        has_picture = bool(self._avatar_url)
        if self._new_avatar is not None:
            data, _ = self._new_avatar
            has_picture = bool(data)
            image = QImage.fromData(data) if data else None
            if image is not None and not image.isNull():
                pixmap = QPixmap.fromImage(round_image_from(image, AVATAR_SIZE, ratio))
            else:
                pixmap = QPixmap.fromImage(
                    initials_image(name, self.user_id, AVATAR_SIZE, ratio)
                )
        else:
            path = None
            url = self._avatar_url
            if is_local_avatar(url):
                path = Path(url)
            elif url and self._thumbnails is not None:
                path = self._thumbnails.cached(url, AVATAR_SIZE * 2)
                if path is None:
                    self._runner.run(
                        self._thumbnails.fetch(url, AVATAR_SIZE * 2),
                        lambda fetched: self._show_avatar() if fetched else None,
                        lambda error: log.info("Own avatar not shown: %s", error),
                        key="avatar",
                    )
            pixmap = avatar_pixmap(name, self.user_id, AVATAR_SIZE, path, ratio)
        self.avatar.setPixmap(pixmap)
        self.remove_button.setEnabled(has_picture)


def _line(text: str, name: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    # Show the start of a long list rather than its end.
    edit.setCursorPosition(0)
    return edit
