"""The Create space dialog: name, topic, picture and who may join.

The dialog shows that it is busy while the server creates the space. A
failure is shown in the dialog with everything the user entered kept, so
Create can be pressed again, because Spaces.create is safe to retry.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.spaces import SpaceActionError, checked_space_name
from app.sync.translate import MAX_ROOM_NAME_LENGTH
from ui.avatar_crop import choose_picture_file, crop_picture_file
from ui.avatars import initials_image, round_image_from
from ui.space_actions import failure_message
from ui.tasks import TaskRunner
from ui.widgets import plain_label

log = logging.getLogger(__name__)

MAX_TOPIC_LENGTH = 500
AVATAR_SIZE = 64

# (join rule, label, one-line explanation), in the order shown.
VISIBILITIES = (
    ("public", "&Public", "Anyone on the server can find this space and join it."),
    (
        "invite",
        "Private, by &invitation",
        "Only people that a member invites can join.",
    ),
    (
        "knock",
        "Private, anyone can &ask to join",
        "Anyone can find it and ask; a moderator lets them in.",
    ),
)
NAME_MISSING = "Enter a name for the space."


BUSY_TEXT = (
    "Creating the space and its rooms on the server. This cannot be stopped "
    "once started. You can close this window, and the status bar says when "
    "the space is ready."
)


class CreateSpaceDialog(QDialog):
    """The form that creates a space, and closes once the space exists.

    created(space id) is emitted when the space and its rooms exist while
    the dialog is open. If the user closed it during the creation, which
    cannot be stopped, created_in_background(space id) or
    failed_in_background(message) is emitted instead.
    """

    created = Signal(str)
    created_in_background = Signal(str)
    failed_in_background = Signal(str)

    def __init__(self, spaces, parent: QWidget | None = None, *, uploads_allowed=True):
        super().__init__(parent)
        self.setWindowTitle("Create space")
        self.setObjectName("createSpaceDialog")
        self._spaces = spaces
        self._uploads_allowed = uploads_allowed
        self._runner = TaskRunner(self)
        self._picture: tuple[bytes, str] | None = None
        self._busy = False

        heading = plain_label("Create a group space", "dialogHeading")
        intro = plain_label(
            "A space gets a discussion board and a files area. You are its owner "
            "and can invite people and name moderators.",
            "dialogText",
        )
        intro.setWordWrap(True)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("spaceName")
        # The box counts UTF-16 units, not the characters people see, so it
        # only stops pasted essays; checked_space_name decides the length.
        self.name_edit.setMaxLength(MAX_ROOM_NAME_LENGTH)
        self.name_edit.setPlaceholderText("For example: Data Engineering Guild")
        self.name_edit.textChanged.connect(self._update_buttons)
        self.name_edit.textChanged.connect(lambda _text: self._show_picture())
        self.topic_edit = QPlainTextEdit()
        self.topic_edit.setObjectName("spaceTopic")
        self.topic_edit.setPlaceholderText(
            "What the space is for, in a sentence or two"
        )
        self.topic_edit.setTabChangesFocus(True)
        self.topic_edit.setFixedHeight(self.fontMetrics().height() * 4)

        self.picture_label = QLabel()
        self.picture_label.setFixedSize(AVATAR_SIZE, AVATAR_SIZE)
        self.picture_button = QPushButton("Choose picture…")
        self.picture_button.clicked.connect(self.choose_picture)
        self.picture_button.setEnabled(uploads_allowed)
        if not uploads_allowed:
            self.picture_button.setToolTip(
                "Uploads are turned off by your organisation."
            )
        self.remove_picture_button = QPushButton("Remove")
        self.remove_picture_button.clicked.connect(self.remove_picture)
        picture_row = QHBoxLayout()
        picture_row.addWidget(self.picture_label)
        picture_row.addWidget(self.picture_button)
        picture_row.addWidget(self.remove_picture_button)
        picture_row.addStretch(1)

        self.visibility_group = QButtonGroup(self)
        self.visibility_buttons: dict[str, QRadioButton] = {}
        visibility_box = QVBoxLayout()
        visibility_box.setSpacing(2)
        for value, label, explanation in VISIBILITIES:
            button = QRadioButton(label)
            button.setObjectName(f"visibility_{value}")
            self.visibility_group.addButton(button)
            self.visibility_buttons[value] = button
            note = plain_label(explanation, "settingsNote")
            note.setIndent(22)
            visibility_box.addWidget(button)
            visibility_box.addWidget(note)
            visibility_box.addSpacing(4)
        self.visibility_buttons["invite"].setChecked(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("&Name", self.name_edit)
        form.addRow("&Topic", self.topic_edit)
        form.addRow("Picture", picture_row)
        form.addRow("Who can join", visibility_box)

        self.error_label = plain_label("", "formError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.busy_label = plain_label("", "settingsNote")
        self.busy_label.setWordWrap(True)
        self.busy_label.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton(
            "Create space", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setObjectName("primaryButton")
        self.create_button.setDefault(True)
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(self.busy_label)
        layout.addWidget(self.buttons)
        self.resize(540, 520)
        self._show_picture()
        self._update_buttons()

    # -- Values -----------------------------------------------------------

    def name(self) -> str:
        return self.name_edit.text().strip()

    def topic(self) -> str:
        return self.topic_edit.toPlainText().strip()[:MAX_TOPIC_LENGTH]

    def visibility(self) -> str:
        for value, button in self.visibility_buttons.items():
            if button.isChecked():
                return value
        return "invite"

    def is_busy(self) -> bool:
        return self._busy

    def _update_buttons(self) -> None:
        self.create_button.setEnabled(not self._busy and bool(self.name()))
        self.remove_picture_button.setVisible(self._picture is not None)

    # -- Picture ----------------------------------------------------------

    def choose_picture(self) -> None:
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
        self._picture = (data, mimetype)
        self.error_label.hide()
        self._show_picture()
        self._update_buttons()

    def remove_picture(self) -> None:
        self._picture = None
        self._show_picture()
        self._update_buttons()

    def _show_picture(self) -> None:
        ratio = self.devicePixelRatioF()
        image = QImage.fromData(self._picture[0]) if self._picture else None
        if image is not None and not image.isNull():
            shown = round_image_from(image, AVATAR_SIZE, ratio)
        else:
            name = self.name() or "?"
            shown = initials_image(name, name, AVATAR_SIZE, ratio)
        self.picture_label.setPixmap(QPixmap.fromImage(shown))

    # -- Creating ---------------------------------------------------------

    def create(self) -> None:
        """Check the name, then create the space; the dialog stays open meanwhile."""
        if self._busy:
            return
        name = self.name()
        if not name:
            self.show_error(NAME_MISSING)
            self.name_edit.setFocus()
            return
        try:
            name = checked_space_name(name)
        except SpaceActionError as error:
            self.show_error(error.message)
            self.name_edit.setFocus()
            return
        picture_path = self._write_picture()
        self._set_busy(True)
        self._runner.run(
            self._create(name, self.topic(), picture_path, self.visibility()),
            self._created,
            lambda error: self._failed(name, error),
            key="create",
        )

    async def _create(
        self, name: str, topic: str, picture_path: Path | None, visibility: str
    ) -> str:
        try:
            return await self._spaces.create(
                name, topic, avatar_path=picture_path, visibility=visibility
            )
        finally:
            if picture_path is not None:
                picture_path.unlink(missing_ok=True)

    def _write_picture(self) -> Path | None:
        """Write the cropped picture to a private temporary file for the upload."""
        if self._picture is None:
            return None
        data, mimetype = self._picture
        suffix = ".jpg" if mimetype == "image/jpeg" else ".png"
        handle, name = tempfile.mkstemp(prefix="space-picture-", suffix=suffix)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return Path(name)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (
            self.name_edit,
            self.topic_edit,
            self.picture_button,
            self.remove_picture_button,
            *self.visibility_buttons.values(),
        ):
            widget.setEnabled(not busy)
        self.picture_button.setEnabled(not busy and self._uploads_allowed)
        self.busy_label.setText(BUSY_TEXT if busy else "")
        self.busy_label.setVisible(busy)
        if busy:
            self.error_label.hide()
        self.create_button.setText("Creating…" if busy else "Create space")
        # Matrix has no request that stops a room creation, so the button
        # closes the dialog and does not promise to cancel.
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("Close" if busy else "Cancel")
        self._update_buttons()

    def _created(self, space_id: str) -> None:
        shown = self.isVisible()
        self._set_busy(False)
        if not shown:
            self.created_in_background.emit(space_id)
            return
        self.created.emit(space_id)
        self.accept()

    def _failed(self, name: str, error: BaseException) -> None:
        log.warning("Creating the space %r failed: %r", name, error)
        self._set_busy(False)
        message = failure_message(error, f"Creating “{name}”")
        if not self.isVisible():
            self.failed_in_background.emit(message)
            return
        self.show_error(message)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
