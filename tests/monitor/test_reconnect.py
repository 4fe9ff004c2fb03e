"""Losing the socket (a drop, a refusal, a sleep, a dead peer) and Pusher's error codes: the
monitor reconnects, resubscribes and reconciles what it missed, or stops with a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kickwatch.domain.status import EventType
from kickwatch.monitor import events as ev
from tests.clock import ManualClock
from tests.fakekick import FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import Harness, RecordingSleep, monitor_options, pusher_options


def resubscribed(kick: FakeKick, channel_id: int, after: int) -> bool:
    """A connection newer than `after` is open and subscribed to `channel.{channel_id}`."""
    return any(c.number >= after for c in kick.pusher.subscribers(f"channel.{channel_id}"))


async def test_a_go_live_missed_while_disconnected_is_recorded_after_the_reconnect(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    harness = make_monitor()
    harness.add(channel)
    await harness.start()
    before = len(fake_kick.pusher.connections)

    fake_kick.pusher.refuse_connections(0.3)
    fake_kick.pusher.drop_all()
    fake_kick.go_live("alpha", push=False)  # nobody hears of it: Pusher has no replay
    await fake_kick.pusher.drain()
    await wait_for(lambda: fake_kick.pusher.refused >= 1, what="a refused reconnect")
    await wait_for(lambda: resubscribed(fake_kick, channel.channel_id, before), what="resubscribe")
    await wait_for(lambda: harness.started("alpha"), what="the reconciled start")

    started = harness.started("alpha")
    assert len(started) == 1 and not started[0].initial and not started[0].after_resume
    assert started[0].event.event_data["reconcile"] == "reconnect"
    assert len(harness.rows(EventType.STREAM_START, "alpha")) == 1
    assert harness.monitor.connection_state is ev.ConnectionState.CONNECTED
    states = [e.state for e in harness.bus.of(ev.ConnectionStateChanged)]
    assert ev.ConnectionState.RECONNECTING in states


async def test_after_a_sleep_the_monitor_reconnects_and_records_what_changed(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    # The wall clock starts 2 h back: the jump must not carry timestamps into the future,
    # which the database refuses.
    clock = ManualClock(datetime.now(UTC) - timedelta(hours=2))  # clock-ok: see above
    harness = make_monitor(clock=clock)
    harness.add(channel)
    await harness.start()
    before = len(fake_kick.pusher.connections)

    went_live = clock.now().replace(microsecond=0) + timedelta(minutes=30)  # while asleep
    fake_kick.go_live("alpha", push=False, started_at=went_live)
    clock.jump_wall(3600)
    await wait_for(lambda: harness.bus.of(ev.ResumedFromSleep), what="ResumedFromSleep")
    await wait_for(lambda: resubscribed(fake_kick, channel.channel_id, before), what="resubscribe")
    await wait_for(lambda: harness.started("alpha"), what="the reconciled start")

    slept = harness.bus.of(ev.ResumedFromSleep)
    assert len(slept) == 1 and slept[0].slept_seconds >= 3600 - 1
    started = harness.started("alpha")
    assert len(started) == 1 and started[0].after_resume and not started[0].initial
    assert started[0].event.event_data["reconcile"] == "resume"
    assert started[0].event.event_timestamp == went_live
    assert fake_kick.pusher.connections[before - 1].open is False  # the old socket was closed


async def test_no_pong_means_a_dead_socket_and_a_reconnect(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    fake_kick.pusher.activity_timeout = 0.2
    fake_kick.pusher.answer_pings = False
    harness = make_monitor()
    harness.add(channel)
    await harness.start()

    await wait_for(lambda: len(fake_kick.pusher.connections) >= 2, what="a reconnect")
    first = fake_kick.pusher.connections[0]
    assert first.pings >= 1 and first.open is False
    fake_kick.pusher.answer_pings = True
    await harness.until_connected()
    fake_kick.go_live("alpha")
    await wait_for(lambda: harness.started("alpha"))


async def test_4001_stops_the_monitor_with_a_clear_error(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    harness = make_monitor()
    harness.add(fake_kick.add_channel("alpha"))
    await harness.start()

    fake_kick.pusher.send_error(4001, "App key not in this cluster")
    await wait_for(lambda: harness.monitor.connection_state is ev.ConnectionState.STOPPED)

    assert harness.monitor.stopped_by is not None
    assert "4001" in harness.monitor.stopped_by and "app key" in harness.monitor.stopped_by
    stopped = [
        e
        for e in harness.bus.of(ev.ConnectionStateChanged)
        if e.state is ev.ConnectionState.STOPPED
    ]
    assert stopped[-1].detail == harness.monitor.stopped_by
    attempts = fake_kick.pusher.attempts
    await harness.monitor.reconcile_now()  # time passes: no reconnect attempt
    assert fake_kick.pusher.attempts == attempts


async def test_4100_backs_off_before_reconnecting_and_4200_reconnects_at_once(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    sleep = RecordingSleep(cap=0.05)
    # healthy_after=0: every established session resets the failure count, as a long one would.
    options = monitor_options(
        pusher=pusher_options(min_backoff=1.0, sleep=sleep, healthy_after=0.0)
    )
    harness = make_monitor(options=options)
    harness.add(channel)
    await harness.start()

    fake_kick.pusher.send_error(4100, "Over capacity")
    await wait_for(lambda: len(fake_kick.pusher.connections) >= 2, what="a reconnect")
    assert len(sleep.delays) == 1 and sleep.delays[0] >= 1.0  # at least 1 s, as Pusher asks
    await wait_for(lambda: resubscribed(fake_kick, channel.channel_id, 1))

    await harness_healthy(harness)
    fake_kick.pusher.send_error(4200, "Generic reconnect")
    await wait_for(lambda: len(fake_kick.pusher.connections) >= 3, what="a reconnect")
    assert len(sleep.delays) == 1  # no wait at all for 4200
    await wait_for(lambda: resubscribed(fake_kick, channel.channel_id, 2))
    fake_kick.go_live("alpha")
    await wait_for(lambda: harness.started("alpha"))


async def harness_healthy(harness: Harness) -> None:
    await wait_for(
        lambda: harness.monitor.connection_state is ev.ConnectionState.CONNECTED,
        what="connected again",
    )
