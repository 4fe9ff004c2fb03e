"""What a hostile or broken server can put in a frame or a REST answer, fed to the pure parsers:
each case once escaped as an exception other than the documented one, or produced a value that
no database column takes. Every parser now raises only its documented error (`MalformedFrame`
for frames; None from the REST parsers and `parse_kick_time`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from kickwatch.domain.text import MAX_CATEGORY, MAX_NAME, MAX_TITLE
from kickwatch.kick import bounded_json, payloads
from kickwatch.kick.numeric import MAX_BIGINT, as_count, as_id, as_int, as_seconds
from kickwatch.kick.protocol import (
    STOP_STREAM_BROADCAST,
    STREAMER_IS_LIVE,
    ChannelEvent,
    ConnectionEstablished,
    MalformedFrame,
    PusherError,
    channel_id_of,
    parse_frame,
    to_stream_event,
)
from kickwatch.kick.timestamps import parse_kick_time

NOW = datetime(2025, 9, 15, 21, 12, 46, tzinfo=UTC)
UNICODE_DIGITS = ["²", "١٢", "٣", "𝟓", "①", "5²"]
NOT_INTEGERS = ["--5", "-", "+5", "5-", "1_000", "0x10", "1e3", " ", "", "5 5"]
HUGE_DIGITS = "9" * 5000


def frame_text(event: str, data: Any, channel: str | None = "channel.5") -> str:
    frame: dict[str, Any] = {"event": event, "data": json.dumps(data)}
    if channel is not None:
        frame["channel"] = channel
    return json.dumps(frame)


def start_of(livestream: dict[str, Any], channel: str | None = "channel.5") -> Any:
    frame = parse_frame(frame_text(STREAMER_IS_LIVE, {"livestream": livestream}, channel))
    assert isinstance(frame, ChannelEvent)
    return to_stream_event(frame, NOW)


# --- nesting depth -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_a_frame_nested_too_deeply_is_malformed_not_a_recursion_error(depth: int) -> None:
    text = '{"event":"x","data":' + "[" * depth + "]" * depth + "}"
    with pytest.raises(MalformedFrame, match="nested deeper than 32"):
        parse_frame(text)


def test_a_data_string_nested_too_deeply_is_malformed() -> None:
    text = json.dumps({"event": "x", "data": "[" * 50_000 + "]" * 50_000})
    with pytest.raises(MalformedFrame, match="nested deeper than 32"):
        parse_frame(text)


def test_nesting_up_to_the_limit_is_accepted_and_brackets_in_strings_do_not_count() -> None:
    inner = "[" * 30 + "]" * 30
    text = json.dumps({"event": "x", "data": {"deep": json.loads(inner), "s": "[[[[" * 100}})
    frame = parse_frame(text)
    assert isinstance(frame, ChannelEvent) and frame.data["s"] == "[[[[" * 100


def test_the_depth_scan_is_exact_for_json_and_linear_for_stray_quotes() -> None:
    assert not bounded_json.nested_deeper_than("[" * 32 + "]" * 32, 32)
    assert bounded_json.nested_deeper_than("[" * 33 + "]" * 33, 32)
    assert not bounded_json.nested_deeper_than(json.dumps(["[" * 40, {"a": "{" * 40}]), 32)
    # An unclosed string runs to the end (the decoder rejects such text anyway).
    assert not bounded_json.nested_deeper_than('"\\"' + "[" * 40, 32)
    with pytest.raises(bounded_json.JsonError):
        bounded_json.loads('"\\' * 200_000 + "[" * 40)  # must end quickly, not in O(n²)


# --- bytes, UTF-8 and numbers the json module accepts --------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b'{"event":"x","data":"\xff"}',
        b"\xff\xfe{\x00}\x00",
        '{"event":"x"}'.encode("utf-16"),
        '{"event":"x"}'.encode("utf-32"),
    ],
    ids=["invalid_utf8", "bom_garbage", "utf16", "utf32"],
)
def test_bytes_that_are_not_utf8_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(data)


def test_nan_infinity_and_overflowing_floats_become_none() -> None:
    text = '{"event":"x","data":{"a":NaN,"b":Infinity,"c":-Infinity,"d":1e999,"e":1.5}}'
    frame = parse_frame(text)
    assert isinstance(frame, ChannelEvent)
    assert frame.data == {"a": None, "b": None, "c": None, "d": None, "e": 1.5}


def test_an_integer_literal_of_thousands_of_digits_is_malformed_not_a_value_error() -> None:
    with pytest.raises(MalformedFrame, match="number too long"):
        parse_frame('{"event":"x","data":{"n":' + HUGE_DIGITS + "}}")
    with pytest.raises(MalformedFrame, match="number too long"):
        parse_frame(json.dumps({"event": "x", "data": '{"n":' + HUGE_DIGITS + "}"}))


def test_an_integer_literal_beyond_bigint_is_none_where_a_number_is_read() -> None:
    event = start_of({"id": 10**40, "channel_id": 2**63, "viewer_count": -(10**30)})
    assert event is not None and event.channel_id == 5 and event.viewers is None
    assert event.livestream_id is None and event.kick_event_id is None


@pytest.mark.parametrize("timeout", ["Infinity", "NaN", "1e999", str(10**400), "-1", "0"])
def test_an_unusable_activity_timeout_is_none(timeout: str) -> None:
    text = '{"event":"pusher:connection_established","data":{"socket_id":"1.2","activity_timeout":'
    assert parse_frame(text + timeout + "}}") == ConnectionEstablished("1.2", None)


# --- integers: ASCII digits within BIGINT ---------------------------------------------------


@pytest.mark.parametrize("code", [*UNICODE_DIGITS, *NOT_INTEGERS, HUGE_DIGITS, 10**30, -1])
def test_a_pusher_error_code_that_is_no_code_is_none(code: object) -> None:
    frame = parse_frame(json.dumps({"event": "pusher:error", "data": {"code": code}}))
    assert frame == PusherError(None, "")


@pytest.mark.parametrize("bad", [*UNICODE_DIGITS, *NOT_INTEGERS, HUGE_DIGITS, 2**63, 0, -5])
def test_an_unusable_channel_id_falls_back_to_the_channel_name(bad: object) -> None:
    event = start_of({"id": 77, "channel_id": bad})
    assert event is not None and event.channel_id == 5 and event.kick_event_id == "5:77:start"


@pytest.mark.parametrize("bad", [*UNICODE_DIGITS, "--5", HUGE_DIGITS, 2**64, 1e300])
def test_an_unusable_viewer_count_is_none_and_the_start_still_counts(bad: object) -> None:
    event = start_of({"id": 77, "channel_id": 5, "viewer_count": bad})
    assert event is not None and event.viewers is None


@pytest.mark.parametrize("bad", ["--5", HUGE_DIGITS, 2**63])
def test_a_stop_with_unusable_ids_falls_back_to_the_channel_name(bad: object) -> None:
    data = {"livestream": {"id": 9, "channel": {"id": bad}, "channel_id": bad}}
    frame = parse_frame(frame_text(STOP_STREAM_BROADCAST, data))
    assert isinstance(frame, ChannelEvent)
    event = to_stream_event(frame, NOW)
    assert event is not None and event.kick_event_id == "5:9:end"


def test_the_integer_readers_take_ascii_digits_within_bigint_only() -> None:
    assert as_int("42") == 42 and as_int(" -42 ") == -42 and as_int(7.0) == 7
    assert as_id(str(MAX_BIGINT)) == MAX_BIGINT and as_id(MAX_BIGINT + 1) is None
    assert as_id(str(MAX_BIGINT + 1)) is None and as_id(float(2**63)) is None
    assert as_count(0) == 0 and as_id(0) is None and as_count(-1) is None
    for bad in [*UNICODE_DIGITS, *NOT_INTEGERS, HUGE_DIGITS, True, None, 1.5, float("nan")]:
        assert as_int(bad) is None, bad
    assert as_seconds("120", 600) == 120.0 and as_seconds("٣", 600) is None
    assert as_seconds(10**400, 600) is None and as_seconds(float("inf"), 600) is None


@pytest.mark.parametrize(
    "name", ["channel.²", "channel.١٢", "channel.5\n", "channel.-5", "channel." + HUGE_DIGITS]
)
def test_a_channel_name_without_ascii_digits_has_no_channel_id(name: str) -> None:
    assert channel_id_of(name) is None


@pytest.mark.parametrize("value", ["²", "١٧٠٠٠٠٠٠٠٠", "٢٠٢٤-٠٢-٠٦ 19:10:40", HUGE_DIGITS, "9" * 40])
def test_timestamps_with_unicode_or_too_many_digits_are_none(value: str) -> None:
    assert parse_kick_time(value) is None


# --- REST payloads -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [*UNICODE_DIGITS, "--5", HUGE_DIGITS, 2**63])
def test_rest_items_with_unusable_ids_are_none_not_an_exception(bad: object) -> None:
    assert payloads.official_livestream({"broadcaster_user_id": bad}, NOW) is None
    assert payloads.official_channel({"broadcaster_user_id": bad, "slug": "a"}, NOW) is None
    assert payloads.unofficial_channel({"id": bad, "user_id": 1, "slug": "a"}, NOW) is None
    assert payloads.unofficial_channel({"id": 1, "user_id": bad, "slug": "a"}, NOW) is None
    assert payloads.official_user_id({"user_id": bad}) is None


@pytest.mark.parametrize("item", [None, 5, "x", [1], True])
def test_rest_items_that_are_not_objects_are_none(item: object) -> None:
    assert payloads.official_livestream(item, NOW) is None
    assert payloads.official_channel(item, NOW) is None
    assert payloads.unofficial_channel(item, NOW) is None


# --- text made storable at the boundary ----------------------------------------------------

HOSTILE = "a\ud800b\x00c\x07d"


def test_stream_event_text_has_no_surrogates_or_nul_and_is_capped() -> None:
    event = start_of(
        {
            "id": "x\ud800" * 100,
            "channel_id": 5,
            "session_title": HOSTILE + "t" * 10_000,
            "categories": [{"name": HOSTILE + "c" * 10_000}],
        }
    )
    assert event is not None
    for text in (event.title, event.category, event.livestream_id, event.kick_event_id):
        assert text is not None
        text.encode("utf-8")  # no lone surrogate
        assert "\x00" not in text and "\x07" not in text
    assert event.title is not None and len(event.title) == MAX_TITLE
    assert event.title.startswith("a\ufffdbc\ufffdd") and event.title.endswith("…")
    assert event.category is not None and len(event.category) == MAX_CATEGORY


def test_rest_text_has_no_surrogates_or_nul_and_is_capped() -> None:
    channel = {
        "id": 1,
        "user_id": 2,
        "slug": "Slug\ud800" + "s" * 500,
        "user": {"username": HOSTILE * 100, "profile_pic": "https://x.invalid/\ud800.png"},
        "livestream": {
            "id": 3,
            "session_title": HOSTILE * 1000,
            "categories": [{"name": "\x00" * 10 + "Just Chatting"}],
        },
    }
    info = payloads.unofficial_channel(channel, NOW)
    assert info is not None and info.live is not None
    assert info.slug.startswith("slug\ufffd") and len(info.slug) == MAX_NAME
    assert len(info.display_name) == MAX_NAME and "\x00" not in info.display_name
    assert info.profile_picture_url is None  # a URL with characters replaced points elsewhere
    assert info.live.title is not None and len(info.live.title) == MAX_TITLE
    assert info.live.category == "Just Chatting"
    official = payloads.official_livestream(
        {"broadcaster_user_id": 1, "stream_title": "\ud800", "slug": "\x00\x00"}, NOW
    )
    assert official is not None and official.title == "\ufffd" and official.slug is None


def test_a_url_longer_than_the_cap_is_dropped_not_cut() -> None:
    long_url = "https://files.kick.invalid/" + "a" * 5000
    body = {"id": 1, "user_id": 2, "slug": "a", "user": {"profile_pic": long_url}}
    info = payloads.unofficial_channel(body, NOW)
    assert info is not None and info.profile_picture_url is None
