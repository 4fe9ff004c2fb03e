"""Display names of at most 100 characters, held by the database itself (migration 3).

On SQLite triggers refuse a longer name on insert and on update, on PostgreSQL a CHECK does;
a database migrated from version 2 keeps its rows, with a longer name cut to 100 characters
(ending in an ellipsis), and loses the retired `database.url` setting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import peewee
import pytest

import kickwatch.store.database as database_module
from kickwatch.store import open_database
from kickwatch.store import schema as schema_module
from tests.store.fixtures import Store

REFUSED = (peewee.IntegrityError, peewee.DataError, peewee.OperationalError)
NOW = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)


def insert(store: Store, name: str, user_id: int = 1) -> None:
    handle = store.database.handle
    mark = "%s" if store.database.dialect == "postgresql" else "?"
    handle.execute_sql(
        "INSERT INTO streamer (kick_user_id, username, display_name, created_at, updated_at)"
        f" VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
        (user_id, f"user{user_id}", name, NOW, NOW),
    )


def test_the_database_refuses_a_display_name_over_100_characters(store: Store) -> None:
    insert(store, "D" * 100)
    with pytest.raises(REFUSED), store.database.handle.atomic():
        insert(store, "D" * 101, user_id=2)
    mark = "%s" if store.database.dialect == "postgresql" else "?"
    with pytest.raises(REFUSED), store.database.handle.atomic():
        store.database.handle.execute_sql(
            f"UPDATE streamer SET display_name = {mark}", ("é" * 101,)
        )
    store.database.handle.execute_sql(f"UPDATE streamer SET display_name = {mark}", ("é" * 100,))


def test_migrating_cuts_long_names_and_drops_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k.db"
    before = tuple(m for m in schema_module.MIGRATIONS if m.version < 3)
    monkeypatch.setattr(database_module, "MIGRATIONS", before)
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", before[-1].version)
    old = open_database(str(path))
    old.handle.execute_sql(
        "INSERT INTO streamer (kick_user_id, username, display_name, created_at, updated_at)"
        " VALUES (1, 'long', ?, ?, ?)",
        ("L" * 10_000, NOW, NOW),
    )
    old.handle.execute_sql(
        "INSERT INTO configuration (key, value, category, updated_at, updated_by)"
        " VALUES ('database.url', '/elsewhere.db', 'database', ?, 'cli')",
        (NOW,),
    )
    old.close()
    monkeypatch.undo()
    database = open_database(str(path))
    try:
        [(name,)] = database.handle.execute_sql("SELECT display_name FROM streamer").fetchall()
        assert name == "L" * 99 + "…"
        keys = database.handle.execute_sql("SELECT key FROM configuration").fetchall()
        assert keys == []
    finally:
        database.close()
