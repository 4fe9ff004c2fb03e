"""The database itself refuses what the data model forbids, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from typing import Any

import peewee
import pytest

from kickwatch.store import open_database
from kickwatch.store import schema as schema_module
from kickwatch.store.schema import DATA_MODEL_INDEXES, SCHEMA_VERSION, Migration
from tests.store.fixtures import Store

REFUSED = (peewee.IntegrityError, peewee.DataError, peewee.OperationalError)


def raw(store: Store, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """Run SQL written with ? placeholders on either engine."""
    if store.database.dialect == "postgresql":
        sql = sql.replace("?", "%s")
    return store.database.handle.execute_sql(sql, params)


# The database refuses times ahead of its own clock, so rows are set in its past. One anchor for
# the module: the parametrized values (made at collection) and the defaults (made when a test
# runs, minutes later in a long suite) must keep their order.
ANCHOR = datetime.now(UTC) - timedelta(hours=2)  # clock-ok: relative to the database's clock


def ts(offset_minutes: float = 0) -> str:
    moment = ANCHOR + timedelta(minutes=offset_minutes)
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_streamer(store: Store, **overrides: Any) -> int:
    row = {
        "kick_user_id": 10,
        "username": "alpha",
        "display_name": "Alpha",
        "status": "unknown",
        "created_at": ts(),
        "updated_at": ts(),
    }
    row.update(overrides)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    raw(store, f"INSERT INTO streamer ({columns}) VALUES ({marks})", tuple(row.values()))
    found = raw(store, "SELECT id FROM streamer WHERE username = ?", (row["username"],))
    return int(found.fetchone()[0])


def insert_event(store: Store, streamer_id: int | None, **overrides: Any) -> None:
    row: dict[str, Any] = {
        "streamer_id": streamer_id,
        "event_type": "stream_start",
        "previous_status": "offline",
        "new_status": "online",
        "event_timestamp": ts(0),
        "received_timestamp": ts(1),
        "processed_timestamp": ts(2),
        "event_data": "{}",
    }
    row.update(overrides)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    raw(store, f"INSERT INTO status_event ({columns}) VALUES ({marks})", tuple(row.values()))


def insert_config(store: Store, **overrides: Any) -> None:
    row = {
        "key": "monitoring.reconcile_interval",
        "value": "60",
        "category": "monitoring",
        "is_encrypted": False,
        "updated_at": ts(),
        "updated_by": "test",
    }
    row.update(overrides)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    raw(store, f"INSERT INTO configuration ({columns}) VALUES ({marks})", tuple(row.values()))


def test_every_index_of_the_data_model_exists_under_its_name(store: Store) -> None:
    if store.database.dialect == "sqlite":
        rows = raw(store, "SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    else:
        rows = raw(store, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").fetchall()
    names = {row[0] for row in rows}
    assert set(DATA_MODEL_INDEXES) <= names
    assert len(DATA_MODEL_INDEXES) == 7


def test_schema_version_is_recorded(store: Store) -> None:
    assert store.database.schema_version() == SCHEMA_VERSION


def test_a_valid_raw_row_is_accepted(store: Store) -> None:
    streamer_id = insert_streamer(store)
    insert_event(store, streamer_id)
    insert_config(store)


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"status": "streaming"}, "chk_status"),
        ({"username": ""}, "empty username"),
        ({"username": "   "}, "blank username"),
        ({"username": "Alpha"}, "username not normalised"),
        ({"kick_user_id": None}, "kick_user_id NOT NULL"),
        ({"kick_user_id": 0}, "kick_user_id positive"),
        ({"display_name": ""}, "empty display name"),
        ({"last_seen_online": "2999-01-01 00:00:00.000000"}, "last_seen_online in the future"),
    ],
)
def test_streamer_constraints_refuse_raw_writes(
    store: Store, overrides: dict[str, Any], why: str
) -> None:
    with pytest.raises(REFUSED):
        insert_streamer(store, **overrides)


def test_username_and_kick_user_id_are_unique(store: Store) -> None:
    insert_streamer(store)
    with pytest.raises(peewee.IntegrityError):
        insert_streamer(store, kick_user_id=11)  # same username
    with pytest.raises(peewee.IntegrityError):
        insert_streamer(store, username="beta")  # same kick_user_id


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"event_type": "stream_paused"}, "chk_event_type"),
        ({"previous_status": "gone"}, "previous_status valid"),
        ({"new_status": "gone"}, "new_status valid"),
        ({"event_timestamp": ts(5)}, "received before event"),
        ({"processed_timestamp": ts(0.5)}, "processed before received"),
        ({"new_status": "offline"}, "a start that does not go online"),
        ({"previous_status": "online"}, "online → online is no transition"),
        ({"event_data": "{not json"}, "event_data must be JSON"),
        (
            {
                "event_timestamp": "2999-01-01 00:00:00.000000",
                "received_timestamp": "2999-01-01 00:00:01.000000",
                "processed_timestamp": "2999-01-01 00:00:02.000000",
            },
            "event_timestamp in the future",
        ),
    ],
)
def test_status_event_constraints_refuse_raw_writes(
    store: Store, overrides: dict[str, Any], why: str
) -> None:
    streamer_id = insert_streamer(store)
    with pytest.raises(REFUSED):
        insert_event(store, streamer_id, **overrides)


def test_status_event_needs_an_existing_streamer(store: Store) -> None:
    with pytest.raises(peewee.IntegrityError):
        insert_event(store, 999_999)
    with pytest.raises(peewee.IntegrityError):
        insert_event(store, None)  # only connection tests may lack a streamer


def test_kick_event_id_is_unique(store: Store) -> None:
    streamer_id = insert_streamer(store)
    insert_event(store, streamer_id, kick_event_id="1:2:start")
    with pytest.raises(peewee.IntegrityError):
        insert_event(store, streamer_id, kick_event_id="1:2:start")


def test_deleting_a_streamer_cascades_to_its_events(store: Store) -> None:
    streamer_id = insert_streamer(store)
    insert_event(store, streamer_id)
    raw(store, "DELETE FROM streamer WHERE id = ?", (streamer_id,))
    assert raw(store, "SELECT COUNT(*) FROM status_event").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"category": "network"}, "unknown category"),
        ({"key": "Monitoring.x", "category": "monitoring"}, "uppercase key"),
        ({"key": "monitoring", "category": "monitoring"}, "no name part"),
        ({"key": "monitoring.a-b", "category": "monitoring"}, "bad character"),
        ({"key": "system.x", "category": "monitoring"}, "key outside its category"),
        ({"key": "auth.client_secret", "category": "auth", "is_encrypted": False}, "secret"),
        ({"key": "auth.api_token", "category": "auth", "is_encrypted": False}, "token"),
        ({"key": "auth.password", "category": "auth", "is_encrypted": False}, "password"),
        ({"updated_by": ""}, "updated_by empty"),
    ],
)
def test_configuration_constraints_refuse_raw_writes(
    store: Store, overrides: dict[str, Any], why: str
) -> None:
    with pytest.raises(REFUSED):
        insert_config(store, **overrides)


def test_configuration_key_is_unique(store: Store) -> None:
    insert_config(store)
    with pytest.raises(peewee.IntegrityError):
        insert_config(store)


def test_sqlite_file_is_private_with_wal_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "k.db"
    database = open_database(str(path))
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        handle = database.handle
        assert handle.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert handle.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert handle.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 1000
        # FULL (2): a committed change survives a power cut, as the data model asks.
        assert handle.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        database.close()


def test_migration_copies_the_sqlite_file_aside_and_applies_in_order(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "k.db"
    open_database(str(path)).close()
    current = schema_module.SCHEMA_VERSION
    step = Migration(
        current + 1, "add a note column", lambda d: ["ALTER TABLE streamer ADD COLUMN note TEXT"]
    )
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, step))
    import kickwatch.store.database as database_module

    monkeypatch.setattr(database_module, "MIGRATIONS", (*schema_module.MIGRATIONS,))
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", current + 1)
    database = open_database(str(path))
    try:
        assert database.schema_version() == current + 1
        assert (tmp_path / f"k.db.v{current}.bak").exists()
        columns = [r[1] for r in database.handle.execute_sql("PRAGMA table_info(streamer)")]
        assert "note" in columns
    finally:
        database.close()


def test_a_failing_migration_leaves_the_previous_version(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "k.db"
    open_database(str(path)).close()
    current = schema_module.SCHEMA_VERSION
    broken = Migration(
        current + 1, "broken", lambda d: ["ALTER TABLE streamer ADD COLUMN x TEXT", "NOT SQL"]
    )
    import kickwatch.store.database as database_module

    monkeypatch.setattr(database_module, "MIGRATIONS", (*schema_module.MIGRATIONS, broken))
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", current + 1)
    with pytest.raises(peewee.OperationalError):
        open_database(str(path))
    monkeypatch.undo()
    database = open_database(str(path))
    try:
        assert database.schema_version() == current
        columns = [r[1] for r in database.handle.execute_sql("PRAGMA table_info(streamer)")]
        assert "x" not in columns
    finally:
        database.close()


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kickwatch.domain.errors import ConfigurationError

    path = tmp_path / "k.db"
    database = open_database(str(path))
    database.handle.execute_sql(
        "INSERT INTO schema_version (version, description) VALUES (99, 'x')"
    )
    database.close()
    with pytest.raises(ConfigurationError, match="upgrade kickwatch"):
        open_database(str(path))


# One table of rules, each tried by raw SQL on both engines: what PostgreSQL's column types
# refuse, SQLite refuses too.
SAME_RULES = [
    ("streamer", {"kick_user_id": ""}, "kick_user_id empty text"),
    ("streamer", {"kick_user_id": "abc"}, "kick_user_id not a number"),
    ("streamer", {"kick_channel_id": "12a"}, "kick_channel_id not a number"),
    ("streamer", {"created_at": 1_700_000_000}, "created_at an epoch number"),
    ("streamer", {"last_seen_online": 4_102_444_800}, "an epoch past the future check"),
    ("streamer", {"updated_at": "zzz"}, "updated_at not a time"),
    ("streamer", {"is_active": "maybe"}, "is_active not a boolean"),
    ("streamer", {"is_muted": 2}, "is_muted not a boolean"),
    ("event", {"event_timestamp": 1_700_000_000}, "event_timestamp an epoch number"),
    ("event", {"processed_timestamp": "soon"}, "processed_timestamp not a time"),
    ("event", {"synthetic": "perhaps"}, "synthetic not a boolean"),
    ("config", {"updated_at": "zzz"}, "configuration.updated_at not a time"),
    ("config", {"is_encrypted": "maybe"}, "is_encrypted not a boolean"),
]


@pytest.mark.parametrize(("table", "overrides", "why"), SAME_RULES, ids=[r[2] for r in SAME_RULES])
def test_both_engines_refuse_the_same_raw_values(
    store: Store, table: str, overrides: dict[str, Any], why: str
) -> None:
    refused = (*REFUSED, peewee.ProgrammingError)  # PostgreSQL: a value of the wrong type
    with pytest.raises(refused):
        if table == "streamer":
            insert_streamer(store, **overrides)
        elif table == "event":
            insert_event(store, insert_streamer(store), **overrides)
        else:
            insert_config(store, **overrides)


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        ("unknown", "online", True),
        ("unknown", "offline", True),
        ("online", "offline", True),
        ("offline", "online", True),
        ("online", "unknown", False),
        ("offline", "unknown", False),
    ],
)
def test_the_streamer_status_follows_the_state_machine_in_the_database(
    store: Store, before: str, after: str, allowed: bool
) -> None:
    streamer_id = insert_streamer(store, status=before)
    update = "UPDATE streamer SET status = ? WHERE id = ?"
    if allowed:
        raw(store, update, (after, streamer_id))
    else:
        with pytest.raises(REFUSED):
            raw(store, update, (after, streamer_id))
    raw(store, "UPDATE streamer SET status = status WHERE id = ?", (streamer_id,))
