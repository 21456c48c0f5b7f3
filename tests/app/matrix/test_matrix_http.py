"""Retries, limits, logging and URL checks of the HTTP core, on faults a real
server cannot show on demand (httpx.MockTransport)."""

import asyncio
import json
import logging
import ssl

import httpx
import pytest

import app.matrix
from app.matrix import errors, http
from app.matrix.client import MatrixClient
from app.matrix.errors import (
    AuthExpired,
    ConnectionFailed,
    Forbidden,
    InsecureConnection,
    NotMatrixServer,
    RateLimited,
    ServerUnavailable,
    TooLarge,
)

BASE = "https://matrix.example.org"
TOKEN = "syt_c2VjcmV0_AbCdEfGhIjKlMnOpQrSt_1a2b3c"
WHOAMI = "/_matrix/client/v3/account/whoami"


class Script:
    """A MockTransport handler that replays responses and records requests.

    Each item is an httpx.Response, or an exception instance to raise. The
    last item repeats once the list is used up.
    """

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = min(len(self.requests), len(self.responses)) - 1
        response = self.responses[index]
        if isinstance(response, Exception):
            raise response
        return response

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def sleeps(monkeypatch):
    """Record back-off waits instead of sleeping."""
    waits: list[float] = []

    async def fake_sleep(delay):
        waits.append(delay)

    monkeypatch.setattr(http, "_sleep", fake_sleep)
    return waits


def ok(body=None, **kwargs):
    return httpx.Response(
        200, json={"user_id": "@a:b"} if body is None else body, **kwargs
    )


def fail(status, errcode=None, **extra):
    body = {"errcode": errcode, "error": "text", **extra} if errcode else {}
    return httpx.Response(status, json=body)


def run(script: Script, call, *, token=TOKEN, base=BASE):
    async def main():
        async with MatrixClient(base, token, transport=script.transport()) as client:
            return await call(client)

    return asyncio.run(main())


def test_request_retries_5xx_until_success(sleeps):
    script = Script(fail(500, "M_UNKNOWN"), fail(502), ok())
    retries = []

    def on_retry(error, delay):
        retries.append((type(error), delay))

    body = run(script, lambda c: c.request("GET", WHOAMI, on_retry=on_retry))

    assert body == {"user_id": "@a:b"}
    assert len(script.requests) == 3
    assert len(sleeps) == 2
    assert [kind for kind, _ in retries] == [ServerUnavailable, ServerUnavailable]
    assert [delay for _, delay in retries] == sleeps


def test_request_honours_retry_after_ms(sleeps):
    script = Script(fail(429, "M_LIMIT_EXCEEDED", retry_after_ms=1234), ok())

    run(script, lambda c: c.request("GET", WHOAMI))

    assert sleeps == [1.234]
    assert len(script.requests) == 2


def test_request_honours_retry_after_header(sleeps):
    limited = httpx.Response(
        429, json={"errcode": "M_LIMIT_EXCEEDED"}, headers={"Retry-After": "7"}
    )
    script = Script(limited, ok())

    run(script, lambda c: c.request("GET", WHOAMI))

    assert sleeps == [7.0]


def test_request_raises_rate_limited_after_last_attempt(sleeps):
    script = Script(fail(429, "M_LIMIT_EXCEEDED", retry_after_ms=10))

    with pytest.raises(RateLimited) as caught:
        run(script, lambda c: c.request("GET", WHOAMI, max_attempts=2))

    assert caught.value.retry_after == 0.01
    assert len(script.requests) == 2


def test_request_does_not_retry_403(sleeps):
    script = Script(fail(403, "M_FORBIDDEN"), ok())

    with pytest.raises(Forbidden):
        run(script, lambda c: c.request("GET", WHOAMI))

    assert len(script.requests) == 1
    assert sleeps == []


def test_request_does_not_retry_other_4xx(sleeps):
    for status in (400, 401, 404, 413):
        script = Script(fail(status, "M_SOMETHING"), ok())
        with pytest.raises(errors.MatrixError):
            run(script, lambda c: c.request("GET", WHOAMI))
        assert len(script.requests) == 1
    assert sleeps == []


