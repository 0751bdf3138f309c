"""The operational store: SQLite by default, PostgreSQL via ``C360_STORE_URL``."""

from c360.store.db import Store
from c360.store.schema import metadata

__all__ = ["Store", "metadata"]
