"""The Pusher protocol 7 as Kick uses it, without any socket: parse frames, encode commands,
classify close codes and turn channel events into `StreamEvent`s.

Everything here is pure and tolerant: `data` may be a JSON string (Kick's usual form), an object,
or absent; unknown events are passed through as `ChannelEvent`s for the caller to ignore, or,
when the caller names the events it `watched`, returned as `UNWATCHED` without decoding their
`data` at all (`announces_stream_change` names those `to_stream_event` reads). Each layer of a
frame is decoded once (the frame, then the `data` string inside it), by `bounded_json`. Frames
that are not UTF-8 JSON objects, are truncated, nest deeper than `bounded_json.MAX_DEPTH` or
exceed `MAX_FRAME_BYTES` raise `MalformedFrame`, and nothing else ever escapes `parse_frame` or
`to_stream_event`. Numbers are read strictly (`numeric`); text that reaches a `StreamEvent`
(title, category, livestream id) is made storable and length-capped (`domain.text`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from kickwatch.domain.events import StreamEvent
from kickwatch.domain.status import EventSource, EventType
from kickwatch.domain.text import MAX_CATEGORY, MAX_NAME, MAX_TITLE, optional_text, storable_text
from kickwatch.kick import bounded_json
from kickwatch.kick.numeric import MAX_BIGINT, as_count, as_id, as_int, as_seconds
from kickwatch.kick.timestamps import parse_kick_time

MAX_FRAME_BYTES = 1024 * 1024
MAX_ACTIVITY_TIMEOUT = 24 * 3600.0  # larger values are not a timeout Pusher means
MAX_ERROR_MESSAGE = 300  # a `pusher:error` message is shown to the user
MAX_CLOSE_CODE = 65535
MAX_LIVESTREAM_ID = 64  # Kick's are numbers of about ten digits

STREAMER_IS_LIVE = "App\\Events\\StreamerIsLive"
STOP_STREAM_BROADCAST = "App\\Events\\StopStreamBroadcast"
LIVESTREAM_UPDATED = "App\\Events\\LivestreamUpdated"

_CHANNEL_PREFIXES = ("channel.", "channel_")
_STREAM_CHANGE_NAMES = frozenset({"StreamerIsLive", "StopStreamBroadcast", "LivestreamUpdated"})
_KICK_EVENT_NAMES = {  # Kick's own event names, and the part of them `to_stream_event` reads
    STREAMER_IS_LIVE: "StreamerIsLive",
    STOP_STREAM_BROADCAST: "StopStreamBroadcast",
    LIVESTREAM_UPDATED: "LivestreamUpdated",
}


class MalformedFrame(ValueError):
    """A frame that is not a Pusher JSON object (non-JSON, not UTF-8, truncated, not an object,
    too big, nested too deeply); the message says why without quoting the frame."""


@dataclass(frozen=True, slots=True)
class ConnectionEstablished:
    """`pusher:connection_established`: the socket is ready for subscriptions."""

    socket_id: str
    activity_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionSucceeded:
    """`pusher_internal:subscription_succeeded` for one channel."""

    channel: str


@dataclass(frozen=True, slots=True)
class Ping:
    """`pusher:ping` from the server: answer with a pong."""


@dataclass(frozen=True, slots=True)
class Pong:
    """`pusher:pong`: the server answered our ping."""


@dataclass(frozen=True, slots=True)
class PusherError:
    """`pusher:error`; `code` is None for errors that do not close the connection."""

    code: int | None
    message: str


@dataclass(slots=True)
class ChannelEvent:
    """Any other event; `data` is the decoded payload, `raw` the decoded frame (with `data`
    decoded too). Not frozen, for speed (one is made per pushed frame): treat it as read-only."""

    event: str
    channel: str | None
    data: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unwatched:
    """A channel event of a name the caller does not watch; its `data` was not decoded."""


UNWATCHED = Unwatched()

Frame = (
    ConnectionEstablished
    | SubscriptionSucceeded
    | Ping
    | Pong
    | PusherError
    | ChannelEvent
    | Unwatched
)


class CloseAction(StrEnum):
    """What a Pusher client does after a close or error code."""

    FATAL = "fatal"  # 4000-4099: do not reconnect unchanged; tell the user
    BACKOFF = "backoff"  # 4100-4199: reconnect after at least 1 s of back-off
    RECONNECT_NOW = "reconnect_now"  # 4200-4299: reconnect at once
    DEFAULT = "default"  # anything else: exponential back-off with jitter, never give up


def classify_close(code: int | None) -> CloseAction:
    """The action for a WebSocket close code or `pusher:error` code (None: DEFAULT)."""
    if code is None:
        return CloseAction.DEFAULT
    if 4000 <= code <= 4099:
        return CloseAction.FATAL
    if 4100 <= code <= 4199:
        return CloseAction.BACKOFF
    if 4200 <= code <= 4299:
        return CloseAction.RECONNECT_NOW
    return CloseAction.DEFAULT


def is_informational(code: int | None) -> bool:
    """Whether a `pusher:error` code is informational (4300-4399): log it, change nothing."""
    return code is not None and 4300 <= code <= 4399


def close_reason(code: int | None, reason: str) -> str:
    """Words for the user about a WebSocket close `code` (None: the connection dropped)."""
    if code is None:
        return "the connection to Kick's Pusher dropped"
    if classify_close(code) is CloseAction.FATAL:
        return error_reason(code, reason)
    return f"Pusher closed the connection ({code}{': ' + reason if reason else ''})"


def error_reason(code: int, message: str) -> str:
    """Words for the user about a `pusher:error` or close `code` that ends a connection."""
    if code == 4001:
        return (
            "Kick rejected the Pusher app key (4001): "
            "set KICKWATCH_PUSHER_URL/monitoring.pusher_url to the current key"
        )
    if code == 4004:
        return "Pusher refused: over its connection quota (4004); try again later"
    if classify_close(code) is CloseAction.FATAL:
        return f"Pusher refused the connection ({code}: {message or 'no reason given'})"
    return f"Pusher closed the connection ({code}{': ' + message if message else ''})"


def parse_frame(text: str | bytes, *, watched: Callable[[str], bool] | None = None) -> Frame:
    """Parse one Pusher frame (text, or the UTF-8 bytes of one); raises `MalformedFrame` for
    anything that is not one, and nothing else.

    With `watched`, a channel event whose name it refuses is `UNWATCHED`: its `data` is not
    decoded (nor checked)."""
    if _byte_length_exceeds(text, MAX_FRAME_BYTES):
        raise MalformedFrame(f"frame of more than {MAX_FRAME_BYTES} bytes")
    try:
        frame, screened = bounded_json.loads_screened(text)
    except bounded_json.JsonError as exc:
        raise MalformedFrame(str(exc)) from None
    if type(frame) is not dict:
        raise MalformedFrame(f"not a JSON object but {type(frame).__name__}")
    event = frame.get("event")
    if type(event) is not str or not event:
        raise MalformedFrame("no event name")
    channel = frame.get("channel")
    if type(channel) is not str:
        channel = None
    if event.startswith("pusher"):
        pusher_frame = _pusher_frame(event, channel, frame, screened)
        if pusher_frame is not None:
            return pusher_frame
    if watched is not None and not watched(event):
        return UNWATCHED
    given = frame.get("data")
    try:  # Kick's usual case, a screened JSON string, decoded here without more checks
        data = orjson.loads(given) if screened and type(given) is str else given
    except orjson.JSONDecodeError:
        data = None  # `_decode_data` decides (blank, NaN, a lone surrogate, not JSON)
    if type(data) is not dict:
        data = _decode_data(given, screened)
    frame["data"] = data  # the decoded frame is ours: `raw` is it, with `data` decoded
    return ChannelEvent(event, channel, data, frame)


def _pusher_frame(
    event: str, channel: str | None, frame: dict[str, Any], screened: bool
) -> Frame | None:
    """The frame of a `pusher:*` event this client handles, else None (a channel event)."""
    if event == "pusher_internal:subscription_succeeded":
        if channel is None:
            raise MalformedFrame("subscription_succeeded without a channel")
        return SubscriptionSucceeded(channel)
    if event == "pusher:ping":
        return Ping()
    if event == "pusher:pong":
        return Pong()
    if event == "pusher:connection_established":
        data = _decode_data(frame.get("data"), screened)
        socket_id = data.get("socket_id")
        if isinstance(socket_id, int) and not isinstance(socket_id, bool):
            socket_id = str(socket_id)
        if not isinstance(socket_id, str) or not socket_id:
            raise MalformedFrame("connection_established without a socket_id")
        timeout = as_seconds(data.get("activity_timeout"), MAX_ACTIVITY_TIMEOUT)
        return ConnectionEstablished(storable_text(socket_id, MAX_NAME), timeout)
    if event == "pusher:error":
        data = _decode_data(frame.get("data"), screened)
        message = optional_text(data.get("message"), MAX_ERROR_MESSAGE) or ""
        return PusherError(as_int(data.get("code"), 0, MAX_CLOSE_CODE), message)
    return None


def announces_stream_change(event: str) -> bool:
    """Whether `to_stream_event` can make a `StreamEvent` of a channel event of this name (the
    `watched` of a client that wants nothing else)."""
    if event in _KICK_EVENT_NAMES:  # Kick's own names: no need to split
        return True
    return event.rpartition("\\")[2] in _STREAM_CHANGE_NAMES


def _byte_length_exceeds(text: str | bytes, limit: int) -> bool:
    """Whether `text` takes more than `limit` bytes as UTF-8 (lone surrogates count as 3)."""
    if len(text) > limit:
        return True
    if isinstance(text, bytes) or len(text) * 4 <= limit:
        return False  # no character takes more than 4 bytes: no need to encode
    return len(text.encode("utf-8", "surrogatepass")) > limit


def _decode_data(value: Any, screened: bool) -> dict[str, Any]:
    """`data` as an object: Kick sends a JSON string, some servers an object, some nothing.
    `screened`: the frame's text was checked for what the decoder of a string must check."""
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = bounded_json.loads(value, screened=screened)
        except bounded_json.JsonError as exc:
            raise MalformedFrame(f"data is a string that is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise MalformedFrame(f"data is {type(value).__name__}, not an object")
    return value


def encode_subscribe(channel: str) -> str:
    """The frame that subscribes to a public channel (made by hand: thousands at a time)."""
    return (
        '{"event": "pusher:subscribe", "data": {"auth": "", "channel": '
        + json.dumps(channel)
        + "}}"
    )


def encode_unsubscribe(channel: str) -> str:
    """The frame that unsubscribes from a channel."""
    return json.dumps({"event": "pusher:unsubscribe", "data": {"channel": channel}})


def encode_ping() -> str:
    """A client ping."""
    return json.dumps({"event": "pusher:ping", "data": {}})


def encode_pong() -> str:
    """The answer to a server ping."""
    return json.dumps({"event": "pusher:pong", "data": {}})


def channel_name(channel_id: int) -> str:
    """The public Pusher channel of a Kick channel id: `channel.{id}`."""
    return f"channel.{channel_id}"


def alias_channel_name(channel_id: int) -> str:
    """The underscore alias `channel_{id}`, which can deliver the same events again."""
    return f"channel_{channel_id}"


def channel_id_of(name: str | None) -> int | None:
    """The Kick channel id in `channel.N` or `channel_N`, else None."""
    if not name or not name.startswith(_CHANNEL_PREFIXES):
        return None
    digits = name[len("channel.") :]
    return as_id(digits) if digits.isascii() and digits.isdigit() else None


def to_stream_event(ev: ChannelEvent, received_at: datetime) -> StreamEvent | None:
    """The start or end of a broadcast that a channel event announces, or None for others."""
    name = _KICK_EVENT_NAMES.get(ev.event) or ev.event.rpartition("\\")[2]
    livestream = ev.data.get("livestream")
    if not isinstance(livestream, dict):
        return None
    if name == "StreamerIsLive":
        return _start(ev, livestream, received_at)
    if name == "StopStreamBroadcast":
        return _end(ev, livestream, received_at)
    if name == "LivestreamUpdated":
        is_live = livestream.get("is_live")
        if is_live is True:
            return _start(ev, livestream, received_at)
        if is_live is False:
            return _end(ev, livestream, received_at)
    return None


def _start(
    ev: ChannelEvent, livestream: dict[str, Any], received_at: datetime
) -> StreamEvent | None:
    channel_id = livestream.get("channel_id")
    if type(channel_id) is not int or not 0 < channel_id <= MAX_BIGINT:  # Kick's usual case
        channel_id = as_id(channel_id)
        if channel_id is None:
            channel_id = _nested_id(livestream.get("channel")) or channel_id_of(ev.channel)
            if channel_id is None:
                return None
    livestream_id = _id_text(livestream.get("id"))
    created_at = parse_kick_time(livestream.get("created_at"))
    viewers = livestream.get("viewer_count")  # StreamerIsLive carries none
    return _pushed(
        (
            EventType.STREAM_START,
            EventSource.PUSHER,
            received_at,
            ev.raw,
            _event_id(channel_id, livestream_id, "start"),
            channel_id,
            None,  # user_id
            None,  # slug
            livestream_id,
            created_at,  # started_at
            created_at,  # occurred_at
            optional_text(livestream.get("session_title"), MAX_TITLE),
            _category(livestream),
            None if viewers is None else as_count(viewers),
        )
    )


def _end(ev: ChannelEvent, livestream: dict[str, Any], received_at: datetime) -> StreamEvent | None:
    channel_id = _nested_id(livestream.get("channel"))
    if channel_id is None:
        channel_id = as_id(livestream.get("channel_id")) or channel_id_of(ev.channel)
    if channel_id is None:
        return None
    livestream_id = _id_text(livestream.get("id"))
    return _pushed(
        (
            EventType.STREAM_END,
            EventSource.PUSHER,
            received_at,
            ev.raw,
            _event_id(channel_id, livestream_id, "end"),
            channel_id,
            None,  # user_id
            None,  # slug
            livestream_id,
            None,  # started_at
            None,  # occurred_at
            None,  # title
            None,  # category
            None,  # viewers
        )
    )


# A pushed event made as the tuple it is, its fields in `StreamEvent`'s order: the keyword
# constructor of a named tuple of fourteen fields takes twice as long, once per frame.
_pushed: Callable[[tuple[Any, ...]], StreamEvent] = functools.partial(tuple.__new__, StreamEvent)


def _event_id(channel_id: int, livestream_id: str | None, kind: str) -> str | None:
    return f"{channel_id}:{livestream_id}:{kind}" if livestream_id is not None else None


def _category(livestream: dict[str, Any]) -> str | None:
    category = livestream.get("category")
    if isinstance(category, dict):
        name = optional_text(category.get("name"), MAX_CATEGORY)
        if name is not None:
            return name
    categories = livestream.get("categories")
    if isinstance(categories, list) and categories and isinstance(categories[0], dict):
        return optional_text(categories[0].get("name"), MAX_CATEGORY)
    return None


def _nested_id(value: Any) -> int | None:
    return _id(value.get("id")) if isinstance(value, dict) else None


def _id(value: Any) -> int | None:
    """`as_id`, with Kick's usual case (an int in range) first."""
    if type(value) is int and 0 < value <= MAX_BIGINT:
        return value
    return as_id(value)


def _id_text(value: Any) -> str | None:
    """A livestream id as text: Kick's are numbers, but an odd string is kept (made storable)."""
    if type(value) is int and 0 < value <= MAX_BIGINT:
        return str(value)
    number = as_id(value)
    if number is not None:
        return str(number)
    return optional_text(value, MAX_LIVESTREAM_ID)
