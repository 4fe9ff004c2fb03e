"""The blaster's own ceiling: how fast its frames arrive at a reader that parses nothing.

A plain socket does the WebSocket handshake, subscribes the channels, and then only counts the
bytes of a blast until all have come. If this is many times what any client reaches, the
clients' figures are theirs and not the blaster's.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import time

from benchmarks.pusher import frames
from benchmarks.pusher.processes import BenchmarkError, Blaster


def _masked(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    size = len(payload)
    head = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0xFE]) + size.to_bytes(2)
    return head + mask + body


def raw_rate(blaster: Blaster, channels: int, events: int) -> float:
    """Frames per second a non-parsing reader receives from one blast of `events` frames."""
    blaster.wait_idle()
    ids = frames.channel_ids(channels)
    expected = sum(len(frames.encode_text(text)) for _, text in frames.live_frames(ids, events))
    with socket.create_connection(("127.0.0.1", blaster.port), timeout=30) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /app/{frames.APP_KEY} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        for channel_id in ids:
            data = {"auth": "", "channel": frames.channel_name(channel_id)}
            sock.sendall(_masked(json.dumps({"event": "pusher:subscribe", "data": data})))
        deadline = time.monotonic() + 30
        while True:
            blaster.send({"cmd": "status"})
            if blaster.expect("subscribed", 10)["subscribed"] == channels:
                break
            if time.monotonic() > deadline:
                raise BenchmarkError("the blaster did not confirm the raw reader's channels")
            time.sleep(0.01)
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while sock.recv(1 << 20):  # the handshake and the confirmations
                pass
        sock.settimeout(30)
        blaster.send({"cmd": "blast", "events": events})
        received, first = 0, 0.0
        while received < expected:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise BenchmarkError("the blaster closed the raw reader's socket")
            if not received:
                first = time.monotonic()
            received += len(chunk)
        seconds = time.monotonic() - first
    blaster.expect("blasted", 10)
    return events / max(seconds, 1e-6)
