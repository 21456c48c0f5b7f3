"""Mapping of HTTP responses and transport exceptions to the error classes."""

import socket
import ssl
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpcore
import httpx
import pytest

from app.matrix import errors
from app.matrix.errors import (
    AuthExpired,
    ConnectionFailed,
    Forbidden,
    MatrixError,
    NotFound,
    RateLimited,
    RequestFailed,
    ServerNotFound,
    ServerUnavailable,
    TlsFailure,
    TooLarge,
    error_from_response,
    error_from_transport,
    retry_after_seconds,
)

HOST = "matrix.example.org"

# (status, errcode, authenticated, expected class)
RESPONSE_CASES = [
    (429, "M_LIMIT_EXCEEDED", True, RateLimited),
    (429, None, False, RateLimited),
    (401, "M_UNKNOWN_TOKEN", True, AuthExpired),
    (401, "M_MISSING_TOKEN", True, AuthExpired),
    (401, None, True, AuthExpired),
    (401, None, False, RequestFailed),
    (403, "M_FORBIDDEN", True, Forbidden),
    (403, "M_USER_DEACTIVATED", False, Forbidden),
    (401, "M_USER_LOCKED", True, Forbidden),
    (403, "M_USER_SUSPENDED", True, Forbidden),
    (403, None, True, Forbidden),
    (404, "M_NOT_FOUND", True, NotFound),
    (404, None, True, NotFound),
    (404, "M_UNRECOGNIZED", True, RequestFailed),
    (405, "M_UNRECOGNIZED", True, RequestFailed),
    (413, "M_TOO_LARGE", True, TooLarge),
    (413, None, True, TooLarge),
    (400, "M_TOO_LARGE", True, TooLarge),
    (400, "M_PROFILE_TOO_LARGE", True, TooLarge),
    (400, "M_BAD_JSON", True, RequestFailed),
    (409, None, True, RequestFailed),
    (500, "M_UNKNOWN", True, ServerUnavailable),
    (502, None, True, ServerUnavailable),
    (503, None, False, ServerUnavailable),
    (504, None, True, ServerUnavailable),
    (501, None, True, RequestFailed),
]


@pytest.mark.parametrize(
    ("status", "errcode", "authenticated", "expected"), RESPONSE_CASES
)
def test_error_from_response_table(status, errcode, authenticated, expected):
    body = {"errcode": errcode, "error": "server text"} if errcode else None

    error = error_from_response(
        status, body, {}, host=HOST, authenticated=authenticated
    )

    assert type(error) is expected
    assert error.status == status
    assert error.errcode == errcode
    assert error.message
    assert str(error) == error.message


def test_error_from_response_keeps_server_text_in_details():
    body = {"errcode": "M_FORBIDDEN", "error": "You are not invited"}

    error = error_from_response(403, body, {}, host=HOST, authenticated=True)

    assert "You are not invited" in error.details
    assert "M_FORBIDDEN" in error.details
    assert HOST in error.message


def test_error_from_response_reads_soft_logout():
    body = {"errcode": "M_UNKNOWN_TOKEN", "error": "expired", "soft_logout": True}

    error = error_from_response(401, body, {}, host=HOST, authenticated=True)

    assert isinstance(error, AuthExpired)
    assert error.soft_logout is True


def test_error_from_response_ignores_malformed_body():
    for body in (None, [], "text", {"errcode": 5, "error": ["x"]}):
        error = error_from_response(404, body, {}, host=HOST, authenticated=True)
        assert isinstance(error, NotFound)
        assert error.errcode is None


def test_retry_after_prefers_header_over_body():
    body = {"retry_after_ms": 9000}

    assert retry_after_seconds(body, {"retry-after": "3"}) == 3.0
    assert retry_after_seconds(body, {}) == 9.0
    assert retry_after_seconds({}, {}) is None


