"""Sends each decided change to each matching target once, without ever holding up the monitor.

`submit` is called on the event loop and returns at once: the outbox rows are written on the
monitor's writer thread (`db`), then each new row joins its target's lane. A lane is a bounded
queue in memory (more rows wait in the database and are read back when it drains), one worker
thread that alone calls Apprise for that target, and a back-off: after a failed attempt the head
row waits `retry_initial` seconds, doubling up to `retry_max`, measured on the injected clock, so
a receiver that is down loses nothing and the order is kept. Before sending, a row is claimed in
the database (two monitors on one database never both send it); after sending it is marked sent,
or its failed attempt is counted, or, once older than `give_up_after`, it is marked failed. At
start-up every pending row is read back, which is how a restart sends what was left and nothing
that was sent. Each lane's health (ok, or failing with the masked reason) goes to `on_health`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from kickwatch.alerts import apprise_io
from kickwatch.alerts.message import AlertMessage
from kickwatch.alerts.targets import Delivery, Outbox, TargetRecord, TargetStore
from kickwatch.domain.clock import Clock
from kickwatch.monitor.supervisor import Supervisor

log = logging.getLogger(__name__)
T = TypeVar("T")
Db = Callable[..., Awaitable[Any]]  # db(function, *args): run it on the writer thread
Send = Callable[[str, AlertMessage], "str | None"]  # blocking; None when accepted, else why not


@dataclass(frozen=True, slots=True)
class DispatcherOptions:
    """Limits and timings of the dispatcher; tests shorten them."""

    queue_size: int = 100  # rows held in memory per target; more wait in the database
    retry_initial: float = 5.0  # seconds before the first retry; doubles each failure
    retry_max: float = 300.0
    give_up_after: float = 24 * 3600.0  # a change not delivered within this is marked failed
    claim_seconds: float = 120.0  # how long a claim keeps other processes off a row
    rescan_interval: float = 60.0  # seconds between reads of pending rows of an idle lane
    db_retry: float = 2.0  # seconds between tries of an outbox write that failed
    keep_days: int = 30  # finished rows kept this long
    stop_within: float = 5.0  # how long stop waits for a send in flight


class TargetState(StrEnum):
    """How a target is doing."""

    OK = "ok"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """One target's state, for `run` output, the tray and the settings tab."""

    name: str
    url_masked: str
    state: TargetState
    waiting: int
    failures: int = 0  # consecutive failed attempts
    last_error: str | None = None
    retry_at: datetime | None = None

    def describe(self) -> str:
        """One line in words."""
        if self.state is TargetState.OK:
            return f"alert target {self.name}: ok" + (
                f", {self.waiting} waiting" if self.waiting else ""
            )
        return (
            f"alert target {self.name}: failing ({self.last_error}); "
            f"{self.waiting} waiting, attempt {self.failures} failed"
        )

    def as_json(self) -> dict[str, Any]:
        """The fields of a `run --json` line."""
        return {
            "event": "alert_target",
            "target": self.name,
            "url": self.url_masked,
            "state": str(self.state),
            "waiting": self.waiting,
            "failures": self.failures,
            "detail": self.last_error or "",
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }


class _Lane:
    """One target: its queue, its worker thread and its back-off."""

    def __init__(self, target: TargetRecord, url: str, size: int) -> None:
        self.target = target
        self.url = url
        self.size = size
        self.queue: deque[Delivery] = deque()
        self.seen: set[int] = set()  # ids queued in this process (sent ones stay: never twice)
        self.overflowed = False
        self.wake = asyncio.Event()
        self.failures = 0
        self.retry_at: datetime | None = None
        self.last_error: str | None = None
        self.rescan_at = 0.0
        self.removed = False
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"kickwatch-alert-{target.id}")

    def offer(self, delivery: Delivery) -> None:
        if delivery.id in self.seen:
            return
        if len(self.queue) >= self.size:
            self.overflowed = True  # it waits in the database; read back when the queue drains
            return
        self.queue.append(delivery)
        self.seen.add(delivery.id)
        self.wake.set()

    def health(self) -> TargetHealth:
        return TargetHealth(
            name=self.target.name,
            url_masked=self.target.url_masked,
            state=TargetState.FAILING if self.failures else TargetState.OK,
            waiting=len(self.queue),
            failures=self.failures,
            last_error=self.last_error,
            retry_at=self.retry_at,
        )


