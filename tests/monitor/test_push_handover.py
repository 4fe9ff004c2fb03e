"""Pushes handled in one turn of the event loop reach the writer thread together (one
hand-over for a burst, not one per frame), are counted as pending meanwhile, and are stored when
the monitor stops before the turn ends."""

from __future__ import annotations

import asyncio
from typing import Any

from kickwatch.domain.events import StreamEvent
from kickwatch.domain.status import EventSource, EventType
from tests.fakekick import FakeChannel, FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import Harness


def push(harness: Harness, channel: FakeChannel, livestream: int) -> None:
    """What the Pusher pool hands the monitor for one StreamerIsLive frame."""
    now = harness.ctx.clock.now()
    harness.monitor._on_pusher_event(
        StreamEvent(
            event_type=EventType.STREAM_START,
            source=EventSource.PUSHER,
            received_at=now,
            raw={},
            kick_event_id=f"{channel.channel_id}:{livestream}:start",
            channel_id=channel.channel_id,
            livestream_id=str(livestream),
            started_at=now,
            occurred_at=now,
        )
    )


async def test_pushes_of_one_turn_are_handed_to_the_writer_together(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channels = [fake_kick.add_channel(name) for name in ("alpha", "beta", "gamma")]
    harness = make_monitor()
    for channel in channels:
        harness.add(channel)
    await harness.start()
    writer: Any = harness.monitor._writer
    handed: list[int] = []
    submit = writer.submit
    writer.submit = lambda items: handed.append(len(items)) or submit(items)

    for number, channel in enumerate(channels, 1):  # three frames read in one turn
        push(harness, channel, number)
    assert handed == [] and harness.monitor.pending_writes == 3
    await asyncio.sleep(0)  # the turn ends
    assert handed == [3]
    await wait_for(lambda: all(harness.started(n) for n in ("alpha", "beta", "gamma")))
    assert harness.monitor.pending_writes == 0


async def test_a_stop_in_the_same_turn_stores_the_pushes(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    harness = make_monitor()
    harness.add(channel)
    await harness.start()
    push(harness, channel, 7)
    await harness.monitor.stop()
    assert [row.event_type for row in harness.rows(username="alpha")] == [EventType.STREAM_START]
