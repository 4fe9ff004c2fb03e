"""A large batch on SQLite hands its INSERTs to a thread of its own (`EventRows`).

The rows, their ids and their order are what one thread writes; a batch small enough to be
announced at once never starts the thread; an INSERT the database refuses, or a change the batch
refuses after handing rows over, rolls the whole batch back; and no thread outlives its batch.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kickwatch.domain.errors import ValidationError
from kickwatch.domain.status import EventType, Status
from kickwatch.store import Repository, StatusChange, open_database, statements
from tests.clock import ManualClock
from tests.monitor.test_writer_store import Reports, writer
from tests.store.fixtures import Store
from tests.store.test_batch_statements import add_streamers
from tests.store.workloads import broadcasts

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

HANDED = statements.SQLITE_HANDED_ROWS
INSERT_THREAD = "kickwatch-db-insert"
STREAMERS = 100
BATCH = 2 * HANDED + STREAMERS  # two handed INSERTs and a tail written by the batch itself


def changes_for(clock: ManualClock, ids: list[int], count: int) -> list[StatusChange]:
    """`count` starts and ends of back-to-back broadcasts of `ids`, ten minutes ago."""
    return broadcasts(clock.now() - timedelta(minutes=10), ids, count)


@pytest.fixture
def inserts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str]]:
    """Every call that writes buffered rows: (its thread's name, its rows, how it ended)."""
    seen: list[tuple[str, int, str]] = []
    original = statements._insert_sqlite

    def recorded(cursor: Any, insert: str, params: Any, rows: Any, size: int) -> None:
        name = threading.current_thread().name
        try:
            original(cursor, insert, params, rows, size)
        except BaseException as error:
            seen.append((name, len(rows), type(error).__name__))
            raise
        seen.append((name, len(rows), "ok"))

    monkeypatch.setattr(statements, "_insert_sqlite", recorded)
    return seen


def insert_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == INSERT_THREAD]


def table(database: Any, name: str) -> list[tuple[Any, ...]]:
    return list(database.handle.execute_sql(f"SELECT * FROM {name} ORDER BY id").fetchall())


