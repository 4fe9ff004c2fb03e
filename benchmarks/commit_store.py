"""The batch write against its floor: `Repository.apply_changes` and a bare `executemany`.

A workload is what a burst of Pusher events becomes: `streamers` streamers, each with
`per_streamer` changes alternating start and end (one broadcast after the other, each with its
Kick livestream id and event id), received a millisecond apart, as the monitor makes them.

- kickwatch: the changes through `Repository.apply_changes`, one transaction;
- floor: the rows that run stored, read back as the database holds them, written into a fresh
  database of the same schema (the same indexes, CHECKs and triggers) in one transaction: the
  `status_event` rows by one `executemany`, and the streamers' final state by another. It is
  what the database itself costs for these writes, without deciding anything.

Both run on databases opened by `open_database`, so with kickwatch's own settings (SQLite: WAL,
`synchronous=FULL`).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kickwatch.domain.status import EventType
from kickwatch.store import Database, Repository, StatusChange, open_database
from kickwatch.store.models import database_proxy
from kickwatch.store.statements import INSERT_COLUMNS, INSERT_FIELDS, UPDATE_COLUMNS

STREAMERS = 1000


class FixedClock:
    """The clock of a run: `now()` stays where the run began."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class Timing:
    """One run: kickwatch's and the floor's seconds, and kickwatch's CPU seconds."""

    kickwatch: float
    floor: float
    kickwatch_cpu: float
    floor_cpu: float


def add_streamers(database: Database, repository: Repository, count: int) -> list[int]:
    with database.handle.atomic():
        return [
            repository.add_streamer(f"streamer{i:05d}", i + 1, kick_channel_id=100_000 + i).id
            for i in range(count)
        ]


