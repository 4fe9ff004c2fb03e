"""Database files kickwatch did not make, and databases it cannot write, on the real command.

A file at the database path that is not a kickwatch database (text, another program's SQLite
database in either journal mode) is refused in one line by every command, and its bytes, its mode
and the folder around it (no -wal or -shm left beside it) stay exactly as they were. A database
on a read-only file system (a read-only bind mount: mounting needs root, which CI has; elsewhere
the test skips, unless KICKWATCH_TEST_STRICT=1) can still be read by list, history, quarantine and
config list; a command that writes gets one line; doctor reports a FAIL line and goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kickwatch.store import open_database
from kickwatch.store.schema import SCHEMA_VERSION
from tests.cli.helpers import Cli, make_cli
from tests.services import require


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file in `folder`: its SHA-256 and its mode."""
    return {
        path.name: (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            stat.S_IMODE(path.stat().st_mode),
        )
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


def one_error_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kickwatch: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def text_file(path: Path) -> None:
    path.write_text("shopping list\neggs\nmilk\n")


def rollback_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE recipes (name TEXT, minutes INTEGER)")
        connection.execute("INSERT INTO recipes VALUES ('pancakes', 20)")
    connection.close()


def wal_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=wal")
    connection.execute("CREATE TABLE schema_version (version INTEGER)")  # not kickwatch's
    connection.execute("INSERT INTO schema_version VALUES (7)")
    connection.commit()
    connection.close()


FOREIGN = {
    "text file": (text_file, "not a kickwatch database (not an SQLite file)"),
    "sqlite": (rollback_sqlite, "another program's SQLite database"),
    "sqlite in wal mode": (wal_sqlite, "another program's SQLite database"),
}
COMMANDS = [
    ("list",),
    ("history",),
    ("add", "alpha", "--user-id", "1"),
    ("config", "set", "system.sounds", "false"),
    ("config", "list"),
]


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_a_foreign_file_is_refused_in_one_line_and_left_exactly_as_it_was(
    tmp_path: Path, kind: str
) -> None:
    make, words = FOREIGN[kind]
    folder = tmp_path / "shared"
    folder.mkdir()
    target = folder / "notes.db"
    make(target)
    target.chmod(0o644)
    before = fingerprint(folder)
    cli = make_cli(tmp_path / "home", KICKWATCH_DB=str(target))
    for command in COMMANDS:
        one_error_line(cli(*command), 1, str(target), words, "left it unchanged")
    doctor = cli("doctor")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert f"database     FAIL  {target} " in doctor.stdout
    assert "master key" in doctor.stdout  # the other checks still run
    assert fingerprint(folder) == before  # bytes and mode, and no -wal or -shm beside it
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_another_programs_database_that_is_open_right_now_is_left_as_it_was(
    tmp_path: Path,
) -> None:
    target = tmp_path / "busy.db"
    writer = sqlite3.connect(target)
    try:
        writer.execute("PRAGMA journal_mode=wal")
        writer.execute("CREATE TABLE notes (text TEXT)")
        writer.execute("INSERT INTO notes VALUES ('kept in the -wal file')")
        writer.commit()
        wal = tmp_path / "busy.db-wal"
        assert wal.stat().st_size > 0  # nothing checkpointed into the file yet
        before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (target, wal)}
        cli = make_cli(tmp_path / "home", KICKWATCH_DB=str(target))
        one_error_line(cli("list"), 1, "another program's SQLite database")
        one_error_line(cli("add", "alpha", "--user-id", "1"), 1, "left it unchanged")
        assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (target, wal)} == before
        assert writer.execute("SELECT text FROM notes").fetchall() == [("kept in the -wal file",)]
    finally:
        writer.close()


def test_an_empty_file_the_user_made_becomes_the_database_and_keeps_its_mode(
    tmp_path: Path,
) -> None:
    target = tmp_path / "mine.db"
    target.touch()
    target.chmod(0o640)
    cli = make_cli(tmp_path / "home", KICKWATCH_DB=str(target))
    assert cli("add", "alpha", "--user-id", "1").returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert cli("add", "beta", "--user-id", "2").returncode == 0  # and it is ours from now on


def test_a_folder_at_the_database_path_is_one_line(tmp_path: Path) -> None:
    cli = make_cli(tmp_path / "home", KICKWATCH_DB=str(tmp_path))
    one_error_line(cli("list"), 1, "is a folder, not a database file")


# -- read-only ------------------------------------------------------------------------------


@contextlib.contextmanager
def read_only_view(source: Path, mount_point: Path) -> Iterator[Path]:
    """`source` bind-mounted read-only at `mount_point` (needs root: CI has it; elsewhere the
    test skips, unless KICKWATCH_TEST_STRICT=1 makes that a failure)."""
    mount_point.mkdir()
    bound = subprocess.run(
        ["mount", "--bind", str(source), str(mount_point)], capture_output=True, text=True
    )
    require(bound.returncode == 0, f"cannot bind-mount here: {bound.stderr.strip()}")
    try:
        remounted = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(mount_point)], capture_output=True, text=True
        )
        require(remounted.returncode == 0, f"cannot remount read-only: {remounted.stderr.strip()}")
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30)


@pytest.fixture
def read_only_home(tmp_path: Path) -> Iterator[tuple[Cli, Path]]:
    """A kickwatch home with a database and one streamer, then bind-mounted read-only."""
    source = tmp_path / "source"
    writer = make_cli(source)
    assert writer("add", "alpha", "--user-id", "1", "--display-name", "Alpha").returncode == 0
    assert writer("config", "set", "system.sounds", "false").returncode == 0
    with read_only_view(source, tmp_path / "home") as mount_point:
        yield make_cli(mount_point), source


def test_a_read_only_database_can_be_read_and_refuses_writes_in_one_line(
    read_only_home: tuple[Cli, Path],
) -> None:
    cli, source = read_only_home
    before = fingerprint(source)
    listing = cli("list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert [(r["username"], r["display_name"]) for r in json.loads(listing.stdout)] == [
        ("alpha", "Alpha")
    ]
    for command in (("history", "--json"), ("quarantine",), ("config", "list")):
        result = cli(*command)
        assert result.returncode == 0 and result.stderr == "", (command, result.stderr)
    assert cli("config", "get", "system.sounds").stdout.strip() == "false"
    for command in (
        ("add", "beta", "--user-id", "2"),
        ("disable", "alpha"),
        ("remove", "alpha", "--yes"),
        ("config", "set", "system.sounds", "true"),
        ("config", "unset", "system.sounds"),
    ):
        one_error_line(
            cli(*command), 1, "is read-only", "read-only file system", "nothing was changed"
        )
    doctor = cli("doctor")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert "database     FAIL  sqlite" in doctor.stdout and "is read-only" in doctor.stdout
    assert f"schema       ok    version {SCHEMA_VERSION} (current)" in doctor.stdout
    assert "streamers    ok    1 (1 active)" in doctor.stdout
    assert fingerprint(source) == before


def test_a_read_only_database_that_needs_an_upgrade_says_so(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    database = open_database(str(source / "kickwatch.db"))
    database.handle.execute_sql("DELETE FROM schema_version WHERE version = ?", (SCHEMA_VERSION,))
    database.close()
    with read_only_view(source, tmp_path / "home") as mount_point:
        cli = make_cli(mount_point)
        one_error_line(
            cli("list"),
            1,
            f"needs an upgrade from schema version {SCHEMA_VERSION - 1} to {SCHEMA_VERSION}",
            "read-only",
        )
        doctor = cli("doctor")
        assert "database     FAIL  " in doctor.stdout and "needs an upgrade" in doctor.stdout
