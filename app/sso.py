"""Single sign-on through the system browser, with a redirect back to a loopback port.

This is the Matrix client-server API's "Single Sign-On" login, done the way
desktop clients such as nheko do it:

1. ``GET /login`` lists ``m.login.sso`` and its identity providers.
2. ``LoopbackCallback`` listens on 127.0.0.1 on a free port.
3. The browser opens ``/login/sso/redirect[/{idp_id}]`` with
   ``redirectUrl=http://127.0.0.1:{port}/callback?state={random}``.
4. After the identity provider, the homeserver sends the browser to that
   address with a ``loginToken`` added, possibly after a page on which the
   user confirms that Commonplace may access the account.
5. The client logs in with ``{"type": "m.login.token", "token": ...}``.

The random ``state`` ties the callback to this sign-in, so that a link made
by someone else cannot sign the user in to another account. The login token
is a credential for 2 minutes: nothing here logs it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from app.matrix.errors import InvalidCredentials, MatrixError
from app.matrix.urls import path_segment

log = logging.getLogger(__name__)

LOOPBACK_HOST = "127.0.0.1"
CALLBACK_PATH = "/callback"
# How long the user has to finish signing in in the browser.
SSO_TIMEOUT = 300.0  # seconds
# Limits on what the loopback server reads from one browser request.
_MAX_REQUEST_HEAD_BYTES = 16 * 1024
_REQUEST_READ_TIMEOUT = 10.0  # seconds

SIGNED_IN_PAGE = "You are signed in to Commonplace. You can close this tab."
FAILED_PAGE = (
    "Signing in to Commonplace did not finish. Return to Commonplace to see "
    "why and try again."
)
WRONG_STATE_PAGE = (
    "This sign-in link is not the one Commonplace is waiting for. Start "
    "signing in again from Commonplace."
)
USED_PAGE = "This sign-in has already been used. Return to Commonplace."


# open_url(url) opens the address in the system browser; False if it could not.
OpenUrl = Callable[[str], bool]
# on_browser(url, opened) reports the address opened, and whether a browser opened it.
BrowserCallback = Callable[[str, bool], None]


class SsoError(MatrixError):
    """Single sign-on could not start or did not finish."""


class SsoNotOffered(SsoError):
    """The server does not offer single sign-on, or not the requested provider."""


class SsoTimedOut(SsoError):
    """The browser did not return to Commonplace within the time allowed."""


class PasswordLoginDisabled(InvalidCredentials):
    """The server accepts only single sign-on, not a user name and password."""


@dataclass(frozen=True)
class IdentityProvider:
    """One entry of ``identity_providers``; its icon is a remote resource and unused."""

    id: str
    name: str

    @property
    def button_text(self) -> str:
        return (
            f"Sign in with {self.name}" if self.name else "Sign in with single sign-on"
        )


@dataclass(frozen=True)
class LoginFlows:
    """The login types of a server that Commonplace can use."""

    homeserver_url: str
    password: bool = False
    sso: bool = False
    identity_providers: tuple[IdentityProvider, ...] = ()

    @property
    def sso_only(self) -> bool:
        return self.sso and not self.password

    def provider(self, idp_id: str) -> IdentityProvider | None:
        for provider in self.identity_providers:
            if provider.id == idp_id:
                return provider
        return None


def parse_login_flows(homeserver_url: str, response: dict[str, Any]) -> LoginFlows:
    """Read a ``GET /login`` response; malformed entries are skipped.

    ``identity_providers`` entries need a string ``id``; a missing or blank
    ``name`` becomes "". Providers with the same id are listed once.
    """
    flows = response.get("flows")
    if not isinstance(flows, list):
        flows = []
    password = sso = False
    providers: list[IdentityProvider] = []
    for flow in flows:
        if not isinstance(flow, dict):
            continue
        kind = flow.get("type")
        if kind == "m.login.password":
            password = True
        elif kind == "m.login.sso":
            sso = True
            providers.extend(_identity_providers(flow.get("identity_providers")))
    unique: dict[str, IdentityProvider] = {}
    for provider in providers:
        unique.setdefault(provider.id, provider)
    return LoginFlows(homeserver_url, password, sso, tuple(unique.values()))


def _identity_providers(value: Any) -> list[IdentityProvider]:
    if not isinstance(value, list):
        return []
    providers = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        idp_id, name = entry.get("id"), entry.get("name")
        if not isinstance(idp_id, str) or not idp_id:
            continue
        name = " ".join(name.split()) if isinstance(name, str) else ""
        providers.append(IdentityProvider(idp_id, name))
    return providers


def sso_redirect_url(
    homeserver_url: str, redirect_url: str, idp_id: str | None = None
) -> str:
    """Return the homeserver address that starts single sign-on in a browser."""
    path = "/_matrix/client/v3/login/sso/redirect"
    if idp_id:
        path += f"/{path_segment(idp_id)}"
    query = urlencode({"redirectUrl": redirect_url}, quote_via=quote)
    return f"{homeserver_url.rstrip('/')}{path}?{query}"


def open_in_browser(open_url: OpenUrl, url: str) -> bool:
    """Call ``open_url`` and return whether a browser opened ``url``.

    A browser that fails to start counts as not opened, so the caller can show
    the address to copy instead.
    """
    try:
        opened = bool(open_url(url))
    except (OSError, webbrowser.Error) as error:
        log.warning("Could not open the browser: %s", type(error).__name__)
        return False
    if not opened:
        log.warning("No browser could be opened for single sign-on")
    return opened


class LoopbackCallback:
    """A one-shot HTTP server on 127.0.0.1 that receives the browser's redirect.

    Use ``async with``: it listens on a free port from the start, and closing
    it stops listening and responds to a browser that is still waiting. A request
    with a wrong or missing ``state`` gets a 400 page and the server keeps
    waiting, so a stale tab cannot end the sign-in. The first request with the
    right ``state`` and a ``loginToken`` is kept open until ``respond``
    reports whether signing in worked, so that the page is accurate.
    """

    def __init__(self) -> None:
        self.state = secrets.token_urlsafe(24)
        self._server: asyncio.Server | None = None
        self._token: asyncio.Future[str] | None = None
        self._waiting_writer: asyncio.StreamWriter | None = None
        self.port: int | None = None

    @property
    def redirect_url(self) -> str:
        if self.port is None:
            raise RuntimeError("The loopback server is not listening yet.")
        return (
            f"http://{LOOPBACK_HOST}:{self.port}{CALLBACK_PATH}?"
            f"{urlencode({'state': self.state})}"
        )

    @property
    def is_listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        self._token = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(
            self._handle, LOOPBACK_HOST, 0, limit=_MAX_REQUEST_HEAD_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("Waiting for the browser on %s:%s", LOOPBACK_HOST, self.port)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    async def wait_for_token(self, timeout: float = SSO_TIMEOUT) -> str:
        """Return the login token once the browser brings it; raise SsoTimedOut."""
        if self._token is None:
            raise RuntimeError("Call start() first.")
        try:
            return await asyncio.wait_for(asyncio.shield(self._token), timeout)
        except TimeoutError:
            minutes = max(1, round(timeout / 60))
            raise SsoTimedOut(
                "Signing in through the browser timed out after "
                f"{minutes} minute{'s' if minutes != 1 else ''}. Try again."
            ) from None

    def respond(self, signed_in: bool) -> None:
        """Respond to the browser that brought the token, then stop listening."""
        writer, self._waiting_writer = self._waiting_writer, None
        if writer is not None:
            page = SIGNED_IN_PAGE if signed_in else FAILED_PAGE
            _write_page(writer, 200 if signed_in else 500, page)
        self.close()

    def close(self) -> None:
        """Stop listening; a browser still waiting gets the page saying sign-in failed."""
        if self._waiting_writer is not None:
            self.respond(False)
            return
        if self._server is not None:
            self._server.close()
            log.info("Stopped waiting for the browser on port %s", self.port)
            self._server = None
        if self._token is not None and not self._token.done():
            self._token.cancel()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        keep_open = False
        try:
            target = await asyncio.wait_for(
                _read_request_target(reader), _REQUEST_READ_TIMEOUT
            )
            keep_open = self._answer(target, writer)
        except (
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as error:
            log.warning(
                "Rejected a malformed browser request: %s", type(error).__name__
            )
            _write_page(writer, 400, "Bad request.")
        except ConnectionError:
            pass
        finally:
            if not keep_open:
                writer.close()

    def _answer(self, target: str | None, writer: asyncio.StreamWriter) -> bool:
        """Respond to one request; return True when the writer waits for ``respond``."""
        if target is None:
            _write_page(writer, 405, "Only GET requests are served here.")
            return False
        url = urlsplit(target)
        if url.path != CALLBACK_PATH:
            _write_page(writer, 404, "Not found.")
            return False
        query = parse_qs(url.query)
        state = query.get("state", [""])[0]
        token = query.get("loginToken", [""])[0]
        if not secrets.compare_digest(state.encode(), self.state.encode()):
            log.warning("Rejected a browser callback with a wrong state value")
            _write_page(writer, 400, WRONG_STATE_PAGE)
            return False
        if not token:
            log.warning("Browser callback without a login token")
            _write_page(writer, 400, FAILED_PAGE)
            return False
        if self._token is None or self._token.done():
            _write_page(writer, 409, USED_PAGE)
            return False
        log.info("The browser returned a login token")
        self._waiting_writer = writer
        self._token.set_result(token)
        return True


async def _read_request_target(reader: asyncio.StreamReader) -> str | None:
    """Read the request head and return the target of a GET, or None."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("Malformed request line")
    method, target, _version = parts
    return target if method == "GET" else None


def _write_page(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    """Write a small HTML page that loads nothing else and is not cached."""
    reasons = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        500: "Internal Server Error",
    }
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Commonplace</title></head>\n"
        f"<body><p>{text}</p></body></html>\n"
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reasons[status]}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Content-Security-Policy: default-src 'none'\r\n"
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")
    try:
        writer.write(head + body)
    except ConnectionError:
        pass
    writer.close()
