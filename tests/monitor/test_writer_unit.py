"""`DbWriter` on its own: batches, a bounded queue whose overflow is reported, retries through an
outage, one bad item that does not block the rest, and a flush on stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import peewee

from kickwatch.domain.errors import ValidationError
from kickwatch.monitor.writer import DbWriter, WriterCallbacks
from kickwatch.store.repository import BatchResult, StatusObservation
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


class FakeRepository:
    """Records every batch; fails the first `failures` calls; refuses batches with `bad` ids."""

    def __init__(self, failures: int = 0, bad: frozenset[int] = frozenset()) -> None:
        self.failures = failures
        self.bad = bad
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.database = SimpleNamespace(handle=FakeHandle())

    def apply_changes(self, batch: Sequence[Any]) -> BatchResult:
        self.gate.wait(5)
        if self.failures:
            self.failures -= 1
            raise peewee.OperationalError("database is locked")
        if any(item.streamer_id in self.bad for item in batch):
            raise ValidationError("streamer", "is bad")
        self.batches.append([item.streamer_id for item in batch])
        return BatchResult(unchanged=len(batch))

    @property
    def written(self) -> list[int]:
        return [i for batch in self.batches for i in batch]


@dataclass
class Calls:
    committed: list[BatchResult] = field(default_factory=list)
    unavailable: list[tuple[str, int]] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    overflowed: list[int] = field(default_factory=list)

    def callbacks(self) -> WriterCallbacks:
        return WriterCallbacks(
            self.committed.append,
            lambda reason, pending: self.unavailable.append((reason, pending)),
            self.recovered.append,
            self.overflowed.append,
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
    assert calls.unavailable == [("the database is locked by another program", 2)]
    assert calls.recovered == [2]
    assert repo.database.handle.closes >= 3  # a fresh connection for every retry
    assert db.outage_since is None


async def test_a_bad_item_is_dropped_and_the_rest_of_its_batch_written() -> None:
    repo, calls = FakeRepository(bad=frozenset({2})), Calls()
    db = writer(repo, calls)
    db.submit(items(1, 2, 3))
    db.start()
    await db.stop()
    assert repo.written == [1, 3]
    assert not calls.unavailable


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
