"""Checks for homeserver URLs and mxc:// URIs, and path segment encoding.

Everything here runs before a request is built, so that a value from a server
or a settings file can never point a request at another host or path.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

from app.logging_setup import redact_url
from app.matrix.errors import InsecureConnection, NotMatrixServer

# Server name grammar of the Matrix spec (appendix "Server Name"): an IPv4
# address, a bracketed IPv6 address or a DNS name, then an optional port.
_SERVER_NAME = r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?"
_SERVER_NAME_RE = re.compile(_SERVER_NAME + r"\Z")
# Media ids are limited to this alphabet by the spec's content repository module.
_MXC_RE = re.compile(
    r"mxc://(?P<server>" + _SERVER_NAME + r")/(?P<media>[A-Za-z0-9_-]{1,255})\Z"
)


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is ``localhost``, 127.0.0.0/8 or ::1."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(scheme: str, host: str) -> None:
    """Raise InsecureConnection unless the scheme is https, or http to loopback.

    Any other scheme raises ValueError.
    """
    if scheme == "https":
        return
    if scheme != "http":
        raise ValueError(f"Unsupported URL scheme {scheme!r}: use https://.")
    if not is_loopback(host):
        raise InsecureConnection(
            f"Commonplace does not connect to {host} over plain http://, because "
            "passwords and messages would travel unencrypted. Use the https:// "
            "address of the server."
        )


def check_base_url(url: str) -> str:
    """Validate a homeserver base URL and return it without a trailing slash.

    Raises ValueError for a malformed URL, or one with credentials, a query or
    a fragment, and InsecureConnection for http:// to a host that is not
    loopback. A path prefix (``https://example.org/matrix``) is kept.
    """
    url = url.strip()
    # The address is shown with any password in it replaced.
    shown = repr(redact_url(url))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(
            f"{shown} is not a valid server address: its port is not a valid "
            "port number."
        ) from exc
    host = parts.hostname
    if not host or parts.scheme not in ("http", "https"):
        raise ValueError(
            f"{shown} is not a valid server address: it needs https:// and a host."
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"{shown} is not a valid server address: remove the user name and password."
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f"{shown} is not a valid server address: remove the part after ? or #."
        )
    check_transport(parts.scheme, host)

    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def is_server_name(name: str) -> bool:
    """Tell whether ``name`` follows the Matrix server name grammar."""
    return bool(_SERVER_NAME_RE.match(name)) and _is_safe_host(name)


def parse_mxc(uri: str) -> tuple[str, str]:
    """Split ``mxc://server/media_id`` into (server name, media id).

    Raises ValueError for anything else, so no server-provided text that looks
    like a path (``..``, ``/``, ``%2F``, ``?``) reaches a request URL.
    """
    match = _MXC_RE.match(uri) if isinstance(uri, str) else None
    if match is None or not _is_safe_host(match["server"]):
        raise ValueError(f"Invalid mxc:// URI: {str(uri)[:100]!r}.")
    return match["server"], match["media"]


def path_segment(value: str) -> str:
    """Percent-encode one path segment (a user id, room id or key): ``/`` too."""
    return quote(value, safe="")


def _is_safe_host(server_name: str) -> bool:
    host = server_name.rsplit(":", 1)[0] if "]" not in server_name else server_name
    # The grammar allows dots anywhere; "." and ".." would be path segments.
    return not host.startswith(".") and ".." not in host


def content_uri(response: dict, failure: str) -> str:
    """Return the mxc:// URI in a media response's ``content_uri``.

    Raises NotMatrixServer with the sentence failure when it is missing or
    invalid.
    """
    uri = response.get("content_uri")
    try:
        parse_mxc(uri)
    except ValueError as exc:
        raise NotMatrixServer(failure, details=str(exc)) from exc
    return uri
