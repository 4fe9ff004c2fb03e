"""Opening a SQLite file: refused when it is not kickwatch's, read-only when it cannot be written.

The command-line tests prove the same on a real read-only mount; here a file this user may not
write (os.access says so, as it would for a non-root user) opens read-only, is not migrated, and
refuses writes; a database another connection has open (its -wal beside it) is still
recognised as kickwatch's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import peewee
import pytest

from kickwatch.domain.errors import DatabaseUnavailableError
from kickwatch.store import open_database
from kickwatch.store.database import DatabaseReadOnlyError, ForeignDatabaseError


def deny_writes(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    real_access = os.access

    def access(target: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(target) == path:
            return False
        return real_access(target, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_a_file_this_user_may_not_write_opens_read_only_when_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k.db"
    open_database(str(path)).close()
    deny_writes(monkeypatch, path)
    with pytest.raises(DatabaseReadOnlyError, match=f"this user may not write {path}"):
        open_database(str(path))
    database = open_database(str(path), read_only_ok=True)
    try:
        assert database.read_only == f"this user may not write {path}"
        assert database.handle.execute_sql("SELECT count(*) FROM streamer").fetchone() == (0,)
        with pytest.raises(peewee.OperationalError, match="readonly"):
            database.handle.execute_sql("DELETE FROM streamer")
        with pytest.raises(DatabaseReadOnlyError, match="nothing was changed"):
            database.require_writable()
    finally:
        database.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.db"]  # no -wal or -shm made


def test_a_database_another_connection_has_open_is_still_kickwatchs(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    writer = open_database(str(path), bind=False)
    try:
        writer.handle.execute_sql(
            "INSERT INTO schema_version (version, description) VALUES (99, 'x')"
        )
        writer.handle.execute_sql("DELETE FROM schema_version WHERE version = 99")
        second = open_database(str(path), bind=False)
        second.close()
    finally:
        writer.close()


def test_a_folder_that_cannot_be_written_gives_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny_writes(monkeypatch, tmp_path)
    real_open = os.open

    def refuse(path: Any, flags: int, *args: Any) -> int:
        if Path(path).parent == tmp_path and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(DatabaseUnavailableError, match="this user may not write the folder"):
        open_database(str(tmp_path / "new.db"))


def test_a_text_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"SQLite format 2\x00 but not really")
    with pytest.raises(ForeignDatabaseError, match="not an SQLite file"):
        open_database(str(path))
    assert path.read_bytes() == b"SQLite format 2\x00 but not really"
