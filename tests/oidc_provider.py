"""Single sign-on test infrastructure: an OpenID Connect provider and a browser.

``OidcProvider`` is a minimal OpenID Connect provider on 127.0.0.1. It
serves the discovery document and three endpoints. The authorization endpoint
signs the one test user in at once, with no login form, and redirects back
with a code. The token endpoint trades the code for an access token, and the
userinfo endpoint returns the user. It issues no ID token, so Synapse must
request the ``profile`` scope without ``openid`` and read the user from the
userinfo endpoint. Synapse 1.163 then skips ID token checks (``_uses_userinfo``
in synapse/handlers/oidc.py).

Codes and tokens are single-use random strings kept in memory. Client
authentication is checked (client_secret_basic or client_secret_post), and
so are ``redirect_uri`` and, when Synapse sends one, the PKCE verifier.

``sso_only_synapse`` runs a Synapse that signs in only through such a
provider, and ``HeadlessBrowser`` plays the system browser in the tests.
"""

from __future__ import annotations

import base64
import hashlib
import http.cookiejar
import json
import secrets
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from devtools.synapse import SynapseServer

HOST = "127.0.0.1"
CLIENT_ID = "commonplace-tests"
CLIENT_SECRET = "oidc-test-client-secret"
SYNAPSE_CALLBACK_PATH = "/_synapse/client/oidc/callback"


@dataclass(frozen=True)
class OidcUser:
    """The account that the provider signs in; Synapse maps it to a Matrix user."""

    subject: str = "sso-test-subject"
    preferred_username: str = "sso-tester"
    name: str = "Sam Sso"


class OidcProvider:
    """A running provider; use ``with`` or ``start()`` and ``stop()``.

    ``allow_redirect_uri`` registers the Synapse callback once Synapse has a
    port. ``requests`` lists the paths served, for assertions.
    """

    def __init__(self, user: OidcUser | None = None) -> None:
        self.user = user or OidcUser()
        self.requests: list[str] = []
        self._redirect_uris: set[str] = set()
        self._codes: dict[str, dict[str, str]] = {}
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        if self._server is None:
            raise RuntimeError("The provider has no port yet: call start() first.")
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="oidc-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def allow_redirect_uri(self, uri: str) -> None:
        with self._lock:
            self._redirect_uris.add(uri)

    def synapse_config(self, idp_id: str = "test", idp_name: str = "Example ID"):
        """Return one ``oidc_providers`` entry for homeserver.yaml.

        Discovery is off and the endpoints are explicit, and ``skip_verification``
        lets Synapse accept an http:// issuer. Synapse prefixes the id with
        "oidc-" in its login flows.
        """
        return {
            "idp_id": idp_id,
            "idp_name": idp_name,
            "issuer": self.issuer,
            "discover": False,
            "skip_verification": True,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "client_auth_method": "client_secret_basic",
            "scopes": ["profile"],
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "user_profile_method": "userinfo_endpoint",
            "user_mapping_provider": {
                "config": {
                    "subject_claim": "sub",
                    "localpart_template": "{{ user.preferred_username }}",
                    "display_name_template": "{{ user.name }}",
                }
            },
        }

    # -- endpoints, called from the server's threads -----------------------

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """Return (status, headers, body): a redirect with a code, or an error."""
        redirect_uri = query.get("redirect_uri", "")
        with self._lock:
            known_uri = redirect_uri in self._redirect_uris
        if query.get("client_id") != CLIENT_ID or not known_uri:
            return 400, {}, {"error": "invalid_request"}
        if query.get("response_type") != "code":
            return _redirect(
                redirect_uri, error="unsupported_response_type", **_state(query)
            )
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = {
                "redirect_uri": redirect_uri,
                "code_challenge": query.get("code_challenge", ""),
            }
        return _redirect(redirect_uri, code=code, **_state(query))

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, Any]:
        client_id, client_secret = _client_credentials(form, authorization)
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        if grant["code_challenge"] and grant["code_challenge"] != _s256(
            form.get("code_verifier", "")
        ):
            return 400, {"error": "invalid_grant"}
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(access_token)
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
        }

    def userinfo(self, authorization: str) -> tuple[int, Any]:
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            known = scheme.lower() == "bearer" and token in self._tokens
        if not known:
            return 401, {"error": "invalid_token"}
        return 200, {
            "sub": self.user.subject,
            "preferred_username": self.user.preferred_username,
            "name": self.user.name,
        }


def _state(query: dict[str, str]) -> dict[str, str]:
    return {"state": query["state"]} if "state" in query else {}


def _redirect(uri: str, **params: str) -> tuple[int, dict[str, str], Any]:
    separator = "&" if urlsplit(uri).query else "?"
    return 302, {"Location": f"{uri}{separator}{urlencode(params)}"}, None


