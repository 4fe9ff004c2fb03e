"""A real Pusher protocol 7 WebSocket server on 127.0.0.1 that behaves like Kick's, on command.

It sends `connection_established` (with a configurable `activity_timeout`), confirms
subscriptions, answers pings, and records what each connection did. Tests make it push
StreamerIsLive / StopStreamBroadcast (with `data` as a JSON string, like Kick), duplicates,
garbage, truncated and oversized frames, `pusher:error` plus a close code, drop every connection,
stop answering pings, or refuse new connections for a while.

Control methods are synchronous and thread-safe: from the server's own loop they queue the
command (commands run in order; `await drain()` waits for them), from another thread they block
until it ran.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

APP_KEY = "32cbd69e4b950bf97679"
URL_QUERY = "protocol=7&client=js&version=8.4.0&flash=false"
STREAMER_IS_LIVE = "App\\Events\\StreamerIsLive"
STOP_STREAM_BROADCAST = "App\\Events\\StopStreamBroadcast"
LIVESTREAM_UPDATED = "App\\Events\\LivestreamUpdated"

Command = Callable[[], Awaitable[None]]

# Frames a broken network or server could deliver; the client must skip each one.
GARBAGE_FRAMES: dict[str, str] = {
    "non_json": "this is not json at all",
    "truncated": '{"event":"App\\\\Events\\\\StreamerIsLive","data":"{\\"livestream\\":{\\"id',
    "not_object": "[1, 2, 3]",
    "no_event": '{"data": "{}"}',
    "bad_data": '{"event":"App\\\\Events\\\\StreamerIsLive","channel":"channel.1","data":"{oops"}',
    "empty": "",
}


@dataclass
class FakePusherConnection:
    """What one client connection did."""

    number: int
    ws: ServerConnection
    subscriptions: set[str] = field(default_factory=set)
    subscribe_log: list[str] = field(default_factory=list)
    unsubscribe_log: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    pings: int = 0  # pusher:ping frames from the client
    pongs: int = 0  # pusher:pong frames from the client
    open: bool = True

    @property
    def reads(self) -> int:
        """Reads from this connection's socket, the opening handshake's included."""
        return self.ws.reads if isinstance(self.ws, CountingConnection) else 0


class CountingConnection(ServerConnection):
    """A server connection that counts the reads from its socket (how many writes a client's
    data arrived in)."""

    reads = 0

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        super().data_received(data)


class FakePusherServer:
    """The fake Pusher endpoint of the fake Kick."""

    def __init__(self, *, app_key: str = APP_KEY, activity_timeout: int = 120) -> None:
        self.app_key = app_key
        self.activity_timeout: float = activity_timeout
        self.answer_pings = True
        self.confirm_subscriptions = True
        self.connections: list[FakePusherConnection] = []
        self.attempts = 0  # every WebSocket that reached the handler, refused ones included
        self.refused = 0  # connections turned away by `refuse_connections`
        self.port = 0
        self._refuse_until = 0.0
        self._refuse_code = 4200
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._queue: asyncio.Queue[tuple[Command, concurrent.futures.Future[None]]] | None = None
        self._worker: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Listen on `port` of 127.0.0.1 (a free one by default; the same again after `stop`,
        as a server that restarts)."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._queue = asyncio.Queue()
        self._worker = self._loop.create_task(self._work(), name="fake-pusher:commands")
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            port,
            ping_interval=None,
            max_size=None,
            compression=None,
            create_connection=CountingConnection,
        )
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def url(self, app_key: str | None = None) -> str:
        """The ws:// URL a client uses, shaped like Kick's."""
        return f"ws://127.0.0.1:{self.port}/app/{app_key or self.app_key}?{URL_QUERY}"

    async def drain(self) -> None:
        """Wait until every queued command ran (for callers on the server's loop)."""
        assert self._queue is not None
        await self._queue.join()

    # --- what tests look at ------------------------------------------------------------

    @property
    def open_connections(self) -> list[FakePusherConnection]:
        """Connections still open."""
        return [c for c in self.connections if c.open]

    def subscribers(self, channel: str) -> list[FakePusherConnection]:
        """Open connections subscribed to `channel`."""
        return [c for c in self.open_connections if channel in c.subscriptions]

    # --- commands ----------------------------------------------------------------------

    def push(self, channel: str, event: str, data: Any, *, encode_data: bool = True) -> None:
        """Send a channel event to the subscribers of `channel` (data JSON-encoded, like Kick)."""
        frame = {"event": event, "data": json.dumps(data) if encode_data else data}
        frame["channel"] = channel
        self.send_raw(json.dumps(frame), channel=channel)

    def push_streamer_is_live(
        self,
        channel_id: int,
        livestream_id: int,
        *,
        created_at: datetime | None = None,
        title: str = "Fake stream",
        names: tuple[str, ...] = ("channel.{id}",),
    ) -> None:
        """StreamerIsLive as Kick sends it, on each of `names` (`channel.{id}`/`channel_{id}`)."""
        when = (created_at or datetime.now(UTC)).astimezone(UTC)  # clock-ok: Kick's own clock
        data = {
            "livestream": {
                "id": livestream_id,
                "channel_id": channel_id,
                "session_title": title,
                "source": None,
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            }
        }
        for name in names:
            self.push(name.format(id=channel_id), STREAMER_IS_LIVE, data)

    def push_stop_stream(
        self, channel_id: int, livestream_id: int, *, names: tuple[str, ...] = ("channel.{id}",)
    ) -> None:
        """StopStreamBroadcast as Kick sends it (no timestamp)."""
        data = {
            "livestream": {"id": livestream_id, "channel": {"id": channel_id, "is_banned": False}}
        }
        for name in names:
            self.push(name.format(id=channel_id), STOP_STREAM_BROADCAST, data)

    def send_raw(self, text: str | bytes, *, channel: str | None = None) -> None:
        """Send a frame verbatim to every open connection (or the subscribers of `channel`)."""

        async def run() -> None:
            targets = self.subscribers(channel) if channel else self.open_connections
            for conn in targets:
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(text)

        self._submit(run)

    def send_text_bytes(self, data: bytes) -> None:
        """Send `data` verbatim as a text frame (opcode 1) to every open connection, even when
        it is not UTF-8, as a broken server could."""

        async def run() -> None:
            for conn in self.open_connections:
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(data, text=True)

        self._submit(run)

    def send_garbage(self, kind: str = "non_json") -> None:
        """One of `GARBAGE_FRAMES` to every open connection."""
        self.send_raw(GARBAGE_FRAMES[kind])

    def send_oversized(self, size: int = 1024 * 1024 + 1024) -> None:
        """A syntactically valid frame bigger than the client's 1 MiB parsing limit."""
        padding = "x" * size
        self.send_raw(json.dumps({"event": "App\\Events\\Padding", "data": padding}))

    def ping_clients(self) -> None:
        """Send `pusher:ping` to every open connection (they must answer with a pong)."""
        self.send_raw(json.dumps({"event": "pusher:ping", "data": {}}))

    def send_error(self, code: int, message: str = "", *, close: bool = True) -> None:
        """`pusher:error` (data as an object), then close with the same code."""

        async def run() -> None:
            frame = json.dumps(
                {"event": "pusher:error", "data": {"code": code, "message": message}}
            )
            for conn in self.open_connections:
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(frame)
                    if close:
                        await conn.ws.close(code, message)

        self._submit(run)

    def drop_all(self, code: int | None = None) -> None:
        """Cut every connection: abruptly (no close frame) or with a close `code`."""

        async def run() -> None:
            for conn in self.open_connections:
                if code is None:
                    conn.ws.transport.abort()
                else:
                    with contextlib.suppress(ConnectionClosed):
                        await conn.ws.close(code)

        self._submit(run)

    def refuse_connections(self, seconds: float, code: int = 4200) -> None:
        """For `seconds`, answer new connections with `pusher:error` `code` and close them."""
        self._refuse_code = code
        self._refuse_until = time.monotonic() + seconds

    # --- internals ---------------------------------------------------------------------

    def _submit(self, command: Command) -> None:
        assert self._loop is not None and self._queue is not None, "server not started"
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        if threading.get_ident() == self._thread:
            self._queue.put_nowait((command, future))
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (command, future))
        future.result(timeout=10)

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            command, future = await self._queue.get()
            try:
                await command()
                future.set_result(None)
            except Exception as exc:
                future.set_exception(exc)
            finally:
                self._queue.task_done()

    async def _handle(self, ws: ServerConnection) -> None:
        self.attempts += 1
        path = ws.request.path if ws.request is not None else ""
        key = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if key != self.app_key:
            await self._reject(
                ws,
                4001,
                f"App key {key} not in this cluster. Did you forget to specify the cluster?",
            )
            return
        if time.monotonic() < self._refuse_until:
            self.refused += 1
            await self._reject(ws, self._refuse_code, "Server is shutting down, try again")
            return
        conn = FakePusherConnection(number=len(self.connections), ws=ws)
        self.connections.append(conn)
        try:
            established: dict[str, Any] = {
                "socket_id": f"{1000 + conn.number}.{4468990 + conn.number}",
                "activity_timeout": self.activity_timeout,
            }
            await ws.send(
                json.dumps(
                    {"event": "pusher:connection_established", "data": json.dumps(established)}
                )
            )
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                conn.received.append(text)
                await self._on_message(conn, text)
        except ConnectionClosed:
            pass
        finally:
            conn.open = False

    async def _on_message(self, conn: FakePusherConnection, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        event = frame.get("event")
        data = frame.get("data")
        data = data if isinstance(data, dict) else {}
        if event == "pusher:subscribe":
            channel = str(data.get("channel", ""))
            conn.subscriptions.add(channel)
            conn.subscribe_log.append(channel)
            if self.confirm_subscriptions:
                await conn.ws.send(
                    json.dumps(
                        {
                            "event": "pusher_internal:subscription_succeeded",
                            "data": "{}",
                            "channel": channel,
                        }
                    )
                )
        elif event == "pusher:unsubscribe":
            channel = str(data.get("channel", ""))
            conn.subscriptions.discard(channel)
            conn.unsubscribe_log.append(channel)
        elif event == "pusher:ping":
            conn.pings += 1
            if self.answer_pings:
                await conn.ws.send(json.dumps({"event": "pusher:pong", "data": "{}"}))
        elif event == "pusher:pong":
            conn.pongs += 1

    @staticmethod
    async def _reject(ws: ServerConnection, code: int, message: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            frame = {"event": "pusher:error", "data": {"code": code, "message": message}}
            await ws.send(json.dumps(frame))
            await ws.close(code, message)