def test_request_gives_up_after_max_attempts(sleeps):
    script = Script(fail(503))

    with pytest.raises(ServerUnavailable) as caught:
        run(script, lambda c: c.request("GET", WHOAMI, max_attempts=4))

    assert caught.value.status == 503
    assert len(script.requests) == 4
    assert len(sleeps) == 3


def test_request_unlimited_attempts_until_success(sleeps):
    failures = [httpx.ConnectError("All connection attempts failed")] * 25
    script = Script(*failures, ok())
    retries = []

    run(
        script,
        lambda c: c.request(
            "GET", WHOAMI, max_attempts=None, on_retry=lambda e, d: retries.append(e)
        ),
    )

    assert len(script.requests) == 26
    assert len(sleeps) == 25
    assert all(isinstance(error, ConnectionFailed) for error in retries)
    # Full jitter: every wait lies between 0 and the capped exponential ceiling.
    for attempt, delay in enumerate(sleeps, start=1):
        ceiling = min(http.BACKOFF_CAP, http.BACKOFF_BASE * 2 ** (attempt - 1))
        assert 0 <= delay <= ceiling


def test_request_retries_timeouts_and_cut_connections(sleeps):
    script = Script(
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        ok(),
    )

    assert run(script, lambda c: c.request("GET", WHOAMI)) == {"user_id": "@a:b"}
    assert len(sleeps) == 2


def test_request_rejects_zero_attempts():
    with pytest.raises(ValueError):
        run(Script(ok()), lambda c: c.request("GET", WHOAMI, max_attempts=0))


def test_request_sends_bearer_token():
    script = Script(ok())

    run(script, lambda c: c.request("GET", WHOAMI))

    assert script.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_request_unauthenticated_sends_no_token():
    script = Script(ok())

    run(script, lambda c: c.request("GET", WHOAMI, authenticated=False))

    assert "authorization" not in script.requests[0].headers


def test_request_without_token_raises_auth_expired():
    script = Script(ok())

    with pytest.raises(AuthExpired):
        run(script, lambda c: c.request("GET", WHOAMI), token=None)

    assert script.requests == []


def test_request_maps_soft_logout():
    script = Script(fail(401, "M_UNKNOWN_TOKEN", soft_logout=True))

    with pytest.raises(AuthExpired) as caught:
        run(script, lambda c: c.whoami())

    assert caught.value.soft_logout is True


def test_request_rejects_non_json_response():
    script = Script(httpx.Response(200, text="<html>Log in to the Wi-Fi</html>"))

    with pytest.raises(NotMatrixServer):
        run(script, lambda c: c.request("GET", WHOAMI))


def test_request_rejects_paths_to_other_hosts():
    for path in ("//evil.example/x", "https://evil.example/x", "relative"):
        script = Script(ok())
        with pytest.raises(ValueError):
            run(script, lambda c, path=path: c.request("GET", path))
        assert script.requests == []


def test_request_logs_one_line_without_secrets(sleeps, caplog):
    script = Script(fail(500), ok())
    caplog.set_level(logging.DEBUG, logger="app.matrix")

    run(
        script,
        lambda c: c.request(
            "POST",
            "/_matrix/client/v3/login",
            json={"password": "hunter2"},
            params={"access_token": "query-secret"},
        ),
    )

    lines = [r for r in caplog.records if r.name == "app.matrix.http"]
    debug = [r.getMessage() for r in lines if r.levelno == logging.DEBUG]
    warnings = [r.getMessage() for r in lines if r.levelno == logging.WARNING]
    assert len(debug) == 2
    assert debug[0].startswith("POST /_matrix/client/v3/login -> 500 in ")
    assert debug[1].startswith("POST /_matrix/client/v3/login -> 200 in ")
    assert len(warnings) == 1
    assert "retrying in" in warnings[0]
    for secret in (TOKEN, "hunter2", "query-secret", "Bearer"):
        assert secret not in caplog.text


