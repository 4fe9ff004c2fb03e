"""The single database writer: one thread that turns queued changes into batched transactions.

Every write goes through here (status changes, and the streamer edits of the GUI and of a lookup,
as calls), so there are never two writers in one process. Changes wait in a queue bounded by
count and by bytes; the thread takes what has accumulated (up to `batch_size`) and commits it
with `Repository.apply_changes`. It never waits for a batch to fill: a change that finds the
writer idle is committed at once, alone (push to listener in milliseconds), and the changes that
arrive while a transaction runs are all taken by the next one, so batches grow only under load,
where a transaction's fixed cost (reading its streamers, saving them, the commit's sync) is
shared by thousands of changes. A failure is classified (`kickwatch.store.failures`):

- busy (another process holds the write lock): retried quietly, reported only if it lasts;
- outage (disk full, PostgreSQL restarting, connection lost): the batch stays at the head of the
  queue and is retried with back-off; nothing that fits in the bound is lost;
- permanent (a change the database can never store): the batch is split until the bad change is
  alone, which is quarantined with its reason; every other change is written;
- fatal (the database file was deleted or replaced): writing stops and the monitor is told.

Results are handed back to the event loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from kickwatch.domain.errors import DatabaseUnavailableError
from kickwatch.store.failures import Failure, FailureKind, classify
from kickwatch.store.repository import BatchResult, Repository, StatusChange, StatusObservation

log = logging.getLogger(__name__)

Item = StatusChange | StatusObservation
T = TypeVar("T")
REPORT_EVERY = 10.0  # seconds between reminders that the database is still unavailable
# The most changes in one transaction. `benchmarks/commit_bench.py` measured a 100,000-frame
# burst on SQLite (2 shared vCPUs, medians of 3) at 4,400 ev/s with at most 500, 6,400 with
# 2,000, 9,100 with 10,000 and 9,400 with 50,000: past 10,000 a transaction takes seconds under
# load, and a call (a streamer edit) or the announcement of its first change would wait that long.
BATCH_SIZE = 10_000
_ITEM_OVERHEAD = 400  # bytes an item costs besides its text: the objects and their fields
_FIELD_OVERHEAD = 100  # bytes an entry of an item's `event_data` costs besides its text


@dataclass(frozen=True, slots=True)
class WriterCallbacks:
    """What the writer reports, each called on the event loop's thread."""

    committed: Callable[[BatchResult], None]
    unavailable: Callable[[str, int], None]  # reason, items pending
    recovered: Callable[[int], None]  # items flushed since the outage
    overflowed: Callable[[int, str], None]  # items refused, why
    quarantined: Callable[[int, str], None] = lambda count, reason: None  # set aside, why
    failed: Callable[[str, int], None] = lambda reason, pending: None  # stopped for good


