"""A frame blaster: a minimal Pusher protocol 7 server that sends pre-encoded frames as fast as
the client's socket takes them, so that the client, not the server, is what a receive run
measures.

It speaks just enough Pusher for a real client: `connection_established`, a
`subscription_succeeded` for every subscribe, pongs, and on `stop` the `pusher:error` 4200 and
close 4200 that soketi sends when it shuts down. It runs in a process of its own, controlled by
JSON lines: it prints `{"listening": port}` when ready and reads commands on stdin:

- `{"cmd": "blast", "events": N}`: N StreamerIsLive frames, round-robin over every subscribed
  channel, encoded before the first byte is written and handed to the sockets in one write per
  connection; answers `{"blasted": N, "connections": C, "channels": K}`;
- `{"cmd": "status"}`: answers the open connections, subscribed channels and accepted total;
- `{"cmd": "stop"}` or the end of stdin: close every connection like soketi does, then exit.

    python -m benchmarks.pusher.blaster [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.pusher import frames

SERVER_CLOSING = {"code": 4200, "message": "Server closed. Please reconnect shortly."}


class Connection:
    """One client socket and the channels it subscribed."""

    def __init__(self, number: int, writer: asyncio.StreamWriter) -> None:
        self.number = number
        self.writer = writer
        self.channels: set[str] = set()


class Blaster:
    """The server; one per process."""

    def __init__(self) -> None:
        self.connections: dict[int, Connection] = {}
        self.accepted = 0
        self.server: asyncio.Server | None = None

    def subscribed(self) -> dict[str, list[Connection]]:
        """Every subscribed channel and the connections that subscribed it."""
        by_channel: dict[str, list[Connection]] = {}
        for connection in self.connections.values():
            for channel in connection.channels:
                by_channel.setdefault(channel, []).append(connection)
        return by_channel

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        number = self.accepted
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        key = _header(request, b"sec-websocket-key")
        if key is None:  # a plain HTTP probe
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
            writer.close()
            return
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + frames.accept_key(key).encode() + b"\r\n\r\n"
        )
        socket_id = f"{number}.{number}"
        writer.write(
            frames.pusher_event(
                "pusher:connection_established", {"socket_id": socket_id, "activity_timeout": 120}
            )
        )
        connection = Connection(number, writer)
        self.connections[number] = connection
        parser = frames.FrameReader()
        try:
            while data := await reader.read(1 << 16):
                replies = bytearray()
                for opcode, payload in parser.feed(data):
                    if opcode == frames.OP_CLOSE:
                        writer.write(bytes(replies) + frames.encode(payload[:2], frames.OP_CLOSE))
                        return
                    if opcode == frames.OP_PING:
                        replies += frames.encode(payload, frames.OP_PONG)
                    elif opcode == frames.OP_TEXT:
                        replies += self._answer(connection, payload)
                if replies:
                    writer.write(bytes(replies))
        except ConnectionError:
            pass
        finally:
            self.connections.pop(number, None)
            writer.close()

    def _answer(self, connection: Connection, payload: bytes) -> bytes:
        try:
            message = json.loads(payload)
            event = message.get("event")
            data = message.get("data")
            if isinstance(data, str):
                data = json.loads(data) if data.strip() else {}
        except (ValueError, AttributeError):
            return b""
        if event == "pusher:subscribe" and isinstance(data, dict):
            channel = str(data.get("channel"))
            connection.channels.add(channel)
            return frames.pusher_event("pusher_internal:subscription_succeeded", {}, channel)
        if event == "pusher:unsubscribe" and isinstance(data, dict):
            connection.channels.discard(str(data.get("channel")))
        elif event == "pusher:ping":
            return frames.pusher_event("pusher:pong", {})
        return b""

    def blast(self, events: int) -> dict[str, Any]:
        subscribed = self.subscribed()
        ids = sorted(
            int(name.split(".", 1)[1]) for name in subscribed if name.startswith("channel.")
        )
        if not ids:
            return {"error": "no channel is subscribed"}
        buffers: dict[int, list[bytes]] = {}
        for channel_id, text in frames.live_frames(ids, events):
            encoded = frames.encode_text(text)
            for connection in subscribed[frames.channel_name(channel_id)]:
                buffers.setdefault(connection.number, []).append(encoded)
        for number, chunks in buffers.items():
            target = self.connections.get(number)
            if target is not None:
                target.writer.write(b"".join(chunks))
        return {"blasted": events, "connections": len(buffers), "channels": len(ids)}

    def stop(self) -> None:
        closing = frames.pusher_event("pusher:error", SERVER_CLOSING) + frames.encode_close(4200)
        for connection in list(self.connections.values()):
            with contextlib.suppress(ConnectionError, RuntimeError):
                connection.writer.write(closing)
                connection.writer.close()
        if self.server is not None:
            self.server.close()


def _header(request: bytes, name: bytes) -> str | None:
    for line in request.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve(port: int) -> None:
    blaster = Blaster()
    blaster.server = await asyncio.start_server(
        blaster.handle, "127.0.0.1", port, reuse_address=True, backlog=1024
    )
    _say({"listening": blaster.server.sockets[0].getsockname()[1]})
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        command = json.loads(line)
        if command["cmd"] == "blast":
            _say(blaster.blast(int(command["events"])))
        elif command["cmd"] == "status":
            subscribed = blaster.subscribed()
            _say(
                {
                    "connections": len(blaster.connections),
                    "subscribed": len(subscribed),
                    "accepted": blaster.accepted,
                }
            )
        elif command["cmd"] == "stop":
            break
    blaster.stop()
    await asyncio.sleep(0.05)  # let the close frames leave


def main() -> int:
    parser = argparse.ArgumentParser(description="A Pusher frame blaster on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
