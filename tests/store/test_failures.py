"""Write failures are classified from real driver errors, by error class and code, never by
message text: busy, outage (disk full, connection lost), permanent (a value or rule of one
change), fatal (the file was replaced)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import peewee
import pytest

from kickwatch.domain.errors import ValidationError
from kickwatch.store import open_database
from kickwatch.store.failures import DatabaseReplacedError, FailureKind, classify


def raised(handle: peewee.Database, sql: str, params: tuple[object, ...] = ()) -> BaseException:
    with pytest.raises(Exception) as info, handle.atomic():
        handle.execute_sql(sql, params)
    return info.value


@pytest.fixture
def sqlite_db(tmp_path: Path) -> peewee.Database:
    database = open_database(str(tmp_path / "k.db"))
    yield database.handle
    database.close()


def test_sqlite_constraint_violation_is_permanent(sqlite_db: peewee.Database) -> None:
    error = raised(
        sqlite_db,
        "INSERT INTO streamer (kick_user_id, username, display_name, status, created_at,"
        " updated_at) VALUES (1, 'a', 'A', 'sideways', '2026-01-01', '2026-01-01')",
    )
    assert classify(error).kind is FailureKind.PERMANENT
    assert "constraint" in classify(error).reason


def test_sqlite_text_with_a_lone_surrogate_is_permanent(sqlite_db: peewee.Database) -> None:
    error = raised(sqlite_db, "SELECT ?", ("x\ud800",))
    assert isinstance(error, UnicodeEncodeError)
    assert classify(error).kind is FailureKind.PERMANENT


def test_sqlite_lock_held_by_another_connection_is_busy(
    sqlite_db: peewee.Database, tmp_path: Path
) -> None:
    holder = sqlite3.connect(tmp_path / "k.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        sqlite_db.execute_sql("PRAGMA busy_timeout = 10")
        error = raised(sqlite_db, "DELETE FROM streamer")
    finally:
        holder.rollback()
        holder.close()
    failure = classify(error)
    assert failure.kind is FailureKind.BUSY
    assert failure.reason == "the database is locked by another program"


def test_sqlite_full_disk_is_an_outage_even_under_a_failed_rollback(
    sqlite_db: peewee.Database,
) -> None:
    sqlite_db.execute_sql("PRAGMA journal_mode = delete")
    pages = sqlite_db.execute_sql("PRAGMA page_count").fetchone()[0]
    sqlite_db.execute_sql(f"PRAGMA max_page_count = {pages}")
    error = raised(
        sqlite_db,
        "INSERT INTO quarantined_change (change_kind, reason, change_data, quarantined_at)"
        " VALUES ('x', 'y', ?, '2026-01-01')",
        ("z" * 100_000,),
    )
    assert classify(error).kind is FailureKind.OUTAGE
    assert classify(error).reason == "the disk is full"
    # What peewee raises when the rollback after the full disk fails too.
    try:
        try:
            raise error
        except Exception:
            raise peewee.OperationalError("cannot rollback - no transaction is active")  # noqa: B904
    except peewee.OperationalError as outer:
        assert classify(outer).reason == "the disk is full"


def test_domain_and_file_errors_are_classified() -> None:
    assert classify(ValidationError("title", "too long")).kind is FailureKind.PERMANENT
    assert classify(DatabaseReplacedError("gone")).kind is FailureKind.FATAL
    assert classify(RuntimeError("a bug in one change")).kind is FailureKind.PERMANENT


@pytest.mark.postgres
def test_postgresql_errors_are_classified_by_sqlstate(pg_url: str) -> None:
    database = open_database(pg_url)
    handle = database.handle
    try:
        nul = raised(handle, "SELECT %s::text", ("a\x00b",))
        assert classify(nul).kind is FailureKind.PERMANENT
        check = raised(
            handle, "INSERT INTO configuration VALUES ('x', 'y', '', 'nope', FALSE, now(), 'me')"
        )
        assert classify(check).kind is FailureKind.PERMANENT
        jsonb = raised(handle, "SELECT %s::jsonb", ('"\\ud800"',))
        assert classify(jsonb).kind is FailureKind.PERMANENT
        missing = raised(handle, "SELECT * FROM no_such_table")
        assert classify(missing).kind is FailureKind.OUTAGE  # not one change's fault
        pid = handle.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        other = open_database(pg_url, bind=False, migrate=False)
        other.handle.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
        other.close()
        lost = raised(handle, "SELECT 1")
        failure = classify(lost)
        assert failure.kind is FailureKind.OUTAGE, failure
    finally:
        with contextlib.suppress(peewee.DatabaseError):
            database.close()