class AlertDispatcher:
    """Owns the lanes; see the module docstring."""

    def __init__(
        self,
        targets: TargetStore,
        outbox: Outbox,
        db: Db,
        clock: Clock,
        *,
        send: Send | None = None,
        options: DispatcherOptions | None = None,
        on_health: Callable[[TargetHealth], None] | None = None,
    ) -> None:
        self._targets = targets
        self._outbox = outbox
        self._db = db
        self._clock = clock
        self._send: Send = send or apprise_io.send
        self.options = options or DispatcherOptions()
        self._on_health = on_health
        self._owner = uuid.uuid4().hex
        self._lanes: dict[int, _Lane] = {}
        self._tasks = Supervisor()
        self._lane_tasks: dict[int, asyncio.Task[None]] = {}
        self._queueing: set[asyncio.Task[None]] = set()
        self._reloading = asyncio.Lock()
        self._stopping = False

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Prune the outbox, then start a lane for every stored target (pending rows first)."""
        try:
            removed = await self._db(self._outbox.prune, self.options.keep_days)
            if removed:
                log.info("alerts: %d finished deliveries pruned", removed)
        except Exception as exc:
            log.warning("alerts: the outbox could not be pruned: %s", exc)
        await self.reload()

    async def reload(self) -> None:
        """Follow the stored targets: lanes for new ones, none for removed ones."""
        async with self._reloading:
            if not self._stopping:
                await self._reload()

    async def _reload(self) -> None:
        stored: list[tuple[TargetRecord, str]] = await self._db(self._targets.with_urls)
        wanted = {target.id: (target, url) for target, url in stored}
        for target_id, lane in list(self._lanes.items()):
            target, url = wanted.get(target_id, (None, ""))
            if target != lane.target or url != lane.url:
                self._drop(lane)
        for target_id, (target, url) in wanted.items():
            if target_id not in self._lanes:
                apprise_io.GUARD.protect(url)
                lane = _Lane(target, url, self.options.queue_size)
                self._lanes[target_id] = lane
                self._lane_tasks[target_id] = self._tasks.spawn(
                    self._run(lane), f"alerts: {target.name}"
                )

    def _drop(self, lane: _Lane) -> None:
        lane.removed = True
        lane.wake.set()
        self._lanes.pop(lane.target.id, None)
        lane.executor.shutdown(wait=False, cancel_futures=True)

    async def stop(self) -> None:
        """Let sends in flight finish (up to `stop_within`), then end every lane."""
        self._stopping = True
        for lane in self._lanes.values():
            lane.wake.set()
        tasks = [*self._lane_tasks.values(), *self._queueing]
        running = [task for task in tasks if not task.done()]
        if running:
            await asyncio.wait(running, timeout=self.options.stop_within)
        await self._tasks.cancel_all()
        for lane in self._lanes.values():
            lane.executor.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        """Look at the clock again now (a test moved it; the machine resumed)."""
        for lane in self._lanes.values():
            lane.wake.set()

    def health(self) -> list[TargetHealth]:
        """Every target's state now, by name."""
        return sorted((lane.health() for lane in self._lanes.values()), key=lambda h: h.name)

    @property
    def targets(self) -> list[TargetRecord]:
        """The targets being served."""
        return [lane.target for lane in self._lanes.values()]

    # -- queueing ---------------------------------------------------------------------------

    def submit(self, changes: Sequence[tuple[int, AlertMessage]]) -> None:
        """Queue (change id, message) pairs for every target that wants them (see `Outbox`)."""
        entries = [
            (lane.target.id, event_id, message)
            for event_id, message in changes
            for lane in self._lanes.values()
            if lane.target.matches(message)
        ]
        if entries and not self._stopping:
            task = self._tasks.spawn(self._enqueue(entries), "alerts: queue")
            self._queueing.add(task)
            task.add_done_callback(self._queueing.discard)

    async def _enqueue(self, entries: list[tuple[int, int, AlertMessage]]) -> None:
        made: list[Delivery] | None = await self._must(self._outbox.enqueue, entries)
        for delivery in made or []:
            lane = self._lanes.get(delivery.target_id)
            if lane is not None:
                lane.offer(delivery)

    async def _refill(self, lane: _Lane) -> None:
        lane.overflowed = False
        lane.rescan_at = asyncio.get_running_loop().time() + self.options.rescan_interval
        try:
            rows: list[Delivery] = await self._db(self._outbox.pending, lane.target.id, lane.size)
        except Exception as exc:
            log.warning("alerts: pending deliveries of %s not read: %s", lane.target.name, exc)
            return
        for delivery in rows:
            lane.offer(delivery)
        if len(rows) >= lane.size:
            lane.overflowed = True

    # -- one lane ---------------------------------------------------------------------------

    async def _run(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        while not (self._stopping or lane.removed):
            lane.wake.clear()
            if not lane.queue:
                if lane.overflowed or loop.time() >= lane.rescan_at:
                    await self._refill(lane)
                    if lane.queue:
                        continue
                await self._wait(lane, max(0.0, lane.rescan_at - loop.time()))
                continue
            now = self._clock.now()
            if lane.retry_at is not None and now < lane.retry_at:
                await self._wait(lane, (lane.retry_at - now).total_seconds())
                continue
            delivery = lane.queue[0]
            until = now + timedelta(seconds=self.options.claim_seconds)
            try:
                claimed = await self._db(self._outbox.claim, delivery.id, self._owner, until)
            except Exception as exc:
                log.warning("alerts: delivery %d not claimed: %s", delivery.id, exc)
                await self._wait(lane, self.options.db_retry)
                continue
            if not claimed:  # sent, given up or being sent by another process
                lane.queue.popleft()
                lane.seen.discard(delivery.id)
                continue
            message = delivery.message
            error = await loop.run_in_executor(lane.executor, self._send, lane.url, message)
            await self._settle(lane, delivery, error)

    async def _wait(self, lane: _Lane, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lane.wake.wait(), timeout=seconds)

    async def _settle(self, lane: _Lane, delivery: Delivery, error: str | None) -> None:
        now = self._clock.now()
        name = lane.target.name
        if error is None:
            await self._must(self._outbox.mark_sent, delivery.id)
            lane.queue.popleft()
            recovered = lane.failures > 0
            lane.failures, lane.retry_at, lane.last_error = 0, None, None
            log.info("alerts: %r sent to %s", delivery.message.title, name)
            if recovered:
                self._report(lane)
            return
        error = apprise_io.GUARD.redact(error)
        age = (now - delivery.created_at).total_seconds()
        give_up = age >= self.options.give_up_after
        await self._must(self._outbox.mark_failed_attempt, delivery.id, error, give_up)
        lane.failures += 1
        delay = min(self.options.retry_initial * 2 ** (lane.failures - 1), self.options.retry_max)
        lane.retry_at = now + timedelta(seconds=delay)
        lane.last_error = error
        if give_up:
            lane.queue.popleft()
            log.error(
                "alerts: gave up sending %r to %s after %.0f h: %s",
                delivery.message.title,
                name,
                age / 3600,
                error,
            )
        else:
            log.warning(
                "alerts: %s failed (%s); next try in %.0f s, %d waiting",
                name,
                error,
                delay,
                len(lane.queue),
            )
        self._report(lane)

    def _report(self, lane: _Lane) -> None:
        if self._on_health is not None:
            try:
                self._on_health(lane.health())
            except Exception:
                log.exception("alerts: the health listener failed")

    async def _must(self, function: Callable[..., T], *args: Any) -> T | None:
        """Run an outbox write until it succeeds; while stopping, give up after a few tries."""
        tries = 0
        while True:
            try:
                result: T = await self._db(function, *args)
                return result
            except Exception as exc:
                tries += 1
                if self._stopping and tries >= 3:
                    log.error(
                        "alerts: the outbox could not be updated (%s); a message sent just now "
                        "may be sent again after a restart",
                        exc,
                    )
                    return None
                log.warning("alerts: the outbox could not be updated: %s; retrying", exc)
                await asyncio.sleep(self.options.db_retry)
