"""`DbWriter` on its own: a change committed at once when the writer is idle, bigger batches only
under load, a queue bounded by count and bytes whose overflow is reported, retries through an
outage, a busy wait that is not an outage, one bad item that is quarantined without blocking the
rest, and a flush on stop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import peewee
import pytest

from kickwatch.domain.errors import ValidationError
from kickwatch.domain.status import EventType
from kickwatch.monitor.writer import DbWriter, WriterCallbacks, item_size
from kickwatch.store.repository import BatchResult, StatusChange, StatusObservation
from tests.fakekick import wait_for

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def items(*ids: int) -> list[StatusObservation]:
    return [StatusObservation(i, False, NOW) for i in ids]


class FakeHandle:
    def __init__(self) -> None:
        self.closes = 0

    def is_closed(self) -> bool:
        return False

    def close(self) -> None:
        self.closes += 1


def sqlite_failure(code: int, text: str) -> peewee.OperationalError:
    """What peewee raises for a SQLite error with this result code."""
    error = sqlite3.OperationalError(text)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return peewee.OperationalError(error, text)


class FakeRepository:
    """Records every batch; fails the first `failures` calls with `failure`; refuses batches
    with `bad` ids."""

    def __init__(
        self,
        failures: int = 0,
        bad: frozenset[int] = frozenset(),
        failure: Exception | None = None,
    ) -> None:
        self.failures = failures
        self.failure = failure or sqlite_failure(13, "database or disk is full")
        self.bad = bad
        self.batches: list[list[int]] = []
        self.quarantined: list[tuple[int, str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.writing = 0  # apply_changes calls begun
        self.database = SimpleNamespace(handle=FakeHandle())

    def apply_changes(self, batch: Sequence[Any]) -> BatchResult:
        self.writing += 1
        self.gate.wait(5)
        if self.failures:
            self.failures -= 1
            raise self.failure
        if any(item.streamer_id in self.bad for item in batch):
            raise ValidationError("streamer", "is bad")
        self.batches.append([item.streamer_id for item in batch])
        return BatchResult(unchanged=len(batch))

    def quarantine(self, item: Any, reason: str) -> None:
        self.quarantined.append((item.streamer_id, reason))

    @property
    def written(self) -> list[int]:
        return [i for batch in self.batches for i in batch]


@dataclass
class Calls:
    committed: list[BatchResult] = field(default_factory=list)
    unavailable: list[tuple[str, int]] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    overflowed: list[int] = field(default_factory=list)
    quarantined: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)

    def callbacks(self) -> WriterCallbacks:
        return WriterCallbacks(
            self.committed.append,
            lambda reason, pending: self.unavailable.append((reason, pending)),
            self.recovered.append,
            lambda refused, reason: self.overflowed.append(refused),
            lambda count, reason: self.quarantined.append((count, reason)),
            lambda reason, pending: self.failed.append((reason, pending)),
        )


def writer(repo: FakeRepository, calls: Calls, **kwargs: Any) -> DbWriter:
    return DbWriter(
        repo,  # type: ignore[arg-type]
        asyncio.get_running_loop(),
        calls.callbacks(),
        retry_initial=0.01,
        retry_max=0.02,
        **kwargs,
    )


async def test_what_accumulated_is_written_in_batches_of_at_most_batch_size() -> None:
    repo, calls = FakeRepository(), Calls()
    db = writer(repo, calls, batch_size=2)
    assert db.submit(items(1, 2, 3, 4, 5))
    db.start()
    assert await db.flush(5)
    await db.stop()
    assert repo.batches == [[1, 2], [3, 4], [5]]
    await wait_for(lambda: len(calls.committed) == 3)
    assert db.committed_batches == 3 and db.pending == 0


def standing_clock() -> float:
    """A monotonic clock that never moves: a writer waiting for time to pass would hang."""
    return 1000.0


async def test_a_single_change_is_committed_at_once_without_waiting_for_a_batch_to_fill() -> None:
    repo, calls = FakeRepository(), Calls()
    db = writer(repo, calls, monotonic=standing_clock)
    db.start()
    assert db.submit(items(7))
    # Committed and reported with the writer's clock standing still: nothing waited for time
    # to pass or for more changes to come.
    await wait_for(lambda: len(calls.committed) == 1, timeout=5, what="the commit")
    assert repo.batches == [[7]]
    assert db.submit(items(8))
    await wait_for(lambda: len(calls.committed) == 2, timeout=5, what="the second commit")
    assert repo.batches == [[7], [8]]
    await db.stop()


async def test_changes_arriving_during_a_write_are_all_taken_by_the_next_one() -> None:
    """Under load (a burst arriving one change at a time, as pushes do, while a transaction
    runs) the next transaction takes everything queued meanwhile: 5,000 changes in one."""
    repo, calls = FakeRepository(), Calls()
    repo.gate.clear()  # the first write hangs until released
    db = writer(repo, calls)
    db.start()
    db.submit(items(0))
    await wait_for(lambda: repo.writing == 1, what="the first write")
    for streamer in range(1, 5001):
        assert db.submit(items(streamer))
    repo.gate.set()
    assert await db.flush(10)
    await db.stop()
    assert [len(batch) for batch in repo.batches] == [1, 5000]
    assert repo.written == list(range(5001))


async def test_a_full_queue_refuses_and_reports_the_overflow() -> None:
    repo, calls = FakeRepository(), Calls()
    db = writer(repo, calls, max_pending=3)
    assert db.submit(items(1, 2))
    assert not db.submit(items(3, 4))  # all or nothing
    assert db.submit(items(3))
    await wait_for(lambda: calls.overflowed == [2])
    db.start()
    await db.stop()
    assert repo.written == [1, 2, 3]


async def test_an_outage_is_reported_retried_and_loses_nothing() -> None:
    repo, calls = FakeRepository(failures=3), Calls()
    db = writer(repo, calls)
    db.start()
    db.submit(items(1, 2))
    await wait_for(lambda: calls.recovered, what="recovered")
    db.submit(items(3))
    await db.stop()
    assert repo.written == [1, 2, 3]  # once each, in order
    # Reported once for the outage, not once per failed retry.
    assert calls.unavailable == [("the disk is full", 2)]
    assert calls.recovered == [2]
    assert repo.database.handle.closes >= 3  # a fresh connection for every retry
    assert db.outage_since is None


async def test_a_bad_item_is_quarantined_and_the_rest_of_its_batch_written() -> None:
    repo, calls = FakeRepository(bad=frozenset({2})), Calls()
    db = writer(repo, calls)
    db.submit(items(1, 2, 3, 4, 5, 6, 7))
    db.start()
    await db.stop()
    assert sorted(repo.written) == [1, 3, 4, 5, 6, 7]
    assert repo.written == sorted(repo.written)  # the halves keep their order
    assert repo.quarantined == [(2, "streamer: is bad")]
    assert not calls.unavailable
    await wait_for(lambda: calls.quarantined == [(1, "streamer: is bad")])
    # Halving finds it in a few transactions, not one per item.
    assert len(repo.batches) <= 5


async def test_a_busy_database_is_waited_for_quietly_within_the_grace() -> None:
    repo = FakeRepository(failures=3, failure=sqlite_failure(5, "database is locked"))
    calls = Calls()
    db = writer(repo, calls, busy_grace=60.0)
    db.start()
    db.submit(items(1, 2))
    assert await db.flush(5)
    await db.stop()
    assert repo.written == [1, 2]
    assert calls.unavailable == [] and calls.recovered == []


async def test_a_busy_database_past_the_grace_is_reported_as_locked() -> None:
    repo = FakeRepository(failures=3, failure=sqlite_failure(5, "database is locked"))
    calls = Calls()
    db = writer(repo, calls, busy_grace=0.0)
    db.start()
    db.submit(items(1, 2))
    await wait_for(lambda: calls.recovered, what="recovered")
    await db.stop()
    assert calls.unavailable == [("the database is locked by another program", 2)]


# Items of about 4,000 bytes: text of their own, and text nested in a change's data.
BIG_ITEMS: dict[str, StatusObservation | StatusChange] = {
    "title": StatusObservation(1, True, NOW, title="x" * 4_000),
    "nested data": StatusChange(
        1,
        EventType.STREAM_START,
        NOW,
        NOW,
        event_data={"source": "import", "original": {"frames": [{"title": "x" * 4_000}]}},
    ),
}


@pytest.mark.parametrize("big", BIG_ITEMS.values(), ids=BIG_ITEMS.keys())
async def test_the_queue_is_bounded_by_bytes_as_well_as_by_count(
    big: StatusObservation | StatusChange,
) -> None:
    repo, calls = FakeRepository(), Calls()
    db = writer(repo, calls, max_pending_bytes=10_000)
    assert db.submit([big])
    assert db.submit([big])
    assert not db.submit([big])  # a third would pass 10,000 bytes
    await wait_for(lambda: calls.overflowed == [1])
    db.start()
    await db.stop()
    assert repo.written == [1, 1]


def test_data_that_holds_itself_is_sized_once_and_the_sizing_ends() -> None:
    data: dict[str, Any] = {"source": "import", "text": "x" * 1_000}
    data["self"] = data
    change = StatusChange(1, EventType.STREAM_START, NOW, NOW, event_data={"nested": data})
    assert 1_000 < item_size(change) < 2_000


async def test_stop_flushes_what_is_pending() -> None:
    repo, calls = FakeRepository(), Calls()
    repo.gate.clear()  # the first write hangs until released
    db = writer(repo, calls)
    db.start()
    db.submit(items(1))
    await wait_for(lambda: db.pending == 1)
    db.submit(items(2, 3))
    asyncio.get_running_loop().call_later(0.05, repo.gate.set)
    assert await db.stop(within=3)
    assert repo.written == [1, 2, 3] and db.pending == 0
