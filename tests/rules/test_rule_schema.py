"""Migration 6 on SQLite and PostgreSQL: the tables refuse what the rules forbid, go with their
streamer, and a database made before them is migrated with its rows kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import peewee
import pytest

import kickwatch.store.database as database_module
from kickwatch.store import open_database
from kickwatch.store import schema as schema_module
from kickwatch.store.rules import RuleStore
from tests.clock import ManualClock
from tests.store.fixtures import Store

REFUSED = (
    peewee.IntegrityError,
    peewee.DataError,
    peewee.OperationalError,
    peewee.ProgrammingError,  # PostgreSQL: a value of the wrong type
)
ANCHOR = datetime.now(UTC) - timedelta(hours=2)  # clock-ok: in the database's past


def ts(minutes: float = 0) -> str:
    return (ANCHOR + timedelta(minutes=minutes)).replace(tzinfo=None).isoformat(sep=" ")


def raw(store: Store, sql: str, params: tuple[Any, ...] = ()) -> Any:
    if store.database.dialect == "postgresql":
        sql = sql.replace("?", "%s")
    return store.database.handle.execute_sql(sql, params)


def insert(store: Store, table: str, row: dict[str, Any]) -> None:
    marks = ", ".join("?" for _ in row)
    with store.database.handle.atomic():
        raw(store, f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", tuple(row.values()))


def streamer(store: Store, name: str = "alpha", user_id: int = 1) -> int:
    return store.repository.add_streamer(name, user_id).id


def rule_row(sid: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "streamer_id": sid,
        "keywords": '["speedrun"]',
        "categories": "[]",
        "title_changes": True,
        "sound_path": None,
        "open_on_live": False,
        "updated_at": ts(),
    }
    row.update(overrides)
    return row


def change_row(sid: int | None, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "streamer_id": sid,
        "change_type": "title",
        "previous_value": "Warm-up",
        "new_value": "Ranked",
        "source": "pusher",
        "changed_at": ts(0),
        "recorded_at": ts(1),
    }
    row.update(overrides)
    return row


def test_valid_raw_rows_are_accepted(store: Store) -> None:
    sid = streamer(store)
    insert(store, "streamer_rule", rule_row(sid))
    insert(store, "stream_change", change_row(sid))
    insert(store, "stream_change", change_row(sid, change_type="category", new_value="Chess"))


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"keywords": "speedrun"}, "keywords must be JSON"),
        ({"keywords": '{"a": 1}'}, "keywords must be an array"),
        ({"categories": "[" + ",".join(['"' + "c" * 98 + '"'] * 41) + "]"}, "list too long"),
        ({"sound_path": ""}, "empty sound path"),
        ({"sound_path": "   "}, "blank sound path"),
        ({"sound_path": "/" + "s" * 1024}, "sound path too long"),
        ({"keywords": None}, "keywords NOT NULL"),
        ({"updated_at": None}, "updated_at NOT NULL"),
        ({"streamer_id": 999_999}, "no such streamer"),
    ],
)
def test_the_rule_table_refuses_raw_writes_on_both_engines(
    store: Store, overrides: dict[str, Any], why: str
) -> None:
    sid = streamer(store)
    with pytest.raises(REFUSED):
        insert(store, "streamer_rule", rule_row(sid, **overrides))


def test_one_rule_row_per_streamer(store: Store) -> None:
    sid = streamer(store)
    insert(store, "streamer_rule", rule_row(sid))
    with pytest.raises(peewee.IntegrityError):
        insert(store, "streamer_rule", rule_row(sid))


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"change_type": "viewers"}, "unknown kind"),
        ({"new_value": "Warm-up"}, "no change"),
        ({"new_value": "  "}, "blank value"),
        ({"new_value": "T" * 301}, "title too long"),
        ({"change_type": "category", "new_value": "C" * 101}, "category too long"),
        ({"previous_value": None}, "previous NOT NULL"),
        ({"source": "carrier pigeon"}, "unknown source"),
        ({"changed_at": ts(2)}, "recorded before it changed"),
        ({"streamer_id": None}, "streamer NOT NULL"),
        ({"streamer_id": 999_999}, "no such streamer"),
        ({"livestream_id": "9" * 65}, "livestream id too long"),
    ],
)
def test_the_change_table_refuses_raw_writes_on_both_engines(
    store: Store, overrides: dict[str, Any], why: str
) -> None:
    sid = streamer(store)
    with pytest.raises(REFUSED):
        insert(store, "stream_change", change_row(sid, **overrides))


@pytest.mark.parametrize(
    ("table", "overrides"),
    [
        ("streamer_rule", {"title_changes": 2}),
        ("streamer_rule", {"open_on_live": "maybe"}),
        ("streamer_rule", {"updated_at": "someday"}),
        ("streamer_rule", {"streamer_id": 1.5}),
        ("stream_change", {"changed_at": "1700000000", "recorded_at": "1700000001"}),
    ],
)
def test_sqlite_refuses_the_types_postgresql_refuses(
    store: Store, table: str, overrides: dict[str, Any]
) -> None:
    sid = streamer(store)
    row = rule_row(sid, **overrides) if table == "streamer_rule" else change_row(sid, **overrides)
    with pytest.raises(REFUSED):
        insert(store, table, row)


def test_deleting_a_streamer_row_deletes_its_rule_and_changes(store: Store) -> None:
    sid = streamer(store)
    other = streamer(store, "beta", 2)
    insert(store, "streamer_rule", rule_row(sid))
    insert(store, "streamer_rule", rule_row(other))
    insert(store, "stream_change", change_row(sid))
    with store.database.handle.atomic():
        raw(store, "DELETE FROM streamer WHERE id = ?", (sid,))
    assert raw(store, "SELECT streamer_id FROM streamer_rule").fetchall() == [(other,)]
    assert raw(store, "SELECT COUNT(*) FROM stream_change").fetchone()[0] == 0


def test_a_database_from_before_rules_is_migrated_with_its_rows_kept(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tuple(m for m in schema_module.MIGRATIONS if m.version < 6)
    monkeypatch.setattr(database_module, "MIGRATIONS", before)
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", before[-1].version)
    old = open_database(db_url)
    assert old.schema_version() == 5
    assert not old.handle.table_exists("streamer_rule")
    clock = ManualClock()
    from kickwatch.store import Repository

    Repository(old, clock).add_streamer("alpha", 1, kick_channel_id=11)
    old.close()
    monkeypatch.undo()

    database = open_database(db_url)
    try:
        assert database.schema_version() == schema_module.SCHEMA_VERSION
        applied = {
            row[0]
            for row in database.handle.execute_sql("SELECT version FROM schema_version").fetchall()
        }
        assert 6 in applied
        rules = RuleStore(database, clock)
        assert rules.all_rules() == {}
        rule = rules.set_rule("alpha", keywords=["ranked"], open_on_live=True)
        assert rules.get_rule("alpha") == rule
    finally:
        database.close()
