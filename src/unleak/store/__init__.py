"""The store: SQLAlchemy models; SQLite in the data folder by default, PostgreSQL by URL."""

from unleak.store.db import Store, open_store
from unleak.store import models

__all__ = ["Store", "open_store", "models"]
