"""The store: SQLAlchemy models; SQLite in the data folder by default, PostgreSQL by URL."""

from unleak.store import models
from unleak.store.db import Store, open_store

__all__ = ["Store", "models", "open_store"]
