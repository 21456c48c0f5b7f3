"""Single sign-on through the browser, against a Synapse that offers only SSO."""

import asyncio
import logging
import socket

import httpx
import keyring
import pytest

from app import cli
from app.account import AccountManager, settings_path
from app.credentials import SERVICE_NAME
from app.matrix import InvalidCredentials
from app.sso import (
    CALLBACK_PATH,
    FAILED_PAGE,
    SIGNED_IN_PAGE,
    WRONG_STATE_PAGE,
    IdentityProvider,
    LoopbackCallback,
    PasswordLoginDisabled,
    SsoNotOffered,
    SsoTimedOut,
    parse_login_flows,
    sso_redirect_url,
)
from tests.oidc_provider import HeadlessBrowser, OidcProvider, sso_only_synapse

IDP_ID = "oidc-test"
IDP_NAME = "Example ID"


@pytest.fixture(scope="module")
def sso_synapse(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("synapse-sso")
    with (
        OidcProvider() as provider,
        sso_only_synapse(data_dir, provider, IDP_NAME) as server,
    ):
        yield server


def _port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _with_state(url: str, state: str) -> str:
    """Return the SSO address with another state value in its redirectUrl."""
    redirect = httpx.URL(url).params["redirectUrl"]
    forged = str(httpx.URL(redirect).copy_set_param("state", state))
    return str(httpx.URL(url).copy_set_param("redirectUrl", forged))


# -- Login flows and addresses ---------------------------------------------


def test_flows_sso_only_with_providers():
    flows = parse_login_flows(
        "https://matrix.example.org",
        {
            "flows": [
                {
                    "type": "m.login.sso",
                    "identity_providers": [
                        {"id": "oidc-a", "name": "  Example\nID ", "icon": "mxc://x/y"},
                        {"id": "oidc-b"},
                        {"id": "oidc-a", "name": "Duplicate"},
                        {"name": "No id"},
                        "not an object",
                    ],
                },
                {"type": "m.login.token"},
            ]
        },
    )

    assert flows.sso_only
    assert flows.identity_providers == (
        IdentityProvider("oidc-a", "Example ID"),
        IdentityProvider("oidc-b", ""),
    )
    assert flows.identity_providers[0].button_text == "Sign in with Example ID"
    assert flows.identity_providers[1].button_text == "Sign in with single sign-on"


@pytest.mark.parametrize("response", [{}, {"flows": "x"}, {"flows": [None, 3]}])
def test_flows_malformed_offer_nothing(response):
    flows = parse_login_flows("https://matrix.example.org", response)

    assert not flows.password
    assert not flows.sso


def test_redirect_url_encodes_parts():
    url = sso_redirect_url(
        "https://matrix.example.org/",
        "http://127.0.0.1:5000/callback?state=a/b",
        "oidc-x/y",
    )

    assert url == (
        "https://matrix.example.org/_matrix/client/v3/login/sso/redirect/oidc-x%2Fy"
        "?redirectUrl=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback%3Fstate%3Da%2Fb"
    )


# -- The loopback server -----------------------------------------------------


def test_loopback_rejects_wrong_state_and_keeps_waiting():
    async def scenario():
        async with LoopbackCallback() as callback:
            base = f"http://127.0.0.1:{callback.port}"
            async with httpx.AsyncClient(timeout=10) as browser:
                wrong = await browser.get(
                    f"{base}{CALLBACK_PATH}",
                    params={"state": "forged", "loginToken": "stolen"},
                )
                missing = await browser.get(
                    f"{base}{CALLBACK_PATH}", params={"loginToken": "stolen"}
                )
                other_path = await browser.get(f"{base}/favicon.ico")
                posted = await browser.post(callback.redirect_url)
                assert callback.is_listening

                right = asyncio.ensure_future(
                    browser.get(f"{callback.redirect_url}&loginToken=good")
                )
                token = await callback.wait_for_token(10)
                callback.respond(True)
                page = await right
            return wrong, missing, other_path, posted, token, page, callback

    wrong, missing, other_path, posted, token, page, callback = asyncio.run(scenario())

    assert wrong.status_code == 400
    assert WRONG_STATE_PAGE in wrong.text
    assert missing.status_code == 400
    assert other_path.status_code == 404
    assert posted.status_code == 405
    assert token == "good"
    assert page.status_code == 200
    assert SIGNED_IN_PAGE in page.text
    assert page.headers["content-security-policy"] == "default-src 'none'"
    assert not callback.is_listening


def test_loopback_rejects_oversized_request():
    async def scenario():
        async with LoopbackCallback() as callback:
            reader, writer = await asyncio.open_connection("127.0.0.1", callback.port)
            writer.write(b"GET /callback?" + b"x" * 20_000 + b" HTTP/1.1\r\n\r\n")
            await writer.drain()
            response = await reader.read()
            writer.close()
            return response, callback.is_listening

    response, listening = asyncio.run(scenario())

    assert response.startswith(b"HTTP/1.1 400 ")
    assert listening


def test_loopback_times_out_and_stops():
    async def scenario():
        async with LoopbackCallback() as callback:
            with pytest.raises(SsoTimedOut) as raised:
                await callback.wait_for_token(0.1)
            return callback.port, raised.value

    port, error = asyncio.run(scenario())

    assert "timed out" in error.message
    assert not _port_accepts(port)


# -- Against Synapse ---------------------------------------------------------


@pytest.mark.synapse
def test_login_flows_of_sso_only_server(sso_synapse):
    flows = asyncio.run(AccountManager().login_flows(sso_synapse.base_url))

    assert flows.sso_only
    assert flows.identity_providers == (IdentityProvider(IDP_ID, IDP_NAME),)


@pytest.mark.synapse
@pytest.mark.keyring
def test_sso_sign_in_stores_token_and_syncs(sso_synapse, secret_service, caplog):
    caplog.set_level(logging.DEBUG)
    browser = HeadlessBrowser()
    accounts = AccountManager()

    session = asyncio.run(
        accounts.sign_in_sso(
            sso_synapse.base_url, browser.open_in_thread, idp_id=IDP_ID
        )
    )
    page = browser.wait()

    assert session.user_id == "@sso-tester:localhost"
    assert page.status_code == 200
    assert SIGNED_IN_PAGE in page.text
    # Synapse asked whether Commonplace may access the account, and the
    # browser continued from that page to the loopback server.
    assert browser.clicked == browser.visited[-1:]
    callback = httpx.URL(browser.visited[-1])
    login_token = callback.params["loginToken"]
    assert callback.path == CALLBACK_PATH
    app_log = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.split(".")[0] == "app"
    )
    assert login_token not in app_log
    assert session.access_token not in app_log
    assert keyring.get_password(SERVICE_NAME, session.account_key) == (
        session.access_token
    )
    assert session.access_token not in settings_path().read_text()
    restored = AccountManager().load_session()
    assert restored == session

    async def sync_once():
        async with accounts.client_for(session) as client:
            return await client.sync(since=None, timeout_ms=0, filter=None)

    assert "next_batch" in asyncio.run(sync_once())


