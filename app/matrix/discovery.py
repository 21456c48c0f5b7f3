"""Finding a homeserver from what the user typed, and detecting what it supports.

``discover_homeserver`` follows the Matrix spec's server discovery: a bare
server name is looked up at ``https://NAME/.well-known/matrix/client``, and
the base URL found is confirmed with ``GET /_matrix/client/versions``.
``detect_features`` reads ``/versions`` and ``/capabilities`` so that features
are detected from what the server announces, not guessed from its version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.logging_setup import redact_url
from app.matrix.client import MatrixClient
from app.matrix.errors import (
    ConnectionFailed,
    MatrixError,
    NotFound,
    NotMatrixServer,
    ProxyFailure,
    RequestFailed,
    ServerNotFound,
    ServerUnavailable,
)
from app.matrix.http import NetworkOptions
from app.matrix.urls import check_base_url, is_loopback, is_server_name

log = logging.getLogger(__name__)

# Discovery runs while the user waits on the sign-in form: one retry only.
_DISCOVERY_ATTEMPTS = 2
_DISCOVERY_TIMEOUT = 15.0


async def discover_homeserver(
    server: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    network: NetworkOptions | None = None,
) -> str:
    """Return the client-server API base URL for a server name or URL.

    ``server`` is a full URL (``https://matrix.example.org``,
    ``http://127.0.0.1:8008``) or a bare server name (``example.org``,
    ``example.org:8448``, ``localhost:8008``). A bare loopback name is reached
    over http://, any other over https://. Raises ServerNotFound,
    NotMatrixServer, InsecureConnection, TlsFailure, ProxyFailure or
    ServerUnavailable. ``network`` sets the proxy and extra CAs.
    """
    connection = {"transport": transport, "network": network}
    server = server.strip()
    if not server:
        raise ServerNotFound("Enter the address of your organisation's server.")

    if "://" in server:
        base_url = _checked_url(server, typed=server)
        try:
            return await _confirm(base_url, typed=server, **connection)
        except NotMatrixServer:
            # "https://example.org" is often typed for a server whose API lives
            # elsewhere, and its well-known file can name that place.
            if urlsplit(base_url).path:
                raise
            delegated = await _well_known(base_url, typed=server, **connection)
            if delegated is None or delegated == base_url:
                raise
            return await _confirm(delegated, typed=server, **connection)

    server = server.rstrip("/")
    if not is_server_name(server):
        raise ServerNotFound(
            f"{server!r} is not a valid server address. Enter a name such as "
            "example.org, or a URL such as https://matrix.example.org."
        )
    host = urlsplit(f"//{server}").hostname or server
    origin = f"{'http' if is_loopback(host) else 'https'}://{server}"
    base_url = await _well_known(origin, typed=server, **connection) or origin
    return await _confirm(base_url, typed=server, **connection)


async def _well_known(
    origin: str,
    *,
    typed: str,
    transport: httpx.AsyncBaseTransport | None,
    network: NetworkOptions | None,
) -> str | None:
    """Return the base URL that ``origin``'s well-known file names, or None.

    None means "use the origin itself": the file is missing, unreadable or
    incomplete. An unreachable origin raises ServerNotFound.
    """
    try:
        async with MatrixClient(origin, transport=transport, network=network) as client:
            response = await client.request(
                "GET",
                "/.well-known/matrix/client",
                authenticated=False,
                max_attempts=_DISCOVERY_ATTEMPTS,
                timeout=_DISCOVERY_TIMEOUT,
            )
    except (NotFound, NotMatrixServer, RequestFailed, ServerUnavailable) as error:
        log.info("No usable well-known file at %s: %s", origin, error.details)
        return None
    except ProxyFailure:
        raise
    except ConnectionFailed as error:
        raise _not_found(typed, error) from error

    homeserver = response.get("m.homeserver")
    base_url = homeserver.get("base_url") if isinstance(homeserver, dict) else None
    if not isinstance(base_url, str) or not base_url:
        log.info("The well-known file at %s names no homeserver", origin)
        return None
    return _checked_url(base_url, typed=typed)


async def _confirm(
    base_url: str,
    *,
    typed: str,
    transport: httpx.AsyncBaseTransport | None,
    network: NetworkOptions | None,
) -> str:
    """Return ``base_url`` once ``/versions`` shows a Matrix homeserver there."""
    try:
        async with MatrixClient(
            base_url, transport=transport, network=network
        ) as client:
            response = await client.request(
                "GET",
                "/_matrix/client/versions",
                authenticated=False,
                max_attempts=_DISCOVERY_ATTEMPTS,
                timeout=_DISCOVERY_TIMEOUT,
            )
    except (NotFound, RequestFailed, NotMatrixServer) as error:
        raise _not_matrix(typed, base_url, error) from error
    except (ServerUnavailable, ProxyFailure):
        raise
    except ConnectionFailed as error:
        raise _not_found(typed, error) from error

    versions = response.get("versions")
    if not isinstance(versions, list) or not versions:
        raise _not_matrix(typed, base_url, None)
    log.info("Found a Matrix homeserver for %s at %s", typed, base_url)
    return base_url


def _checked_url(url: str, *, typed: str) -> str:
    try:
        return check_base_url(url)
    except ValueError as exc:
        # check_base_url's message names the address (its password hidden)
        # and the reason.
        if url == typed:
            message = f"{exc} Check the address you entered."
        else:
            message = f"{exc} Check what you entered: {redact_url(typed)!r}."
        raise ServerNotFound(message, details=str(exc)) from exc


def _not_found(typed: str, error: MatrixError) -> ServerNotFound:
    return ServerNotFound(
        f"No server responded at {typed}. Check the address and your network "
        "connection.",
        details=error.details or error.message,
    )


def _not_matrix(
    typed: str, base_url: str, error: MatrixError | None
) -> NotMatrixServer:
    where = typed if typed.rstrip("/") == base_url else f"{typed} ({base_url})"
    return NotMatrixServer(
        f"No Matrix server responded at {where}. Check the address with your IT "
        "department.",
        status=error.status if error else None,
        details=error.details if error else "No 'versions' list in the response",
    )


@dataclass(frozen=True)
class ServerFeatures:
    """Features that a homeserver announces and Commonplace adapts to."""

    versions: frozenset[str] = frozenset()
    unstable_features: dict[str, bool] = field(default_factory=dict)
    capabilities: dict[str, Any] = field(default_factory=dict)
    extended_profiles: bool = False
    threads: bool = False
    authenticated_media: bool = False
    can_set_displayname: bool = True
    can_set_avatar_url: bool = True

    @classmethod
    def from_responses(
        cls, versions_response: dict[str, Any], capabilities: dict[str, Any] | None
    ) -> ServerFeatures:
        """Build the features from a ``/versions`` response and a capabilities object.

        ``capabilities`` is the ``capabilities`` member of ``/v3/capabilities``,
        or None when the server did not return it.
        """
        versions = versions_response.get("versions")
        if not isinstance(versions, list):
            versions = []
        spec = frozenset(v for v in versions if isinstance(v, str))
        raw_flags = versions_response.get("unstable_features")
        flags = {
            name: value is True
            for name, value in (
                raw_flags.items() if isinstance(raw_flags, dict) else ()
            )
            if isinstance(name, str)
        }
        capabilities = capabilities if isinstance(capabilities, dict) else {}

        return cls(
            versions=spec,
            unstable_features=flags,
            capabilities=capabilities,
            extended_profiles=_extended_profiles(spec, flags, capabilities),
            # Threads are stable since spec v1.4 (MSC3440).
            threads="v1.4" in spec or flags.get("org.matrix.msc3440.stable", False),
            # Authenticated media is stable since spec v1.11 (MSC3916).
            authenticated_media="v1.11" in spec
            or flags.get("org.matrix.msc3916.stable", False),
            can_set_displayname=_enabled(capabilities, "m.set_displayname", True)
            and not _disallowed(capabilities, "displayname"),
            can_set_avatar_url=_enabled(capabilities, "m.set_avatar_url", True)
            and not _disallowed(capabilities, "avatar_url"),
        )


async def detect_features(client: MatrixClient) -> ServerFeatures:
    """Ask the server for ``/versions`` and ``/capabilities`` and combine them.

    ``/capabilities`` is only requested when the client has an access token,
    and a rejection other than AuthExpired leaves it empty.
    """
    versions_response = await client.versions()
    capabilities: dict[str, Any] | None = None
    if client.access_token:
        try:
            capabilities = await client.capabilities()
        except RequestFailed as error:
            log.warning(
                "Capabilities unavailable from %s: %s", client.host, error.details
            )
    return ServerFeatures.from_responses(versions_response, capabilities)


def _extended_profiles(
    spec: frozenset[str], flags: dict[str, bool], capabilities: dict[str, Any]
) -> bool:
    # Custom profile fields (MSC4133) are stable since spec v1.16 with the
    # m.profile_fields capability; servers before that announce unstable flags.
    for name in ("m.profile_fields", "uk.tcpip.msc4133.profile_fields"):
        if isinstance(capabilities.get(name), dict):
            return capabilities[name].get("enabled") is True
    return (
        "v1.16" in spec
        or flags.get("uk.tcpip.msc4133.stable", False)
        or flags.get("uk.tcpip.msc4133", False)
    )


def _enabled(capabilities: dict[str, Any], name: str, default: bool) -> bool:
    value = capabilities.get(name)
    if isinstance(value, dict) and isinstance(value.get("enabled"), bool):
        return value["enabled"]
    return default


def _disallowed(capabilities: dict[str, Any], key: str) -> bool:
    profile_fields = capabilities.get("m.profile_fields")
    if not isinstance(profile_fields, dict):
        return False
    disallowed = profile_fields.get("disallowed")
    return isinstance(disallowed, list) and key in disallowed