def test_request_log_drops_query_in_path(caplog):
    script = Script(ok())
    caplog.set_level(logging.DEBUG, logger="app.matrix")

    run(script, lambda c: c.request("GET", "/x?access_token=secret-in-path"))

    assert script.requests[0].url.params["access_token"] == "secret-in-path"
    assert "GET /x -> 200 in " in caplog.text
    assert "secret-in-path" not in caplog.text


def test_request_bytes_returns_body_and_type():
    script = Script(
        httpx.Response(200, content=b"\x89PNG", headers={"content-type": "image/png"})
    )

    body, content_type = run(
        script, lambda c: c.request_bytes("GET", "/x", max_bytes=100)
    )

    assert body == b"\x89PNG"
    assert content_type == "image/png"


def test_request_bytes_rejects_declared_oversize():
    script = Script(httpx.Response(200, content=b"x" * 101))

    with pytest.raises(TooLarge):
        run(script, lambda c: c.request_bytes("GET", "/x", max_bytes=100))


def test_request_bytes_rejects_streamed_oversize():
    async def endless():
        for _ in range(1000):
            yield b"x" * 1024

    script = Script(httpx.Response(200, content=endless()))

    with pytest.raises(TooLarge):
        run(script, lambda c: c.request_bytes("GET", "/x", max_bytes=10_000))


def test_client_rejects_plain_http_to_other_hosts():
    for url in ("http://matrix.example.org", "http://10.0.0.5:8008", "http://[::2]"):
        with pytest.raises(InsecureConnection):
            MatrixClient(url)


def test_client_accepts_plain_http_to_loopback():
    for url in (
        "http://127.0.0.1:8008",
        "http://127.9.9.9",
        "http://[::1]:8008/",
        "http://localhost",
    ):
        client = MatrixClient(url, transport=Script(ok()).transport())
        asyncio.run(client.aclose())
        assert client.homeserver_url == url.rstrip("/")


def test_client_rejects_malformed_urls():
    for url in (
        "matrix.example.org",
        "ftp://example.org",
        "https://user:pw@example.org",
        "https://example.org/?q=1",
    ):
        with pytest.raises(ValueError):
            MatrixClient(url)


def test_client_rejects_redirect_to_plain_http():
    redirect = httpx.Response(302, headers={"Location": "http://evil.example/steal"})
    script = Script(redirect, ok())

    with pytest.raises(InsecureConnection):
        run(script, lambda c: c.request("GET", WHOAMI))

    assert len(script.requests) == 1


def test_client_rejects_unverified_ssl_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    with pytest.raises(ValueError):
        MatrixClient(BASE, ssl_context=context)


def test_sync_sends_filter_and_long_timeout():
    script = Script(ok({"next_batch": "s1"}))

    run(script, lambda c: c.sync(since="s0", timeout_ms=25_000, filter={"room": {}}))

    request = script.requests[0]
    assert request.url.path == "/_matrix/client/v3/sync"
    assert request.url.params["since"] == "s0"
    assert request.url.params["timeout"] == "25000"
    assert request.url.params["set_presence"] == "offline"
    assert json.loads(request.url.params["filter"]) == {"room": {}}
    assert request.extensions["timeout"]["read"] == 25 + http.SYNC_TIMEOUT_MARGIN


def test_messages_builds_query():
    script = Script(ok({"chunk": []}))

    run(
        script,
        lambda c: c.messages(
            "!room:example.org", from_token="t1", to_token="t0", limit=5
        ),
    )

    request = script.requests[0]
    assert request.url.raw_path.startswith(
        b"/_matrix/client/v3/rooms/%21room%3Aexample.org/messages?"
    )
    assert request.url.params["dir"] == "b"
    assert request.url.params["from"] == "t1"
    assert request.url.params["to"] == "t0"
    assert request.url.params["limit"] == "5"


