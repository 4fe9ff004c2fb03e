"""Virtual time for the reconnect tests: a `FakeClock` that moves only from one sleeper's
wake-up to the next, so a 5-second outage with ten connections takes no real time.

`VirtualTime.sleep` is the `sleep` injected into the Pusher client: it registers a wake-up at
`clock.monotonic() + seconds` and waits. `VirtualTime.run` drives time: whenever the system is
quiet (every connection asleep, waiting for another's probe, or connected: nothing but time can
move it), it advances the clock to the earliest wake-up and wakes that sleeper, after running
the `before_wake` hook (which restarts a server at the moment its outage ends). Real network I/O
(connects to a closed port, handshakes) happens in between, in real time, at a standstill of the
virtual clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable

from kickwatch.kick.pusher_pool import PusherPool
from kickwatch.monitor.events import ConnectionState
from tests.fakekick import wait_for
from tests.kick.helpers import FakeClock


class VirtualTime:
    """A clock and the sleep that moves it (see the module)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requested: list[tuple[float, float]] = []  # (when, seconds) of every sleep
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of virtual time."""
        now = self.clock.monotonic()
        self.requested.append((now, seconds))
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (now + seconds, next(self._order), waiter))
        await waiter

    @property
    def sleeping(self) -> int:
        """Sleepers not woken (nor cancelled) yet."""
        return sum(1 for _, _, waiter in self._sleepers if not waiter.done())

    def next_wake(self) -> float | None:
        """When the earliest sleeper wakes, if any sleeps."""
        self._drop_cancelled()
        return self._sleepers[0][0] if self._sleepers else None

    def wake_next(self) -> None:
        """Advance the clock to the earliest wake-up and wake that sleeper."""
        self._drop_cancelled()
        when, _, waiter = heapq.heappop(self._sleepers)
        self.clock.advance(max(0.0, when - self.clock.monotonic()))
        waiter.set_result(None)

    async def run(
        self,
        pool: PusherPool,
        done: Callable[[], bool],
        *,
        until: float,
        before_wake: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Move time until `done()`; fail if the clock would pass `until` first."""
        while True:
            await wait_for(lambda: done() or self.quiet(pool), what="a quiet pool")
            if done():
                return
            when = self.next_wake()
            assert when is not None, "the pool is quiet but nobody sleeps"
            assert when <= until, f"not done by {until} (virtual)"
            if before_wake is not None:
                await before_wake(when)
            self.wake_next()

    def quiet(self, pool: PusherPool) -> bool:
        """Whether only time can move `pool`: each connection sleeps, waits for another's
        probe, or is connected."""
        connected = sum(c.state is ConnectionState.CONNECTED for c in pool.connections)
        return self.sleeping + pool.gate.waiting + connected == len(pool.connections)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
