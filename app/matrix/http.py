"""HTTP core of the Matrix client: TLS, timeouts, size limits and retries.

``HttpClient.request`` and its streaming variants (``upload_stream``,
``download_to_file``) are the only place in Commonplace that retries a
request. It retries connection failures, timeouts, and 5xx and 429 responses
with exponential back-off and full jitter, and honours the server's
Retry-After or ``retry_after_ms``. Every other error is raised at once, mapped
to a class of ``app.matrix.errors``.

Retrying is safe for reads and for requests that the server deduplicates (a
send with a transaction id, a login with a device id). A caller whose request
is not idempotent (``createRoom`` without an alias) passes ``max_attempts=1``.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import random
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
import truststore

from app import __version__
from app.matrix.errors import (
    AuthExpired,
    ConnectionFailed,
    MatrixError,
    NotMatrixServer,
    RateLimited,
    RequestFailed,
    TooLarge,
    error_from_response,
    error_from_transport,
)
from app.matrix.urls import check_base_url, check_transport

log = logging.getLogger(__name__)

RetryCallback = Callable[[MatrixError, float], None]
# Called with (bytes transferred so far, total bytes or None) as a streamed
# body moves; a retry starts again from 0.
ProgressCallback = Callable[[int, int | None], None]

BACKOFF_BASE = 0.5  # seconds before the first retry, at most
BACKOFF_CAP = 30.0  # seconds between retries, at most
# httpx applies these per socket operation: the longest silence allowed while
# connecting, reading or writing, not a limit on the whole request.
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
SYNC_TIMEOUT_MARGIN = 30.0  # seconds added to a long poll's own timeout

# Upper bounds on what is read into memory, so that a hostile server cannot
# exhaust it. Error bodies are only read for their errcode.
# NOTE: MAX_JSON_BYTES is a generous guess, not a measured initial sync size.
MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024

# Patched by tests so that back-off is checked without waiting.
_sleep = asyncio.sleep


@dataclass(frozen=True)
class NetworkOptions:
    """Network settings of requests, usually from the system-wide policy.

    ``proxy`` is a proxy URL (``http://host:port``, optionally with
    ``user:password@``) used for every request; None means the system's proxy
    settings, which httpx reads with ``urllib.request.getproxies()``.
    ``ca_bundle`` is a PEM file of certificate authorities trusted in
    addition to the operating system's trust store.
    """

    proxy: str | None = None
    ca_bundle: Path | None = None


DEFAULT_NETWORK = NetworkOptions()


def create_ssl_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """Return a TLS context that verifies against the operating system's trust store.

    On Linux, truststore loads OpenSSL's default paths, so the ``SSL_CERT_FILE``
    and ``SSL_CERT_DIR`` environment variables are honoured. The certificates
    in ``ca_bundle`` are trusted as well: truststore 0.10 checks them after
    the system store on Windows and macOS, and OpenSSL adds them to its store
    on Linux. A bundle that cannot be loaded is logged and left out, so that
    servers it would vouch for fail with a certificate error that names them.
    """
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as error:
            log.error("Certificate bundle %s not loaded: %s", ca_bundle, error)
    return context


def proxy_for(url: str, network: NetworkOptions = DEFAULT_NETWORK) -> str | None:
    """Return the proxy that requests to url go through, without credentials.

    The result names the proxy in error messages and logs only; httpx makes
    its own choice from the same settings.
    """
    # NOTE: proxy_bypass follows urllib's reading of NO_PROXY, which can
    # differ from httpx's in rare patterns (CIDR ranges), so the name may be
    # wrong for such hosts. Requests are unaffected.
    if network.proxy:
        return _without_userinfo(network.proxy)
    target = httpx.URL(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(target.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(target.host):
        return None
    return _without_userinfo(proxy if "://" in proxy else f"http://{proxy}")


def _without_userinfo(proxy: str) -> str:
    try:
        parsed = httpx.URL(proxy)
    except httpx.InvalidURL:
        return "the configured proxy"
    return parsed.copy_with(username=None, password=None).netloc.decode("ascii")


class HttpClient:
    """Requests to one homeserver, with retries; use ``async with`` or ``aclose``.

    ``MatrixClient`` adds the typed Matrix endpoints on top.
    """

    def __init__(
        self,
        homeserver_url: str,
        access_token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        network: NetworkOptions | None = None,
    ):
        self.homeserver_url = check_base_url(homeserver_url)
        self.access_token = access_token
        self.host = httpx.URL(self.homeserver_url).netloc.decode("ascii")
        network = network or DEFAULT_NETWORK
        self.network = network
        # Only the name of the proxy, for messages: never its credentials.
        self.proxy = proxy_for(self.homeserver_url, network)
        if ssl_context is None:
            ssl_context = create_ssl_context(network.ca_bundle)
        elif (
            ssl_context.verify_mode != ssl.CERT_REQUIRED
            or not ssl_context.check_hostname
        ):
            raise ValueError("The TLS context must verify certificates and host names.")

        self._http = httpx.AsyncClient(
            base_url=self.homeserver_url,
            verify=ssl_context,
            # With trust_env, httpx takes the proxy from the environment
            # variables, and from the registry (Windows) or System
            # Configuration (macOS) through urllib.request.getproxies().
            proxy=network.proxy or None,
            trust_env=True,
            transport=transport,
            timeout=httpx.Timeout(DEFAULT_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": f"Commonplace/{__version__}"},
            event_hooks={"request": [_check_request_url]},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.homeserver_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
        authenticated: bool = True,
    ) -> dict:
        """Send a request and return its JSON object, retrying transient failures.

        ``max_attempts=None`` retries for ever, calling ``on_retry(error,
        delay_seconds)`` before each wait. ``timeout`` is in seconds and
        replaces the read and write timeouts. Raises a MatrixError subclass.
        """
        body, _ = await self._with_retries(
            method,
            path,
            max_attempts=max_attempts,
            on_retry=on_retry,
            send=lambda: self._send_once(
                method,
                path,
                json=json,
                params=params,
                content=content,
                headers=headers,
                timeout=timeout,
                max_bytes=MAX_JSON_BYTES,
                authenticated=authenticated,
            ),
        )
        return self._decode_json_object(body)

    async def upload_stream(
        self,
        method: str,
        path: str,
        *,
        open_body: Callable[[], AsyncIterator[bytes]],
        content_length: int,
        content_type: str,
        params: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
    ) -> dict:
        """Send a body streamed from ``open_body()`` and return the JSON response.

        ``open_body`` is called once per attempt and must yield exactly
        ``content_length`` bytes, so a retry sends the whole body again and
        only one chunk is in memory at a time. Retries as ``request`` does;
        an exception raised by the body's iterator ends the request at once.
        """
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(content_length),
        }

        def send():
            body = _counted(open_body(), content_length, on_progress)
            return self._send_once(
                method,
                path,
                json=None,
                params=params,
                content=body,
                headers=headers,
                timeout=timeout,
                max_bytes=MAX_JSON_BYTES,
                authenticated=True,
            )

        body, _ = await self._with_retries(
            method, path, max_attempts=max_attempts, on_retry=on_retry, send=send
        )
        return self._decode_json_object(body)

    async def download_to_file(
        self,
        path: str,
        destination: Path,
        *,
        max_bytes: int,
        params: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
    ) -> tuple[int, str]:
        """GET path and write the body to destination; return (size, content type).

        Each attempt truncates destination and writes the body chunk by
        chunk, so memory use does not grow with the file. Raises TooLarge as
        soon as the declared or received size passes ``max_bytes``; the
        partial file is then left for the caller to delete.
        """

        async def write_body(response: httpx.Response) -> tuple[int, str]:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(self.host, max_bytes, f"Content-Length {declared}")
            total = int(declared) if declared.isdigit() else None
            size = 0
            if on_progress is not None:
                on_progress(0, total)
            # NOTE: chunks are written on the event loop's thread; each write
            # of at most one network chunk goes to the page cache at once.
            file = await asyncio.to_thread(open, destination, "wb")
            try:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(
                            self.host, max_bytes, f"more than {max_bytes} bytes"
                        )
                    file.write(chunk)
                    if on_progress is not None:
                        on_progress(size, total)
            finally:
                file.close()
            return size, response.headers.get("content-type", "")

        return await self.request_streamed(
            "GET",
            path,
            read_response=write_body,
            params=params,
            timeout=timeout,
            max_attempts=max_attempts,
            on_retry=on_retry,
        )

    async def request_streamed(
        self,
        method: str,
        path: str,
        *,
        read_response: Callable[[httpx.Response], Awaitable[Any]],
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
    ) -> Any:
        """Send a request and return ``await read_response(response)`` for a 2xx.

        read_response reads as much of the streamed body as it needs; the
        response is closed after it returns. Errors and retries are those of
        ``request``, and each attempt calls read_response again.
        """

        def send():
            return self._send_once(
                method,
                path,
                json=None,
                params=params,
                content=None,
                headers=headers,
                timeout=timeout,
                max_bytes=0,
                authenticated=True,
                read_success=read_response,
            )

        return await self._with_retries(
            method, path, max_attempts=max_attempts, on_retry=on_retry, send=send
        )

    async def request_bytes(
        self,
        method: str,
        path: str,
        *,
        max_bytes: int,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
        authenticated: bool = True,
    ) -> tuple[bytes, str]:
        """Send a request and return (body, content type), with ``request``'s retries.

        Raises TooLarge as soon as the body grows past ``max_bytes``.
        """
        return await self._with_retries(
            method,
            path,
            max_attempts=max_attempts,
            on_retry=on_retry,
            send=lambda: self._send_once(
                method,
                path,
                json=None,
                params=params,
                content=None,
                headers=headers,
                timeout=timeout,
                max_bytes=max_bytes,
                authenticated=authenticated,
            ),
        )

    async def _with_retries(self, method, path, *, max_attempts, on_retry, send):
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1, or None.")
        attempt = 0
        while True:
            attempt += 1
            try:
                return await send()
            except (ConnectionFailed, RateLimited) as error:
                if max_attempts is not None and attempt >= max_attempts:
                    raise
                delay = retry_delay(error, attempt)
                log.warning(
                    "%s %s failed (attempt %d of %s): %s %s; retrying in %.1f s",
                    method,
                    _path_for_log(path),
                    attempt,
                    max_attempts or "unlimited",
                    type(error).__name__,
                    error.details or error.message,
                    delay,
                )
                if on_retry is not None:
                    on_retry(error, delay)
                await _sleep(delay)

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: dict[str, Any] | None,
        content: bytes | AsyncIterator[bytes] | None,
        headers: dict[str, str] | None,
        timeout: float | None,
        max_bytes: int,
        authenticated: bool,
        read_success: Callable[[httpx.Response], Awaitable[Any]] | None = None,
    ) -> Any:
        """Send one request; return (body, content type), or read_success's result."""
        request = self._build_request(
            method, path, json, params, content, headers, timeout, authenticated
        )
        started = time.monotonic()
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TooManyRedirects as exc:
            _log_request(method, path, "too many redirects", started)
            raise RequestFailed(
                f"{self.host} redirected the request too many times. Tell your "
                "administrator.",
                details=str(exc),
            ) from exc
        except httpx.RequestError as exc:
            _log_request(method, path, type(exc).__name__, started)
            raise error_from_transport(exc, host=self.host, proxy=self.proxy) from exc

        try:
            if response.is_success:
                if read_success is not None:
                    return await read_success(response)
                body = await _read_limited(response, max_bytes, host=self.host)
                return body, response.headers.get("content-type", "")
            body = await _read_limited(
                response, MAX_ERROR_BODY_BYTES, host=self.host, truncate=True
            )
            raise error_from_response(
                response.status_code,
                _try_json(body),
                response.headers,
                host=self.host,
                authenticated="authorization" in request.headers,
                proxy=self.proxy,
            )
        except httpx.RequestError as exc:
            raise error_from_transport(exc, host=self.host, proxy=self.proxy) from exc
        finally:
            await response.aclose()
            _log_request(method, path, response.status_code, started)

    def _build_request(
        self, method, path, json, params, content, headers, timeout, authenticated
    ) -> httpx.Request:
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"Request path must start with a single '/': {path!r}")
        headers = dict(headers or {})
        if authenticated:
            if not self.access_token:
                raise AuthExpired(
                    f"You are not signed in on {self.host}. Sign in to continue."
                )
            headers["Authorization"] = f"Bearer {self.access_token}"
        extensions = {}
        if timeout is not None:
            extensions["timeout"] = httpx.Timeout(
                timeout, connect=CONNECT_TIMEOUT
            ).as_dict()
        return self._http.build_request(
            method,
            path,
            json=json,
            params=params,
            content=content,
            headers=headers,
            extensions=extensions,
        )

    def _decode_json_object(self, body: bytes) -> dict:
        decoded = _try_json(body)
        if not isinstance(decoded, dict):
            raise NotMatrixServer(
                f"{self.host} did not respond like a Matrix server. Check the server "
                "address; a network login page can also cause this.",
                details=f"Expected a JSON object, got {body[:200]!r}",
            )
        return decoded


