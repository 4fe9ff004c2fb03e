"""CHECK lists of values spelled out as comparisons on SQLite (migration 11).

SQLite builds a temporary table of a CHECK's list of three or more values for every row it
checks; the same rule written as comparisons is evaluated in place. The rewrite keeps every
rule (NULL included) and every row, and a database that refuses to have its schema written, or
a definition that would not parse, is left as it was.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import peewee
import pytest

import kickwatch.store.database as database_module
from kickwatch.store import check_lists, open_database
from kickwatch.store import schema as schema_module
from kickwatch.store.check_lists import spell_out_check_lists, spelled_out

NOW = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)
STATUS_LIST = "status IN ('online', 'offline', 'unknown')"


def test_a_list_of_three_or_more_values_becomes_one_comparison_each() -> None:
    sql = (
        "CREATE TABLE t (status TEXT CONSTRAINT chk_status CHECK (status IN ('a', 'b', 'c')),"
        " kind TEXT CHECK (kind IN ('x', 'y')), flag INTEGER CHECK (flag IN (0, 1, 2)),"
        " source TEXT CHECK (source IN ('p', 'q', 'r', 's')))"
    )
    assert spelled_out(sql) == (
        "CREATE TABLE t (status TEXT CONSTRAINT chk_status CHECK"
        " ((status = 'a' OR status = 'b' OR status = 'c')),"
        " kind TEXT CHECK (kind IN ('x', 'y')), flag INTEGER CHECK (flag IN (0, 1, 2)),"
        " source TEXT CHECK ((source = 'p' OR source = 'q' OR source = 'r' OR source = 's')))"
    )
    assert spelled_out(spelled_out(sql)) == spelled_out(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "CHECK (status NOT IN ('a', 'b', 'c'))",
        "CHECK (status IN ('it''s', 'b', 'c'))",
        "CHECK (status IN (SELECT name FROM t))",
    ],
)
def test_other_lists_are_left_as_they_are(sql: str) -> None:
    assert spelled_out(sql) == sql


@pytest.mark.parametrize("value", [None, "", "online", "offline", "unknown", "Online", "gone", 1])
def test_the_spelled_out_rule_is_the_list_rule_for_any_value(value: object) -> None:
    listed = f"SELECT {STATUS_LIST} FROM (SELECT ? AS status)"
    compared = f"SELECT {spelled_out(STATUS_LIST)} FROM (SELECT ? AS status)"
    assert compared != listed
    with contextlib.closing(sqlite3.connect(":memory:")) as connection:
        (by_list,) = connection.execute(listed, (value,)).fetchone()
        (by_comparison,) = connection.execute(compared, (value,)).fetchone()
    assert by_comparison == by_list  # None (passes a CHECK) for NULL, 0 or 1 otherwise


def opcodes(database_handle: peewee.Database, sql: str) -> list[str]:
    return [row[1] for row in database_handle.execute_sql(f"EXPLAIN {sql}").fetchall()]


def test_writing_an_event_or_a_status_builds_no_table_of_values(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "k.db"))
    try:
        insert = opcodes(
            database.handle,
            "INSERT INTO status_event (streamer_id, event_type, previous_status, new_status,"
            " event_timestamp, received_timestamp, processed_timestamp)"
            " VALUES (1, 'stream_start', 'offline', 'online', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        )
        update = opcodes(database.handle, "UPDATE streamer SET status = 'online' WHERE id = 1")
        assert "OpenEphemeral" not in insert
        assert "OpenEphemeral" not in update
        tables = database.handle.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
        ).fetchall()
        left = [name for name, sql in tables if spelled_out(sql) != sql]
        assert left == []  # a later migration's list of three values, too
    finally:
        database.close()


def open_at_version_10(path: Path, monkeypatch: pytest.MonkeyPatch) -> database_module.Database:
    before = tuple(m for m in schema_module.MIGRATIONS if m.version <= 10)
    with monkeypatch.context() as patch:
        patch.setattr(database_module, "MIGRATIONS", before)
        patch.setattr(database_module, "SCHEMA_VERSION", 10)
        return open_database(str(path))


def table_sql(handle: peewee.Database, name: str) -> str:
    row = handle.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return str(row[0])


def test_migrating_keeps_every_row_and_every_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k.db"
    old = open_at_version_10(path, monkeypatch)
    old.handle.execute_sql(
        "INSERT INTO streamer (kick_user_id, username, display_name, status, created_at,"
        " updated_at) VALUES (1, 'alpha', 'Alpha', 'offline', ?, ?)",
        (NOW, NOW),
    )
    old.handle.execute_sql(
        "INSERT INTO status_event (streamer_id, event_type, previous_status, new_status,"
        " kick_event_id, event_timestamp, received_timestamp, processed_timestamp)"
        " VALUES (1, 'stream_end', 'online', 'offline', 'k1', ?, ?, ?)",
        (NOW, NOW, NOW),
    )
    assert STATUS_LIST in table_sql(old.handle, "streamer")
    before = old.handle.execute_sql("SELECT * FROM status_event").fetchall()
    old.close()

    database = open_database(str(path))
    try:
        handle = database.handle
        assert database.schema_version() == 11
        assert handle.execute_sql("SELECT * FROM status_event").fetchall() == before
        assert handle.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
        for name in ("streamer", "status_event", "configuration", "alert_delivery"):
            assert spelled_out(table_sql(handle, name)) == table_sql(handle, name)
        assert STATUS_LIST not in table_sql(handle, "streamer")
        with pytest.raises(peewee.IntegrityError), handle.atomic():
            handle.execute_sql("UPDATE status_event SET event_type = 'stream_paused'")
        with pytest.raises(peewee.IntegrityError), handle.atomic():
            handle.execute_sql("UPDATE streamer SET status = 'away'")
        handle.execute_sql("UPDATE streamer SET status = 'online'")
    finally:
        database.close()


def test_a_database_that_refuses_schema_writes_keeps_its_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database = open_at_version_10(tmp_path / "k.db", monkeypatch)
    try:
        handle = database.handle

        def no_schema_writes(action: int, table: str | None, *_: object) -> int:
            refused = action == sqlite3.SQLITE_UPDATE and table == "sqlite_master"
            return sqlite3.SQLITE_DENY if refused else sqlite3.SQLITE_OK

        handle.connection().set_authorizer(no_schema_writes)
        with caplog.at_level(logging.WARNING), handle.atomic():
            assert spell_out_check_lists(handle) == []
        handle.connection().set_authorizer(None)
        assert STATUS_LIST in table_sql(handle, "streamer")
        assert "kept as they were" in caplog.text
        handle.execute_sql("UPDATE streamer SET status = 'online' WHERE id = 0")
    finally:
        database.close()


def test_definitions_that_would_not_parse_are_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_at_version_10(tmp_path / "k.db", monkeypatch)
    try:
        handle = database.handle
        original = spelled_out
        monkeypatch.setattr(check_lists, "spelled_out", lambda sql: original(sql) + " garbage(")
        with handle.atomic():
            assert spell_out_check_lists(handle) == []
        assert STATUS_LIST in table_sql(handle, "streamer")
        assert handle.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
        handle.execute_sql(
            "INSERT INTO streamer (kick_user_id, username, display_name, created_at, updated_at)"
            " VALUES (2, 'beta', 'Beta', ?, ?)",
            (NOW, NOW),
        )
    finally:
        database.close()