@pytest.mark.synapse
def test_sso_sign_in_again_keeps_device(sso_synapse):
    browser = HeadlessBrowser()

    def sign_in():
        return asyncio.run(
            AccountManager().sign_in_sso(
                sso_synapse.base_url, browser.open_in_thread, session_only=True
            )
        )

    first = sign_in()
    browser.wait()
    second = sign_in()
    browser.wait()

    assert second.user_id == first.user_id
    assert second.device_id == first.device_id


@pytest.mark.synapse
def test_sso_wrong_state_is_rejected(sso_synapse):
    browser = HeadlessBrowser()

    def open_forged(url: str) -> bool:
        return browser.open_in_thread(_with_state(url, "forged-state"))

    async def scenario():
        accounts = AccountManager()
        task = asyncio.ensure_future(
            accounts.sign_in_sso(sso_synapse.base_url, open_forged, session_only=True)
        )
        while not browser.opened:
            await asyncio.sleep(0.01)
        page = await asyncio.to_thread(browser.wait)
        still_waiting = not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return page, still_waiting, accounts

    page, still_waiting, accounts = asyncio.run(scenario())

    assert page.status_code == 400
    assert WRONG_STATE_PAGE in page.text
    assert still_waiting
    assert accounts.load_session() is None


@pytest.mark.synapse
def test_sso_cancel_stops_loopback_server(sso_synapse):
    opened: list[str] = []

    async def scenario():
        task = asyncio.ensure_future(
            AccountManager().sign_in_sso(
                sso_synapse.base_url, opened.append, session_only=True
            )
        )
        while not opened:
            await asyncio.sleep(0.01)
        redirect = httpx.URL(httpx.URL(opened[0]).params["redirectUrl"])
        listening = _port_accepts(redirect.port)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return redirect.port, listening

    port, listening = asyncio.run(scenario())

    assert listening
    assert not _port_accepts(port)


