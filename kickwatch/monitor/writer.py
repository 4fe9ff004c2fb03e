"""The single database writer: one thread that turns queued changes into batched transactions.

Every write of status changes goes through here, so there are never two writers in one process.
Items wait in a bounded queue; the thread takes what has accumulated (up to `batch_size`) and
commits it with `Repository.apply_changes`. When the database is unavailable (SQLite locked,
PostgreSQL restarting, disk full) the batch stays at the head of the queue and is retried with
back-off; nothing that fits in the bound is lost, and an overflow is reported, never silent.
Results are handed back to the event loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import peewee

from kickwatch.domain.errors import DatabaseUnavailableError, ValidationError
from kickwatch.store.repository import BatchResult, Repository, StatusChange, StatusObservation

log = logging.getLogger(__name__)

Item = StatusChange | StatusObservation
REPORT_EVERY = 10.0  # seconds between reminders that the database is still unavailable


@dataclass(frozen=True, slots=True)
class WriterCallbacks:
    """What the writer reports, each called on the event loop's thread."""

    committed: Callable[[BatchResult], None]
    unavailable: Callable[[str, int], None]  # reason, items pending
    recovered: Callable[[int], None]  # items flushed since the outage
    overflowed: Callable[[int], None]  # items refused because the queue was full


def _is_unavailable(exc: BaseException) -> bool:
    return isinstance(
        exc, (peewee.OperationalError, peewee.InterfaceError, DatabaseUnavailableError)
    ) or type(exc).__name__ in ("OperationalError", "InterfaceError")


class DbWriter:
    """Owns the writer thread and its queue."""

    def __init__(
        self,
        repository: Repository,
        loop: asyncio.AbstractEventLoop,
        callbacks: WriterCallbacks,
        *,
        max_pending: int = 100_000,
        batch_size: int = 2_000,
        retry_initial: float = 0.05,
        retry_max: float = 2.0,
    ) -> None:
        self._repository = repository
        self._loop = loop
        self._callbacks = callbacks
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._queue: deque[Item] = deque()
        self._in_flight = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.outage_since: float | None = None
        self.committed_batches = 0

    @property
    def pending(self) -> int:
        """Items queued or being written."""
        with self._condition:
            return len(self._queue) + self._in_flight

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="kickwatch-db-writer", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[Item]) -> bool:
        """Queue items for the next transaction; False (and reported) if the queue is full."""
        if not items:
            return True
        with self._condition:
            room = self._max_pending - len(self._queue) - self._in_flight
            if room < len(items):
                refused = len(items)
                accepted = False
            else:
                self._queue.extend(items)
                self._condition.notify()
                accepted = True
        if not accepted:
            log.error("write queue full: %d changes refused", refused)
            self._loop.call_soon_threadsafe(self._callbacks.overflowed, refused)
        return accepted

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything queued is committed (or `timeout` passes)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
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
        while True:
            with self._condition:
                while not self._queue and not self._stopping:
                    self._condition.wait()
                if not self._queue and self._stopping:
                    self._close_connection()  # a connection must not outlive its thread
                    return
                count = min(len(self._queue), self._batch_size)
                batch = [self._queue.popleft() for _ in range(count)]
                self._in_flight = count
            try:
                result = self._write(batch)
            except Exception as exc:
                if not _is_unavailable(exc):
                    # Unknown failures are retried like an outage: the thread must never die.
                    log.exception("writing %d changes failed", len(batch))
                self._requeue(batch)
                reason = _reason(exc)
                now = time.monotonic()
                if self.outage_since is None:
                    self.outage_since = now
                    log.warning(
                        "database unavailable, holding %d changes: %s", self.pending, reason
                    )
                if now - last_report >= REPORT_EVERY:
                    # Once when the outage begins, then a reminder now and then, not per retry.
                    last_report = now
                    self._loop.call_soon_threadsafe(
                        self._callbacks.unavailable, reason, self.pending
                    )
                self._close_connection()
                with self._condition:
                    if self._stopping and time.monotonic() - self.outage_since > 1.0:
                        self._close_connection()
                        return
                    self._condition.wait(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            delay = self._retry_initial
            last_report = -REPORT_EVERY
            self.committed_batches += 1
            if self.outage_since is not None:
                self.outage_since = None
                self._loop.call_soon_threadsafe(self._callbacks.recovered, len(batch))
            # Queue the result before reporting idle, so a `flush()` returns only after the loop
            # has seen it.
            self._loop.call_soon_threadsafe(self._callbacks.committed, result)
            with self._condition:
                self._in_flight = 0
                self._condition.notify_all()

    def _write(self, batch: list[Item]) -> BatchResult:
        try:
            return self._repository.apply_changes(batch)
        except (ValidationError, peewee.IntegrityError) as exc:
            # One bad item must not block the others: write them one by one, drop the bad.
            log.error("batch refused (%s); writing its %d items one by one", exc, len(batch))
            merged = BatchResult()
            for item in batch:
                try:
                    single = self._repository.apply_changes([item])
                except (ValidationError, peewee.IntegrityError) as item_error:
                    log.error("dropped an invalid change %r: %s", item, item_error)
                    continue
                merged.applied.extend(single.applied)
                merged.history.extend(single.history)
                merged.duplicates += single.duplicates
                merged.unchanged += single.unchanged
                merged.missing_streamers += single.missing_streamers
            return merged

    def _requeue(self, batch: list[Item]) -> None:
        with self._condition:
            self._queue.extendleft(reversed(batch))
            self._in_flight = 0
            self._condition.notify_all()

    def _close_connection(self) -> None:
        handle = self._repository.database.handle
        try:
            if not handle.is_closed():
                handle.close()
        except Exception:  # a broken connection may fail to close; a new one is opened anyway
            log.debug("closing a broken connection failed", exc_info=True)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "locked" in text or "busy" in text:
        return "the database is locked by another program"
    return text
