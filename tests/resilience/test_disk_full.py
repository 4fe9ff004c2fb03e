"""The SQLite database on a 2 MiB file system that fills up while `kickwatch run` records
changes: it reports a full disk in words a person understands (not "cannot rollback - no
transaction is active"), holds the changes, and once space is freed stores each exactly once."""

from __future__ import annotations

import errno
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.chaos.world import compare, read_store
from tests.cli.helpers import make_cli
from tests.fakekick import FakeKick, wait_for_sync
from tests.resilience.helpers import prepare

STREAMERS = 100


def fill(disk: Path) -> Path:
    """Write a file until the file system has no byte left; returns it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (64 * 1024, 4096, 512, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


@pytest.mark.slow
def test_a_full_disk_is_reported_as_such_and_loses_and_duplicates_nothing(
    fake_kick_thread: FakeKick, small_disk: Path, tmp_path: Path
) -> None:
    # Made elsewhere and copied: the write-ahead log of setting it up would not fit in 2 MiB.
    staging = tmp_path / "staging.db"
    monitoring = prepare(fake_kick_thread, tmp_path, STREAMERS, str(staging), "disk")
    assert not Path(f"{staging}-wal").exists()
    db = small_disk / "kickwatch.db"
    shutil.copyfile(staging, db)
    monitoring.db_url = str(db)
    channels = monitoring.channels
    run = monitoring.start()
    try:
        # An empty write-ahead log, so that the next commit needs space the disk no longer has.
        checkpoint = sqlite3.connect(db, timeout=30)
        try:
            assert checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        finally:
            checkpoint.close()
        filler = fill(small_disk)

        for channel in channels:
            monitoring.go_live(channel, title=f"{channel.slug} " + "long title " * 20)
        wait_for_sync(lambda: run.messages("DatabaseUnavailable"), 20, what="the full disk")
        assert run.changes() == [], "a change was announced while it could not be stored"

        filler.unlink()
        wait_for_sync(lambda: run.messages("DatabaseRecovered"), 20, what="the recovery")
        wait_for_sync(
            lambda: len(run.changes()) >= monitoring.world.changes, 20, what="every change stored"
        )
        code = run.stop()
    finally:
        run.close()

    assert code == 0, run.stderr
    assert "Traceback" not in run.stderr
    [unavailable, *_] = run.messages("DatabaseUnavailable")
    assert re.fullmatch(r"database unavailable: .+; \d+ changes held", unavailable)
    assert re.search(r"disk\b.*\bfull", unavailable, re.IGNORECASE), unavailable
    everything = "\n".join(str(line) for line in run.snapshot()) + run.stderr
    assert "cannot rollback" not in everything
    assert compare(monitoring.world, read_store(str(db)), run.changes()) == []


def test_a_command_on_a_full_disk_says_so_and_reading_still_works(
    small_disk: Path, tmp_path: Path
) -> None:
    cli = make_cli(tmp_path / "home")
    staging = tmp_path / "staging.db"
    assert cli("--db", str(staging), "add", "alpha", "--user-id", "1").returncode == 0
    checkpoint = sqlite3.connect(staging)
    try:
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoint.execute("PRAGMA journal_mode = wal")
    finally:
        checkpoint.close()
    db = small_disk / "kickwatch.db"
    shutil.copyfile(staging, db)
    # A reader keeps the shared-memory and log files in place, as a running monitor would.
    reader = sqlite3.connect(db)
    try:
        reader.execute("SELECT count(*) FROM streamer").fetchone()
        filler = fill(small_disk)
        try:
            added = cli("--db", str(db), "add", "beta" + "x" * 40, "--user-id", "2")
            listed = cli("--db", str(db), "list")
        finally:
            filler.unlink()
    finally:
        reader.close()
    assert added.returncode == 1, added.stderr
    assert "Traceback" not in added.stderr and "cannot rollback" not in added.stderr
    assert re.search(r"^kickwatch: error: .*disk is full", added.stderr, re.MULTILINE), added.stderr
    assert listed.returncode == 0, listed.stderr
    assert "alpha" in listed.stdout
