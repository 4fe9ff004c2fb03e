"""`DbWriter` on a real database (SQLite file and PostgreSQL): a change the database can never
store costs itself and never the next one, and a database file deleted underneath is noticed
before anything is reported as stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kickwatch.domain.status import EventType
from kickwatch.monitor.writer import DbWriter, WriterCallbacks
from kickwatch.store import Repository, open_database
from kickwatch.store.repository import BatchResult, StatusChange
from tests.clock import ManualClock
from tests.fakekick import wait_for
from tests.store.fixtures import Store


@dataclass
class Reports:
    committed: list[BatchResult] = field(default_factory=list)
    unavailable: list[tuple[str, int]] = field(default_factory=list)
    quarantined: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)

    def callbacks(self) -> WriterCallbacks:
        return WriterCallbacks(
            self.committed.append,
            lambda reason, pending: self.unavailable.append((reason, pending)),
            lambda flushed: None,
            lambda refused, reason: None,
            lambda count, reason: self.quarantined.append((count, reason)),
            lambda reason, pending: self.failed.append((reason, pending)),
        )


def start(store: Store, streamer_id: int, minutes: int, **extra: Any) -> StatusChange:
    at = store.clock.now() - timedelta(minutes=minutes)
    return StatusChange(
        streamer_id,
        EventType.STREAM_START,
        store.clock.now(),
        at,
        kick_event_id=f"{streamer_id}:{minutes}:start",
        livestream_id=str(minutes),
        **extra,
    )


def writer(store: Store, reports: Reports) -> DbWriter:
    return DbWriter(
        store.repository,
        asyncio.get_running_loop(),
        reports.callbacks(),
        retry_initial=0.01,
        retry_max=0.05,
    )


def stored_ids(store: Store) -> list[str | None]:
    return sorted(str(e.kick_event_id) for e in store.repository.event_history() if e.kick_event_id)


@pytest.mark.parametrize(
    "bad",
    [
        {"title": "broken \ud800 title"},  # a lone surrogate: no UTF-8 encoding exists
        {"category": "nul \x00 inside"},  # PostgreSQL text cannot hold NUL
        {"viewers": 2**70},  # no integer column holds it
    ],
    ids=["surrogate", "nul", "huge-int"],
)
async def test_a_change_the_database_cannot_store_is_quarantined_and_the_next_is_written(
    store: Store, bad: dict[str, Any]
) -> None:
    ids = [store.repository.add_streamer(n, i).id for i, n in enumerate("abcd", 1)]
    reports = Reports()
    db = writer(store, reports)
    db.start()
    good = [start(store, ids[0], 30), start(store, ids[1], 29), start(store, ids[3], 27)]
    poisoned = start(store, ids[2], 28, **bad)
    sqlite = store.database.dialect == "sqlite"
    storable = sqlite and "category" in bad  # SQLite stores NUL in text
    db.submit([good[0], good[1], poisoned, good[2]])
    assert await db.flush(10)
    later = start(store, ids[0], 1)
    db.submit([later])
    assert await db.flush(10)
    await db.stop()

    expected = {c.kick_event_id for c in [*good, later]}
    if storable:
        expected.add(poisoned.kick_event_id)
    assert set(stored_ids(store)) == expected
    assert reports.unavailable == []  # a bad value is not an outage
    # The streamers of every written part come back, so the monitor's view stays current.
    changed = {r.id for result in reports.committed for r in result.streamers}
    assert {ids[0], ids[1], ids[3]} <= changed
    quarantined = store.repository.quarantined_changes()
    if storable:
        assert quarantined == []
        return
    assert len(quarantined) == 1
    assert quarantined[0]["streamer_id"] == ids[2]
    assert quarantined[0]["change_kind"] == "stream_start"
    assert quarantined[0]["change"]["kick_event_id"] == poisoned.kick_event_id
    assert quarantined[0]["reason"]
    await wait_for(lambda: reports.quarantined, what="the quarantine reported")
    assert reports.quarantined[0][0] == 1


async def test_non_finite_numbers_in_event_data_are_stored_as_null(store: Store) -> None:
    streamer = store.repository.add_streamer("alpha", 1)
    reports = Reports()
    db = writer(store, reports)
    db.start()
    data = {"viewers": float("nan"), "ratio": float("inf"), "nested": [float("-inf"), "ok"]}
    db.submit([start(store, streamer.id, 5, event_data=data)])
    assert await db.flush(10)
    await db.stop()
    (event,) = store.repository.event_history()
    assert event.event_data == {"viewers": None, "ratio": None, "nested": [None, "ok"]}
    assert store.repository.quarantined_changes() == []


def delete_database_files(path: Path | None) -> None:
    """`rm kickwatch.db*`, as a user cleaning up would."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    database = open_database(str(tmp_path / "kickwatch.db"))
    clock = ManualClock()
    yield Store(database, Repository(database, clock), clock)
    database.close()


async def test_a_deleted_database_file_stops_the_writer_before_anything_is_reported(
    sqlite_store: Store,
) -> None:
    store = sqlite_store
    streamer = store.repository.add_streamer("alpha", 1)
    reports = Reports()
    db = writer(store, reports)
    db.start()
    db.submit([start(store, streamer.id, 10)])
    assert await db.flush(10)
    committed = len(reports.committed)
    await wait_for(lambda: len(reports.committed) == 1)
    path = store.database.path
    delete_database_files(path)
    db.submit([start(store, streamer.id, 5), start(store, streamer.id, 4)])
    await wait_for(lambda: reports.failed, what="the writer to give up")
    (reason, pending), *_ = reports.failed
    assert "was deleted" in reason and str(path) in reason
    assert pending == 2
    await asyncio.sleep(0)
    assert len(reports.committed) == committed == 1  # nothing after the deletion was "stored"
    assert not db.submit([start(store, streamer.id, 3)])  # and nothing more is taken
    await db.stop()
