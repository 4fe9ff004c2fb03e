"""Kick-shaped Pusher frames and the few WebSocket framing rules a minimal server needs.

The go-live payload is the recorded `App\\Events\\StreamerIsLive` data in
`tests/fixtures/kick/pusher_streamer_is_live.data.json`, with the channel id and livestream id
changed per event; the frame carries it as a JSON string inside JSON, as Kick sends it. The
WebSocket half encodes server frames (never masked) and reads client frames (always masked),
which is all the frame blaster speaks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "kick" / "pusher_streamer_is_live.data.json"
STREAMER_IS_LIVE = "App\\Events\\StreamerIsLive"
APP_ID, APP_KEY, APP_SECRET = "kickwatch-bench", "kickwatch-bench-key", "kickwatch-bench-secret"
URL_QUERY = "protocol=7&client=js&version=8.4.0&flash=false"
FIRST_CHANNEL_ID = 100_001
FIRST_LIVESTREAM_ID = 80_000_000

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def pusher_url(port: int, host: str = "127.0.0.1") -> str:
    """The WebSocket URL of a Pusher server on `port`, with the query Kick's web client sends."""
    return f"ws://{host}:{port}/app/{APP_KEY}?{URL_QUERY}"


def channel_ids(count: int) -> list[int]:
    """`count` Kick channel ids, the same in every process."""
    return list(range(FIRST_CHANNEL_ID, FIRST_CHANNEL_ID + count))


def channel_name(channel_id: int) -> str:
    """The public channel Kick announces a streamer's broadcasts on."""
    return f"channel.{channel_id}"


def _sample() -> dict[str, Any]:
    livestream = json.loads(SAMPLE.read_text(encoding="utf-8"))["livestream"]
    assert isinstance(livestream, dict)
    return livestream


def live_data(channel_id: int, livestream_id: int, sample: dict[str, Any] | None = None) -> str:
    """The `data` string of a StreamerIsLive event for one channel."""
    livestream = dict(sample or _sample(), id=livestream_id, channel_id=channel_id)
    return json.dumps({"livestream": livestream}, ensure_ascii=False, separators=(",", ":"))


def live_frames(channels: list[int], events: int) -> list[tuple[int, str]]:
    """`events` StreamerIsLive frames as (channel id, frame text), round-robin over `channels`,
    each with its own livestream id."""
    sample = _sample()
    frames = []
    for index in range(events):
        channel_id = channels[index % len(channels)]
        data = live_data(channel_id, FIRST_LIVESTREAM_ID + index, sample)
        frame = {"event": STREAMER_IS_LIVE, "data": data, "channel": channel_name(channel_id)}
        frames.append((channel_id, json.dumps(frame, ensure_ascii=False, separators=(",", ":"))))
    return frames


def accept_key(key: str) -> str:
    """The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")


def encode(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One unfragmented, unmasked (server-to-client) WebSocket frame."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        return head + bytes([size]) + payload
    if size < 1 << 16:
        return head + struct.pack("!BH", 126, size) + payload
    return head + struct.pack("!BQ", 127, size) + payload


def encode_text(text: str) -> bytes:
    """A text frame."""
    return encode(text.encode("utf-8"))


def encode_close(code: int, reason: str = "") -> bytes:
    """A close frame with a status code."""
    return encode(struct.pack("!H", code) + reason.encode("utf-8"), OP_CLOSE)


def pusher_event(event: str, data: Any, channel: str | None = None) -> bytes:
    """A Pusher protocol frame with `data` as a JSON string, encoded as a text frame."""
    frame: dict[str, Any] = {"event": event, "data": json.dumps(data)}
    if channel is not None:
        frame["channel"] = channel
    return encode_text(json.dumps(frame))


class FrameReader:
    """Reads masked client frames from a byte stream; fragments are joined into messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._fragments = bytearray()
        self._fragment_opcode = OP_TEXT

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        """Add received bytes; yields each complete message as (opcode, payload)."""
        self._buffer += data
        while True:
            message = self._next()
            if message is None:
                return
            yield message

    def _next(self) -> tuple[int, bytes] | None:
        buffer = self._buffer
        while True:
            if len(buffer) < 2:
                return None
            fin, opcode = buffer[0] & 0x80, buffer[0] & 0x0F
            masked, size = buffer[1] & 0x80, buffer[1] & 0x7F
            offset = 2
            if size == 126:
                if len(buffer) < 4:
                    return None
                size, offset = struct.unpack_from("!H", buffer, 2)[0], 4
            elif size == 127:
                if len(buffer) < 10:
                    return None
                size, offset = struct.unpack_from("!Q", buffer, 2)[0], 10
            mask = b""
            if masked:
                mask, offset = bytes(buffer[offset : offset + 4]), offset + 4
            if len(buffer) < offset + size:
                return None
            payload = bytes(buffer[offset : offset + size])
            del buffer[: offset + size]
            if mask:
                payload = _unmask(payload, mask)
            if opcode >= OP_CLOSE:  # control frames are never fragmented
                return opcode, payload
            if opcode != OP_CONTINUATION:
                self._fragment_opcode = opcode
            self._fragments += payload
            if fin:
                message = bytes(self._fragments)
                self._fragments.clear()
                return self._fragment_opcode, message


def _unmask(payload: bytes, mask: bytes) -> bytes:
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    number = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return number.to_bytes(len(payload), "big")