def workload(
    ids: list[int], per_streamer: int, now: datetime, first_livestream: int = 10_000_000
) -> list[StatusChange]:
    """Pusher-like changes, oldest first, all received before `now`; livestream ids from
    `first_livestream` on."""
    count = len(ids) * per_streamer
    first = now - timedelta(milliseconds=count + 1000)
    changes = []
    for number in range(count):
        streamer = ids[number % len(ids)]
        turn = number // len(ids)
        received = first + timedelta(milliseconds=number)
        livestream = str(first_livestream + (turn // 2) * 100_000 + streamer)
        channel = 100_000 + streamer
        if turn % 2 == 0:
            data = {"source": "pusher", "livestream_id": livestream, "title": "benchmark"}
            changes.append(
                StatusChange(
                    streamer,
                    EventType.STREAM_START,
                    received,
                    received,
                    f"{channel}:{livestream}:start",
                    livestream,
                    received,
                    data,
                    title="benchmark",
                )
            )
        else:
            changes.append(
                StatusChange(
                    streamer,
                    EventType.STREAM_END,
                    received,
                    None,
                    f"{channel}:{livestream}:end",
                    livestream,
                    event_data={"source": "pusher", "livestream_id": livestream},
                )
            )
    return changes


@contextmanager
def sqlite_urls() -> Iterator[Callable[[], str]]:
    """Fresh SQLite files in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="kickwatch-commit-") as folder:
        names = iter(range(1_000_000))
        yield lambda: str(Path(folder) / f"bench{next(names)}.db")


def open_fresh(
    url: str, streamers: int, clock: FixedClock
) -> tuple[Database, Repository, list[int]]:
    database = open_database(url)
    repository = Repository(database, clock)
    return database, repository, add_streamers(database, repository, streamers)


def run_once(new_url: Callable[[], str], per_streamer: int, streamers: int = STREAMERS) -> Timing:
    """kickwatch, then the floor of the rows it wrote, each on a fresh database."""
    clock = FixedClock(datetime.now(UTC))
    database, repository, ids = open_fresh(new_url(), streamers, clock)
    changes = workload(ids, per_streamer, clock.now())
    cpu, wall = time.thread_time(), time.perf_counter()
    result = repository.apply_changes(changes)
    kickwatch, kickwatch_cpu = time.perf_counter() - wall, time.thread_time() - cpu
    if len(result.applied) != len(changes):
        raise RuntimeError(f"{len(result.applied)} of {len(changes)} changes were applied")
    events, streamer_rows = stored_rows(database)
    database.close()

    floor_db, _, floor_ids = open_fresh(new_url(), streamers, clock)
    if floor_ids != ids:
        raise RuntimeError("the floor's database got other streamer ids")
    floor, floor_cpu = write_floor(floor_db, events, streamer_rows)
    floor_db.close()
    return Timing(kickwatch, floor, kickwatch_cpu, floor_cpu)


def stored_rows(database: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every event row (without its id) and every streamer's batch-written columns (with its id
    last), as the database holds them."""
    columns = ", ".join(INSERT_FIELDS[name].column_name for name in INSERT_COLUMNS)
    handle = database.handle
    events = handle.execute_sql(f"SELECT {columns} FROM status_event ORDER BY id").fetchall()
    updates = handle.execute_sql(
        f"SELECT {', '.join(UPDATE_COLUMNS)}, id FROM streamer ORDER BY id"
    ).fetchall()
    return [tuple(row) for row in events], [tuple(row) for row in updates]


def write_floor(
    database: Database, events: list[tuple[Any, ...]], streamers: list[tuple[Any, ...]]
) -> tuple[float, float]:
    """The same rows in one transaction, by `executemany`; (seconds, CPU seconds)."""
    mark = "?" if database.dialect == "sqlite" else "%s"
    columns = ", ".join(INSERT_FIELDS[name].column_name for name in INSERT_COLUMNS)
    insert = (
        f"INSERT INTO status_event ({columns}) VALUES ({', '.join(mark for _ in INSERT_COLUMNS)})"
    )
    sets = ", ".join(f"{name} = {mark}" for name in UPDATE_COLUMNS)
    update = f"UPDATE streamer SET {sets} WHERE id = {mark}"
    handle = database.handle
    database_proxy.initialize(handle)
    cpu, wall = time.thread_time(), time.perf_counter()
    with handle.atomic():
        cursor = handle.cursor()
        cursor.executemany(insert, events)
        cursor.executemany(update, streamers)
    return time.perf_counter() - wall, time.thread_time() - cpu


def commit_costs(new_url: Callable[[], str], batches: int, size: int) -> dict[str, float]:
    """Median seconds per transaction of `size` changes (one per streamer) on SQLite with
    `synchronous=FULL` and with `NORMAL`, over `batches` transactions each, taking turns on one
    database (so that both see the same database as it grows)."""
    clock = FixedClock(datetime.now(UTC))
    database, repository, ids = open_fresh(new_url(), size, clock)
    changes = workload(ids, 2 * batches, clock.now())
    seconds: dict[str, list[float]] = {"FULL": [], "NORMAL": []}
    for index in range(2 * batches):
        mode = "FULL" if index % 2 == 0 else "NORMAL"
        database.handle.execute_sql(f"PRAGMA synchronous = {mode}")
        start = time.perf_counter()
        repository.apply_changes(changes[index * size : (index + 1) * size])
        seconds[mode].append(time.perf_counter() - start)
    database.close()
    return {mode: statistics.median(values) for mode, values in seconds.items()}


def history_costs(new_url: Callable[[], str], depth: int, batches: int) -> list[float]:
    """Seconds per transaction of one change per streamer (new broadcasts: starts, then their
    ends, taking turns) on a database whose `STREAMERS` streamers hold `depth` events each,
    written earlier as whole broadcasts, 100 events per streamer per transaction."""
    clock = FixedClock(datetime.now(UTC))
    database, repository, ids = open_fresh(new_url(), STREAMERS, clock)
    span = timedelta(milliseconds=100 * STREAMERS + 2000)  # what one chunk's changes cover
    earlier = clock.now() - timedelta(hours=1) - span * (depth // 100 + 1)
    for chunk, start in enumerate(range(0, depth, 100)):
        count = min(100, depth - start)
        changes = workload(ids, count, earlier + span * (chunk + 1), 10_000_000 * (chunk + 1))
        repository.apply_changes(changes)
    measured = workload(ids, 2 * batches, clock.now(), 2_000_000_000)
    seconds = []
    for index in range(2 * batches):
        start_time = time.perf_counter()
        repository.apply_changes(measured[index * STREAMERS : (index + 1) * STREAMERS])
        seconds.append(time.perf_counter() - start_time)
    database.close()
    return seconds
