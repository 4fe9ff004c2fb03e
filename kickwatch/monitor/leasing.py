"""The worker's lease loop: which streamers this `kickwatch run` watches on a shared PostgreSQL.

`LeaseKeeper` runs a lease round (`kickwatch.store.leases.LeaseStore.renew`) at start-up and
then every third of `monitoring.lease_seconds`, on a thread of its own whose connection goes
back to the pool between rounds. A renewal holds for half of it: a worker may renew a sixth late
without losing anything, and the streamers of a worker that dies expire at most half the lease
time after its death. A round also tells when the first of the other workers runs out if it
renews no more; at that moment the keeper reads the `worker` table (one query, no lock) and,
if that worker did not renew, runs a round at once, which claims its share of the dead
worker's streamers. So they are taken over about half the lease time after a death, not at a
live worker's next round up to a third later, and the rest of the lease time is left for
that round and for subscribing to them even on a loaded machine. While the others live, each
costs a worker at most one such read per renewal of theirs. After each round the monitor
learns what was gained and lost, and subscribes and reconciles exactly what is held.

When the database cannot be reached, the keeper keeps what it held: watching a streamer that
another worker has meanwhile taken over is harmless (the database stores each change once),
and not watching it at all would lose changes while the database is down for everyone. A clean
stop releases every lease at once, so the others need not wait for them to expire.

On SQLite there are no leases (`build_lease_keeper` gives None): one process watches every
streamer, as it always has.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import peewee

from kickwatch.context import Context
from kickwatch.domain.clock import Clock
from kickwatch.domain.errors import KickwatchError
from kickwatch.store.leases import DatabaseClock, LeaseRound, LeaseStore

log = logging.getLogger(__name__)
T = TypeVar("T")
ENV_WORKER_NAME = "KICKWATCH_WORKER_NAME"
_STOP_SECONDS = 1.0  # a clean stop waits this long to hand its leases back
# How long after another worker's leases would run out it is looked at: covers the few
# milliseconds by which the server's clock and the local one are matched.
_PEER_GRACE_SECONDS = 0.05
Sleep = Callable[[float], Awaitable[None]]
_DATABASE_ERRORS = (peewee.DatabaseError, peewee.InterfaceError, KickwatchError)


@dataclass(frozen=True, slots=True)
class LeaseOptions:
    """How long a dead worker's streamers may wait; tests shorten it."""

    lease_seconds: float = 30.0

    @property
    def interval(self) -> float:
        """Seconds between rounds: a third of the lease time."""
        return self.lease_seconds / 3

    @property
    def valid_for(self) -> timedelta:
        """How long one renewal holds: half the lease time (see the module docstring)."""
        return timedelta(seconds=self.lease_seconds / 2)


@dataclass(frozen=True, slots=True)
class LeaseChange:
    """What a round changed for this worker: the streamer ids it gained and lost."""

    round: LeaseRound
    gained: frozenset[int]
    lost: frozenset[int]


OnLeasesChanged = Callable[[LeaseChange], Awaitable[None]]


def worker_name(environ: Mapping[str, str], setting: str = "", given: str | None = None) -> str:
    """The name a worker goes by: `given` (`run --worker-name`), else KICKWATCH_WORKER_NAME, else
    the `monitoring.worker_name` setting, else the host name."""
    return (
        (given or "").strip()
        or environ.get(ENV_WORKER_NAME, "").strip()
        or setting.strip()
        or socket.gethostname()
    )


def make_worker_id(name: str) -> str:
    """`name:pid:random`: unique even for two workers of one name on one machine."""
    return f"{name}:{os.getpid()}:{secrets.token_hex(3)}"