def test_profile_paths_are_percent_encoded():
    script = Script(ok({}))

    run(script, lambda c: c.set_profile_field("@a/b:example.org", "app.x/y", "v"))

    request = script.requests[0]
    assert request.url.raw_path == (
        b"/_matrix/client/v3/profile/%40a%2Fb%3Aexample.org/app.x%2Fy"
    )
    assert json.loads(request.content) == {"app.x/y": "v"}


def test_upload_filter_returns_id():
    script = Script(ok({"filter_id": "7"}))

    assert run(script, lambda c: c.upload_filter("@a:b", {})) == "7"


def test_download_media_uses_authenticated_endpoint():
    script = Script(
        httpx.Response(200, content=b"data", headers={"content-type": "text/plain"})
    )

    body, _ = run(
        script, lambda c: c.download_media("mxc://example.org:8448/Ab_9-x", 100)
    )

    request = script.requests[0]
    assert body == b"data"
    assert request.url.raw_path == (
        b"/_matrix/client/v1/media/download/example.org%3A8448/Ab_9-x"
    )
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_download_thumbnail_sends_size():
    script = Script(
        httpx.Response(200, content=b"img", headers={"content-type": "image/png"})
    )

    run(
        script, lambda c: c.download_thumbnail("mxc://example.org/abc", 64, 32, "scale")
    )

    request = script.requests[0]
    assert request.url.path == "/_matrix/client/v1/media/thumbnail/example.org/abc"
    assert request.url.params["width"] == "64"
    assert request.url.params["height"] == "32"
    assert request.url.params["method"] == "scale"


@pytest.mark.parametrize(
    "uri",
    [
        "mxc://example.org/../../_synapse/admin",
        "mxc://example.org/a/b",
        "mxc://../abc",
        "mxc://./abc",
        "mxc://example.org/abc?x=1",
        "mxc://example.org/abc%2F",
        "mxc://example.org/",
        "mxc://exa mple.org/abc",
        "mxc://example.org/abc\n",
        "https://example.org/abc",
        "mxc:///abc",
        "",
    ],
)
def test_download_rejects_malformed_mxc(uri):
    script = Script(ok())

    with pytest.raises(ValueError):
        run(script, lambda c: c.download_media(uri, 100))

    assert script.requests == []


def test_parse_mxc_accepts_ip_literals():
    assert app.matrix.parse_mxc("mxc://[::1]:8448/abc") == ("[::1]:8448", "abc")
    assert app.matrix.parse_mxc("mxc://10.0.0.1/abc") == ("10.0.0.1", "abc")


def test_login_maps_forbidden_to_invalid_credentials():
    script = Script(fail(403, "M_FORBIDDEN"))

    with pytest.raises(errors.InvalidCredentials) as caught:
        run(
            script,
            lambda c: c.login_password("alice", "wrong", device_id="DEV"),
            token=None,
        )

    body = json.loads(script.requests[0].content)
    assert body["identifier"] == {"type": "m.id.user", "user": "alice"}
    assert body["device_id"] == "DEV"
    assert "password is incorrect" in caught.value.message
    assert "authorization" not in script.requests[0].headers


def test_login_keeps_deactivated_as_forbidden():
    script = Script(fail(403, "M_USER_DEACTIVATED"))

    with pytest.raises(Forbidden) as caught:
        run(script, lambda c: c.login_password("a", "b", device_id=None), token=None)

    assert not isinstance(caught.value, errors.InvalidCredentials)
    assert "deactivated" in caught.value.message


def test_login_result_hides_token_in_repr():
    response = {"user_id": "@a:b", "access_token": TOKEN, "device_id": "D"}
    script = Script(ok(response))

    result = run(
        script, lambda c: c.login_password("a", "b", device_id=None), token=None
    )

    assert result.access_token == TOKEN
    assert result.homeserver_url == BASE
    assert TOKEN not in repr(result)


def test_package_exports_are_complete():
    for name in app.matrix.__all__:
        assert hasattr(app.matrix, name), name
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, errors.MatrixError):
            assert name in app.matrix.__all__, name
