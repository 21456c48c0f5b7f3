"""Media store endpoints for streamed files: reserve, upload into, and download.

Each function is one request through ``HttpClient``, which owns retries:
``max_attempts=None`` retries connection failures, 5xx and 429 for ever
with back-off, calling ``on_retry``. Bodies are streamed, never held whole
in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from app.matrix.client import MatrixClient
from app.matrix.errors import MatrixError, NotFound
from app.matrix.http import ProgressCallback, RetryCallback
from app.matrix.urls import content_uri, parse_mxc, path_segment

CANNOT_OVERWRITE_MEDIA = "M_CANNOT_OVERWRITE_MEDIA"
NOT_YET_UPLOADED = "M_NOT_YET_UPLOADED"


def _media_path(prefix: str, mxc: str) -> str:
    server, media_id = parse_mxc(mxc)
    return f"{prefix}/{path_segment(server)}/{path_segment(media_id)}"


async def media_config(
    client: MatrixClient,
    *,
    max_attempts: int | None = 4,
    on_retry: RetryCallback | None = None,
) -> dict:
    """Return the media repository settings, such as ``m.upload.size`` in bytes."""
    return await client.request(
        "GET",
        "/_matrix/client/v1/media/config",
        max_attempts=max_attempts,
        on_retry=on_retry,
    )


async def create_media(
    client: MatrixClient,
    *,
    max_attempts: int | None = 4,
    on_retry: RetryCallback | None = None,
) -> tuple[str, int | None]:
    """Reserve an mxc:// URI to upload into later; return (URI, expiry).

    The expiry is the server's ``unused_expires_at`` in Unix milliseconds:
    after it, a URI that received no content can no longer be uploaded into.
    """
    response = await client.request(
        "POST",
        "/_matrix/media/v1/create",
        json={},
        max_attempts=max_attempts,
        on_retry=on_retry,
    )
    uri = content_uri(
        response, f"{client.host} reserved no valid mxc:// URI for the upload."
    )
    expires = response.get("unused_expires_at")
    if not isinstance(expires, int) or isinstance(expires, bool):
        expires = None
    return uri, expires


async def upload_into(
    client: MatrixClient,
    mxc: str,
    open_body: Callable[[], AsyncIterator[bytes]],
    size: int,
    content_type: str,
    filename: str,
    *,
    on_progress: ProgressCallback | None = None,
    max_attempts: int | None = 4,
    on_retry: RetryCallback | None = None,
) -> None:
    """Stream a file's bytes into the reserved URI mxc.

    Raises RequestFailed with errcode M_CANNOT_OVERWRITE_MEDIA when the URI
    already has content (or another upload into it is in progress), NotFound
    when the reservation is unknown or has expired, and TooLarge (413) when
    the file is over the server's limit.
    """
    await client.upload_stream(
        "PUT",
        _media_path("/_matrix/media/v3/upload", mxc),
        open_body=open_body,
        content_length=size,
        content_type=content_type,
        params={"filename": filename},
        on_progress=on_progress,
        max_attempts=max_attempts,
        on_retry=on_retry,
    )


async def media_has_content(
    client: MatrixClient,
    mxc: str,
    *,
    max_attempts: int | None = 4,
    on_retry: RetryCallback | None = None,
) -> bool:
    """Return whether the server serves content for mxc, reading no more than its headers.

    ``timeout_ms=0`` stops the server from waiting for a pending upload.
    """

    async def headers_only(response: httpx.Response) -> bool:
        return True

    try:
        return await client.request_streamed(
            "GET",
            _media_path("/_matrix/client/v1/media/download", mxc),
            read_response=headers_only,
            params={"timeout_ms": "0"},
            max_attempts=max_attempts,
            on_retry=on_retry,
        )
    except NotFound:
        return False
    except MatrixError as error:
        if error.errcode == NOT_YET_UPLOADED:
            return False
        raise


async def download_to_file(
    client: MatrixClient,
    mxc: str,
    destination: Path,
    *,
    max_bytes: int,
    on_progress: ProgressCallback | None = None,
    max_attempts: int | None = 4,
    on_retry: RetryCallback | None = None,
) -> tuple[int, str]:
    """Download mxc's content through the authenticated media API into destination.

    Returns (size in bytes, content type). See HttpClient.download_to_file.
    """
    return await client.download_to_file(
        _media_path("/_matrix/client/v1/media/download", mxc),
        destination,
        max_bytes=max_bytes,
        on_progress=on_progress,
        max_attempts=max_attempts,
        on_retry=on_retry,
    )
