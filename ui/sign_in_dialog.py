"""The sign-in form: server, user name and password, with errors shown under it.

When the server offers single sign-on, the form shows a "Sign in with …"
button per identity provider, and hides the user name and password when the
server offers nothing else. Single sign-on continues in the system browser.

Signing in runs as a task; the form shows a busy state meanwhile and the
window stays responsive. Cancel stops a sign-in that is still running.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.credentials import KeyringUnavailable
from app.matrix.errors import MatrixError
from app.policy import NO_POLICY, POLICY_NOTE, Policy
from app.sso import IdentityProvider
from ui.resources import app_icon
from ui.tasks import TaskRunner
from ui.widgets import plain_label

log = logging.getLogger(__name__)

# sign_in(server, user, password, session_only) -> app.account.Session
SignInFunction = Callable[[str, str, str, bool], Awaitable[object]]
# login_flows(server) -> app.sso.LoginFlows
LoginFlowsFunction = Callable[[str], Awaitable[object]]
# sign_in_sso(server, idp_id, session_only, open_url, on_browser) -> Session,
# with open_url and on_browser as in app.sso.OpenUrl and BrowserCallback.
SsoSignInFunction = Callable[
    [str, str | None, bool, Callable[[str], bool], Callable[[str, bool], None]],
    Awaitable[object],
]


def open_in_system_browser(url: str) -> bool:
    """Open ``url`` in the desktop's default browser; False if none started."""
    return QDesktopServices.openUrl(QUrl.fromEncoded(url.encode("utf-8")))


def sign_in_error_text(error: BaseException) -> str:
    """Return the sentence shown under the form for a failed sign-in."""
    if isinstance(error, KeyringUnavailable):
        return (
            f"{error.message} To sign in without the keyring, clear "
            '"Keep me signed in on this computer".'
        )
    if isinstance(error, MatrixError):
        return error.message
    return (
        f"Signing in failed because of an unexpected error "
        f"({type(error).__name__}). Details are in the log file."
    )


