"""Settings: the account, the server, the cache, and signing out."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.policy import NO_POLICY, POLICY_NOTE, Policy
from app.text import format_size
from ui.cache_dialogs import confirm_delete_downloads, delete_downloads_failed_text
from ui.tasks import TaskRunner
from ui.widgets import plain_label

log = logging.getLogger(__name__)


def unsent_work(app_session) -> list[str]:
    """Return one line per outbox item and draft that the server has not got."""
    from app.drafts import list_drafts
    from app.text import clean_name

    lines = []
    outbox = getattr(app_session, "outbox", None)
    if outbox is not None:
        for item in outbox.list_items():
            what = clean_name(item.title or item.body or "", "")[:60]
            state = "failed" if item.state == "failed" else "waiting to send"
            action = item.action.replace("_", " ")
            lines.append(
                f"{action.capitalize()} ({state}){': ' + what if what else ''}"
            )
    for draft in list_drafts(app_session.store):
        what = clean_name(draft.title or draft.body, "")[:60]
        lines.append(f"Draft{': ' + what if what else ''}")
    return lines


def confirm_sign_out(parent: QWidget, unsent: list[str], delete_cache: bool) -> bool:
    """Ask before signing out while work is unsent; return True to go ahead."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Sign out with unsent work?")
    count = len(unsent)
    noun = "item has" if count == 1 else "items have"
    if delete_cache:
        consequence = "Deleting the cached content deletes them for good."
    else:
        consequence = (
            "They stay in the cache and are sent after you sign in again "
            "on this computer."
        )
    box.setText(f"{count} {noun} not reached the server yet. {consequence}")
    box.setDetailedText("\n".join(unsent))
    sign_out = box.addButton("Sign out", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is sign_out


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
        policy: Policy = getattr(app_session, "policy", NO_POLICY)

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
        if policy.is_locked("homeserver"):
            server.addRow(_label(""), plain_label(POLICY_NOTE, "policyNote"))

        cache = _form()
        cache.addRow(_label("Location"), _value(str(store.path)))
        self.size_label = _value(format_size(store.size_bytes()))
        cache.addRow(_label("Database"), self.size_label)
        self._transfers = getattr(app_session, "files", None)
        self._runner = TaskRunner(self)
        self.downloads_label = _value("")
        self.delete_downloads_button = QPushButton("Delete downloaded files…")
        self.delete_downloads_button.setObjectName("deleteDownloads")
        self.delete_downloads_button.clicked.connect(self._delete_downloads_clicked)
        self.downloads_note = plain_label("", "settingsNote")
        self.downloads_note.setWordWrap(True)
        self.downloads_note.hide()
        if self._transfers is not None:
            downloads_row = QHBoxLayout()
            downloads_row.addWidget(self.downloads_label, 1)
            downloads_row.addWidget(self.delete_downloads_button)
            downloads = QVBoxLayout()
            downloads.addLayout(downloads_row)
            downloads.addWidget(self.downloads_note)
            cache.addRow(_label("Downloaded files"), downloads)
            self.downloads_label.setToolTip(str(self._transfers.folder))
            self._show_downloads_size()

        self.delete_cache_check = QCheckBox(
            "Also delete the cached content on this computer"
        )
        self.delete_cache_check.setToolTip(
            "Deletes the cached spaces, discussions, people, and downloaded "
            "pictures and files. They are downloaded again when needed after "
            "the next sign-in."
        )
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setObjectName("dangerButton")
        self.sign_out_button.clicked.connect(self._sign_out_clicked)
        self.app_session = app_session
        unsent = unsent_work(app_session)
        self.drafts_label = plain_label(
            f"Not yet sent ({len(unsent)}): "
            + "; ".join(unsent[:5])
            + ("; …" if len(unsent) > 5 else "")
            if unsent
            else "",
            "settingsNote",
        )
        self.drafts_label.setWordWrap(True)
        self.drafts_label.setVisible(bool(unsent))
        sign_out_row = QHBoxLayout()
        sign_out_row.addWidget(self.delete_cache_check, 1)
        if policy.is_locked("wipe_cache_on_sign_out"):
            self.delete_cache_check.setChecked(policy.wipe_cache_on_sign_out)
            self.delete_cache_check.setEnabled(False)
            self.delete_cache_check.setToolTip(
                "Your organisation has set this, so it cannot be changed."
            )
            sign_out_row.addWidget(plain_label(POLICY_NOTE, "policyNote"))
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
        self.policy_rows = policy_rows(policy)
        self.policy_problems = plain_label(
            "Part of your organisation's policy could not be applied, so "
            "default settings are used for it. Tell your IT department:\n"
            + "\n".join(policy.problems),
            "formError",
        )
        self.policy_problems.setWordWrap(True)
        self.policy_problems.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.policy_problems.setVisible(bool(policy.problems))
        if self.policy_rows or policy.problems:
            layout.addWidget(plain_label(POLICY_NOTE, "sectionHeading"))
            rows = _form()
            for name, value in self.policy_rows:
                rows.addRow(_label(name), _value(value))
            layout.addLayout(rows)
            layout.addWidget(self.policy_problems)
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

    # -- Downloaded files -----------------------------------------------------

    def _show_downloads_size(self) -> None:
        self.downloads_label.setText(format_size(self._transfers.downloads_size()))

    def _delete_downloads_clicked(self) -> None:
        if not confirm_delete_downloads(self):
            return
        self.delete_downloads_button.setEnabled(False)
        self._runner.run(
            self._transfers.remove_downloads(),
            self._downloads_deleted,
            self._downloads_not_deleted,
        )

    def _downloads_deleted(self, freed: int) -> None:
        self.delete_downloads_button.setEnabled(True)
        self._show_downloads_size()
        kept = self._transfers.downloads_size()
        text = f"Deleted downloaded files: {format_size(freed)} freed."
        if kept:
            text += (
                f" The {format_size(kept)} left are files marked available "
                "offline or still downloading."
            )
        self._show_downloads_note(text)

    def _downloads_not_deleted(self, error: BaseException) -> None:
        self.delete_downloads_button.setEnabled(True)
        self._show_downloads_size()
        log.warning("Downloaded files not deleted: %s", error)
        self._show_downloads_note(delete_downloads_failed_text(error))

    def _show_downloads_note(self, text: str) -> None:
        self.downloads_note.setText(text)
        self.downloads_note.show()
        # A form lays out a wrapped label by its one-line height; growing the
        # dialog to its new size hint gives the note all its lines.
        self.layout().activate()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def _sign_out_clicked(self) -> None:
        delete_cache = self.delete_cache_check.isChecked()
        unsent = unsent_work(self.app_session)
        if unsent and not confirm_sign_out(self, unsent, delete_cache):
            return
        self.sign_out_requested.emit(delete_cache)
        self.accept()


def policy_rows(policy: Policy) -> list[tuple[str, str]]:
    """Return (setting, value) for the policy's settings outside the sections above."""
    rows = []
    if policy.proxy:
        rows.append(("Proxy", policy.proxy_address or ""))
    if policy.ca_bundle is not None:
        rows.append(("Certificates", f"Also trusted: {policy.ca_bundle}"))
    if policy.retention_days:
        days = policy.retention_days
        rows.append(
            ("Keep content", f"{days} day{'' if days == 1 else 's'}, then remove it")
        )
    if policy.is_locked("disable_uploads"):
        rows.append(("Uploads", "Off" if policy.disable_uploads else "On"))
    if policy.is_locked("disable_external_links"):
        rows.append(("Opening links", "Off" if policy.disable_external_links else "On"))
    return rows


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
