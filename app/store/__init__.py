"""SQLite cache: schema, migrations, the single writer and read queries."""

from app.store.database import open_database, open_reader
from app.store.store import Store, delete_cache_files

__all__ = ["Store", "delete_cache_files", "open_database", "open_reader"]