def _client_credentials(form: dict[str, str], authorization: str) -> tuple[str, str]:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        # RFC 6749 section 2.3.1: both parts are form-urlencoded first.
        return _form_unquote(client_id), _form_unquote(client_secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def _form_unquote(value: str) -> str:
    return parse_qs(f"v={value}").get("v", [""])[0]


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _single_values(text: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(text).items()}


def _handler_for(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            provider.requests.append(url.path)
            if url.path == "/.well-known/openid-configuration":
                self._send(200, {}, provider.discovery_document())
            elif url.path == "/authorize":
                self._send(*provider.authorize(_single_values(url.query)))
            elif url.path == "/userinfo":
                status, body = provider.userinfo(self.headers.get("Authorization", ""))
                self._send(status, {}, body)
            else:
                self._send(404, {}, {"error": "not_found"})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            provider.requests.append(url.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = _single_values(self.rfile.read(length).decode("utf-8"))
            if url.path == "/token":
                status, body = provider.token(
                    form, self.headers.get("Authorization", "")
                )
                self._send(status, {"Cache-Control": "no-store"}, body)
            else:
                self._send(404, {}, {"error": "not_found"})

        def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
            data = b"" if body is None else json.dumps(body).encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request lines carry codes and tokens; tests read ``requests``

    return Handler


@contextmanager
def sso_only_synapse(
    data_dir: Path, provider: OidcProvider, idp_name: str = "Example ID"
) -> Iterator[SynapseServer]:
    """Run a Synapse whose only login is single sign-on through ``provider``."""
    server = SynapseServer(
        data_dir,
        extra_config={
            "oidc_providers": [provider.synapse_config(idp_name=idp_name)],
            "password_config": {"enabled": False},
        },
    )
    server.start()
    try:
        provider.allow_redirect_uri(f"{server.base_url}{SYNAPSE_CALLBACK_PATH}")
        yield server
    finally:
        server.stop()


class HeadlessBrowser:
    """Follows a single sign-on address the way a desktop browser does.

    It follows redirects, keeps cookies (Synapse's OIDC session cookies are
    ``Secure``, which browsers honour on http://127.0.0.1 as they treat
    loopback as a secure context) and clicks Continue on Synapse's
    confirmation page. ``open_in_thread`` is an ``open_url`` for the app: the
    app's loopback server runs on the caller's event loop, so the browser must
    not block it.
    """

    MAX_STEPS = 10

    def __init__(self) -> None:
        policy = http.cookiejar.DefaultCookiePolicy(
            secure_protocols=("https", "wss", "http")
        )
        self._cookies = http.cookiejar.CookieJar(policy)
        self.opened: list[str] = []
        self.visited: list[str] = []
        self.clicked: list[str] = []
        self.response: httpx.Response | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def visit(self, url: str) -> httpx.Response:
        """Load ``url`` and follow it to the last page; return that page."""
        with httpx.Client(timeout=30.0, follow_redirects=False) as client:
            for _ in range(self.MAX_STEPS):
                self.visited.append(url)
                response = self._get(client, url)
                location = response.headers.get("location")
                if response.is_redirect and location:
                    url = urljoin(url, location)
                    continue
                link = _continue_link(response)
                if link is None:
                    self.response = response
                    return response
                url = urljoin(url, link)
                self.clicked.append(url)
        raise AssertionError(f"More than {self.MAX_STEPS} pages: {self.visited}")

    def open_in_thread(self, url: str) -> bool:
        self.opened.append(url)
        self._thread = threading.Thread(target=self._visit_quietly, args=(url,))
        self._thread.start()
        return True

    def wait(self, timeout: float = 30.0) -> httpx.Response:
        """Wait for ``open_in_thread`` to finish and return the last page."""
        assert self._thread is not None, "open_in_thread was not called"
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the browser is still loading"
        if self._error is not None:
            raise self._error
        assert self.response is not None
        return self.response

    def _visit_quietly(self, url: str) -> None:
        try:
            self.visit(url)
        except BaseException as error:  # noqa: BLE001 - re-raised by wait()
            self._error = error

    def _get(self, client: httpx.Client, url: str) -> httpx.Response:
        request = urllib.request.Request(url)
        self._cookies.add_cookie_header(request)
        headers = dict(request.header_items())
        response = client.get(url, headers=headers)
        self._cookies.extract_cookies(_CookieResponse(response), request)
        return response


class _CookieResponse:
    """The part of a urllib response that http.cookiejar reads."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    def info(self) -> _CookieResponse:
        return self

    def get_all(self, name: str, default: Any = None) -> list[str] | Any:
        return self._response.headers.get_list(name) or default


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def _continue_link(response: httpx.Response) -> str | None:
    """Return the Continue link of Synapse's sso_redirect_confirm.html page."""
    if response.status_code != 200 or "html" not in response.headers.get(
        "content-type", ""
    ):
        return None
    parser = _LinkParser()
    parser.feed(response.text)
    for href, text in parser.links:
        if text == "Continue":
            return href
    return None
