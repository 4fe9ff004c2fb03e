"""Monthly partitions of `status_event` on PostgreSQL: the migration of an existing database
with its rows, deduplication across months, retention by whole months, and the upkeep that
creates months ahead. SQLite stays one table."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import peewee
import pytest

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import EventType
from kickwatch.store import Repository, StatusChange, open_database, partitions
from kickwatch.store import database as database_module
from kickwatch.store.database import Database
from kickwatch.store.models import StatusEvent
from tests.clock import ManualClock

pytestmark = pytest.mark.postgres

START, END = EventType.STREAM_START, EventType.STREAM_END
ANCHOR = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # in the database's past, whenever this runs


@pytest.fixture
def pg(pg_url: str) -> Iterator[tuple[Database, Repository, ManualClock]]:
    database = open_database(pg_url)
    clock = ManualClock(ANCHOR)
    yield database, Repository(database, clock), clock
    database.close()


def broadcast(
    repository: Repository, streamer: StreamerRecord, days_ago: float, number: int
) -> None:
    """A start and its end, `days_ago` before the clock, stored by the batch write."""
    now = repository.clock.now()
    at = now - timedelta(days=days_ago)
    changes = [
        StatusChange(
            streamer_id=streamer.id,
            event_type=kind,
            received_timestamp=now,
            event_timestamp=at + timedelta(hours=offset),
            kick_event_id=f"{streamer.kick_channel_id}:{number}:{kind.value}",
            livestream_id=str(number),
        )
        for kind, offset in ((START, 0), (END, 2))
    ]
    repository.apply_changes(changes)


def names(database: Database) -> list[tuple[str, int]]:
    return [(p.name, p.rows or 0) for p in partitions.partitions(database.handle, True)]


def test_a_new_postgresql_database_has_monthly_partitions_a_default_and_a_key_table(
    pg: tuple[Database, Repository, ManualClock],
) -> None:
    database, _, _ = pg
    assert partitions.is_partitioned(database.handle)
    found = partitions.partitions(database.handle)
    months = [p for p in found if p.lower is not None]
    assert len(months) == partitions.MONTHS_AHEAD + 1  # this month and the next ones
    for earlier, later in itertools.pairwise(months):
        assert earlier.upper == later.lower  # contiguous
    assert found[-1].name == partitions.DEFAULT_PARTITION and found[-1].lower is None
    assert database.handle.table_exists(partitions.KEY_TABLE)


def test_rows_of_any_month_are_stored_and_read_back_through_the_parent(
    pg: tuple[Database, Repository, ManualClock],
) -> None:
    _, repository, _ = pg
    alpha = repository.add_streamer("alpha", 1, kick_channel_id=101)
    for number, days in enumerate((70, 40, 10, 1), start=1):
        broadcast(repository, alpha, days, number)
    history = repository.event_history()
    assert len(history) == 8
    assert repository.count_events() == 8


def test_one_kick_event_id_is_refused_twice_even_in_different_months(
    pg: tuple[Database, Repository, ManualClock],
) -> None:
    database, repository, clock = pg
    alpha = repository.add_streamer("alpha", 1, kick_channel_id=101)
    broadcast(repository, alpha, 40, 7)
    at = clock.now() - timedelta(days=2)  # another month than the first copy
    refused = pytest.raises(peewee.IntegrityError, match="uq_status_event_kick_event_id")
    with refused, database.handle.atomic():
        database.handle.execute_sql(
            "INSERT INTO status_event (streamer_id, event_type, previous_status,"
            " new_status, kick_event_id, event_timestamp, received_timestamp,"
            " processed_timestamp) VALUES (%s, 'stream_end', 'online', 'offline',"
            " '101:7:stream_end', %s, %s, %s)",
            (alpha.id, at, at, at),
        )
    # the batch write, too, stores a second copy with another timestamp once
    copy = StatusChange(
        streamer_id=alpha.id,
        event_type=END,
        received_timestamp=clock.now(),
        event_timestamp=at,
        kick_event_id="101:7:stream_end",
        livestream_id="7",
    )
    assert repository.apply_changes([copy]).applied == []
    assert StatusEvent.select().where(StatusEvent.kick_event_id == "101:7:stream_end").count() == 1


def test_retention_drops_whole_expired_months_and_deletes_inside_the_boundary_month(
    pg: tuple[Database, Repository, ManualClock],
) -> None:
    database, repository, _ = pg
    alpha = repository.add_streamer("alpha", 1, kick_channel_id=101)
    # ANCHOR is 2026-03-15 12:00; 90 days back is 2025-12-15 12:00.
    for number, days in enumerate((140, 120, 100, 93, 85, 5), start=1):
        broadcast(repository, alpha, days, number)
    with database.handle.atomic():
        partitions.ensure_ahead(database.handle, datetime(2025, 10, 1), months=2)
    before = dict(names(database))
    assert before["status_event_y2025m10"] == 2 and before["status_event_y2025m11"] == 2
    assert before["status_event_y2025m12"] == 6  # 100, 93 and 85 days back
    assert repository.delete_events_older_than(90) == 8
    after = dict(names(database))
    assert "status_event_y2025m10" not in after and "status_event_y2025m11" not in after
    assert after["status_event_y2025m12"] == 2  # only the broadcast of 85 days back is left
    kept = {e.kick_event_id for e in repository.event_history()}
    assert kept == {
        "101:5:stream_start",
        "101:5:stream_end",
        "101:6:stream_start",
        "101:6:stream_end",
    }
    keys = database.handle.execute_sql(f"SELECT kick_event_id FROM {partitions.KEY_TABLE}")
    assert {row[0] for row in keys} == kept  # keys of removed events are pruned with them


def test_the_upkeep_creates_months_ahead_and_moves_their_rows_out_of_the_default(
    pg: tuple[Database, Repository, ManualClock],
) -> None:
    database, repository, _ = pg
    alpha = repository.add_streamer("alpha", 1, kick_channel_id=101)
    broadcast(repository, alpha, 400, 1)  # 2025-02: no partition of its own, so the default
    assert dict(names(database))[partitions.DEFAULT_PARTITION] == 2
    with database.handle.atomic():
        assert database.handle.execute_sql(
            "SELECT kickwatch_ensure_partition('2025-02-01')"
        ).fetchone() == (True,)
    found = dict(names(database))
    assert found["status_event_y2025m02"] == 2 and found[partitions.DEFAULT_PARTITION] == 0
    keys = database.handle.execute_sql(f"SELECT count(*) FROM {partitions.KEY_TABLE}")
    assert keys.fetchone() == (2,)  # moving rows between partitions keeps their keys
    # a clock in months that have no partitions yet (whenever this test runs)
    upkeep = Repository(database, ManualClock(datetime(2020, 1, 15, tzinfo=UTC)))
    assert upkeep.prepare_partitions() == partitions.MONTHS_AHEAD + 1
    assert upkeep.prepare_partitions() == 0  # idempotent
    assert {"status_event_y2020m01", "status_event_y2020m04"} <= set(dict(names(database)))


def test_an_unpartitioned_database_migrates_with_its_rows_ids_and_rules(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(ANCHOR)
    earlier = tuple(m for m in database_module.MIGRATIONS if m.version < 9)
    monkeypatch.setattr(database_module, "MIGRATIONS", earlier)
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", earlier[-1].version)
    old = open_database(pg_url)
    repository = Repository(old, clock)
    assert not partitions.is_partitioned(old.handle)
    streamers = [repository.add_streamer(f"s{i}", i + 1, kick_channel_id=100 + i) for i in range(3)]
    for number, days in enumerate((300, 150, 60, 20, 2), start=1):
        for streamer in streamers:
            broadcast(repository, streamer, days, number)
    rows_before = old.handle.execute_sql(
        "SELECT id, kick_event_id, event_timestamp FROM status_event ORDER BY id"
    ).fetchall()
    old.close()
    monkeypatch.undo()

    database = open_database(pg_url)
    try:
        assert partitions.is_partitioned(database.handle)
        rows_after = database.handle.execute_sql(
            "SELECT id, kick_event_id, event_timestamp FROM status_event ORDER BY id"
        ).fetchall()
        assert rows_after == rows_before  # 30 rows, same ids
        months = {p.name for p in partitions.partitions(database.handle, True) if p.rows}
        assert months == {
            "status_event_y2025m05",
            "status_event_y2025m10",
            "status_event_y2026m01",
            "status_event_y2026m02",
            "status_event_y2026m03",
        }
        keys = database.handle.execute_sql(f"SELECT count(*) FROM {partitions.KEY_TABLE}")
        assert keys.fetchone() == (30,)
        repository = Repository(database, clock)
        broadcast(repository, streamers[0], 1, 99)  # ids continue after the copied ones
        newest = database.handle.execute_sql("SELECT max(id) FROM status_event").fetchone()[0]
        assert newest > rows_before[-1][0]
        # the rules survive: a time ahead of the database clock, a broken transition
        ahead = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=2)  # clock-ok
        with pytest.raises(peewee.IntegrityError, match="future"), database.handle.atomic():
            database.handle.execute_sql(
                "INSERT INTO status_event (streamer_id, event_type, previous_status,"
                " new_status, event_timestamp, received_timestamp, processed_timestamp)"
                " VALUES (%s, 'stream_start', 'offline', 'online', %s, %s, %s)",
                (streamers[0].id, ahead, ahead, ahead),
            )
        at = ANCHOR.replace(tzinfo=None)
        with pytest.raises(peewee.IntegrityError, match="chk_transition"), database.handle.atomic():
            database.handle.execute_sql(
                "INSERT INTO status_event (streamer_id, event_type, previous_status,"
                " new_status, event_timestamp, received_timestamp, processed_timestamp)"
                " VALUES (%s, 'stream_start', 'online', 'online', %s, %s, %s)",
                (streamers[0].id, at, at, at),
            )
        # deleting a streamer still removes its history, and the keys with it
        repository.remove_streamer("s0")
        left = database.handle.execute_sql(f"SELECT count(*) FROM {partitions.KEY_TABLE}")
        assert left.fetchone() == (20,)
    finally:
        database.close()


def test_sqlite_stays_one_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = open_database(str(tmp_path / "kickwatch.db"))
    try:
        repository = Repository(database, ManualClock(ANCHOR))
        assert repository.prepare_partitions() == 0
        assert partitions.partition_status_event("sqlite") == []
        assert not database.handle.table_exists(partitions.KEY_TABLE)
    finally:
        database.close()
