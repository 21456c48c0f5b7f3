"""Errors of the network layer, and their mapping from HTTP and Matrix error codes.

    MatrixError                  base: .message for the user, .errcode, .status
    ├── ConnectionFailed         no response: refused, unreachable, timed out, cut
    │   ├── ServerUnavailable    the server responded 5xx, even after retries
    │   ├── ServerNotFound       discovery found no server behind the name
    │   └── ProxyFailure         the proxy refused, wants a password, or failed
    ├── TlsFailure               certificate not trusted, expired or for another host
    ├── InsecureConnection       plain http:// to a host that is not loopback
    ├── NotMatrixServer          the server responded, but not as a Matrix homeserver
    ├── InvalidCredentials       login refused the user name or password
    ├── AuthExpired              the access token was revoked or has expired
    ├── RateLimited              too many requests: .retry_after seconds
    ├── TooLarge                 413 or M_TOO_LARGE, or a download over its limit
    └── RequestFailed            any other refusal (4xx)
        ├── Forbidden            403: not allowed
        └── NotFound             404: no such room, user, event or media

Only this module turns status codes and errcodes into these classes, so callers
switch on types. ``message`` is one or two plain sentences: what failed and what
to do. ``details`` carries the technical part for an error dialog's "copy
details" area and for logs; neither ever contains an access token.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

# Longest wait in seconds that a server's Retry-After can impose. A longer
# request is cut to this, so that a broken server cannot stall a request for hours.
MAX_RETRY_AFTER = 300.0

# OpenSSL verify codes that get their own wording (see `man openssl-verify`).
_X509_V_ERR_CERT_HAS_EXPIRED = 10
_X509_V_ERR_HOSTNAME_MISMATCH = 62
_X509_V_ERR_IP_ADDRESS_MISMATCH = 64


class MatrixError(Exception):
    """Base of the network layer's errors."""

    def __init__(
        self,
        message: str,
        *,
        errcode: str | None = None,
        status: int | None = None,
        details: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.errcode = errcode
        self.status = status
        self.details = details

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, "
            f"errcode={self.errcode!r}, message={self.message!r})"
        )


class ConnectionFailed(MatrixError):
    """No response arrived: refused, unreachable, timed out or cut off."""


class ServerUnavailable(ConnectionFailed):
    """The server responded with a 5xx status."""


class ServerNotFound(ConnectionFailed):
    """Discovery found no server: the name does not resolve or nothing listens."""


