"""PusherConnection and PusherPool against the fake Kick's real Pusher WebSocket server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace

import pytest
import pytest_asyncio

from kickwatch.domain.events import StreamEvent
from kickwatch.domain.status import EventType
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.protocol import MAX_FRAME_BYTES, STREAMER_IS_LIVE
from kickwatch.kick.pusher import SOCKET_MAX_BYTES, PusherConnection, PusherOptions
from kickwatch.monitor.events import ConnectionState
from tests.fakekick import FakeKick, wait_for
from tests.fakekick.pusher_server import GARBAGE_FRAMES
from tests.kick.helpers import Recorder, RecordingSleep


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep(cap=0.01)


@pytest.fixture
def options(sleep: RecordingSleep) -> PusherOptions:
    return PusherOptions(
        pong_timeout=0.3,
        open_timeout=3.0,
        subscribe_timeout=3.0,
        backoff=Backoff(initial=0.01, maximum=0.05),
        sleep=sleep,
    )


MakeClient = Callable[..., tuple[PusherConnection, Recorder]]


@pytest_asyncio.fixture
async def make_client(fake_kick: FakeKick, options: PusherOptions) -> AsyncIterator[MakeClient]:
    clients: list[PusherConnection] = []

    def make(
        channels: Iterable[int] = (), *, url: str | None = None, **changes: object
    ) -> tuple[PusherConnection, Recorder]:
        recorder = Recorder()
        client = PusherConnection(
            url or fake_kick.pusher_url,
            on_event=recorder.events.append,
            on_state=recorder.on_state,
            on_connected=recorder.on_connected,
            channels=channels,
            options=replace(options, **changes),  # type: ignore[arg-type]
        )
        recorder.client = client
        clients.append(client)
        client.start_soon()
        return client, recorder

    yield make
    for client in clients:
        await client.stop()


def connected(recorder: Recorder, times: int = 1) -> Callable[[], bool]:
    return lambda: recorder.connected >= times and recorder.state is ConnectionState.CONNECTED


# --- subscriptions -------------------------------------------------------------------------


async def test_subscribes_after_connection_established(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([1, 2])
    await wait_for(connected(recorder))
    assert client.subscribed_channels == {1, 2}
    assert recorder.subscribed_when_connected == [frozenset({1, 2})]
    (conn,) = fake_kick.pusher.connections
    assert conn.subscribe_log == ["channel.1", "channel.2"]
    assert all('"pusher:subscribe"' in frame for frame in conn.received)
    assert [s for s, _ in recorder.states] == [
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
    ]


async def test_resubscribes_everything_after_a_dropped_connection(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([1, 2])
    await wait_for(connected(recorder))
    fake_kick.pusher.drop_all()
    await wait_for(connected(recorder, 2))
    first, second = fake_kick.pusher.connections
    assert not first.open and second.subscriptions == {"channel.1", "channel.2"}
    assert ConnectionState.RECONNECTING in [s for s, _ in recorder.states]
    assert client.subscribed_channels == {1, 2}
    fake_kick.pusher.drop_all(code=1001)
    await wait_for(connected(recorder, 3))
    assert fake_kick.pusher.connections[2].subscriptions == {"channel.1", "channel.2"}


async def test_set_channels_changes_subscriptions_live(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([1, 2])
    await wait_for(connected(recorder))
    client.set_channels([2, 3, 4])
    await wait_for(lambda: client.subscribed_channels == {2, 3, 4})
    (conn,) = fake_kick.pusher.connections
    assert conn.subscriptions == {"channel.2", "channel.3", "channel.4"}
    assert conn.unsubscribe_log == ["channel.1"]
    client.set_channels([])
    await wait_for(lambda: not fake_kick.pusher.connections[0].subscriptions)
    assert client.subscribed_channels == frozenset()
    assert recorder.connected == 1 and len(fake_kick.pusher.connections) == 1


async def test_channels_set_before_connecting_are_subscribed_once_connected(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, _recorder = make_client()
    client.set_channels([9])
    await wait_for(lambda: client.subscribed_channels == {9})
    assert fake_kick.pusher.connections[0].subscribe_log == ["channel.9"]


async def test_subscription_confirmations_may_never_come(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    fake_kick.pusher.confirm_subscriptions = False
    client, recorder = make_client([1], subscribe_timeout=0.2)
    await wait_for(connected(recorder))
    assert client.subscribed_channels == frozenset()


async def test_subscriptions_go_out_in_one_write_per_change(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client(range(1, 301))
    await wait_for(connected(recorder))
    (conn,) = fake_kick.pusher.connections
    assert len(conn.subscribe_log) == 300
    # The server read the opening handshake, then all 300 subscriptions at once.
    assert conn.reads == 2
    client.set_channels(range(101, 501))  # 200 subscriptions and 100 unsubscriptions
    await wait_for(lambda: client.subscribed_channels == set(range(101, 501)))
    await wait_for(lambda: len(conn.unsubscribe_log) == 100)
    assert conn.reads == 3 and len(conn.subscribe_log) == 500


# --- events --------------------------------------------------------------------------------


async def test_pushed_start_and_stop_become_stream_events(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    channel = fake_kick.add_channel("alpha", channel_id=668)
    _client, recorder = make_client([channel.channel_id])
    await wait_for(connected(recorder))
    live = fake_kick.go_live("alpha", title="hello")
    fake_kick.go_offline("alpha")
    await wait_for(lambda: len(recorder.events) == 2)
    start, end = recorder.events
    assert start.event_type is EventType.STREAM_START and end.event_type is EventType.STREAM_END
    assert start.kick_event_id == f"668:{live.id}:start" and start.title == "hello"
    assert start.started_at == live.started_at
    assert end.kick_event_id == f"668:{live.id}:end"


async def test_events_on_both_channel_spellings_are_both_delivered(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    fake_kick.add_channel("alpha", channel_id=668)
    client, recorder = make_client([668], aliases=True)
    await wait_for(lambda: client.subscribed_names == {"channel.668", "channel_668"})
    await wait_for(connected(recorder))
    live = fake_kick.go_live("alpha")
    await wait_for(lambda: len(recorder.events) == 2)
    assert {e.kick_event_id for e in recorder.events} == {f"668:{live.id}:start"}
    assert {e.raw["channel"] for e in recorder.events} == {"channel.668", "channel_668"}


async def test_duplicates_and_out_of_order_events_are_all_passed_on(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    _client, recorder = make_client([5])
    await wait_for(connected(recorder))
    fake_kick.pusher.push_stop_stream(5, 100)
    fake_kick.pusher.push_streamer_is_live(5, 100)
    fake_kick.pusher.push_streamer_is_live(5, 100)
    await wait_for(lambda: len(recorder.events) == 3)
    assert [e.kick_event_id for e in recorder.events] == ["5:100:end", "5:100:start", "5:100:start"]


async def test_a_failing_event_callback_does_not_stop_the_client(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([5])
    seen: list[StreamEvent] = []

    def explode(event: StreamEvent) -> None:
        seen.append(event)
        raise RuntimeError("listener bug")

    client._on_event = explode
    await wait_for(connected(recorder))
    fake_kick.pusher.push_streamer_is_live(5, 1)
    fake_kick.pusher.push_streamer_is_live(5, 2)
    await wait_for(lambda: len(seen) == 2)
    assert len(fake_kick.pusher.connections) == 1


async def test_garbage_and_oversized_frames_are_counted_and_skipped(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([5])
    await wait_for(connected(recorder))
    for kind in GARBAGE_FRAMES:
        fake_kick.pusher.send_garbage(kind)
    fake_kick.pusher.send_raw(b"\x00\xff binary garbage")
    fake_kick.pusher.send_oversized()
    fake_kick.pusher.push(
        "channel.5", "App\\Events\\FollowersUpdated", {"followersCount": 3}
    )  # unknown: ignored
    fake_kick.pusher.push_streamer_is_live(5, 77)
    await wait_for(lambda: len(recorder.events) == 1)
    assert client.malformed_frames == len(GARBAGE_FRAMES) + 2
    assert recorder.events[0].kick_event_id == "5:77:start"
    assert len(fake_kick.pusher.connections) == 1 and client.state is ConnectionState.CONNECTED


async def test_frames_of_unwatched_events_are_skipped_without_decoding_their_data(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([5])
    await wait_for(connected(recorder))
    for data in ("{oops", "[" * 100_000, '{"n": ' + "9" * 5000 + "}"):
        fake_kick.pusher.push("channel.5", "App\\Events\\ChatMessageEvent", data, encode_data=False)
    fake_kick.pusher.push("channel.5", STREAMER_IS_LIVE, "{oops", encode_data=False)
    fake_kick.pusher.push_streamer_is_live(5, 78)
    await wait_for(lambda: len(recorder.events) == 1)
    # Only the watched event's data was decoded: it alone is counted as malformed.
    assert client.malformed_frames == 1
    assert recorder.events[0].kick_event_id == "5:78:start"


def deep_frame(depth: int) -> str:
    return '{"event":"App\\\\Events\\\\Deep","data":' + "[" * depth + "]" * depth + "}"


BAD_FRAMES: dict[str, tuple[bytes, str]] = {
    "not_utf8": (b'{"event":"App\\\\Events\\\\X","data":"\xff\xfe"}', "not UTF-8"),
    "too_deep": (deep_frame(100_000).encode(), "nested deeper than"),
    "too_deep_data": (  # the data of a watched event is decoded, and rejected
        json.dumps({"event": STREAMER_IS_LIVE, "data": "[" * 100_000}).encode(),
        "nested deeper than",
    ),
    "oversized": (
        json.dumps({"event": "App\\Events\\X", "data": "x" * MAX_FRAME_BYTES}).encode(),
        "more than",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_FRAMES))
async def test_a_bad_text_frame_is_skipped_counted_and_logged_and_the_connection_stays_up(
    fake_kick: FakeKick,
    make_client: MakeClient,
    sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    frame, reason = BAD_FRAMES[kind]
    client, recorder = make_client([5])
    await wait_for(connected(recorder))
    fake_kick.pusher.send_text_bytes(frame)
    fake_kick.pusher.push_streamer_is_live(5, 77)
    await wait_for(lambda: len(recorder.events) == 1)
    assert recorder.events[0].kick_event_id == "5:77:start"
    assert client.malformed_frames == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0].getMessage()
    assert len(fake_kick.pusher.connections) == 1 and recorder.connected == 1
    assert client.state is ConnectionState.CONNECTED and sleep.delays == []


async def test_odd_numbers_in_frames_neither_drop_the_connection_nor_lose_the_event(
    fake_kick: FakeKick, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client, recorder = make_client([5])
    await wait_for(connected(recorder))
    for code in ("²", "--5", "9" * 5000):
        fake_kick.pusher.send_raw(json.dumps({"event": "pusher:error", "data": {"code": code}}))
    live = {"id": 77, "channel_id": "²", "viewer_count": "9" * 5000, "created_at": "²"}
    fake_kick.pusher.push("channel.5", "App\\Events\\StreamerIsLive", {"livestream": live})
    await wait_for(lambda: len(recorder.events) == 1)
    event = recorder.events[0]
    assert (event.channel_id, event.kick_event_id, event.viewers) == (5, "5:77:start", None)
    assert client.malformed_frames == 0
    assert len(fake_kick.pusher.connections) == 1 and sleep.delays == []


async def test_a_frame_beyond_the_socket_limit_reconnects_without_escalating_the_back_off(
    fake_kick: FakeKick,
    make_client: MakeClient,
    sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _client, recorder = make_client([5])
    await wait_for(connected(recorder))
    for times in (2, 3, 4):
        fake_kick.pusher.send_oversized(SOCKET_MAX_BYTES + 1024)
        await wait_for(connected(recorder, times))
    fake_kick.pusher.push_streamer_is_live(5, 78)
    await wait_for(lambda: len(recorder.events) == 1)
    # Every reconnect waits the first step of the back-off (0.01 s plus jitter), never more.
    assert len(sleep.delays) == 3 and all(0.01 <= d <= 0.015 for d in sleep.delays)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert all(f"frame of more than {SOCKET_MAX_BYTES} bytes" in w for w in warnings)


# --- keep-alive ----------------------------------------------------------------------------


async def test_server_pings_are_answered_with_pongs(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    _client, recorder = make_client([1])
    await wait_for(connected(recorder))
    fake_kick.pusher.ping_clients()
    fake_kick.pusher.ping_clients()
    await wait_for(lambda: fake_kick.pusher.connections[0].pongs == 2)


async def test_client_pings_after_the_servers_activity_timeout(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    fake_kick.pusher.activity_timeout = 1
    started = time.monotonic()
    _client, recorder = make_client([1])
    await wait_for(connected(recorder))
    await wait_for(lambda: fake_kick.pusher.connections[0].pings >= 1, timeout=5)
    assert time.monotonic() - started >= 0.95
    assert len(fake_kick.pusher.connections) == 1


async def test_answered_pings_keep_the_connection(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    _client, recorder = make_client([1], max_activity_timeout=0.05)
    await wait_for(connected(recorder))
    await wait_for(lambda: fake_kick.pusher.connections[0].pings >= 4)
    assert len(fake_kick.pusher.connections) == 1


async def test_no_pong_closes_and_reconnects(fake_kick: FakeKick, make_client: MakeClient) -> None:
    fake_kick.pusher.answer_pings = False
    _client, recorder = make_client([1], max_activity_timeout=0.1, pong_timeout=0.2)
    await wait_for(connected(recorder))
    await wait_for(lambda: len(fake_kick.pusher.connections) >= 2)
    assert fake_kick.pusher.connections[0].pings == 1
    assert not fake_kick.pusher.connections[0].open
    assert any("no pong" in detail for _, detail in recorder.states)
    await wait_for(connected(recorder, 2))


# --- close codes ---------------------------------------------------------------------------


async def test_unknown_app_key_4001_stops_with_a_clear_message(
    fake_kick: FakeKick, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client, recorder = make_client([1], url=fake_kick.pusher.url("eb1d5f283081a78b932c"))
    await wait_for(lambda: recorder.state is ConnectionState.STOPPED)
    detail = recorder.states[-1][1]
    assert "Kick rejected the Pusher app key (4001)" in detail
    assert "KICKWATCH_PUSHER_URL" in detail
    await wait_for(lambda: not client.running)  # the loop ended: nothing can reconnect
    assert fake_kick.pusher.attempts == 1 and sleep.delays == []


async def test_a_url_that_is_not_websocket_stops_with_a_clear_message(
    make_client: MakeClient,
) -> None:
    client, recorder = make_client([1], url="https://ws-us2.pusher.com/app/x")
    await wait_for(lambda: recorder.state is ConnectionState.STOPPED)
    assert "KICKWATCH_PUSHER_URL" in recorder.states[-1][1] and not client.running


async def test_fatal_error_on_a_live_connection_stops(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([1])
    await wait_for(connected(recorder))
    fake_kick.pusher.send_error(4004, "Over connection quota")
    await wait_for(lambda: recorder.state is ConnectionState.STOPPED)
    assert "4004" in recorder.states[-1][1]
    assert len(fake_kick.pusher.connections) == 1 and not client.running


async def test_4100_backs_off_at_least_a_second_then_reconnects(
    fake_kick: FakeKick, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    _client, recorder = make_client([1])
    await wait_for(connected(recorder))
    fake_kick.pusher.send_error(4100, "Over capacity")
    await wait_for(connected(recorder, 2))
    assert len(sleep.delays) == 1 and sleep.delays[0] >= 1.0
    assert any("4100" in detail for _, detail in recorder.states)


async def test_4200_reconnects_at_once(
    fake_kick: FakeKick, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    _client, recorder = make_client([1])
    await wait_for(connected(recorder))
    fake_kick.pusher.send_error(4200, "Generic reconnect immediately")
    await wait_for(connected(recorder, 2))
    assert sleep.delays == []
    assert fake_kick.pusher.connections[1].subscriptions == {"channel.1"}


async def test_a_server_that_keeps_refusing_is_not_hammered(
    fake_kick: FakeKick, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    _client, recorder = make_client([1])
    await wait_for(connected(recorder))
    fake_kick.pusher.refuse_connections(0.3, code=4200)
    fake_kick.pusher.send_error(4200, "Server is shutting down")
    await wait_for(connected(recorder, 2), timeout=5)
    assert fake_kick.pusher.refused >= 1
    assert len(sleep.delays) == fake_kick.pusher.refused
    assert all(delay > 0 for delay in sleep.delays)


async def test_other_closes_back_off_exponentially_and_never_give_up(
    fake_kick: FakeKick, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    _client, recorder = make_client([1])
    await wait_for(connected(recorder))
    fake_kick.pusher.refuse_connections(0.3, code=4300)
    fake_kick.pusher.drop_all(code=1011)
    await wait_for(connected(recorder, 2), timeout=5)
    assert len(sleep.delays) >= 2
    assert sleep.delays[0] <= sleep.delays[1] or sleep.delays[1] == pytest.approx(0.05, abs=0.03)
    assert max(sleep.delays) <= 0.05


async def test_unreachable_server_keeps_retrying(
    fake_kick: FakeKick, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client, recorder = make_client([1], url="ws://127.0.0.1:9/app/x")
    await wait_for(lambda: len(sleep.delays) >= 3)
    assert recorder.state is ConnectionState.RECONNECTING and client.running


# --- lifecycle -----------------------------------------------------------------------------


async def test_stop_is_quick_and_leaves_no_tasks(
    fake_kick: FakeKick, make_client: MakeClient
) -> None:
    client, recorder = make_client([1, 2, 3])
    await wait_for(connected(recorder))
    started = time.monotonic()
    await client.stop()
    assert time.monotonic() - started < 1.0
    assert recorder.state is ConnectionState.CLOSED
    names = [t.get_name() for t in asyncio.all_tasks()]
    assert not [n for n in names if n.startswith("pusher")]
    await wait_for(lambda: not fake_kick.pusher.open_connections)
    client.start_soon()
    await wait_for(connected(recorder, 2))
