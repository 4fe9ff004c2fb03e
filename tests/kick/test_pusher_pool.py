"""PusherPool against the fake Kick: channels spread over connections, one folded state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from kickwatch.kick.backoff import Backoff
from kickwatch.kick.pusher import PusherOptions
from kickwatch.kick.pusher_pool import CHANNELS_PER_CONNECTION, PusherPool
from kickwatch.monitor.events import ConnectionState
from kickwatch.monitor.monitor import MonitorOptions
from kickwatch.store.settings import spec_for
from tests.fakekick import FakeKick, wait_for
from tests.kick.helpers import Recorder, RecordingSleep


@pytest_asyncio.fixture
async def pool(fake_kick: FakeKick) -> AsyncIterator[tuple[PusherPool, Recorder]]:
    recorder = Recorder()
    options = PusherOptions(
        pong_timeout=0.3,
        backoff=Backoff(initial=0.01, maximum=0.05),
        sleep=RecordingSleep(cap=0.01),
    )
    pool = PusherPool(
        fake_kick.pusher_url,
        on_event=recorder.events.append,
        on_state=recorder.on_state,
        on_connected=recorder.on_connected,
        max_channels_per_connection=100,
        options=options,
    )
    recorder.client = pool
    yield pool, recorder
    await pool.stop()


async def test_pool_spreads_250_channels_over_3_connections(
    fake_kick: FakeKick, pool: tuple[PusherPool, Recorder]
) -> None:
    client, recorder = pool
    ids = list(range(1, 251))
    client.set_channels(ids)
    await client.start()
    await wait_for(lambda: client.subscribed_channels == set(ids))
    await wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
    assert len(client.connections) == 3
    sizes = sorted(len(c.subscriptions) for c in fake_kick.pusher.open_connections)
    assert sizes == [50, 100, 100]
    assert recorder.connected == 3
    fake_kick.pusher.push_streamer_is_live(250, 1)
    fake_kick.pusher.push_streamer_is_live(1, 2)
    await wait_for(lambda: len(recorder.events) == 2)


async def test_pool_changes_only_the_difference_and_closes_empty_connections(
    fake_kick: FakeKick, pool: tuple[PusherPool, Recorder]
) -> None:
    client, recorder = pool
    client.set_channels(range(1, 251))
    await client.start()
    await wait_for(lambda: len(client.subscribed_channels) == 250)
    client.set_channels(range(101, 201))
    await wait_for(lambda: len(fake_kick.pusher.open_connections) == 1)
    (remaining,) = fake_kick.pusher.open_connections
    assert remaining.subscriptions == {f"channel.{i}" for i in range(101, 201)}
    assert remaining.unsubscribe_log == []
    client.set_channels([*range(101, 201), 500])
    await wait_for(lambda: len(client.subscribed_channels) == 101)
    await wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
    assert len(client.connections) == 2


async def test_pool_reports_one_state_and_stops_everything(
    fake_kick: FakeKick, pool: tuple[PusherPool, Recorder]
) -> None:
    client, recorder = pool
    client.set_channels(range(150))
    await client.start()
    await wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
    fake_kick.pusher.drop_all()
    await wait_for(lambda: recorder.state is ConnectionState.RECONNECTING)
    await wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
    await client.stop()
    assert recorder.state is ConnectionState.CLOSED
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("pusher")]


async def test_malformed_frames_stay_counted_after_their_connection_is_closed(
    fake_kick: FakeKick, pool: tuple[PusherPool, Recorder]
) -> None:
    client, _recorder = pool
    client.set_channels(range(1, 151))
    await client.start()
    await wait_for(lambda: len(client.subscribed_channels) == 150)
    fake_kick.pusher.send_text_bytes(b"\xff not utf-8")
    await wait_for(lambda: client.malformed_frames == 2)  # once on each connection
    client.set_channels(range(1, 101))  # the second connection is closed
    await wait_for(lambda: len(fake_kick.pusher.open_connections) == 1)
    assert len(client.connections) == 1 and client.malformed_frames == 2


async def test_pool_subscribes_each_connection_in_one_write(fake_kick: FakeKick) -> None:
    recorder = Recorder()
    pool = PusherPool(
        fake_kick.pusher_url,
        on_event=recorder.events.append,
        on_state=recorder.on_state,
        on_connected=recorder.on_connected,
        max_channels_per_connection=250,
    )
    recorder.client = pool
    try:
        pool.set_channels(range(1, 1001))
        await pool.start()
        await wait_for(lambda: pool.subscribed_count == 1000)
        await wait_for(lambda: recorder.state is ConnectionState.CONNECTED)
        conns = fake_kick.pusher.open_connections
        assert sorted(len(c.subscribe_log) for c in conns) == [250, 250, 250, 250]
        assert [c.reads for c in conns] == [2, 2, 2, 2]  # the handshake, then one write
        assert pool.subscribed_channels == frozenset(range(1, 1001))
    finally:
        await pool.stop()


def test_the_app_and_the_pool_default_to_the_same_channels_per_connection() -> None:
    assert spec_for("monitoring.max_channels_per_connection").default == CHANNELS_PER_CONNECTION
    assert MonitorOptions().max_channels_per_connection == CHANNELS_PER_CONNECTION