def test_retry_after_reads_http_date():
    moment = datetime.now(UTC) + timedelta(seconds=120)

    seconds = retry_after_seconds(
        {}, {"retry-after": format_datetime(moment, usegmt=True)}
    )

    assert 100 < seconds <= 120


def test_retry_after_is_clamped():
    assert retry_after_seconds({"retry_after_ms": 10**15}, {}) == errors.MAX_RETRY_AFTER
    assert retry_after_seconds({"retry_after_ms": -5}, {}) == 0.0
    assert retry_after_seconds({"retry_after_ms": True}, {}) is None
    assert retry_after_seconds({}, {"retry-after": "soon"}) is None


def test_rate_limited_carries_retry_after():
    body = {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500}

    error = error_from_response(429, body, {}, host=HOST, authenticated=True)

    assert error.retry_after == 1.5


def test_hierarchy_groups_connection_errors():
    assert issubclass(ServerUnavailable, ConnectionFailed)
    assert issubclass(ServerNotFound, ConnectionFailed)
    assert issubclass(Forbidden, RequestFailed)
    assert issubclass(NotFound, RequestFailed)
    assert not issubclass(TlsFailure, ConnectionFailed)
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, MatrixError)
            # The module docstring draws every class in its tree.
            assert value.__name__ in errors.__doc__


def _wrapped(cause: BaseException) -> httpx.ConnectError:
    """Build the chain httpx raises: httpx error <- httpcore error <- cause."""
    try:
        try:
            raise cause
        except BaseException as exc:
            raise httpcore.ConnectError(str(exc)) from exc
    except httpcore.ConnectError as exc:
        try:
            raise httpx.ConnectError(str(exc)) from exc
        except httpx.ConnectError as outer:
            return outer


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"certificate verify failed: {message}")
    error.verify_code = code
    error.verify_message = message
    return error


def test_transport_dns_failure_is_connection_failed():
    exc = _wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    error = error_from_transport(exc, host=HOST)

    assert type(error) is ConnectionFailed
    assert "could not be looked up" in error.message


def test_transport_refused_is_connection_failed():
    error = error_from_transport(
        _wrapped(ConnectionRefusedError(111, "refused")), host=HOST
    )

    assert type(error) is ConnectionFailed
    assert "refused" in error.message


def test_transport_timeout_is_connection_failed():
    error = error_from_transport(httpx.ReadTimeout("timed out"), host=HOST)

    assert type(error) is ConnectionFailed
    assert "timed out" in error.message


def test_transport_handshake_timeout_is_not_tls_failure():
    # A TLS handshake cut by a timeout leaves SSLWantReadError in the chain.
    try:
        try:
            raise ssl.SSLWantReadError(2, "The operation did not complete")
        except ssl.SSLWantReadError as exc:
            raise TimeoutError() from exc
    except TimeoutError as exc:
        timeout = httpx.ConnectTimeout("")
        timeout.__cause__ = exc

    assert type(error_from_transport(timeout, host=HOST)) is ConnectionFailed


def test_transport_untrusted_certificate_is_tls_failure():
    exc = _wrapped(_verify_error(20, "unable to get local issuer certificate"))

    error = error_from_transport(exc, host=HOST)

    assert type(error) is TlsFailure
    assert "not trusted" in error.message
    assert "unable to get local issuer certificate" in error.details


def test_transport_hostname_mismatch_is_tls_failure():
    exc = _wrapped(_verify_error(62, "Hostname mismatch"))

    error = error_from_transport(exc, host=HOST)

    assert type(error) is TlsFailure
    assert "different host name" in error.message


def test_transport_expired_certificate_is_tls_failure():
    error = error_from_transport(_wrapped(_verify_error(10, "expired")), host=HOST)

    assert "expired" in error.message


def test_transport_cut_connection_is_connection_failed():
    exc = httpx.RemoteProtocolError("Server disconnected without sending a response.")

    error = error_from_transport(exc, host=HOST)

    assert type(error) is ConnectionFailed
