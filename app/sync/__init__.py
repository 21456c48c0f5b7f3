"""The sync loop and the translation of Matrix events into records."""

from app.sync.loop import SyncLoop, SyncState, SyncStatus

__all__ = ["SyncLoop", "SyncState", "SyncStatus"]
