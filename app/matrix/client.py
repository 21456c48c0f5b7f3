"""Typed helpers for the Matrix client-server API endpoints that Commonplace uses.

Each helper is one request through ``HttpClient.request``, which owns retries
and error mapping. User ids, room ids and keys are percent-encoded as path
segments, and mxc:// URIs are checked before they become a URL.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass, field
from typing import Any

from app.matrix.errors import InvalidCredentials, NotMatrixServer, RequestFailed
from app.matrix.http import SYNC_TIMEOUT_MARGIN, HttpClient, RetryCallback
from app.matrix.urls import content_uri, parse_mxc, path_segment

_CLIENT_API = "/_matrix/client"
DEFAULT_THUMBNAIL_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class LoginResult:
    """Result of a successful login; the token is kept out of ``repr``."""

    user_id: str
    access_token: str = field(repr=False)
    device_id: str
    homeserver_url: str


class MatrixClient(HttpClient):
    """One session's client for a homeserver; ``access_token`` may be set later."""

    # Account

    async def login_password(
        self,
        user: str,
        password: str,
        *,
        device_id: str | None,
        device_name: str = "Commonplace",
    ) -> LoginResult:
        """Log in with a user name (localpart or full id) and a password.

        Passing the device id of an earlier login keeps the device, which the
        server uses to deduplicate sent events. Raises InvalidCredentials.
        """
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": device_name,
        }
        if device_id:
            body["device_id"] = device_id
        try:
            response = await self.request(
                "POST", f"{_CLIENT_API}/v3/login", json=body, authenticated=False
            )
        except RequestFailed as error:
            if error.errcode in ("M_FORBIDDEN", "M_INVALID_USERNAME") or (
                error.status == 403 and error.errcode is None
            ):
                raise InvalidCredentials(
                    "The user name or password is incorrect. Check both and try again.",
                    errcode=error.errcode,
                    status=error.status,
                    details=error.details,
                ) from error
            raise
        return self._login_result(response)

    async def login_flows(self) -> dict:
        """Return ``GET /login``: the login types that the server accepts.

        ``app.sso.parse_login_flows`` reads the response.
        """
        return await self.request(
            "GET", f"{_CLIENT_API}/v3/login", authenticated=False, max_attempts=2
        )

    async def login_token(
        self,
        token: str,
        *,
        device_id: str | None,
        device_name: str = "Commonplace",
    ) -> LoginResult:
        """Log in with the one-time ``loginToken`` that single sign-on returned.

        Raises InvalidCredentials when the server rejects the token, because it
        has expired (Synapse 1.163 accepts one for 2 minutes) or was used.
        """
        body: dict[str, Any] = {
            "type": "m.login.token",
            "token": token,
            "initial_device_display_name": device_name,
        }
        if device_id:
            body["device_id"] = device_id
        try:
            response = await self.request(
                "POST", f"{_CLIENT_API}/v3/login", json=body, authenticated=False
            )
        except RequestFailed as error:
            if error.errcode == "M_FORBIDDEN" or (
                error.status == 403 and error.errcode is None
            ):
                raise InvalidCredentials(
                    f"{self.host} rejected the sign-in from your browser, "
                    "perhaps because it took too long. Sign in again.",
                    errcode=error.errcode,
                    status=error.status,
                    details=error.details,
                ) from error
            raise
        return self._login_result(response)

    def _login_result(self, response: dict) -> LoginResult:
        values = [response.get(key) for key in ("user_id", "access_token", "device_id")]
        if not all(isinstance(value, str) and value for value in values):
            raise NotMatrixServer(
                f"{self.host} accepted the login but did not return a session.",
                details=f"Login response keys: {sorted(response)}",
            )
        # NOTE: the optional "well_known" block of the login response is not
        # applied, so the base URL found by discovery stays in use.
        user_id, access_token, new_device_id = values
        return LoginResult(user_id, access_token, new_device_id, self.homeserver_url)

    async def logout(self, *, max_attempts: int | None = 4) -> None:
        """Invalidate this client's access token and delete its device on the server."""
        await self.request(
            "POST", f"{_CLIENT_API}/v3/logout", json={}, max_attempts=max_attempts
        )

    async def whoami(self) -> dict:
        return await self.request("GET", f"{_CLIENT_API}/v3/account/whoami")

    async def versions(self) -> dict:
        """Return ``/versions``, sent with the token when one is set.

        Some servers list more unstable features to a signed-in user.
        """
        return await self.request(
            "GET", f"{_CLIENT_API}/versions", authenticated=bool(self.access_token)
        )

    async def capabilities(self) -> dict:
        response = await self.request("GET", f"{_CLIENT_API}/v3/capabilities")
        capabilities = response.get("capabilities")
        return capabilities if isinstance(capabilities, dict) else {}

    # Sync and history

    async def sync(
        self,
        *,
        since: str | None,
        timeout_ms: int,
        filter: str | dict | None,
        set_presence: str = "offline",
        max_attempts: int | None = None,
        on_retry: RetryCallback | None = None,
    ) -> dict:
        """Long-poll ``/sync``; the HTTP timeout is ``timeout_ms`` plus a margin."""
        params: dict[str, Any] = {
            "timeout": str(timeout_ms),
            "set_presence": set_presence,
        }
        if since:
            params["since"] = since
        if filter is not None:
            params["filter"] = filter if isinstance(filter, str) else _compact(filter)
        return await self.request(
            "GET",
            f"{_CLIENT_API}/v3/sync",
            params=params,
            timeout=timeout_ms / 1000 + SYNC_TIMEOUT_MARGIN,
            max_attempts=max_attempts,
            on_retry=on_retry,
        )

    async def messages(
        self,
        room_id: str,
        *,
        from_token: str,
        to_token: str | None = None,
        direction: str = "b",
        limit: int = 100,
        filter: dict | None = None,
    ) -> dict:
        """Page a room's timeline from ``from_token``; ``direction`` is "b" or "f"."""
        if direction not in ("b", "f"):
            raise ValueError(f"direction must be 'b' or 'f', not {direction!r}")
        params: dict[str, Any] = {"from": from_token, "dir": direction, "limit": limit}
        if to_token:
            params["to"] = to_token
        if filter is not None:
            params["filter"] = _compact(filter)
        room = path_segment(room_id)
        return await self.request(
            "GET", f"{_CLIENT_API}/v3/rooms/{room}/messages", params=params
        )

    async def upload_filter(self, user_id: str, filter: dict) -> str:
        """Store a sync filter on the server and return its id."""
        user = path_segment(user_id)
        response = await self.request(
            "POST", f"{_CLIENT_API}/v3/user/{user}/filter", json=filter
        )
        filter_id = response.get("filter_id")
        if not isinstance(filter_id, str) or not filter_id:
            raise NotMatrixServer(
                f"{self.host} stored the filter but returned no filter id."
            )
        return filter_id

    # Profiles

    async def get_profile(self, user_id: str) -> dict:
        return await self.request(
            "GET",
            f"{_CLIENT_API}/v3/profile/{path_segment(user_id)}",
            authenticated=bool(self.access_token),
        )

    async def set_profile_field(
        self,
        user_id: str,
        key: str,
        value: Any,
        *,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
    ) -> None:
        """Set one profile field (``displayname``, ``avatar_url`` or a custom key)."""
        path = f"{_CLIENT_API}/v3/profile/{path_segment(user_id)}/{path_segment(key)}"
        await self.request(
            "PUT", path, json={key: value}, max_attempts=max_attempts, on_retry=on_retry
        )

    async def delete_profile_field(
        self,
        user_id: str,
        key: str,
        *,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
    ) -> None:
        """Remove a custom profile field; Synapse 1.163 serves this request.

        Removing a field that is not set succeeds. For ``displayname`` and
        ``avatar_url``, set the empty string instead.
        """
        path = f"{_CLIENT_API}/v3/profile/{path_segment(user_id)}/{path_segment(key)}"
        await self.request("DELETE", path, max_attempts=max_attempts, on_retry=on_retry)

    # Media

    async def media_config(self) -> dict:
        """Return the media repository settings, such as ``m.upload.size``."""
        return await self.request("GET", f"{_CLIENT_API}/v1/media/config")

    async def upload_media(
        self,
        data: bytes,
        content_type: str,
        filename: str | None = None,
        *,
        max_attempts: int | None = 4,
        on_retry: RetryCallback | None = None,
        timeout: float | None = None,
    ) -> str:
        """Upload a file and return its mxc:// URI."""
        params = {"filename": filename} if filename else None
        response = await self.request(
            "POST",
            "/_matrix/media/v3/upload",
            content=data,
            params=params,
            headers={"Content-Type": content_type},
            max_attempts=max_attempts,
            on_retry=on_retry,
            timeout=timeout,
        )
        return content_uri(
            response,
            f"{self.host} accepted the upload but returned no valid mxc:// URI.",
        )

    async def download_media(self, mxc: str, max_bytes: int) -> tuple[bytes, str]:
        """Download a file through the authenticated media API; see request_bytes."""
        server, media_id = parse_mxc(mxc)
        path = (
            f"{_CLIENT_API}/v1/media/download/{path_segment(server)}/"
            f"{path_segment(media_id)}"
        )
        return await self._download(path, None, max_bytes)

    async def download_thumbnail(
        self,
        mxc: str,
        width: int,
        height: int,
        method: str = "crop",
        max_bytes: int = DEFAULT_THUMBNAIL_MAX_BYTES,
    ) -> tuple[bytes, str]:
        """Download a server-made thumbnail; ``method`` is "crop" or "scale"."""
        if method not in ("crop", "scale"):
            raise ValueError(f"method must be 'crop' or 'scale', not {method!r}")
        if width < 1 or height < 1:
            raise ValueError("Thumbnail width and height must be positive.")
        server, media_id = parse_mxc(mxc)
        path = (
            f"{_CLIENT_API}/v1/media/thumbnail/{path_segment(server)}/"
            f"{path_segment(media_id)}"
        )
        params = {"width": width, "height": height, "method": method}
        return await self._download(path, params, max_bytes)

    async def _download(self, path, params, max_bytes) -> tuple[bytes, str]:
        return await self.request_bytes("GET", path, params=params, max_bytes=max_bytes)


def _compact(value: Any) -> str:
    return jsonlib.dumps(value, separators=(",", ":"))
