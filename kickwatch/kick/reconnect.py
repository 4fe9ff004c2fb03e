"""When the Pusher connections to one server may try to connect: tell "the server is gone" from
"this connection broke".

`ReconnectGate` is shared by the connections of a `PusherPool` (a lone `PusherConnection` has its
own). While the server is known reachable (`UP`), every connection connects when it likes. After
any session ends, the server's state is unknown: the next attempt is a probe, and connections that
want to connect meanwhile wait for its result instead of trying on their own. A probe that reaches
`connection_established` makes the server `UP` and lets every waiting connection go at once; one
that fails makes it `DOWN`: the next probe, by the next connection in line (round robin), comes
after a jittered back-off on the server's run of failed attempts (the first step of the schedule
belongs to the break itself). A server that was healthy within `recent_window` seconds (a
session got its subscriptions confirmed, or lasted a healthy while) is probed at most
`recent_cap` seconds apart, and no connection waits longer than that after a break either;
later the schedule starts over from its first step (never below the cap) and grows to its
maximum. A close code that asks for at least `min_backoff` (4100-4199) is honoured, and a fatal
one (4000-4099) closes the gate: connections that wait, and any that come later, stop with the
same reason until `reset`.
Waits use the injected `sleep` and time is read from the injected clock, so tests control both.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from enum import StrEnum

from kickwatch.domain.clock import Clock
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.protocol import CloseAction

Sleep = Callable[[float], Awaitable[None]]


class ServerState(StrEnum):
    """What the gate believes of the server."""

    UP = "up"  # reachable: connections connect at once, all together
    UNKNOWN = "unknown"  # a session ended: the next attempt probes, the others wait for it
    DOWN = "down"  # the last attempt failed: one probe at a time, after a back-off


class GateClosed(Exception):
    """The server refused for good (a fatal close code): do not connect again unchanged."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReconnectGate:
    """Admits the connection attempts of the connections to one server (see the module)."""

    def __init__(
        self,
        *,
        backoff: Backoff,
        clock: Clock,
        sleep: Sleep,
        recent_cap: float,
        recent_window: float,
        min_backoff: float,
    ) -> None:
        self.state = ServerState.UNKNOWN
        self.failures = 0  # attempts in a row that did not reach connection_established
        self.next_probe_at: float | None = None  # clock.monotonic() of the next probe, if DOWN
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._recent_cap = recent_cap
        self._recent_window = recent_window
        self._min_backoff = min_backoff
        self._capped_steps = 0  # schedule steps taken under the cap in this outage
        self._healthy_at: float | None = None  # when a healthy session was last seen
        self._working: set[Hashable] = set()  # live sessions with their subscriptions
        self._prober: Hashable | None = None  # who holds the one probe of UNKNOWN/DOWN
        self._line: deque[tuple[Hashable, asyncio.Future[None]]] = deque()
        self._closed: str | None = None

    # --- what connections call ----------------------------------------------------------

    async def wait_turn(self, who: Hashable) -> None:
        """Return when `who` may try to connect: at once while the server is up, else when it
        is `who`'s turn to probe (after the back-off) or another connection's probe succeeded.

        Raises `GateClosed` after a fatal refusal. After it returns, `who` reports the attempt
        with `reached` or `failed` (or `left` when it gives up)."""
        while True:
            if self._closed is not None:
                raise GateClosed(self._closed)
            if self.state is ServerState.UP:
                return
            if self._prober is None or self._prober == who:
                self._prober = who
                try:
                    await self._sleep_until(self.next_probe_at)
                except BaseException:
                    self.left(who)
                    raise
                if self._closed is not None:
                    self.left(who)
                    continue
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (who, waiter)
            self._line.append(entry)
            try:
                await waiter
            except BaseException:
                if entry in self._line:
                    self._line.remove(entry)
                elif self._prober == who:  # handed the probe just as it was cancelled
                    self.left(who)
                raise

    def reached(self, who: Hashable) -> None:
        """`who` got `connection_established`: the server is up; every waiting one may go."""
        if self._prober == who:
            self._prober = None
        self.state = ServerState.UP
        self.failures = 0
        self._capped_steps = 0
        self.next_probe_at = None
        self._wake_all()

    def failed(self, who: Hashable, action: CloseAction, reason: str = "") -> None:
        """`who`'s attempt ended before `connection_established`, with `action` for its code."""
        if self._prober == who:
            self._prober = None
        if action is CloseAction.FATAL:
            self.close(reason)
            return
        self.failures += 1
        now = self._clock.monotonic()
        delay = self._probe_delay()
        if action is CloseAction.BACKOFF:
            delay = max(delay, self._min_backoff)
        self.state = ServerState.DOWN
        self.next_probe_at = now + delay
        self._hand_over()

    def worked(self, who: Hashable) -> None:
        """`who`'s session got its subscriptions confirmed: the server is healthy."""
        self._working.add(who)

    def ended(self, who: Hashable, *, healthy: bool) -> None:
        """`who`'s established session ended (`healthy`: it had lasted): the server's state is
        unknown until the next attempt."""
        if healthy or who in self._working:
            self._healthy_at = self._clock.monotonic()
        self._working.discard(who)
        if self.state is ServerState.UP:
            self.state = ServerState.UNKNOWN

    def left(self, who: Hashable) -> None:
        """`who` stopped (or gave up its turn): free its probe for the next in line."""
        self._working.discard(who)
        for entry in [e for e in self._line if e[0] == who]:
            self._line.remove(entry)
        if self._prober == who:
            self._prober = None
            self._hand_over()

    def close(self, reason: str) -> None:
        """A fatal refusal: waiting and later connections stop with `reason` (until `reset`)."""
        self._closed = reason
        self._wake_all()

    def reset(self) -> None:
        """Forget a fatal refusal and the failures (a fresh start): the next attempt probes."""
        self._closed = None
        self.failures = 0
        self._capped_steps = 0
        self.next_probe_at = None
        self.state = ServerState.UNKNOWN  # the first attempt probes; the others follow it

    # --- what connections read ----------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Connections waiting for another's probe."""
        return len(self._line)

    def cap(self) -> float | None:
        """The most any wait may last now: `recent_cap` for a server healthy a moment ago."""
        return self._recent_cap if self.recently_healthy() else None

    def recently_healthy(self) -> bool:
        """Whether a session was healthy within `recent_window` seconds (or is now)."""
        if self._working:
            return True
        since = None if self._healthy_at is None else self._clock.monotonic() - self._healthy_at
        return since is not None and since <= self._recent_window

    # --- internals ----------------------------------------------------------------------

    def _probe_delay(self) -> float:
        step = self.failures + 1  # the first step was the break's (or the start's) own
        if self.recently_healthy():
            self._capped_steps = step
            return self._backoff.delay(step, cap=self._recent_cap)
        if not self._capped_steps:
            return self._backoff.delay(step)
        # The cap's minute is over: the schedule starts over, but never below the cap.
        floor = min(self._recent_cap, self._backoff.maximum)
        return max(floor, self._backoff.delay(step - self._capped_steps))

    async def _sleep_until(self, when: float | None) -> None:
        if when is None:
            return
        delay = when - self._clock.monotonic()
        if delay > 0:
            await self._sleep(delay)

    def _hand_over(self) -> None:
        """Give the free probe to the first connection in line."""
        if self._prober is not None or self.state is ServerState.UP:
            return
        while self._line:
            who, waiter = self._line.popleft()
            if not waiter.done():
                self._prober = who
                waiter.set_result(None)
                return

    def _wake_all(self) -> None:
        line, self._line = self._line, deque()
        for _who, waiter in line:
            if not waiter.done():
                waiter.set_result(None)
