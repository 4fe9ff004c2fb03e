"""A go-live or go-offline pushed by Kick is recorded within a second, exactly once, and
published on the bus once, after the row is committed, whatever duplicates arrive."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from kickwatch.domain.status import EventType, Status
from kickwatch.monitor import events as ev
from kickwatch.monitor.reconcile import ReconcileReason
from tests.fakekick import FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import Harness


def committed_check(harness: Harness, seen: list[bool]) -> None:
    """On every StreamStarted/StreamEnded, look the row up on another connection."""

    def check(event: ev.MonitorEvent) -> None:
        if isinstance(event, (ev.StreamStarted, ev.StreamEnded)):
            ids = {r.id for r in harness.rows()}
            seen.append(event.event.id in ids)

    harness.bus.checks.append(check)


@pytest.mark.parametrize("credentials", [True, False], ids=["official", "unofficial"])
async def test_a_push_is_recorded_within_a_second_once_and_published_after_commit(
    fake_kick: FakeKick, make_monitor: MakeMonitor, credentials: bool
) -> None:
    channel = fake_kick.add_channel("alpha")
    harness = make_monitor(credentials=credentials)
    harness.add(channel)
    seen: list[bool] = []
    committed_check(harness, seen)
    await harness.start()
    assert fake_kick.pusher.subscribers(f"channel_{channel.channel_id}")  # aliases on

    began = time.perf_counter()
    fake_kick.go_live("alpha")  # on channel.N and channel_N
    await wait_for(lambda: harness.started("alpha"), 2.0)
    latency = harness.bus.time_of(harness.started("alpha")[0]) - began
    assert latency < 1.0, f"stream_start took {latency:.3f} s"

    began = time.perf_counter()
    fake_kick.go_offline("alpha")
    await wait_for(lambda: harness.ended("alpha"), 2.0)
    latency = harness.bus.time_of(harness.ended("alpha")[0]) - began
    assert latency < 1.0, f"stream_end took {latency:.3f} s"

    # Reconciliation with the same broadcast over: nothing new.
    await harness.monitor.reconcile_now()
    await fake_kick.pusher.drain()
    assert harness.monitor.pending_writes == 0
    assert [r.event_type for r in harness.rows(username="alpha")] == [
        EventType.STREAM_START,
        EventType.STREAM_END,
    ]
    assert len(harness.started("alpha")) == 1 and len(harness.ended("alpha")) == 1
    assert seen == [True, True]
    assert harness.rows(username="alpha")[0].event_data["source"] == "pusher"


@pytest.mark.parametrize("credentials", [True, False], ids=["official", "unofficial"])
async def test_duplicates_twice_and_reconciliation_record_each_change_once(
    fake_kick: FakeKick, make_monitor: MakeMonitor, credentials: bool
) -> None:
    channel = fake_kick.add_channel("alpha")
    harness = make_monitor(credentials=credentials)
    harness.add(channel)
    await harness.start()

    live = fake_kick.go_live("alpha")  # dot and underscore alias
    fake_kick.pusher.push_streamer_is_live(  # the same frame again, on both
        channel.channel_id,
        live.id,
        created_at=live.started_at,
        names=("channel.{id}", "channel_{id}"),
    )
    await wait_for(lambda: harness.started("alpha"))
    await harness.monitor.reconcile_now()  # the poll sees the same broadcast live
    fake_kick.pusher.push_streamer_is_live(channel.channel_id, live.id, created_at=live.started_at)
    await fake_kick.pusher.drain()
    await harness.monitor.reconcile_now()

    fake_kick.go_offline("alpha")
    fake_kick.pusher.push_stop_stream(channel.channel_id, live.id)
    await wait_for(lambda: harness.ended("alpha"))
    await harness.monitor.reconcile_now()  # the poll sees it offline: already recorded
    await fake_kick.pusher.drain()
    await harness.monitor.reconcile_now()

    assert len(harness.real_rows(EventType.STREAM_START, "alpha")) == 1
    assert len(harness.real_rows(EventType.STREAM_END, "alpha")) == 1
    assert len(harness.rows(username="alpha")) == 2
    assert len(harness.started("alpha")) == 1 and len(harness.ended("alpha")) == 1
    record = harness.ctx.repository.get_by_username("alpha")
    assert record is not None and record.status is Status.OFFLINE


@pytest.mark.parametrize("credentials", [True, False], ids=["official", "unofficial"])
async def test_a_change_seen_first_by_reconciliation_is_not_recorded_again_by_the_push(
    fake_kick: FakeKick, make_monitor: MakeMonitor, credentials: bool
) -> None:
    channel = fake_kick.add_channel("alpha")
    harness = make_monitor(credentials=credentials)
    harness.add(channel)
    await harness.start()

    live = fake_kick.go_live("alpha", push=False)
    await harness.monitor.reconcile_now()
    assert len(harness.started("alpha")) == 1
    fake_kick.pusher.push_streamer_is_live(
        channel.channel_id, live.id, created_at=live.started_at, names=("channel.{id}",)
    )
    fake_kick.go_offline("alpha", push=False)
    await harness.monitor.reconcile_now()
    assert len(harness.ended("alpha")) == 1
    fake_kick.pusher.push_stop_stream(channel.channel_id, live.id)
    await fake_kick.pusher.drain()
    await harness.monitor.reconcile_now()  # a full round trip after the late pushes

    assert len(harness.real_rows(EventType.STREAM_START, "alpha")) == 1
    assert len(harness.real_rows(EventType.STREAM_END, "alpha")) == 1
    assert len(harness.started("alpha")) == 1 and len(harness.ended("alpha")) == 1


async def test_an_end_pushed_before_its_start_still_leaves_one_start_and_one_end(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    harness = make_monitor()
    harness.add(channel)
    await harness.start()

    live = fake_kick.go_live("alpha", push=False)
    fake_kick.go_offline("alpha", push=False)
    fake_kick.pusher.push_stop_stream(channel.channel_id, live.id, names=("channel.{id}",))
    fake_kick.pusher.push_streamer_is_live(
        channel.channel_id, live.id, created_at=live.started_at, names=("channel.{id}",)
    )
    await wait_for(lambda: harness.real_rows(EventType.STREAM_START, "alpha"))
    await harness.monitor.reconcile_now()  # Kick says offline now: nothing to add

    assert len(harness.real_rows(EventType.STREAM_START, "alpha")) == 1
    assert len(harness.real_rows(EventType.STREAM_END, "alpha")) == 1
    assert len(harness.rows(username="alpha")) == 2  # the stand-in start was replaced
    assert len(harness.ended("alpha")) == 1
    assert harness.started("alpha") == []  # no go-live alert for a broadcast that is over
    record = harness.ctx.repository.get_by_username("alpha")
    assert record is not None and record.status is Status.OFFLINE


async def test_a_poll_that_began_before_a_push_does_not_end_the_pushed_broadcast(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    harness = make_monitor()
    harness.add(fake_kick.add_channel("alpha"))
    await harness.start()
    released = asyncio.Event()
    polled = asyncio.Event()

    async def stale_poll(streamers: Any) -> dict[int, Any]:
        polled.set()
        await released.wait()
        return {}  # what Kick said when the poll was made: nobody live

    harness.monitor.api.live_snapshots = stale_poll  # type: ignore[method-assign]
    checks = len(harness.bus.of(ev.ReconcileCompleted))
    harness.monitor.request_reconcile(ReconcileReason.PERIODIC)
    await asyncio.wait_for(polled.wait(), 5)
    fake_kick.go_live("alpha")  # pushed and committed while the poll is out
    await wait_for(lambda: harness.started("alpha"))
    released.set()
    await wait_for(lambda: len(harness.bus.of(ev.ReconcileCompleted)) > checks)
    await harness.monitor._writer.flush(5)  # type: ignore[union-attr]

    assert harness.ended("alpha") == []
    record = harness.ctx.repository.get_by_username("alpha")
    assert record is not None and record.status == Status.ONLINE
    assert [r.event_type for r in harness.rows(username="alpha")] == [EventType.STREAM_START]
