"""Several kickwatch processes starting at once on one empty database: every one succeeds, and
the schema is migrated exactly once (migrations run under a lock and re-read the version)."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import peewee
import pytest

from kickwatch.store import open_database
from kickwatch.store.database import apply_migrations
from kickwatch.store.schema import MIGRATIONS
from tests.cli.helpers import kickwatch_command, make_cli

PROCESSES = 3


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each engine: a SQLite file not yet made, a fresh PostgreSQL one."""
    if request.param == "sqlite":
        return str(tmp_path / "empty.db")
    return str(request.getfixturevalue("pg_url"))


def test_processes_starting_together_on_an_empty_database_all_succeed(
    tmp_path: Path, empty_url: str
) -> None:
    # End to end with real processes; their start-up rarely overlaps to the millisecond, so the
    # race itself is forced by the threads of the next test.
    url = empty_url
    cli = make_cli(tmp_path / "home", KICKWATCH_DB=url)
    processes = [
        subprocess.Popen(
            [*kickwatch_command(), "list"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    database = open_database(url, migrate=False)
    try:
        versions = [
            row[0]
            for row in database.handle.execute_sql(
                "SELECT version FROM schema_version ORDER BY version"
            )
        ]
    finally:
        database.close()
    assert versions == [m.version for m in MIGRATIONS]


def test_migrations_racing_from_the_same_instant_apply_each_step_once(empty_url: str) -> None:
    url = empty_url
    barrier = threading.Barrier(PROCESSES)
    errors: list[BaseException] = []

    def start() -> None:
        database = open_database(url, migrate=False, bind=False)
        try:
            barrier.wait(timeout=10)
            apply_migrations(database)
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=start) for _ in range(PROCESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    database = open_database(url, migrate=False, bind=False)
    try:
        assert database.schema_version() == MIGRATIONS[-1].version
        count = database.handle.execute_sql("SELECT count(*) FROM schema_version").fetchone()[0]
    finally:
        database.close()
    assert count == len(MIGRATIONS)


def a_real_busy_error(tmp_path: Path) -> sqlite3.OperationalError:
    """The error SQLite gives a connection that finds the file locked and may not wait."""
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    other = sqlite3.connect(tmp_path / "locked.db", timeout=0)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError) as raised:
            other.execute("CREATE TABLE t (x)")
        return raised.value
    finally:
        holder.close()
        other.close()


def test_an_open_that_finds_the_file_locked_at_once_waits_its_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = a_real_busy_error(tmp_path)
    assert busy.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    connect = peewee.SqliteDatabase._connect
    refusals = iter([busy, busy])

    def locked_twice(self: peewee.SqliteDatabase) -> Any:
        error = next(refusals, None)
        if error is not None:
            raise error  # as switching a new file to WAL does while another process does
        return connect(self)

    monkeypatch.setattr(peewee.SqliteDatabase, "_connect", locked_twice)
    database = open_database(str(tmp_path / "kickwatch.db"))
    try:
        assert database.schema_version() == MIGRATIONS[-1].version
    finally:
        database.close()
    with pytest.raises(StopIteration):
        next(refusals)  # both refusals were met, and waited out
