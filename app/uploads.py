"""Streaming a queued file to the server's media store, once, into a reserved URI.

An upload first reserves an mxc:// URI (``POST /_matrix/media/v1/create``)
and records it in the cache, then streams the file into it (``PUT
/_matrix/media/v3/upload/{server}/{mediaId}``). A process killed mid-upload
uploads again from the start into the same URI, so the server never holds
two copies.
"""

import logging

from app.errors import CommonplaceError

log = logging.getLogger(__name__)


class TransferError(CommonplaceError):
    """A file was not uploaded or downloaded; ``message`` says why and what to do."""
