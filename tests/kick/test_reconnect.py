"""Reconnecting a pool of Pusher connections to a real server on 127.0.0.1 that stops and comes
back, on virtual time (an injected clock and sleep, `tests.kick.virtual_time`): while the server
is down one connection at a time probes it, at most `recent_cap` apart for a server healthy a
minute ago and ever less often after that; when it is back every connection resubscribes at once;
the back-off starts over after a healthy session."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from kickwatch.kick.backoff import Backoff
from kickwatch.kick.pusher import PusherOptions
from kickwatch.kick.pusher_pool import PusherPool
from kickwatch.monitor.events import ConnectionState
from tests.fakekick import wait_for
from tests.fakekick.pusher_server import FakePusherServer
from tests.kick.helpers import FakeClock, Recorder
from tests.kick.virtual_time import VirtualTime

CAP = PusherOptions().recent_cap
THOUSAND = range(1, 1001)


class Rig:
    """A server, a pool on it, and the virtual time they live in."""

    def __init__(self, server: FakePusherServer, backoff: Backoff) -> None:
        self.server = server
        self.port = server.port
        self.time = VirtualTime(FakeClock())
        self.recorder = Recorder()
        self.pool = PusherPool(
            server.url(),
            on_event=self.recorder.events.append,
            on_state=self.recorder.on_state,
            on_connected=self.recorder.on_connected,
            max_channels_per_connection=100,
            options=PusherOptions(sleep=self.time.sleep, backoff=backoff),
            clock=self.time.clock,
        )
        self.channels: range = THOUSAND
        self.back_at: float | None = None  # when the stopped server is to be ready again
        self.ready_at: float | None = None  # when it was
        self.attempts_at_ready = 0  # the pool's attempts then

    @property
    def clock(self) -> FakeClock:
        return self.time.clock

    def all_subscribed(self) -> bool:
        return self.pool.subscribed_count == len(self.channels) and all(
            c.state is ConnectionState.CONNECTED for c in self.pool.connections
        )

    async def connect(self, channels: range = THOUSAND) -> None:
        self.channels = channels
        self.pool.set_channels(channels)
        await self.pool.start()
        await wait_for(self.all_subscribed, what="every channel subscribed")

    async def outage(self, seconds: float) -> float:
        """Stop the server now, to be back `seconds` later (virtual); returns when it stopped."""
        await self.server.stop()
        await wait_for(
            lambda: all(c.state is not ConnectionState.CONNECTED for c in self.pool.connections),
            what="every connection noticed",
        )
        self.back_at = self.clock.monotonic() + seconds
        return self.clock.monotonic()

    async def _before_wake(self, when: float) -> None:
        if self.back_at is not None and when >= self.back_at:
            self.ready_at, self.back_at = self.back_at, None
            self.attempts_at_ready = self.pool.attempts
            await self.server.start(self.port)

    async def run_until_subscribed(self, limit: float) -> None:
        """Move virtual time (at most `limit` s) until every channel is subscribed again."""
        await self.time.run(
            self.pool,
            self.all_subscribed,
            until=self.clock.monotonic() + limit,
            before_wake=self._before_wake,
        )

    def waits(self, since: float, until: float = float("inf")) -> list[float]:
        """The reconnect waits that began within [since, until) (virtual)."""
        return [s for when, s in self.time.requested if since <= when < until]


@pytest_asyncio.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    backoff = getattr(request, "param", None) or Backoff(rng=random.Random(10))
    server = FakePusherServer()
    await server.start()
    rig = Rig(server, backoff)
    yield rig
    await rig.pool.stop()
    await server.stop()


async def test_a_five_second_outage_costs_one_probe_at_a_time_and_all_return_at_once(
    rig: Rig,
) -> None:
    await rig.connect()
    assert len(rig.pool.connections) == 10
    rig.clock.advance(30)  # healthy for a while
    before = {c: c.attempts for c in rig.pool.connections}
    await rig.outage(5.0)
    await rig.run_until_subscribed(limit=30)

    assert rig.ready_at is not None
    during = rig.attempts_at_ready - sum(before.values())
    # Ten connections retrying each on its own made about 40 attempts in such an outage; one
    # probe at a time, at most CAP apart (at least CAP / 1.5), makes about ten in all.
    assert 1 <= during <= 11
    assert all(c.attempts - before[c] <= 10 for c in rig.pool.connections)
    # The first probe after the server was ready got through, and the other nine connections
    # went the same instant (no virtual time passed), one attempt each.
    resubscribed_after = rig.clock.monotonic() - rig.ready_at
    assert 0 <= resubscribed_after <= CAP < 1.0
    assert rig.pool.attempts - rig.attempts_at_ready == 10
    assert rig.recorder.state is ConnectionState.CONNECTED


@pytest.mark.parametrize("outage", [0.3, 1.0, 5.0, 12.0])
async def test_resubscribed_within_the_cap_of_the_moment_the_server_is_ready(
    rig: Rig, outage: float
) -> None:
    await rig.connect()
    rig.clock.advance(30)
    stopped = await rig.outage(outage)
    await rig.run_until_subscribed(limit=outage + 5)
    assert rig.ready_at is not None
    assert 0 <= rig.clock.monotonic() - rig.ready_at <= CAP
    assert rig.waits(stopped) and max(rig.waits(stopped)) <= CAP


async def test_a_server_never_seen_healthy_is_probed_ever_less_often(rig: Rig) -> None:
    await rig.server.stop()  # down from the start: nothing says it will be back soon
    rig.back_at = rig.clock.monotonic() + 40
    rig.pool.set_channels(THOUSAND)
    await rig.pool.start()
    await rig.run_until_subscribed(limit=120)
    waits = rig.waits(0)
    assert max(waits) > 4 * CAP  # 2 s, 4 s, 8 s, 16 s ...
    assert all(later > earlier for earlier, later in itertools.pairwise(waits))
    assert rig.attempts_at_ready <= 6  # in 40 s, for ten connections


async def test_a_long_outage_is_probed_within_the_cap_for_a_minute_then_less_often(
    rig: Rig,
) -> None:
    await rig.connect()
    rig.clock.advance(30)
    stopped = await rig.outage(300.0)
    await rig.run_until_subscribed(limit=600)
    first_minute = rig.waits(stopped, stopped + 59)
    assert first_minute and max(first_minute) <= CAP
    later = rig.waits(stopped + 62)
    assert later and max(later) > 30  # back to the schedule's own maximum (60 s) in time
    # Over five minutes: about a hundred probes in the first minute, a dozen after.
    assert rig.attempts_at_ready < 140


@pytest.mark.parametrize("rig", [Backoff(initial=0.05, rng=random.Random(3))], indirect=True)
async def test_the_back_off_starts_over_after_a_healthy_session(rig: Rig) -> None:
    await rig.connect()
    rig.clock.advance(30)
    first = await rig.outage(20.0)
    await rig.run_until_subscribed(limit=40)
    # 0.05 s, 0.1 s, 0.2 s, 0.4 s, then the cap: the run of failures climbed to it.
    assert max(rig.waits(first)) > 0.4
    assert rig.pool.gate.failures == 0  # the server was reached: its run of failures ended

    rig.clock.advance(30)  # healthy again for a while
    second = await rig.outage(20.0)
    await rig.run_until_subscribed(limit=40)
    # The next outage starts from the schedule's first steps again, not from the cap.
    assert min(rig.waits(second)) < 0.1


@pytest.mark.parametrize("rig", [Backoff(initial=0.05, rng=random.Random(4))], indirect=True)
async def test_a_connection_that_keeps_breaking_waits_longer_until_a_session_lasts(
    rig: Rig,
) -> None:
    await rig.connect(range(1, 2))
    steps = []
    for healthy in (False, False, False, True):
        if healthy:
            rig.clock.advance(PusherOptions().healthy_after)
        since = rig.clock.monotonic()
        rig.server.drop_all()  # abruptly, as a broken network would
        await rig.server.drain()
        await wait_for(lambda: rig.recorder.state is not ConnectionState.CONNECTED)
        await rig.run_until_subscribed(limit=5)
        (wait,) = rig.waits(since)
        steps.append(wait)
    # 0.05 s (+ jitter), 0.1 s, 0.2 s; after a session of `healthy_after`, 0.05 s again.
    assert 0.05 <= steps[0] < 0.1 <= steps[1] < 0.2 <= steps[2] and steps[3] < 0.1
