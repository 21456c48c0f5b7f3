"""Uploads, downloads and offline copies of the files in files areas."""

import logging

log = logging.getLogger(__name__)


class FileTransfers:
    """File transfers of the signed-in user; ``on_changes`` gets a Changes."""

    def __init__(self, client, store, user_id: str, policy, on_changes):
        self.client = client
        self.store = store
        self.user_id = user_id
        self.policy = policy
        self._on_changes = on_changes

    def start(self) -> None:
        """Start the background work: queued uploads and offline copies."""

    async def close(self) -> None:
        """Stop the background work; a transfer cut short resumes at next start."""