def retry_delay(error: MatrixError, attempt: int) -> float:
    """Return the wait in seconds before retry number ``attempt`` (1 is the first).

    A server's Retry-After wins; otherwise the wait is drawn uniformly from
    0 to BACKOFF_BASE * 2**(attempt - 1), capped at BACKOFF_CAP ("full jitter").
    """
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return error.retry_after
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt - 1, 30))
    return random.uniform(0, ceiling)


async def _check_request_url(request: httpx.Request) -> None:
    # Runs for every request, redirects included, so that a redirect cannot
    # downgrade a session to plain http:// on the network.
    check_transport(request.url.scheme, request.url.host)


async def _read_limited(
    response: httpx.Response, max_bytes: int, *, host: str, truncate: bool = False
) -> bytes:
    declared = response.headers.get("content-length", "")
    if not truncate and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(host, max_bytes, f"Content-Length {declared}")
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            if truncate:
                chunks.append(chunk[: max_bytes - (size - len(chunk))])
                break
            raise _too_large(host, max_bytes, f"more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _counted(
    chunks: AsyncIterator[bytes],
    total: int,
    on_progress: ProgressCallback | None,
) -> AsyncIterator[bytes]:
    sent = 0
    if on_progress is not None:
        on_progress(0, total)
    async for chunk in chunks:
        sent += len(chunk)
        yield chunk
        if on_progress is not None:
            on_progress(sent, total)


def _too_large(host: str, max_bytes: int, details: str) -> TooLarge:
    megabytes = max_bytes / (1024 * 1024)
    return TooLarge(
        f"The answer from {host} is larger than the {megabytes:.1f} MB allowed, so "
        "it was not downloaded.",
        details=details,
    )


def _try_json(body: bytes) -> Any:
    try:
        return jsonlib.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the interpreter's stack allows.
        return None


def _log_request(method: str, path: str, status: int | str, started: float) -> None:
    elapsed_ms = (time.monotonic() - started) * 1000
    log.debug("%s %s -> %s in %.0f ms", method, _path_for_log(path), status, elapsed_ms)


def _path_for_log(path: str) -> str:
    # The path only, because query strings may carry tokens (login tokens).
    return path.split("?", 1)[0]
