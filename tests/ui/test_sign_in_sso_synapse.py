"""The sign-in dialog's single sign-on, against a Synapse that offers only SSO.

The system browser is replaced by HeadlessBrowser, passed to the dialog as
its ``open_url``; Qt's own URL handling is left alone.
"""

import socket

import httpx
import pytest

from app.account import AccountManager
from app.matrix.errors import InvalidCredentials
from app.sso import (
    IdentityProvider,
    LoginFlows,
    SsoTimedOut,
)
from tests.oidc_provider import HeadlessBrowser, OidcProvider, sso_only_synapse
from ui.sign_in_dialog import SignInDialog

IDP_NAME = "Example ID"


@pytest.fixture(scope="module")
def sso_synapse(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("synapse-sso-ui")
    with (
        OidcProvider() as provider,
        sso_only_synapse(data_dir, provider, IDP_NAME) as server,
    ):
        yield server


def _dialog(qtbot, server: str, open_url, accounts=None) -> SignInDialog:
    """A dialog wired to a real AccountManager, signing in for this session only."""
    accounts = accounts or AccountManager()

    async def sign_in(server, user, password, session_only):
        return await accounts.sign_in(server, user, password, session_only=session_only)

    async def sign_in_sso(server, idp_id, session_only, open_url, on_browser):
        return await accounts.sign_in_sso(
            server,
            open_url,
            idp_id=idp_id,
            session_only=session_only,
            on_browser=on_browser,
        )

    dialog = SignInDialog(
        sign_in,
        server=server,
        keyring_available=False,
        login_flows=accounts.login_flows,
        sign_in_sso=sign_in_sso,
        open_url=open_url,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _recorder(opened: list[str]):
    """Return an open_url that notes the address, as if a browser opened it."""

    def open_url(url: str) -> bool:
        opened.append(url)
        return True

    return open_url


def _port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.synapse
def test_sso_only_server_hides_password(qtbot, qasync_loop, sso_synapse):
    dialog = _dialog(qtbot, sso_synapse.base_url, open_url=lambda url: True)

    qtbot.waitUntil(lambda: len(dialog.sso_buttons) == 1, timeout=10_000)

    assert dialog.sso_buttons[0].text() == f"Sign in with {IDP_NAME}"
    assert dialog.sso_buttons[0].isVisible()
    assert not dialog.user_edit.isVisible()
    assert not dialog.password_edit.isVisible()
    assert not dialog.sign_in_button.isVisible()
    assert not dialog.sso_or_label.isVisible()
    assert dialog.server_edit.isVisible()


@pytest.mark.synapse
def test_sso_button_signs_in(qtbot, qasync_loop, sso_synapse):
    browser = HeadlessBrowser()
    opened: list[str] = []
    dialog = _dialog(qtbot, sso_synapse.base_url, open_url=_recorder(opened))
    qtbot.waitUntil(lambda: len(dialog.sso_buttons) == 1, timeout=10_000)

    dialog.sso_buttons[0].click()
    qtbot.waitUntil(lambda: dialog.browser_area.isVisible(), timeout=10_000)

    assert dialog.browser_label.text().startswith("Continue in your browser…")
    assert not dialog.address_edit.isVisible()
    assert dialog.progress.isVisible()

    with qtbot.waitSignal(dialog.signed_in, timeout=20_000) as signed_in:
        browser.open_in_thread(opened[0])
    page = browser.wait()

    assert signed_in.args[0].user_id == "@sso-tester:localhost"
    assert signed_in.args[0].session_only
    assert "You are signed in to Commonplace" in page.text
    assert not dialog.isVisible()


@pytest.mark.synapse
def test_no_browser_shows_address(qtbot, qasync_loop, sso_synapse):
    browser = HeadlessBrowser()
    dialog = _dialog(qtbot, sso_synapse.base_url, open_url=lambda url: False)
    qtbot.waitUntil(lambda: len(dialog.sso_buttons) == 1, timeout=10_000)

    dialog.submit()
    qtbot.waitUntil(lambda: dialog.address_edit.isVisible(), timeout=10_000)
    address = dialog.address_edit.text()

    assert "could not be opened" in dialog.browser_label.text()
    assert address.startswith(f"{sso_synapse.base_url}/_matrix/client/v3/login/")
    assert dialog.copy_address_button.isVisible()

    # The user copies the address into a browser by hand.
    with qtbot.waitSignal(dialog.signed_in, timeout=20_000):
        browser.open_in_thread(address)
    browser.wait()


@pytest.mark.synapse
def test_cancel_stops_waiting_for_browser(qtbot, qasync_loop, sso_synapse):
    opened: list[str] = []
    dialog = _dialog(qtbot, sso_synapse.base_url, open_url=_recorder(opened))
    qtbot.waitUntil(lambda: len(dialog.sso_buttons) == 1, timeout=10_000)
    dialog.sso_buttons[0].click()
    qtbot.waitUntil(lambda: dialog.browser_area.isVisible(), timeout=10_000)
    port = httpx.URL(httpx.URL(opened[0]).params["redirectUrl"]).port
    assert _port_accepts(port)

    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not _port_accepts(port), timeout=5_000)

    assert dialog.isVisible()
    assert dialog.error_label.text() == "Sign-in was cancelled."
    assert not dialog.browser_area.isVisible()
    assert dialog.sso_buttons[0].isEnabled()


# -- Without a server: flows and errors given by the test -------------------


def _scripted_dialog(qtbot, flows, sso_error=None) -> SignInDialog:
    async def sign_in(server, user, password, session_only):
        raise AssertionError("password sign-in is not expected")

    async def login_flows(server):
        return flows

    async def sign_in_sso(server, idp_id, session_only, open_url, on_browser):
        on_browser(f"https://{server}/sso?idp={idp_id}", True)
        raise sso_error

    dialog = SignInDialog(
        sign_in,
        server="example.org",
        login_flows=login_flows,
        sign_in_sso=sign_in_sso,
        open_url=lambda url: True,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_password_and_sso_show_both(qtbot, qasync_loop):
    flows = LoginFlows(
        "https://matrix.example.org",
        password=True,
        sso=True,
        identity_providers=(
            IdentityProvider("oidc-a", "Alpha ID"),
            IdentityProvider("oidc-b", ""),
        ),
    )
    dialog = _scripted_dialog(qtbot, flows)

    qtbot.waitUntil(lambda: len(dialog.sso_buttons) == 2)

    assert [button.text() for button in dialog.sso_buttons] == [
        "Sign in with Alpha ID",
        "Sign in with single sign-on",
    ]
    assert dialog.user_edit.isVisible()
    assert dialog.password_edit.isVisible()
    assert dialog.sign_in_button.isVisible()
    assert dialog.sso_or_label.isVisible()


def test_other_server_restores_password_form(qtbot, qasync_loop):
    flows = LoginFlows("https://matrix.example.org", sso=True)
    dialog = _scripted_dialog(qtbot, flows)
    qtbot.waitUntil(lambda: len(dialog.sso_buttons) == 1)
    assert dialog.sso_buttons[0].text() == "Sign in with single sign-on"
    assert not dialog.user_edit.isVisible()

    dialog.server_edit.clear()
    qtbot.keyClicks(dialog.server_edit, "other.example.org")

    assert dialog.user_edit.isVisible()
    assert dialog.password_edit.isVisible()
    assert not dialog.sso_area.isVisible()


@pytest.mark.parametrize(
    "error",
    [
        SsoTimedOut("Signing in through the browser timed out after 5 minutes."),
        InvalidCredentials(
            "matrix.example.org rejected the sign-in from your browser."
        ),
    ],
    ids=lambda error: type(error).__name__,
)
def test_sso_error_shows_under_form(qtbot, qasync_loop, error):
    flows = LoginFlows("https://matrix.example.org", sso=True)
    dialog = _scripted_dialog(qtbot, flows, sso_error=error)
    qtbot.waitUntil(lambda: len(dialog.sso_buttons) == 1)

    dialog.sso_buttons[0].click()
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())

    assert dialog.error_label.text() == error.message
    assert not dialog.browser_area.isVisible()
    assert dialog.sso_buttons[0].isEnabled()