@dataclass(slots=True)
class _Call:
    """A function to run on the writer thread, in turn with the batches."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: concurrent.futures.Future[Any]


def item_size(item: Item) -> int:
    """About how many bytes an item holds in memory (its text dominates): an estimate made
    without encoding anything, since every pushed frame is sized."""
    size = _ITEM_OVERHEAD + len(item.title or "") + len(item.category or "")
    if type(item) is StatusChange and item.event_data:
        for value in item.event_data.values():  # usually a flat dict of text (`history_data`)
            if type(value) is str:
                size += _FIELD_OVERHEAD + len(value)
            elif isinstance(value, dict | list | tuple):
                size += _value_size(value)
            else:  # a number, a flag, None: no walk (the viewers of every push)
                size += _FIELD_OVERHEAD
    return size


def _value_size(value: Any) -> int:
    """`item_size`'s estimate of one value of `event_data` that is not text: each entry of a
    nested dict or list with its text (keys too), walked without recursion, each container
    once (a container that holds itself ends the walk there)."""
    size = 0
    pending = [value]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        size += _FIELD_OVERHEAD
        if isinstance(current, str):
            size += len(current)
        elif isinstance(current, dict | list | tuple) and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, dict):
                size += sum(len(key) for key in current if isinstance(key, str))
                pending.extend(current.values())
            else:
                pending.extend(current)
    return size


class DbWriter:
    """Owns the writer thread and its queue."""

    def __init__(
        self,
        repository: Repository,
        loop: asyncio.AbstractEventLoop,
        callbacks: WriterCallbacks,
        *,
        max_pending: int = 100_000,
        max_pending_bytes: int = 64 * 1024 * 1024,
        batch_size: int | None = None,  # None: BATCH_SIZE
        retry_initial: float = 0.05,
        retry_max: float = 2.0,
        busy_grace: float = 4.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._loop = loop
        self._callbacks = callbacks
        self._max_pending = max_pending
        self._max_pending_bytes = max_pending_bytes
        self._batch_size = batch_size or BATCH_SIZE
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._busy_grace = busy_grace
        self._monotonic = monotonic  # outage and busy timings (a test's clock may stand still)
        self._queue: deque[tuple[Item, int]] = deque()
        self._calls: deque[_Call] = deque()
        self._bytes = 0
        self._in_flight = 0
        self._in_flight_bytes = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.outage_since: float | None = None  # monotonic time the reported outage began
        self.failed_reason: str | None = None  # set when writing stopped for good
        self.committed_batches = 0
        self.quarantined = 0

    @property
    def pending(self) -> int:
        """Items queued or being written."""
        with self._condition:
            return len(self._queue) + self._in_flight

    @property
    def pending_bytes(self) -> int:
        """About how much memory the queued items hold."""
        with self._condition:
            return self._bytes + self._in_flight_bytes

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="kickwatch-db-writer", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[Item]) -> bool:
        """Queue items for the next transaction; False (and reported) if they do not fit."""
        if not items:
            return True
        sized = [(item, item_size(item)) for item in items]
        size = sum(cost for _, cost in sized)
        reason = ""
        with self._condition:
            count = len(self._queue) + self._in_flight
            held = self._bytes + self._in_flight_bytes
            if self.failed_reason is not None:
                reason = self.failed_reason
            elif count + len(items) > self._max_pending:
                reason = f"{count} changes are already waiting for the database"
            elif held + size > self._max_pending_bytes:
                reason = f"{held // (1024 * 1024)} MiB of changes are already waiting"
            else:
                self._queue.extend(sized)
                self._bytes += size
                self._condition.notify()
        if reason:
            log.error("write queue full: %d changes refused (%s)", len(items), reason)
            self._loop.call_soon_threadsafe(self._callbacks.overflowed, len(items), reason)
            return False
        return True

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(*args)` on the writer thread (before the next batch) and return its
        result; its exception is raised here, and a database outage is not retried."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._condition:
            if self._thread is None or not self._thread.is_alive() or self._stopping:
                raise DatabaseUnavailableError("the database writer is not running")
            if self.failed_reason is not None:
                raise DatabaseUnavailableError(self.failed_reason)
            self._calls.append(_Call(function, args, future))
            self._condition.notify()
        return await asyncio.wrap_future(future)

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything queued is committed (or `timeout` passes)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.failed_reason is not None:
                    return False
                self._condition.wait(remaining)
        return True

    async def flush(self, within: float = 5.0) -> bool:
        """Wait (without blocking the loop) until everything queued is committed."""
        return await asyncio.to_thread(self.wait_idle, within)

    async def stop(self, within: float = 1.5) -> bool:
        """Flush what is pending (up to `within` s), then end the thread; True if all written."""
        flushed = await self.flush(within)
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 1.0)
        if not flushed:
            log.error("stopped with %d changes not written", self.pending)
        return flushed

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self._retry_initial
        last_report = -REPORT_EVERY
        busy_since: float | None = None
        while True:
            call: _Call | None = None
            with self._condition:
                while not self._queue and not self._calls and not self._stopping:
                    self._condition.wait()
                if self._calls:
                    call = self._calls.popleft()
                elif not self._queue and self._stopping:
                    self._close_connection()  # a connection must not outlive its thread
                    return
                else:
                    batch = self._take()
            if call is not None:
                self._run_call(call)
                continue
            result, remaining, failure = self._write(batch)
            if failure is not None and failure.kind is FailureKind.FATAL:
                self._fail(failure, batch)
                return
            if result.quarantined:
                self.quarantined += len(result.quarantined)
                self._loop.call_soon_threadsafe(
                    self._callbacks.quarantined,
                    len(result.quarantined),
                    _reasons(result.quarantined),
                )
            if len(remaining) < len(batch):
                self.committed_batches += 1
                delay = self._retry_initial
                busy_since = None
                last_report = -REPORT_EVERY
                if self.outage_since is not None:
                    self.outage_since = None
                    self._loop.call_soon_threadsafe(self._callbacks.recovered, len(batch))
                # Queue the result before reporting idle, so a `flush()` returns only after
                # the loop has seen it.
                self._loop.call_soon_threadsafe(self._callbacks.committed, result)
            if not remaining:
                with self._condition:
                    self._in_flight = 0
                    self._in_flight_bytes = 0
                    self._condition.notify_all()
                continue
            assert failure is not None
            self._requeue(remaining)
            now = self._monotonic()
            if failure.kind is FailureKind.BUSY:
                busy_since = busy_since if busy_since is not None else now
                quiet = now - busy_since < self._busy_grace
            else:
                quiet = False
                self._close_connection()  # a broken connection is replaced on the next try
            if not quiet:
                if self.outage_since is None:
                    self.outage_since = now
                    log.warning(
                        "database unavailable, holding %d changes: %s",
                        self.pending,
                        failure.reason,
                    )
                if now - last_report >= REPORT_EVERY:
                    # Once when the outage begins, then a reminder now and then, not per retry.
                    last_report = now
                    self._loop.call_soon_threadsafe(
                        self._callbacks.unavailable, failure.reason, self.pending
                    )
            with self._condition:
                if self._stopping and (self.outage_since is None or now - self.outage_since > 1.0):
                    self._close_connection()
                    return
                self._condition.wait(delay)
            delay = min(delay * 2, self._retry_max)

    def _take(self) -> list[Item]:
        """The next batch off the queue (the caller holds the lock)."""
        count = min(len(self._queue), self._batch_size)
        size = 0
        batch: list[Item] = []
        for _ in range(count):
            item, cost = self._queue.popleft()
            batch.append(item)
            size += cost
        self._bytes -= size
        self._in_flight = count
        self._in_flight_bytes = size
        return batch

    def _write(self, batch: list[Item]) -> tuple[BatchResult, list[Item], Failure | None]:
        """Write `batch`: (what was committed, what is left to retry, why it is left)."""
        try:
            return self._repository.apply_changes(batch), [], None
        except Exception as exc:
            failure = classify(exc)
        if failure.kind is not FailureKind.PERMANENT:
            return BatchResult(), batch, failure
        # Some change can never be written: halve the batch until it is alone, so that it
        # costs only itself. The halves keep their order.
        result = BatchResult()
        segments: deque[list[Item]] = deque()
        self._split(batch, segments)
        while segments:
            segment = segments.popleft()
            try:
                result.merge(self._repository.apply_changes(segment))
                continue
            except Exception as exc:
                failure = classify(exc)
            if failure.kind is not FailureKind.PERMANENT:
                left = [item for part in (segment, *segments) for item in part]
                return result, left, failure
            if len(segment) > 1:
                self._split(segment, segments)
                continue
            stored = self._quarantine(segment[0], failure)
            if stored is not None:
                left = [item for part in (segment, *segments) for item in part]
                return result, left, stored
            result.quarantined.append(failure.reason)
        return result, [], None

    @staticmethod
    def _split(segment: list[Item], segments: deque[list[Item]]) -> None:
        middle = len(segment) // 2
        segments.appendleft(segment[middle:])
        segments.appendleft(segment[:middle])

    def _quarantine(self, item: Item, failure: Failure) -> Failure | None:
        """Set `item` aside with its reason; the failure of that write if it is an outage."""
        log.warning(
            "a change of streamer %d can never be written and is quarantined: %s",
            item.streamer_id,
            failure.reason,
        )
        try:
            self._repository.quarantine(item, failure.reason)
        except Exception as exc:
            stored = classify(exc)
            if stored.kind is not FailureKind.PERMANENT:
                return stored
            log.error("the quarantined change could not be kept either: %r", item)
        return None

    def _run_call(self, call: _Call) -> None:
        if not call.future.set_running_or_notify_cancel():
            return
        try:
            value = call.function(*call.args)
        except BaseException as exc:
            if classify(exc).kind in (FailureKind.OUTAGE, FailureKind.FATAL):
                self._close_connection()
            call.future.set_exception(exc)
        else:
            call.future.set_result(value)

    def _fail(self, failure: Failure, batch: list[Item]) -> None:
        """Stop writing for good: the database is not the one every later process opens."""
        self._requeue(batch)
        with self._condition:
            self.failed_reason = failure.reason
            pending = len(self._queue)
            calls = list(self._calls)
            self._calls.clear()
            self._condition.notify_all()
        for call in calls:
            call.future.set_exception(DatabaseUnavailableError(failure.reason))
        log.error("%s; %d changes not stored", failure.reason, pending)
        self._close_connection()
        self._loop.call_soon_threadsafe(self._callbacks.failed, failure.reason, pending)

    def _requeue(self, batch: list[Item]) -> None:
        with self._condition:
            sized = [(item, item_size(item)) for item in batch]
            self._queue.extendleft(reversed(sized))
            self._bytes += sum(cost for _, cost in sized)
            self._in_flight = 0
            self._in_flight_bytes = 0
            self._condition.notify_all()

    def _close_connection(self) -> None:
        handle = self._repository.database.handle
        try:
            if not handle.is_closed():
                handle.close()
        except Exception:  # a broken connection may fail to close; a new one is opened anyway
            log.debug("closing a broken connection failed", exc_info=True)


def _reasons(reasons: list[str]) -> str:
    """Why changes were quarantined, each reason once, in a few words."""
    unique = list(dict.fromkeys(reasons))
    return "; ".join(unique[:3]) + ("; ..." if len(unique) > 3 else "")