@pytest.mark.synapse
def test_sso_without_browser_reports_address(sso_synapse):
    reported: list[tuple[str, bool]] = []
    browser = HeadlessBrowser()

    def on_browser(url: str, opened: bool) -> None:
        reported.append((url, opened))
        # The user copies the address into a browser by hand.
        browser.open_in_thread(url)

    session = asyncio.run(
        AccountManager().sign_in_sso(
            sso_synapse.base_url,
            lambda url: False,
            on_browser=on_browser,
            session_only=True,
        )
    )
    browser.wait()

    assert len(reported) == 1
    assert reported[0][1] is False
    assert reported[0][0].startswith(f"{sso_synapse.base_url}/_matrix/client/v3/")
    assert session.user_id == "@sso-tester:localhost"


@pytest.mark.synapse
def test_rejected_login_token_fails_page(sso_synapse):
    browser = HeadlessBrowser()

    def open_with_bogus_token(url: str) -> bool:
        # A token the server never issued, brought with the right state.
        redirect = httpx.URL(url).params["redirectUrl"]
        return browser.open_in_thread(f"{redirect}&loginToken=bogus")

    accounts = AccountManager()
    with pytest.raises(InvalidCredentials) as raised:
        asyncio.run(
            accounts.sign_in_sso(
                sso_synapse.base_url, open_with_bogus_token, session_only=True
            )
        )
    page = browser.wait()

    assert "rejected the sign-in from your browser" in raised.value.message
    assert page.status_code == 500
    assert FAILED_PAGE in page.text
    assert accounts.load_session() is None


@pytest.mark.synapse
def test_sso_timeout_stops_waiting(sso_synapse):
    opened: list[str] = []

    with pytest.raises(SsoTimedOut):
        asyncio.run(
            AccountManager().sign_in_sso(
                sso_synapse.base_url, opened.append, session_only=True, timeout=0.2
            )
        )

    redirect = httpx.URL(httpx.URL(opened[0]).params["redirectUrl"])
    assert not _port_accepts(redirect.port)


@pytest.mark.synapse
def test_sso_unknown_provider_is_rejected(sso_synapse):
    opened: list[str] = []

    with pytest.raises(SsoNotOffered) as raised:
        asyncio.run(
            AccountManager().sign_in_sso(
                sso_synapse.base_url, opened.append, idp_id="oidc-nope"
            )
        )

    assert IDP_ID in raised.value.message
    assert opened == []


@pytest.mark.synapse
def test_password_on_sso_only_server_explains(sso_synapse):
    with pytest.raises(PasswordLoginDisabled) as raised:
        asyncio.run(
            AccountManager().sign_in(
                sso_synapse.base_url, "sso-tester", "secret", session_only=True
            )
        )

    assert "single sign-on" in raised.value.message


@pytest.mark.synapse
def test_sso_on_password_server_is_rejected(synapse):
    with pytest.raises(SsoNotOffered):
        asyncio.run(AccountManager().sign_in_sso(synapse.base_url, lambda url: True))


# -- The command line --------------------------------------------------------


@pytest.mark.synapse
@pytest.mark.keyring
def test_cli_login_sso_then_sync(sso_synapse, secret_service, monkeypatch, capsys):
    browser = HeadlessBrowser()
    monkeypatch.setattr(cli, "open_browser", browser.open_in_thread)

    code = cli.main(["login", "--server", sso_synapse.base_url, "--sso"])
    browser.wait()
    output = capsys.readouterr().out

    assert code == cli.EXIT_OK
    assert browser.opened[0] in output
    assert "Signed in as @sso-tester:localhost" in output
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK


@pytest.mark.synapse
def test_cli_login_sso_on_password_server(synapse, monkeypatch, capsys):
    monkeypatch.setattr(cli, "open_browser", lambda url: True)

    code = cli.main(["login", "--server", synapse.base_url, "--sso"])

    assert code == cli.EXIT_USAGE
    assert "does not offer single sign-on" in capsys.readouterr().err
