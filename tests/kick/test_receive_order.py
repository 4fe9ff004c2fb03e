"""Frames read together keep the order they arrived in, in their receive times.

The client reads the clock once per turn of the event loop, so a burst of frames read in one
turn could share one receive time. A start and a stop of one streamer would then tie, and the
store orders a tie end-before-start: the stop would become history and the stream would stay
live. Each later frame of a turn is therefore stamped a microsecond after the one before.
"""

from __future__ import annotations

import itertools

from kickwatch.domain.status import EventType
from kickwatch.kick.pusher import PusherConnection
from kickwatch.monitor.events import ConnectionState
from tests.fakekick import FakeKick, wait_for
from tests.kick.helpers import Recorder

FRAMES = 200


async def test_frames_sent_back_to_back_get_strictly_increasing_receive_times(
    fake_kick: FakeKick,
) -> None:
    recorder = Recorder()
    client = PusherConnection(
        fake_kick.pusher_url,
        on_event=recorder.events.append,
        on_state=recorder.on_state,
        on_connected=recorder.on_connected,
        channels=[5],
    )
    recorder.client = client
    client.start_soon()
    try:
        await wait_for(lambda: recorder.state is ConnectionState.CONNECTED and recorder.connected)
        for livestream in range(FRAMES // 2):  # start, stop, start, stop ... of one streamer
            fake_kick.pusher.push_streamer_is_live(5, 1000 + livestream)
            fake_kick.pusher.push_stop_stream(5, 1000 + livestream)
        await wait_for(lambda: len(recorder.events) == FRAMES, what="every frame")
    finally:
        await client.stop()
    kinds = [event.event_type for event in recorder.events]
    assert kinds == [EventType.STREAM_START, EventType.STREAM_END] * (FRAMES // 2)
    times = [event.received_at for event in recorder.events]
    assert all(earlier < later for earlier, later in itertools.pairwise(times))
