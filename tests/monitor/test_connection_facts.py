"""The facts the tray shows, as the monitor publishes them: since when the link is down (kept
through every reconnect attempt of one outage), when the next attempt is due (published again
each time it moves), and when a check of Kick failed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from kickwatch.kick.backoff import Backoff
from kickwatch.kick.errors import BLOCKED_MESSAGE
from kickwatch.monitor import events as ev
from tests.clock import ManualClock
from tests.fakekick import FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import monitor_options, pusher_options

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class ClockSleep:
    """A reconnect wait that moves the manual clock by the wait (and yields for real briefly)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0.005)


async def test_an_outage_keeps_its_start_and_publishes_each_next_attempt(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    clock = ManualClock(T0)
    sleep = ClockSleep(clock)
    backoff = Backoff(initial=2.0, maximum=8.0, jitter=0.0)
    # The cap for a server healthy lately (recent_cap) set above the schedule, so it shows.
    pusher = pusher_options(backoff=backoff, sleep=sleep, recent_cap=60.0)
    options = monitor_options(pusher=pusher)
    harness = make_monitor(clock=clock, options=options)
    harness.add(channel)
    published_at: dict[int, datetime] = {}
    harness.bus.checks.append(lambda event: published_at.setdefault(id(event), clock.now()))
    await harness.start()
    changes = harness.bus.of(ev.ConnectionStateChanged)
    [first] = [e for e in changes if e.state is ev.ConnectionState.CONNECTED]
    assert first.since == T0 and first.retry_at is None

    clock.advance(120)
    dropped_at = clock.now()
    seen = len(harness.bus.of(ev.ConnectionStateChanged))
    fake_kick.pusher.refuse_connections(0.3)
    fake_kick.pusher.drop_all()
    await wait_for(lambda: len(sleep.delays) >= 3, what="three waits between attempts")
    await harness.until_connected()

    changes = harness.bus.of(ev.ConnectionStateChanged)[seen:]
    outage = [e for e in changes if e.state is ev.ConnectionState.RECONNECTING]
    assert len(outage) >= 3, changes
    assert {e.since for e in outage} == {dropped_at}  # one outage, one start
    waits = []
    for event in outage:
        assert event.retry_at is not None
        waits.append((event.retry_at - published_at[id(event)]).total_seconds())
    assert waits == sleep.delays[: len(waits)], (waits, sleep.delays)
    assert waits == sorted(waits) and waits[-1] > waits[0]  # backing off, as announced
    retries = [e.retry_at for e in outage]
    assert retries == sorted(retries) and len(set(retries)) == len(retries)

    back = changes[-1]
    assert back.state is ev.ConnectionState.CONNECTED and back.retry_at is None
    assert back.since == published_at[id(back)] and back.since > dropped_at


async def test_a_failed_check_is_published_with_its_time_and_reason(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    fake_kick.control.unofficial_block = "cloudflare"
    clock = ManualClock(T0)
    harness = make_monitor(credentials=False, clock=clock)
    harness.add(fake_kick.add_channel("alpha"))
    await harness.start(connected=False)
    await wait_for(
        lambda: (
            harness.bus.of(ev.ReconcileFailed)
            and harness.monitor.connection_state is ev.ConnectionState.CONNECTED
            and harness.reconcile_idle
        ),
        what="the failed checks of the start-up and the connect",
    )

    failures = harness.bus.of(ev.ReconcileFailed)
    assert {(f.at, f.reason) for f in failures} == {(T0, BLOCKED_MESSAGE)}
    assert harness.monitor.last_check is None

    fake_kick.control.unofficial_block = None
    clock.advance(60)
    await harness.monitor.reconcile_now()
    assert harness.bus.of(ev.ReconcileCompleted)[-1].at == T0 + timedelta(seconds=60)
    assert harness.bus.of(ev.ReconcileFailed) == failures