class SignInDialog(QDialog):
    """Emits signed_in with the new session and closes when sign-in succeeds."""

    signed_in = Signal(object)

    def __init__(
        self,
        sign_in: SignInFunction,
        *,
        server: str = "",
        user: str = "",
        session_only: bool = False,
        keyring_available: bool = True,
        login_flows: LoginFlowsFunction | None = None,
        sign_in_sso: SsoSignInFunction | None = None,
        open_url: Callable[[str], bool] = open_in_system_browser,
        policy: Policy | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle("Sign in to Commonplace")
        self.setMinimumWidth(440)
        self._sign_in = sign_in
        self._login_flows = login_flows
        self._sign_in_sso = sign_in_sso
        self._open_url = open_url
        self._runner = TaskRunner(self)
        self._task = None
        # The login flows shown, and the server text they were loaded for.
        self._flows = None
        self._flows_server = ""

        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(48, 48))
        heading = plain_label("Sign in to Commonplace", "dialogHeading")
        intro = plain_label(
            "Use the account that your organisation gave you.", "dialogText"
        )
        intro.setWordWrap(True)
        title = QVBoxLayout()
        title.setSpacing(2)
        title.addWidget(heading)
        title.addWidget(intro)
        top = QHBoxLayout()
        top.setSpacing(14)
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(title, 1)

        self.server_edit = QLineEdit(server)
        self.server_edit.setPlaceholderText("example.org or https://matrix.example.org")
        self.user_edit = QLineEdit(user)
        self.user_edit.setPlaceholderText("alex or @alex:example.org")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = QCheckBox("Keep me signed in on this computer")
        self.remember_check.setChecked(keyring_available and not session_only)
        if not keyring_available:
            self.remember_check.setEnabled(False)
            self.remember_check.setToolTip(
                "The keyring is not available, so this sign-in lasts until "
                "Commonplace closes."
            )

        form = self._form = QFormLayout()
        form.setVerticalSpacing(10)
        form.setHorizontalSpacing(12)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Server", self.server_edit)
        form.addRow("User name", self.user_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("", self.remember_check)
        self._apply_policy(policy or NO_POLICY)

        self._build_sso_area()

        self.error_label = plain_label("", "formError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.error_label.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("busyBar")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(4)
        self.progress.hide()

        self.cancel_button = QPushButton("Cancel")
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("primaryButton")
        self.sign_in_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        self.sign_in_button.clicked.connect(self.submit)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.sign_in_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(16)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.sso_area)
        layout.addWidget(self.browser_area)
        layout.addWidget(self.error_label)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

        for edit in (self.server_edit, self.user_edit, self.password_edit):
            if not edit.text():
                edit.setFocus()
                break

        self.server_edit.editingFinished.connect(self.load_login_flows)
        self.server_edit.textEdited.connect(self._server_edited)
        self.load_login_flows()

    def _apply_policy(self, policy: Policy) -> None:
        """Fix the server field to the policy's server, or hide it."""
        self.server_note = plain_label(POLICY_NOTE, "policyNote")
        self._form.insertRow(1, "", self.server_note)
        self._form.setRowVisible(self.server_note, False)
        if not policy.homeserver:
            return
        self.server_edit.setText(policy.homeserver)
        self.server_edit.setReadOnly(True)
        self.server_edit.setToolTip(
            "Your organisation has set the server, so it cannot be changed."
        )
        hidden = policy.hide_server_field
        self._form.setRowVisible(self.server_edit, not hidden)
        self._form.setRowVisible(self.server_note, not hidden)

    def is_busy(self) -> bool:
        return self._task is not None

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        self._fit_height()

    def _fit_height(self, shrink: bool = False) -> None:
        """Grow the dialog to its preferred height for the current width.

        A shown dialog only grows to its minimum height when the error or the
        busy bar appears, which squeezes the fields until their text is cut.
        With ``shrink``, a taller dialog shrinks too, as when rows are hidden.
        """
        layout = self.layout()
        layout.activate()
        width = self.width()
        if layout.hasHeightForWidth():
            height = layout.totalHeightForWidth(width)
        else:
            height = layout.totalSizeHint().height()
        if height > self.height() or (shrink and height < self.height()):
            self.resize(width, height)

    def submit(self) -> None:
        if self.is_busy():
            return
        if self._flows is not None and self._flows.sso_only:
            providers = self._flows.identity_providers
            if len(providers) <= 1:
                self.start_sso(providers[0].id if providers else None)
            return
        server = self.server_edit.text().strip()
        user = self.user_edit.text().strip()
        password = self.password_edit.text()
        if not user or not password:
            self.show_error("Enter your user name and password.")
            return
        if not server and not (user.startswith("@") and ":" in user):
            self.show_error(
                "Enter your organisation's server, or a full user id such as "
                "@alex:example.org."
            )
            return
        self.show_error("")
        self._set_busy(True)
        session_only = not self.remember_check.isChecked()
        self._task = self._runner.run(
            self._sign_in(server, user, password, session_only),
            self._succeeded,
            self._failed,
            key="sign-in",
        )

    def _succeeded(self, session) -> None:
        self._task = None
        self._set_busy(False)
        self.password_edit.clear()
        self.signed_in.emit(session)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self._set_busy(False)
        if not isinstance(error, (MatrixError, KeyringUnavailable)):
            log.error("Sign-in failed", exc_info=error)
        else:
            log.info("Sign-in failed: %s", type(error).__name__)
        self.show_error(sign_in_error_text(error))
        self.password_edit.setFocus()
        self.password_edit.selectAll()

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self.server_edit,
            self.user_edit,
            self.password_edit,
            self.sign_in_button,
            *self.sso_buttons,
        ):
            widget.setEnabled(not busy)
        if not busy:
            self.browser_area.hide()
        if self.remember_check.toolTip() == "":
            self.remember_check.setEnabled(not busy)
        self.sign_in_button.setText("Signing in…" if busy else "Sign in")
        self.progress.setVisible(busy)
        self._fit_height()

    # -- Single sign-on ----------------------------------------------------

    def _build_sso_area(self) -> None:
        """Make the provider buttons' area and the "continue in the browser" area."""
        self.sso_buttons: list[QPushButton] = []
        self.sso_area = QWidget()
        self._sso_layout = QVBoxLayout(self.sso_area)
        self._sso_layout.setContentsMargins(0, 0, 0, 0)
        self._sso_layout.setSpacing(8)
        self.sso_or_label = plain_label("or", "dialogText")
        self.sso_or_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._sso_layout.addWidget(self.sso_or_label)
        self.sso_area.hide()

        self.browser_area = QWidget()
        browser_layout = QVBoxLayout(self.browser_area)
        browser_layout.setContentsMargins(0, 0, 0, 0)
        browser_layout.setSpacing(6)
        self.browser_label = plain_label("", "dialogText")
        self.browser_label.setWordWrap(True)
        self.address_edit = QLineEdit()
        self.address_edit.setReadOnly(True)
        self.copy_address_button = QPushButton("Copy address")
        self.copy_address_button.clicked.connect(self._copy_address)
        address_row = QHBoxLayout()
        address_row.addWidget(self.address_edit, 1)
        address_row.addWidget(self.copy_address_button)
        browser_layout.addWidget(self.browser_label)
        browser_layout.addLayout(address_row)
        self.browser_area.hide()

    def load_login_flows(self) -> None:
        """Ask the server how it signs users in, unless already known."""
        server = self.server_edit.text().strip()
        if self._login_flows is None or not server or server == self._flows_server:
            return
        self._flows_server = server
        self._runner.run(
            self._login_flows(server),
            lambda flows: self._flows_loaded(server, flows),
            lambda error: self._flows_failed(server, error),
            key="flows",
        )

    def _server_edited(self, text: str) -> None:
        if text.strip() != self._flows_server:
            self._flows_server = ""
            self._apply_flows(None)

    def _flows_loaded(self, server: str, flows) -> None:
        if server == self._flows_server:
            self._apply_flows(flows)

    def _flows_failed(self, server: str, error: BaseException) -> None:
        # Signing in reports the problem in detail, so the form stays as it is.
        if isinstance(error, MatrixError):
            log.info("Login flows of %s unknown: %s", server, type(error).__name__)
        else:
            log.warning("Login flows of %s unknown", server, exc_info=error)
        if server == self._flows_server:
            self._flows_server = ""
            self._apply_flows(None)

    def _apply_flows(self, flows) -> None:
        """Show the SSO buttons of ``flows``; None shows the password form only."""
        self._flows = flows
        for button in self.sso_buttons:
            self._sso_layout.removeWidget(button)
            button.deleteLater()
        self.sso_buttons = []
        offers_sso = flows is not None and flows.sso and self._sign_in_sso is not None
        sso_only = offers_sso and flows.sso_only
        if offers_sso:
            # Without a list of providers, the server offers its own choice.
            providers = flows.identity_providers or (IdentityProvider("", ""),)
            # A single way to sign in is the dialog's main action.
            primary = sso_only and len(providers) == 1
            for provider in providers:
                button = QPushButton(provider.button_text)
                button.setObjectName("primaryButton" if primary else "ssoButton")
                idp_id = provider.id or None
                button.clicked.connect(lambda _=False, idp=idp_id: self.start_sso(idp))
                self._sso_layout.addWidget(button)
                self.sso_buttons.append(button)
        for field in (self.user_edit, self.password_edit):
            self._form.setRowVisible(field, not sso_only)
        self.sign_in_button.setVisible(not sso_only)
        self.sso_or_label.setVisible(offers_sso and not sso_only)
        self.sso_area.setVisible(offers_sso)
        self.sign_in_button.setDefault(not sso_only)
        if sso_only:
            self.show_error("")
            self.sso_buttons[0].setDefault(True)
        self._fit_height(shrink=True)

    def start_sso(self, idp_id: str | None) -> None:
        """Sign in through the browser with identity provider ``idp_id``."""
        if self.is_busy() or self._sign_in_sso is None:
            return
        server = self.server_edit.text().strip()
        if not server:
            self.show_error("Enter your organisation's server.")
            return
        self.show_error("")
        self._set_busy(True)
        session_only = not self.remember_check.isChecked()
        self._task = self._runner.run(
            self._sign_in_sso(
                server, idp_id, session_only, self._open_url, self._browser_opened
            ),
            self._succeeded,
            self._failed,
            key="sign-in",
        )

    def _browser_opened(self, url: str, opened: bool) -> None:
        if opened:
            self.browser_label.setText(
                "Continue in your browser… Commonplace signs you in when you "
                "have finished there."
            )
        else:
            self.browser_label.setText(
                "Your browser could not be opened. Open this address in a "
                "browser to sign in:"
            )
        self.address_edit.setText(url)
        self.address_edit.setCursorPosition(0)
        self.address_edit.setVisible(not opened)
        self.copy_address_button.setVisible(not opened)
        self.browser_area.show()
        self._fit_height()

    def _copy_address(self) -> None:
        QGuiApplication.clipboard().setText(self.address_edit.text())

    def reject(self) -> None:
        """Cancel a running sign-in first; a second Cancel closes the dialog."""
        if self._task is not None:
            self._runner.cancel("sign-in")
            self._task = None
            self._set_busy(False)
            self.show_error("Sign-in was cancelled.")
            return
        super().reject()
