"""Settings: the account, the server, the cache, and signing out."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.text import format_size
from ui.widgets import plain_label


def unsent_drafts() -> list[str]:
    """Return the titles of items written offline that the server has not got.

    TODO: Commonplace has no outbox or drafts yet, so this is always empty.
    Once the outbox exists, return its unsent items here: the sign-out section
    lists them and asks before signing out, because deleting the cache
    deletes them too.
    """
    return []


class SettingsDialog(QDialog):
    """Emits sign_out_requested(delete_cache) when the user signs out."""

    sign_out_requested = Signal(bool)

    def __init__(self, app_session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        session = app_session.session
        store = app_session.store

        account = _form()
        account.addRow(_label("User"), _value(session.user_id))
        account.addRow(_label("Device"), _value(session.device_id))
        account.addRow(
            _label("Stay signed in"),
            _value(
                "No, for this session only: you sign in again when Commonplace starts"
                if session.session_only
                else "Yes: the sign-in is kept in the system keyring"
            ),
        )
        server = _form()
        server.addRow(_label("Homeserver"), _value(session.homeserver_url))

        cache = _form()
        cache.addRow(_label("Location"), _value(str(store.path)))
        self.size_label = _value(format_size(store.size_bytes()))
        cache.addRow(_label("Size"), self.size_label)

        self.delete_cache_check = QCheckBox(
            "Also delete the cached content on this computer"
        )
        self.delete_cache_check.setToolTip(
            "Deletes the cached spaces, discussions, people and downloaded "
            "pictures. They are downloaded again at the next sign-in."
        )
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setObjectName("dangerButton")
        self.sign_out_button.clicked.connect(self._sign_out_clicked)
        drafts = unsent_drafts()
        self.drafts_label = plain_label(
            "Not yet sent, and deleted with the cache: " + ", ".join(drafts)
            if drafts
            else "",
            "settingsNote",
        )
        self.drafts_label.setWordWrap(True)
        self.drafts_label.setVisible(bool(drafts))
        sign_out_row = QHBoxLayout()
        sign_out_row.addWidget(self.delete_cache_check, 1)
        sign_out_row.addWidget(self.sign_out_button)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(8)
        layout.addWidget(plain_label("Account", "sectionHeading"))
        layout.addLayout(account)
        layout.addSpacing(8)
        layout.addWidget(plain_label("Server", "sectionHeading"))
        layout.addLayout(server)
        layout.addSpacing(8)
        layout.addWidget(plain_label("Cache", "sectionHeading"))
        layout.addLayout(cache)
        layout.addSpacing(8)
        layout.addWidget(plain_label("Sign out", "sectionHeading"))
        note = plain_label(
            "Signing out ends this device's session on the server. The cache "
            "stays readable to anyone who uses this computer account unless "
            "you delete it.",
            "settingsNote",
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.drafts_label)
        layout.addLayout(sign_out_row)
        layout.addSpacing(8)
        layout.addWidget(buttons)

    def _sign_out_clicked(self) -> None:
        self.sign_out_requested.emit(self.delete_cache_check.isChecked())
        self.accept()


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setHorizontalSpacing(16)
    form.setVerticalSpacing(6)
    # Labels stay level with the first line of a value that wraps (the path).
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return form


def _label(text: str):
    label = plain_label(text, "fieldLabel")
    label.setMinimumWidth(100)
    return label


def _value(text: str):
    label = plain_label(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