class ProxyFailure(ConnectionFailed):
    """The proxy refused the connection, required authentication, or could not
    reach the server; ``proxy`` is its host and port."""

    def __init__(self, message: str, *, proxy: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.proxy = proxy


class TlsFailure(MatrixError):
    """The TLS handshake failed, usually because the certificate is not trusted."""


class InsecureConnection(MatrixError):
    """Plain http:// was requested for a host that is not a loopback address."""


class NotMatrixServer(MatrixError):
    """The server responded, but not with the Matrix client-server API."""


class InvalidCredentials(MatrixError):
    """Login was refused: wrong user name or password."""


class AuthExpired(MatrixError):
    """The access token is no longer valid; ``soft_logout`` is the server's hint.

    With ``soft_logout`` true the device and its data still exist on the server,
    so signing in again with the same device id keeps them.
    """

    def __init__(self, message: str, *, soft_logout: bool = False, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.soft_logout = soft_logout


class RateLimited(MatrixError):
    """The server asked to slow down; ``retry_after`` is in seconds, or None."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TooLarge(MatrixError):
    """The request or the response is over a size limit."""


class RequestFailed(MatrixError):
    """The server rejected the request for a reason not covered above."""


class Forbidden(RequestFailed):
    """The server rejected the request because the user lacks the right."""


class NotFound(RequestFailed):
    """The room, user, event or media does not exist, or is not visible."""


def error_from_response(
    status: int,
    body: Any,
    headers: Mapping[str, str],
    *,
    host: str,
    authenticated: bool,
    proxy: str | None = None,
) -> MatrixError:
    """Map an HTTP error response to the matching MatrixError.

    ``body`` is the decoded JSON body, or None when the body was not JSON.
    ``authenticated`` is true when the request carried an access token, in
    which case a bare 401 means an expired session. ``proxy`` names the
    proxy that the request went through, if any.
    """
    if not isinstance(body, dict):
        body = {}
    errcode = body.get("errcode") if isinstance(body.get("errcode"), str) else None
    server_text = body.get("error") if isinstance(body.get("error"), str) else None
    details = _details(status, errcode, server_text)
    common = {"errcode": errcode, "status": status, "details": details}

    if status == 407:
        # Only a proxy sends 407. Without a configured one it comes from a
        # transparent proxy on the way, which has no name to show.
        return _proxy_auth_required(proxy, host, common)
    if status == 429 or errcode == "M_LIMIT_EXCEEDED":
        retry_after = retry_after_seconds(body, headers)
        return RateLimited(
            f"{host} received too many requests from this account. Wait a "
            "minute and try again.",
            retry_after=retry_after,
            **common,
        )
    if errcode in ("M_USER_LOCKED", "M_USER_SUSPENDED"):
        return Forbidden(
            f"This account on {host} has been locked or suspended by an "
            "administrator. Ask your administrator to restore it.",
            **common,
        )
    if errcode in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN") or (
        status == 401 and authenticated
    ):
        return AuthExpired(
            f"Your session on {host} has ended. Sign in again to continue.",
            soft_logout=body.get("soft_logout") is True,
            **common,
        )
    if status == 413 or errcode in ("M_TOO_LARGE", "M_PROFILE_TOO_LARGE"):
        return TooLarge(
            f"{host} rejected the request because it is too large. Make it "
            "smaller and try again.",
            **common,
        )
    if errcode == "M_USER_DEACTIVATED":
        return Forbidden(
            f"This account on {host} has been deactivated. Ask your "
            "administrator if you need it back.",
            **common,
        )
    if status == 403 or errcode == "M_FORBIDDEN":
        return Forbidden(
            f"{host} did not allow this request. Ask a room or server "
            "administrator if you need access.",
            **common,
        )
    if status == 404 and errcode != "M_UNRECOGNIZED":
        return NotFound(
            f"{host} has no such item, or it is not visible to you.", **common
        )
    if errcode == "M_UNRECOGNIZED" or status in (405, 501):
        return RequestFailed(
            f"{host} does not support this request. It may run an older "
            "Matrix server; ask your administrator to update it.",
            **common,
        )
    if status >= 500:
        return ServerUnavailable(
            f"{host} has a problem (HTTP {status}). Try again later, and tell "
            "your administrator if it lasts.",
            **common,
        )
    return RequestFailed(
        f"{host} rejected the request (HTTP {status}"
        + (f", {errcode}" if errcode else "")
        + "). Copy the details and tell your administrator if it keeps "
        "happening.",
        **common,
    )


def error_from_transport(
    exc: Exception, *, host: str, proxy: str | None = None
) -> MatrixError:
    """Map an httpx transport exception (no HTTP response at all) to a MatrixError.

    The cause chain is searched because httpx wraps httpcore's exception,
    which wraps the OSError or ssl.SSLError that names the real reason.
    ``proxy`` names the proxy the request went through, if any: a refused or
    unresolvable connection is then the proxy's, not the server's.
    """
    details = f"{type(exc).__name__}: {exc}"
    causes = list(_cause_chain(exc))
    if proxy is not None:
        proxy_error = _proxy_error(causes, host=host, proxy=proxy, details=details)
        if proxy_error is not None:
            return proxy_error
    certificate_error = _first(causes, ssl.SSLCertVerificationError)
    if certificate_error is not None:
        reason = certificate_error.verify_message or str(certificate_error)
        return TlsFailure(
            _certificate_message(certificate_error, host),
            details=f"{details} ({reason})",
        )
    # Checked before other SSL errors: a handshake that times out leaves an
    # SSLWantReadError in the chain, which is not a TLS failure.
    if _is_timeout(causes):
        return ConnectionFailed(
            f"The request to {host} timed out. Check your network connection and "
            "try again.",
            details=details,
        )
    ssl_error = _first(causes, ssl.SSLError)
    if ssl_error is not None and not isinstance(
        ssl_error, (ssl.SSLWantReadError, ssl.SSLWantWriteError)
    ):
        return TlsFailure(
            f"A secure (TLS) connection to {host} could not be set up. Check that "
            "the address is right, and that it starts with https:// only if the "
            "server uses TLS.",
            details=f"{details} ({ssl_error})",
        )
    if _first(causes, socket.gaierror) is not None:
        return ConnectionFailed(
            f"The name {host} could not be looked up. Check the address and your "
            "network connection.",
            details=details,
        )
    if _first(causes, ConnectionRefusedError) is not None:
        return ConnectionFailed(
            f"{host} refused the connection. The server may be down: try again later.",
            details=details,
        )
    return ConnectionFailed(
        f"The connection to {host} failed. Check your network connection and "
        "try again.",
        details=details,
    )


def _proxy_error(
    causes: list[BaseException], *, host: str, proxy: str, details: str
) -> ProxyFailure | None:
    """Return the error of a request that failed at the proxy, else None."""
    import httpx

    rejected = _first(causes, httpx.ProxyError)
    if rejected is not None:
        # httpcore words a refused CONNECT as "<status> <reason phrase>".
        status_text = str(rejected).split(" ", 1)[0]
        status = int(status_text) if status_text.isdigit() else None
        common = {"status": status, "details": details}
        if status == 407:
            return _proxy_auth_required(proxy, host, common)
        return ProxyFailure(
            f"The proxy {proxy} could not connect to {host} ({rejected}). Check "
            "the server address; if it is right, tell your IT department.",
            proxy=proxy,
            **common,
        )
    # A TLS or timeout error in the chain belongs to the connection to the
    # server, which runs through the proxy's tunnel, so only these two causes
    # are the proxy's own.
    if _first(causes, ssl.SSLError) is not None or _is_timeout(causes):
        return None
    if _first(causes, ConnectionRefusedError) is not None:
        return ProxyFailure(
            f"The proxy {proxy} refused the connection, so {host} could not be "
            "reached. Check the proxy setting, or tell your IT department.",
            proxy=proxy,
            details=details,
        )
    if _first(causes, socket.gaierror) is not None:
        return ProxyFailure(
            f"The name of the proxy {proxy} could not be looked up, so {host} "
            "could not be reached. Check the proxy setting and your network "
            "connection.",
            proxy=proxy,
            details=details,
        )
    return None


def _proxy_auth_required(
    proxy: str | None, host: str, common: dict[str, Any]
) -> ProxyFailure:
    name = f"The proxy {proxy}" if proxy else "A proxy on the network"
    return ProxyFailure(
        f"{name} requires a user name and password (HTTP 407), so {host} could "
        "not be reached. Ask your IT department for the proxy settings.",
        proxy=proxy or "",
        **common,
    )


def retry_after_seconds(
    body: Mapping[str, Any], headers: Mapping[str, str]
) -> float | None:
    """Return the wait in seconds that a 429 response requests, or None.

    The Retry-After header (seconds or an HTTP date) wins over the older
    ``retry_after_ms`` body field, as the Matrix spec prefers since v1.10.
    The result is clamped to 0..MAX_RETRY_AFTER.
    """
    seconds = _parse_retry_after_header(headers.get("retry-after"))
    if seconds is None:
        milliseconds = body.get("retry_after_ms")
        if isinstance(milliseconds, (int, float)) and not isinstance(
            milliseconds, bool
        ):
            seconds = milliseconds / 1000
    if seconds is None:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _parse_retry_after_header(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


def _certificate_message(error: ssl.SSLCertVerificationError, host: str) -> str:
    if error.verify_code in (
        _X509_V_ERR_HOSTNAME_MISMATCH,
        _X509_V_ERR_IP_ADDRESS_MISMATCH,
    ):
        return (
            f"The certificate of {host} was issued for a different host name, so "
            "the connection was stopped. Check the server address, or tell your "
            "IT department."
        )
    if error.verify_code == _X509_V_ERR_CERT_HAS_EXPIRED:
        return (
            f"The certificate of {host} has expired, so the connection was "
            "stopped. Tell the server's administrator."
        )
    return (
        f"The certificate of {host} is not trusted by this computer, so the "
        "connection was stopped. If your organisation uses its own certificate "
        "authority, ask IT to add it to the system's trusted certificates."
    )


def _details(status: int, errcode: str | None, server_text: str | None) -> str:
    parts = [f"HTTP {status}"]
    if errcode:
        parts.append(errcode)
    if server_text:
        # One line, so that a server cannot forge extra lines in the log.
        parts.append(" ".join(server_text.split())[:500])
    return ": ".join(parts)


def _cause_chain(exc: BaseException):
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first(causes: list[BaseException], kind: type[BaseException]):
    for cause in causes:
        if isinstance(cause, kind):
            return cause
    return None


def _is_timeout(causes: list[BaseException]) -> bool:
    # httpx is imported here, not at the top, so that the UI can import these
    # classes without paying for httpx at start-up.
    import httpx

    return any(isinstance(c, (httpx.TimeoutException, TimeoutError)) for c in causes)
