"""Finding, joining, creating and running group spaces."""

import logging

log = logging.getLogger(__name__)


class Spaces:
    """Space actions of the signed-in user; ``on_changes`` gets a Changes."""

    def __init__(self, client, store, user_id: str, on_changes):
        self.client = client
        self.store = store
        self.user_id = user_id
        self._on_changes = on_changes
