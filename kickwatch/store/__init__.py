"""The store: peewee models, migrations, the repository of every access pattern, secrets (no Qt)."""

from kickwatch.store.database import Database, open_database
from kickwatch.store.repository import (
    BatchResult,
    Repository,
    StatusChange,
    StatusObservation,
)

__all__ = [
    "BatchResult",
    "Database",
    "Repository",
    "StatusChange",
    "StatusObservation",
    "open_database",
]