@sqlite_only
def test_a_large_batch_is_written_by_the_insert_thread_exactly_as_one_thread_writes_it(
    store: Store,
    tmp_path: Path,
    inserts: list[tuple[str, int, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = add_streamers(store, STREAMERS)
    changes = changes_for(store.clock, ids, BATCH)
    result = store.repository.apply_changes(changes)

    main = threading.current_thread().name
    assert inserts == [
        (INSERT_THREAD, HANDED, "ok"),
        (INSERT_THREAD, HANDED, "ok"),
        (main, STREAMERS, "ok"),
    ]
    assert insert_threads() == []
    assert [applied.event.kick_event_id for applied in result.applied] == [
        change.kick_event_id for change in changes
    ]
    event_ids = [applied.event.id for applied in result.applied]
    assert event_ids == list(range(event_ids[0], event_ids[0] + BATCH))  # in the batch's order
    stored = {row[0]: row for row in table(store.database, "status_event")}
    assert [stored[event_id][5] for event_id in event_ids] == [c.kick_event_id for c in changes]

    # The same batch on a second database, every row written by the batch's own thread.
    monkeypatch.setattr(statements, "SQLITE_HANDED_ROWS", BATCH + 1)
    inserts.clear()
    alone = open_database(str(tmp_path / "alone.db"))
    try:
        clock = ManualClock(store.clock.now())
        other = Store(alone, Repository(alone, clock), clock)
        assert add_streamers(other, STREAMERS) == ids
        other.repository.apply_changes(changes_for(clock, ids, BATCH))
        assert [name for name, _, _ in inserts] == [main]
        assert table(alone, "status_event") == table(store.database, "status_event")
        assert table(alone, "streamer") == table(store.database, "streamer")
    finally:
        alone.close()


@sqlite_only
def test_a_batch_smaller_than_one_handed_insert_never_starts_the_thread(
    store: Store, inserts: list[tuple[str, int, str]]
) -> None:
    ids = add_streamers(store, STREAMERS)
    result = store.repository.apply_changes(changes_for(store.clock, ids, HANDED - 1))
    assert len(result.applied) == HANDED - 1
    assert inserts == [(threading.current_thread().name, HANDED - 1, "ok")]


@sqlite_only
@pytest.mark.parametrize(
    ("refused", "written"),
    [
        (10, [(INSERT_THREAD, HANDED, "UnicodeEncodeError")]),  # the rest is never run
        (
            HANDED + 10,
            [(INSERT_THREAD, HANDED, "ok"), (INSERT_THREAD, HANDED, "UnicodeEncodeError")],
        ),
        (
            2 * HANDED + 10,
            [
                (INSERT_THREAD, HANDED, "ok"),
                (INSERT_THREAD, HANDED, "ok"),
                ("main", STREAMERS, "UnicodeEncodeError"),
            ],
        ),
    ],
    ids=["first-handed", "second-handed", "tail"],
)
def test_an_insert_the_database_refuses_rolls_the_whole_batch_back(
    store: Store, inserts: list[tuple[str, int, str]], refused: int, written: list[Any]
) -> None:
    ids = add_streamers(store, STREAMERS)
    changes = changes_for(store.clock, ids, BATCH)
    good = changes[refused]
    # A lone surrogate has no UTF-8 form: the driver refuses the row when it binds it.
    bad = replace(good, kick_event_id=f"{good.kick_event_id}\ud800")
    with pytest.raises(UnicodeEncodeError):
        store.repository.apply_changes([*changes[:refused], bad, *changes[refused + 1 :]])

    main = threading.current_thread().name
    assert inserts == [(main if name == "main" else name, rows, how) for name, rows, how in written]
    assert insert_threads() == []
    assert store.repository.count_events() == 0
    assert {s.status for s in store.repository.all_streamers()} == {Status.UNKNOWN}
    # Nothing of the failed transaction is left open: the next batch is written whole.
    assert len(store.repository.apply_changes(changes).applied) == BATCH
    assert store.repository.count_events() == BATCH


@sqlite_only
def test_a_change_refused_after_rows_were_handed_over_rolls_the_batch_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[int] = []
    put = statements._ChunkWriter.put

    def recorded(writer: Any, params: Any, rows: Any) -> None:
        handed.append(len(rows))
        put(writer, params, rows)

    monkeypatch.setattr(statements._ChunkWriter, "put", recorded)
    ids = add_streamers(store, STREAMERS)
    changes = changes_for(store.clock, ids, BATCH)
    late = HANDED + 100  # after the first handed INSERT
    test = replace(changes[late], event_type=EventType.CONNECTION_TEST)
    with pytest.raises(ValidationError):
        store.repository.apply_changes([*changes[:late], test, *changes[late + 1 :]])
    assert handed == [HANDED]  # whether the thread had begun its INSERT or not
    assert insert_threads() == []
    assert store.repository.count_events() == 0
    assert len(store.repository.apply_changes(changes).applied) == BATCH


def test_the_handed_inserts_stay_within_sqlites_default_parameter_limit() -> None:
    columns = len(statements.INSERT_COLUMNS)
    assert HANDED * columns <= 32_766  # SQLITE_MAX_VARIABLE_NUMBER's default since 3.32
    connection = sqlite3.connect(":memory:")
    try:
        assert HANDED * columns <= connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        connection.close()


@sqlite_only
async def test_the_writer_quarantines_a_change_refused_inside_a_handed_insert_alone(
    store: Store, inserts: list[tuple[str, int, str]]
) -> None:
    ids = add_streamers(store, STREAMERS)
    changes = changes_for(store.clock, ids, BATCH)
    good = changes[10]
    bad = replace(good, kick_event_id=f"{good.kick_event_id}\ud800")
    reports = Reports()
    db = writer(store, reports)
    db.start()
    db.submit([*changes[:10], bad, *changes[11:]])
    assert await db.flush(60)
    await db.stop()

    assert (INSERT_THREAD, HANDED, "UnicodeEncodeError") in inserts  # refused in the thread
    stored = store.database.handle.execute_sql(
        "SELECT kick_event_id FROM status_event WHERE kick_event_id IS NOT NULL"
    )
    assert sorted(key for (key,) in stored) == sorted(
        str(change.kick_event_id) for change in changes if change is not good
    )
    (quarantined,) = store.repository.quarantined_changes()
    assert quarantined["streamer_id"] == good.streamer_id
    assert quarantined["change_kind"] == str(good.event_type)
    assert reports.unavailable == []
    assert insert_threads() == []
