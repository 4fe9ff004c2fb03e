"""The pure Pusher protocol layer, fed with frames recorded from Kick (tests/fixtures/kick)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from kickwatch.domain.events import StreamEvent
from kickwatch.domain.status import EventSource, EventType
from kickwatch.kick import protocol
from kickwatch.kick.protocol import (
    ChannelEvent,
    CloseAction,
    ConnectionEstablished,
    MalformedFrame,
    Ping,
    Pong,
    PusherError,
    SubscriptionSucceeded,
    channel_id_of,
    channel_name,
    classify_close,
    parse_frame,
    to_stream_event,
)
from tests.kick.conftest import FIXTURES

RECEIVED = datetime(2025, 9, 15, 21, 12, 46, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / name).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def kick_frame(event: str, data: Any, channel: str | None = "channel.668") -> str:
    """A frame the way Kick sends it: `data` JSON-encoded a second time."""
    frame: dict[str, Any] = {"event": event, "data": json.dumps(data)}
    if channel is not None:
        frame["channel"] = channel
    return json.dumps(frame)


def event_of(text: str) -> ChannelEvent:
    frame = parse_frame(text)
    assert isinstance(frame, ChannelEvent)
    return frame


# --- frames ------------------------------------------------------------------------------


def test_connection_established_with_string_data() -> None:
    text = (
        '{"event":"pusher:connection_established",'
        '"data":"{\\"socket_id\\":\\"1677674.4468990\\",\\"activity_timeout\\":120}"}'
    )
    assert parse_frame(text) == ConnectionEstablished("1677674.4468990", 120.0)


def test_connection_established_with_object_data_and_no_timeout() -> None:
    text = '{"event":"pusher:connection_established","data":{"socket_id":"1.2"}}'
    assert parse_frame(text) == ConnectionEstablished("1.2", None)


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"channel.2515504"}',
        '{"event":"pusher_internal:subscription_succeeded","channel":"channel.2515504"}',
        '{"event":"pusher_internal:subscription_succeeded","data":{},"channel":"channel.2515504"}',
    ],
)
def test_subscription_succeeded_with_string_object_or_absent_data(text: str) -> None:
    assert parse_frame(text) == SubscriptionSucceeded("channel.2515504")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"event":"pusher:ping","data":{}}', Ping()),
        ('{"event":"pusher:ping"}', Ping()),
        ('{"event":"pusher:pong","data":"{}"}', Pong()),
        ('{"event":"pusher:pong","data":{}}', Pong()),
    ],
)
def test_ping_and_pong_in_every_shape(text: str, expected: object) -> None:
    assert parse_frame(text) == expected


def test_pusher_error_with_object_and_string_data() -> None:
    as_object = '{"event":"pusher:error","data":{"code":4201,"message":"Pong reply not received"}}'
    as_string = '{"event":"pusher:error","data":"{\\"code\\":4001,\\"message\\":\\"App key\\"}"}'
    null_code = '{"event":"pusher:error","data":{"code":null,"message":"Invalid signature"}}'
    assert parse_frame(as_object) == PusherError(4201, "Pong reply not received")
    assert parse_frame(as_string) == PusherError(4001, "App key")
    assert parse_frame(null_code) == PusherError(None, "Invalid signature")


def test_channel_event_keeps_decoded_frame_in_raw() -> None:
    data = sample("pusher_streamer_is_live.data.json")
    frame = event_of(kick_frame(protocol.STREAMER_IS_LIVE, data))
    assert frame.event == "App\\Events\\StreamerIsLive"
    assert frame.channel == "channel.668"
    assert frame.data == data
    assert frame.raw == {"event": frame.event, "channel": "channel.668", "data": data}


def test_channel_event_with_object_data_and_without_data() -> None:
    with_object = json.dumps({"event": "App\\Events\\X", "channel": "channel.1", "data": {"a": 1}})
    without = json.dumps({"event": "App\\Events\\X", "channel": "channel.1"})
    assert event_of(with_object).data == {"a": 1}
    assert event_of(without).data == {}


def test_recorded_livestream_updated_frame_parses() -> None:
    text = (FIXTURES / "pusher_livestream_updated.json").read_text("utf-8")
    frame = event_of(text)
    assert frame.channel == "private-livestream.22976949"
    assert frame.data["livestream"]["is_live"] is True


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "",
        '{"event":"App\\\\Events\\\\StreamerIsLive","data":"{\\"livestream\\":{\\"id',
        "[1,2,3]",
        '"just a string"',
        "null",
        '{"data":"{}"}',
        '{"event":42}',
        '{"event":"App\\\\Events\\\\StreamerIsLive","data":"{oops"}',
        '{"event":"App\\\\Events\\\\StreamerIsLive","data":[1,2]}',
        '{"event":"App\\\\Events\\\\StreamerIsLive","data":"[1,2]"}',
        '{"event":"pusher:connection_established","data":"{}"}',
        '{"event":"pusher_internal:subscription_succeeded","data":"{}"}',
        b"\xff\xfe not utf-8",
    ],
)
def test_malformed_frames_raise_malformed_frame(text: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(text)


def test_malformed_frame_is_a_value_error() -> None:
    assert issubclass(MalformedFrame, ValueError)


def test_oversized_frame_is_rejected_before_decoding() -> None:
    big = json.dumps({"event": "App\\Events\\X", "data": "x" * (protocol.MAX_FRAME_BYTES + 1)})
    with pytest.raises(MalformedFrame, match="more than"):
        parse_frame(big)
    with pytest.raises(MalformedFrame):
        parse_frame(big.encode())


def test_multibyte_frame_just_over_the_limit_is_rejected() -> None:
    title = "👏" * (protocol.MAX_FRAME_BYTES // 4)  # 4 bytes each, but 1 character
    text = json.dumps({"event": "App\\Events\\X", "data": {"t": title}}, ensure_ascii=False)
    assert len(text) < protocol.MAX_FRAME_BYTES
    with pytest.raises(MalformedFrame):
        parse_frame(text)


# --- encoders and names ------------------------------------------------------------------


def test_encoders_match_the_pusher_protocol() -> None:
    assert json.loads(protocol.encode_subscribe("channel.5")) == {
        "event": "pusher:subscribe",
        "data": {"auth": "", "channel": "channel.5"},
    }
    assert json.loads(protocol.encode_unsubscribe("channel.5")) == {
        "event": "pusher:unsubscribe",
        "data": {"channel": "channel.5"},
    }
    assert json.loads(protocol.encode_ping()) == {"event": "pusher:ping", "data": {}}
    assert json.loads(protocol.encode_pong()) == {"event": "pusher:pong", "data": {}}


def test_channel_names_round_trip_with_both_spellings() -> None:
    assert channel_name(2515504) == "channel.2515504"
    assert protocol.alias_channel_name(2515504) == "channel_2515504"
    assert channel_id_of("channel.2515504") == 2515504
    assert channel_id_of("channel_2515504") == 2515504
    for other in (
        "chatrooms.2507974.v2",
        "private-livestream.22976949",
        "channel.",
        "channel.x",
        None,
    ):
        assert channel_id_of(other) is None


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (4000, CloseAction.FATAL),
        (4001, CloseAction.FATAL),
        (4004, CloseAction.FATAL),
        (4099, CloseAction.FATAL),
        (4100, CloseAction.BACKOFF),
        (4199, CloseAction.BACKOFF),
        (4200, CloseAction.RECONNECT_NOW),
        (4201, CloseAction.RECONNECT_NOW),
        (4299, CloseAction.RECONNECT_NOW),
        (4300, CloseAction.DEFAULT),
        (4399, CloseAction.DEFAULT),
        (1000, CloseAction.DEFAULT),
        (1006, CloseAction.DEFAULT),
        (3999, CloseAction.DEFAULT),
        (None, CloseAction.DEFAULT),
    ],
)
def test_classify_close_ranges(code: int | None, action: CloseAction) -> None:
    assert classify_close(code) is action


def test_4300_range_is_informational() -> None:
    assert protocol.is_informational(4300)
    assert protocol.is_informational(4399)
    assert not protocol.is_informational(4299)
    assert not protocol.is_informational(None)


# --- stream events -----------------------------------------------------------------------


def test_streamer_is_live_becomes_stream_start() -> None:
    data = sample("pusher_streamer_is_live_74331109.data.json")
    event = to_stream_event(event_of(kick_frame(protocol.STREAMER_IS_LIVE, data)), RECEIVED)
    assert event is not None
    assert event.event_type is EventType.STREAM_START
    assert event.source is EventSource.PUSHER
    assert event.channel_id == 668
    assert event.livestream_id == "74331109"
    assert event.kick_event_id == "668:74331109:start"
    started = datetime(2025, 9, 14, 23, 18, 20, tzinfo=UTC)
    assert event.started_at == event.occurred_at == started
    assert event.received_at == RECEIVED
    assert event.title is not None and event.title.startswith("+18 #ad")
    assert event.raw["data"] == data


def test_stop_stream_broadcast_becomes_stream_end_without_timestamp() -> None:
    data = sample("pusher_stop_stream_broadcast_74331109.data.json")
    event = to_stream_event(event_of(kick_frame(protocol.STOP_STREAM_BROADCAST, data)), RECEIVED)
    assert event is not None
    assert event.event_type is EventType.STREAM_END
    assert event.channel_id == 668
    assert event.livestream_id == "74331109"
    assert event.kick_event_id == "668:74331109:end"
    assert event.occurred_at is None and event.started_at is None
    assert event.received_at == RECEIVED


def test_pushed_events_hold_every_field_by_its_name() -> None:
    """The parser builds each event as a plain tuple; every field is where its name says."""
    text = (FIXTURES / "pusher_livestream_updated.json").read_text("utf-8")
    frame = event_of(text)
    started = datetime(2024, 2, 6, 19, 10, 40, tzinfo=UTC)
    assert to_stream_event(frame, RECEIVED) == StreamEvent(
        event_type=EventType.STREAM_START,
        source=EventSource.PUSHER,
        received_at=RECEIVED,
        raw=frame.raw,
        kick_event_id="2515504:22976949:start",
        channel_id=2515504,
        livestream_id="22976949",
        started_at=started,
        occurred_at=started,
        title=frame.data["livestream"]["session_title"],
        category="Slots & Casino",
        viewers=949,
    )
    stop = event_of(kick_frame(protocol.STOP_STREAM_BROADCAST, {"livestream": {"id": 5}}))
    assert to_stream_event(stop, RECEIVED) == StreamEvent(
        event_type=EventType.STREAM_END,
        source=EventSource.PUSHER,
        received_at=RECEIVED,
        raw=stop.raw,
        kick_event_id="668:5:end",
        channel_id=668,
        livestream_id="5",
    )


def test_start_and_stop_of_other_samples() -> None:
    start = sample("pusher_streamer_is_live.data.json")
    stop = sample("pusher_stop_stream_broadcast.data.json")
    started = to_stream_event(event_of(kick_frame(protocol.STREAMER_IS_LIVE, start)), RECEIVED)
    stopped = to_stream_event(
        event_of(kick_frame(protocol.STOP_STREAM_BROADCAST, stop, "channel_2587387")), RECEIVED
    )
    assert started is not None and started.kick_event_id == "668:74454116:start"
    assert stopped is not None and stopped.kick_event_id == "2587387:74409800:end"


def test_channel_id_falls_back_to_the_channel_name() -> None:
    data = {"livestream": {"id": 5, "created_at": "2025-09-15T21:12:45.000000Z"}}
    for name in ("channel.77", "channel_77"):
        event = to_stream_event(
            event_of(kick_frame(protocol.STREAMER_IS_LIVE, data, name)), RECEIVED
        )
        assert event is not None and event.channel_id == 77
        assert event.kick_event_id == "77:5:start"
    stop = {"livestream": {"id": 5}}
    event = to_stream_event(
        event_of(kick_frame(protocol.STOP_STREAM_BROADCAST, stop, "channel_77")), RECEIVED
    )
    assert event is not None and event.channel_id == 77


def test_livestream_updated_is_a_secondary_signal() -> None:
    text = (FIXTURES / "pusher_livestream_updated.json").read_text("utf-8")
    live = to_stream_event(event_of(text), RECEIVED)
    assert live is not None
    assert live.event_type is EventType.STREAM_START
    assert live.channel_id == 2515504
    assert live.livestream_id == "22976949"
    assert live.started_at == datetime(2024, 2, 6, 19, 10, 40, tzinfo=UTC)
    assert live.category == "Slots & Casino"
    assert live.viewers == 949
    assert live.kick_event_id == "2515504:22976949:start"

    frame = event_of(text)
    ended_data = {"livestream": dict(frame.data["livestream"], is_live=False)}
    ended = to_stream_event(event_of(kick_frame(protocol.LIVESTREAM_UPDATED, ended_data)), RECEIVED)
    assert ended is not None and ended.event_type is EventType.STREAM_END
    assert ended.kick_event_id == "2515504:22976949:end"

    no_flag = {"livestream": {"id": 1, "channel_id": 2}}
    assert (
        to_stream_event(event_of(kick_frame(protocol.LIVESTREAM_UPDATED, no_flag)), RECEIVED)
        is None
    )


@pytest.mark.parametrize(
    ("event", "data", "channel"),
    [
        ("App\\Events\\FollowersUpdated", {"followersCount": 5}, "channel.1"),
        ("App\\Events\\ChatMessageEvent", {"livestream": {"id": 1, "channel_id": 2}}, "channel.1"),
        (protocol.STREAMER_IS_LIVE, {"nothing": True}, "channel.1"),
        (protocol.STREAMER_IS_LIVE, {"livestream": "nope"}, "channel.1"),
        (protocol.STREAMER_IS_LIVE, {"livestream": {"id": 1}}, "chatrooms.1.v2"),
        (protocol.STOP_STREAM_BROADCAST, {"livestream": {"id": 1}}, None),
    ],
)
def test_unknown_or_unusable_events_are_none(event: str, data: Any, channel: str | None) -> None:
    assert to_stream_event(event_of(kick_frame(event, data, channel)), RECEIVED) is None


def test_start_without_livestream_id_or_bad_timestamp_still_counts() -> None:
    data = {"livestream": {"channel_id": 9, "created_at": "garbage", "session_title": 5}}
    event = to_stream_event(event_of(kick_frame(protocol.STREAMER_IS_LIVE, data)), RECEIVED)
    assert event is not None
    assert event.channel_id == 9
    assert event.livestream_id is None and event.kick_event_id is None
    assert event.started_at is None and event.title is None


def test_string_ids_are_accepted() -> None:
    data = {"livestream": {"id": "74331109", "channel_id": "668", "created_at": 1757891900}}
    event = to_stream_event(event_of(kick_frame(protocol.STREAMER_IS_LIVE, data)), RECEIVED)
    assert event is not None
    assert event.kick_event_id == "668:74331109:start"
    assert event.started_at == datetime.fromtimestamp(1757891900, tz=UTC)


# --- events nobody watches -----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    ["{oops", "[" * 50_000, '{"n": ' + "9" * 5000 + "}", "NaN"],
    ids=["not_json", "too_deep", "huge_number", "not_an_object"],
)
def test_an_unwatched_event_is_skipped_without_decoding_its_data(data: str) -> None:
    text = json.dumps(
        {"event": "App\\Events\\FollowersUpdated", "channel": "channel.5", "data": data}
    )
    watched = protocol.announces_stream_change
    assert parse_frame(text, watched=watched) is protocol.UNWATCHED
    with pytest.raises(MalformedFrame):  # decoded only when nobody says what is watched
        parse_frame(text)
    watched_text = text.replace("FollowersUpdated", "StreamerIsLive")
    with pytest.raises(MalformedFrame):  # a watched event's data is decoded, and rejected
        parse_frame(watched_text, watched=watched)


def test_pusher_frames_are_parsed_whatever_is_watched() -> None:
    never = lambda _event: False  # noqa: E731
    assert parse_frame('{"event":"pusher:ping","data":{}}', watched=never) == Ping()
    assert parse_frame(
        '{"event":"pusher_internal:subscription_succeeded","channel":"channel.1"}', watched=never
    ) == SubscriptionSucceeded("channel.1")


@pytest.mark.parametrize(
    ("event", "watched"),
    [
        (protocol.STREAMER_IS_LIVE, True),
        (protocol.STOP_STREAM_BROADCAST, True),
        (protocol.LIVESTREAM_UPDATED, True),
        ("Other\\Namespace\\StreamerIsLive", True),  # to_stream_event reads the last part only
        ("StopStreamBroadcast", True),
        ("App\\Events\\StreamerIsLiveX", False),
        ("App\\Events\\FollowersUpdated", False),
        ("App\\Events\\ChatMessageEvent", False),
    ],
)
def test_the_watched_events_are_exactly_those_to_stream_event_reads(
    event: str, watched: bool
) -> None:
    assert protocol.announces_stream_change(event) is watched
    frame = parse_frame(
        kick_frame(event, {"livestream": {"id": 1, "channel_id": 2, "is_live": True}})
    )
    assert isinstance(frame, ChannelEvent)
    assert (to_stream_event(frame, RECEIVED) is not None) is watched


def test_the_raw_frame_of_a_channel_event_holds_its_decoded_data() -> None:
    frame = parse_frame(kick_frame(protocol.STREAMER_IS_LIVE, {"livestream": {"id": 7}}))
    assert isinstance(frame, ChannelEvent)
    assert frame.raw["data"] == {"livestream": {"id": 7}} and frame.raw["channel"] == "channel.668"
