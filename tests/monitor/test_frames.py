"""Frames that are not Pusher frames (non-JSON, truncated, oversized, wrong shapes) are counted
and skipped; the monitor goes on recording."""

from __future__ import annotations

from kickwatch.domain.status import EventType
from kickwatch.monitor import events as ev
from tests.fakekick import FakeKick, wait_for
from tests.fakekick.pusher_server import GARBAGE_FRAMES
from tests.monitor.conftest import MakeMonitor


async def test_garbage_frames_are_counted_and_do_not_stop_the_monitor(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    channel = fake_kick.add_channel("alpha")
    harness = make_monitor()
    harness.add(channel)
    await harness.start()
    connections = len(fake_kick.pusher.connections)

    for kind in GARBAGE_FRAMES:
        fake_kick.pusher.send_garbage(kind)
    fake_kick.pusher.send_oversized()  # a valid frame over the 1 MiB parsing limit
    fake_kick.pusher.send_raw(b"\xff\xfe not utf-8")  # a binary frame
    fake_kick.go_live("alpha")
    await wait_for(lambda: harness.started("alpha"))

    assert harness.monitor.malformed_frames == len(GARBAGE_FRAMES) + 2
    assert len(fake_kick.pusher.connections) == connections  # no reconnect needed
    assert harness.monitor.connection_state is ev.ConnectionState.CONNECTED
    assert len(harness.rows(EventType.STREAM_START, "alpha")) == 1