class LeaseKeeper:
    """Holds this worker's leases and renews them (see the module docstring)."""

    def __init__(
        self, store: LeaseStore, options: LeaseOptions, clock: Clock, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.store = store
        self.options = options
        self._clock = clock
        self._sleep = sleep  # waits as many seconds of `clock`; tests advance a manual one
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kickwatch-leases")
        self._held: frozenset[int] = frozenset()
        self.last_round: LeaseRound | None = None
        self.failures = 0  # rounds in a row that could not reach the database
        self._round_started = clock.monotonic()
        self._peer_due: float | None = None  # monotonic: when to look whether a peer renewed
        self._stopped = False

    @property
    def worker_id(self) -> str:
        """This worker's id in the `worker` table."""
        return self.store.worker_id

    @property
    def held(self) -> frozenset[int]:
        """Ids of the streamers this worker holds (what it held last, while unreachable)."""
        return self._held

    async def renew(self) -> LeaseChange | None:
        """One round; the change it made, None when nothing changed or it failed (the first
        successful round is always a change, so that the caller learns the figures)."""
        started = self._round_started = self._clock.monotonic()
        try:
            result = await self._on_thread(self.store.renew)
        except _DATABASE_ERRORS as exc:
            self.failures += 1
            self._peer_due = None  # the next round tries again
            log.warning("lease round of %s failed: %s", self.worker_id, exc)
            return None
        self.failures = 0
        self._peer_due = _due(started, result.at, result.peer_expiry)
        first = self.last_round is None
        self.last_round = result
        gained, lost = result.held - self._held, self._held - result.held
        self._held = result.held
        if not (first or gained or lost):
            return None
        return LeaseChange(result, gained, lost)

    async def run(self, on_changed: OnLeasesChanged) -> None:
        """Renew every `interval` seconds (by the injected clock) and report each change; run
        a round at once when another worker's leases ran out (see the module docstring)."""
        while True:
            round_due = self._round_started + self.options.interval
            peer_due = self._peer_due
            if peer_due is not None and peer_due < round_due:
                await self._sleep(max(0.0, peer_due - self._clock.monotonic()))
                if not await self._peer_ran_out():
                    continue
            else:
                await self._sleep(max(0.0, round_due - self._clock.monotonic()))
            change = await self.renew()
            if change is not None:
                await on_changed(change)

    async def _peer_ran_out(self) -> bool:
        """Whether another worker stopped renewing; otherwise when to look again."""
        started = self._clock.monotonic()
        try:
            check = await self._on_thread(self.store.check_peers)
        except _DATABASE_ERRORS as exc:
            self._peer_due = None  # the next round tries the database again
            log.info("looking at the other workers failed: %s", exc)
            return False
        self._peer_due = _due(started, check.at, check.peer_expiry)
        return check.expired

    async def stop(self) -> None:
        """Hand every lease back (best effort, within about a second) and end the thread; a
        second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        try:
            async with asyncio.timeout(_STOP_SECONDS):
                released = await self._on_thread(self.store.leave)
            log.info("worker %s released %d leases", self.worker_id, released)
        except (TimeoutError, *_DATABASE_ERRORS) as exc:
            log.warning("worker %s could not release its leases: %s", self.worker_id, exc)
        self._held = frozenset()
        self._thread.shutdown(wait=False)

    async def _on_thread(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._released_after, function
        )

    def _released_after(self, function: Callable[[], T]) -> T:
        """Run `function` on the lease thread, then give its connection back to the pool (a
        broken one is dropped there, and the next round opens another)."""
        try:
            return function()
        finally:
            try:
                self.store.database.release()
            except Exception:  # a broken connection may fail to close; the pool drops it
                log.debug("releasing the lease thread's connection failed", exc_info=True)


def _due(started: float, at: datetime, peer_expiry: datetime | None) -> float | None:
    """The local monotonic moment just after `peer_expiry`, a time of the server's clock read
    at `at`, which was about `started` on the local one."""
    if peer_expiry is None:
        return None
    return started + (peer_expiry - at).total_seconds() + _PEER_GRACE_SECONDS


def build_lease_keeper(
    ctx: Context,
    options: LeaseOptions | None = None,
    clock: Clock | None = None,
    *,
    name: str | None = None,
) -> LeaseKeeper | None:
    """A keeper for a `kickwatch run` worker on PostgreSQL; None on SQLite (no leases there).

    The worker's name is `name`, else as `worker_name` finds it, and must follow the rule of the
    `monitoring.worker_name` setting (ValidationError). Timestamps come from the PostgreSQL
    server's clock unless `clock` is given (tests)."""
    if ctx.database.dialect != "postgresql":
        return None
    options = options or LeaseOptions(float(ctx.settings.get("monitoring.lease_seconds")))
    chosen = worker_name(ctx.environ, str(ctx.settings.get("monitoring.worker_name")), name)
    worker_id = make_worker_id(ctx.settings.validate("monitoring.worker_name", chosen))
    stamps = clock or DatabaseClock(ctx.database, ctx.clock)
    store = LeaseStore(ctx.database, worker_id, options.valid_for, stamps)
    return LeaseKeeper(store, options, ctx.clock)
