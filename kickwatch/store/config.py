"""The `configuration` table: keys `category.name`, secrets always encrypted, every change signed.

Values are text. A key that names a secret (containing secret, password or token) is encrypted
with the master key before it is written and `is_encrypted` is set; the database refuses such a
row otherwise. Reading never exposes a secret by accident: `entries()` masks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kickwatch.domain.clock import Clock
from kickwatch.domain.errors import NotFoundError
from kickwatch.domain.validation import category_of, is_sensitive, validate_config_key
from kickwatch.store.database import Database
from kickwatch.store.models import Configuration
from kickwatch.store.secrets import SecretBox, mask


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One configuration row as shown to a person (secrets masked unless revealed)."""

    key: str
    value: str
    description: str
    category: str
    is_encrypted: bool
    updated_at: datetime
    updated_by: str


class ConfigStore:
    """Reads and writes configuration rows, encrypting secrets."""

    def __init__(self, database: Database, secrets: SecretBox, clock: Clock) -> None:
        self.database = database
        self.secrets = secrets
        self.clock = clock

    def get(self, key: str) -> str | None:
        """The plain value of `key`, or None when unset (decrypting a secret)."""
        validate_config_key(key)
        row = Configuration.get_or_none(Configuration.key == key)
        if row is None:
            return None
        return self.secrets.decrypt(row.value, key) if row.is_encrypted else row.value

    def set(
        self, key: str, value: str, *, updated_by: str = "user", description: str | None = None
    ) -> ConfigEntry:
        """Store `value` under `key` (encrypted when sensitive)."""
        validate_config_key(key)
        encrypted = is_sensitive(key)
        stored = self.secrets.encrypt(value) if encrypted else value
        now = self.clock.now()
        with self.database.handle.atomic():
            row = Configuration.get_or_none(Configuration.key == key)
            is_new = row is None
            if row is None:
                row = Configuration(key=key, description=description or "")
            elif description is not None:
                row.description = description
            row.value = stored
            row.category = category_of(key)
            row.is_encrypted = encrypted
            row.updated_at = now
            row.updated_by = updated_by
            row.save(force_insert=is_new)
        return self._entry(row, reveal=False)

    def unset(self, key: str) -> None:
        """Remove `key`; NotFoundError when it was not set."""
        validate_config_key(key)
        with self.database.handle.atomic():
            deleted = Configuration.delete().where(Configuration.key == key).execute()
        if not deleted:
            raise NotFoundError(f"{key} is not set")

    def entries(self, *, category: str | None = None, reveal: bool = False) -> list[ConfigEntry]:
        """Every stored row, by key; secrets masked unless `reveal`."""
        query = Configuration.select().order_by(Configuration.key)
        if category is not None:
            query = query.where(Configuration.category == category)
        return [self._entry(row, reveal=reveal) for row in query]

    def _entry(self, row: Configuration, *, reveal: bool) -> ConfigEntry:
        if row.is_encrypted:
            value = self.secrets.decrypt(row.value, row.key) if reveal else mask(row.value)
        else:
            value = row.value
        return ConfigEntry(
            key=row.key,
            value=value,
            description=row.description,
            category=row.category,
            is_encrypted=bool(row.is_encrypted),
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )
