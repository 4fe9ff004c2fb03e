"""Pusher frames for the chaos run: real starts and ends shaped like Kick's, some carrying odd but
possible values, and noise frames that must be skipped without harm.

A start or end names a monitored channel and is part of the truth: it must be recorded once,
odd title or not. Noise frames (deep nesting, Unicode digits in ids, ids past Python's 4,300-digit
`int` limit, oversized, not UTF-8, not JSON) name no monitored channel, so whatever a parser makes
of them, nothing may be recorded because of them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kickwatch.kick.pusher import SOCKET_MAX_BYTES
from tests.fakekick.pusher_server import STOP_STREAM_BROADCAST, STREAMER_IS_LIVE

# Titles a streamer can really set, which a database cannot store as they come.
ODD_TITLES = (
    "lone surrogate \ud800 in the title",
    "trailing low surrogate \udfff",
    "NUL \x00 inside",
    "control \x07\x1b[31m bytes",
    "emoji 🎮 and RTL \u202e text",
    "x" * 5000,
)
# A channel id nobody monitors, written in Arabic-Indic digits: `int()` reads it as 333.
UNMONITORED_CHANNEL = "\u0663\u0663\u0663"


@dataclass(frozen=True)
class Frame:
    """One frame to send: its text (or bytes) and the subscription that carries it."""

    payload: str | bytes
    carrier: str  # the `channel.N` subscription whose connection receives it
    as_text: bool = True


def start_frame(
    channel_id: int,
    livestream_id: int,
    started_at: datetime,
    *,
    title: str,
    alias: bool = False,
    odd_numbers: bool = False,
) -> Frame:
    """StreamerIsLive, `data` as a JSON string like Kick's; on `channel_N` when `alias`."""
    livestream: dict[str, Any] = {
        "id": livestream_id,
        "channel_id": channel_id,
        "session_title": title,
        "source": None,
        "created_at": started_at.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
    }
    if odd_numbers:  # Python's json writes (and reads) these; strict JSON has no such thing
        livestream["viewer_count"] = float("nan")
        livestream["duration"] = float("inf")
        livestream["tags"] = [float("-inf"), 1e400]
    return _channel_frame(channel_id, STREAMER_IS_LIVE, {"livestream": livestream}, alias)


def end_frame(channel_id: int, livestream_id: int, *, alias: bool = False) -> Frame:
    """StopStreamBroadcast as Kick sends it (no timestamp)."""
    data = {"livestream": {"id": livestream_id, "channel": {"id": channel_id, "is_banned": False}}}
    return _channel_frame(channel_id, STOP_STREAM_BROADCAST, data, alias)


def _channel_frame(channel_id: int, event: str, data: dict[str, Any], alias: bool) -> Frame:
    name = f"channel_{channel_id}" if alias else f"channel.{channel_id}"
    text = json.dumps({"event": event, "data": json.dumps(data), "channel": name})
    return Frame(text, f"channel.{channel_id}")


# --- noise -------------------------------------------------------------------------------

NOISE_KINDS = (
    "deep_nesting",
    "deep_nesting_in_data",
    "unicode_digit_ids",
    "superscript_ids",
    "huge_int_id",
    "double_minus_id",
    "oversized",
    "not_utf8_binary",
    "not_json",
    "truncated",
    "data_not_object",
)
# Kinds that a conforming client may answer by closing the socket (the WebSocket layer, not
# kickwatch's parser, rejects them): the chaos run accepts a reconnect, nothing else. kickwatch
# skips a text frame that is not UTF-8 and closes only past its socket limit.
CONNECTION_KILLERS = ("not_utf8_text", "over_max_size")


def noise_frame(kind: str, carrier: str, rng: random.Random) -> Frame:
    """A frame of `kind` (see `NOISE_KINDS` and `CONNECTION_KILLERS`) delivered on `carrier`."""
    unmonitored = f"channel.{UNMONITORED_CHANNEL}"
    if kind == "deep_nesting":
        depth = rng.randint(2_000, 200_000)
        return Frame("[" * depth + "]" * depth, carrier)
    if kind == "deep_nesting_in_data":
        depth = rng.randint(2_000, 50_000)
        data = '{"livestream":' + '{"a":' * depth + "1" + "}" * depth + "}"
        frame = {"event": STREAMER_IS_LIVE, "channel": unmonitored, "data": data}
        return Frame(json.dumps(frame), carrier)
    if kind == "unicode_digit_ids":
        livestream = {"id": "\u0661\u0662", "channel_id": UNMONITORED_CHANNEL}
        return _noise_event(STREAMER_IS_LIVE, livestream, unmonitored, carrier)
    if kind == "superscript_ids":
        livestream = {"id": "\u00b2\u00b3", "channel_id": "\u00b9\u00b2\u00b3\u2074"}
        return _noise_event(STREAMER_IS_LIVE, livestream, unmonitored, carrier)
    if kind == "huge_int_id":
        livestream = {"id": "9" * 5_000, "channel_id": "7" * 4_400}
        return _noise_event(STREAMER_IS_LIVE, livestream, unmonitored, carrier)
    if kind == "double_minus_id":
        livestream = {"id": "--5", "channel": {"id": "--7"}}
        return _noise_event(STOP_STREAM_BROADCAST, livestream, unmonitored, carrier)
    if kind == "oversized":  # over the parser's 1 MiB, under the socket's limit
        padding = "x" * rng.randint(1_100_000, 1_900_000)
        return Frame(json.dumps({"event": "App\\Events\\Padding", "data": padding}), carrier)
    if kind == "over_max_size":  # past the socket's own limit: the one frame that closes it
        padding = "x" * (SOCKET_MAX_BYTES + 64 * 1024)
        return Frame(json.dumps({"event": "App\\Events\\Padding", "data": padding}), carrier)
    if kind == "not_utf8_binary":
        payload = b'{"event":"App\\\\Events\\\\StreamerIsLive","data":"\xff\xfe\xc0"}'
        return Frame(payload, carrier, as_text=False)
    if kind == "not_utf8_text":
        return Frame(b'{"event":"pusher:ping","data":"\xff\xfe"}', carrier, as_text=True)
    if kind == "not_json":
        return Frame("this is not json \x00 at all", carrier)
    if kind == "truncated":
        return Frame('{"event":"App\\\\Events\\\\StreamerIsLive","data":"{\\"livestream', carrier)
    if kind == "data_not_object":
        frame = {"event": STREAMER_IS_LIVE, "channel": unmonitored, "data": "[1, NaN, 2]"}
        return Frame(json.dumps(frame), carrier)
    raise ValueError(f"unknown noise kind {kind}")


def _noise_event(event: str, livestream: dict[str, Any], channel: str, carrier: str) -> Frame:
    frame = {"event": event, "data": json.dumps({"livestream": livestream}), "channel": channel}
    return Frame(json.dumps(frame), carrier)
