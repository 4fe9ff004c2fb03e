"""The fake Pusher server with the faults of a bad network and a bad day at Kick, for chaos tests.

On top of `FakePusherServer` it can go silent (a blackout: nothing delivered either way, pings
unanswered, frames sent meanwhile lost), restart (every socket closed, the port refused for a
while, then listening again on the same port), send a frame only to the connection that carries
one channel (under any channel name, e.g. the `channel_N` alias of a `channel.N` subscription),
send bytes as a text frame that is not UTF-8, and count what it lost. Use it in place of the plain
server before the fake starts: `kick.pusher = FaultyPusherServer(...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from tests.fakekick.pusher_server import FakePusherConnection, FakePusherServer


class FaultyPusherServer(FakePusherServer):
    """`FakePusherServer` plus blackouts, restarts and targeted raw frames."""

    def __init__(self, *, activity_timeout: int = 120) -> None:
        super().__init__(activity_timeout=activity_timeout)
        self.lost_frames = 0  # frames dropped by a blackout or while restarting
        self.restarts = 0
        self.blackouts = 0
        self._blackout_until = 0.0
        self._down = False
        self._reopen_handle: asyncio.TimerHandle | None = None

    # --- state -------------------------------------------------------------------------

    @property
    def silent(self) -> bool:
        """Whether a blackout is in effect now."""
        return time.monotonic() < self._blackout_until

    @property
    def down(self) -> bool:
        """Whether a restart is in progress (nothing listening)."""
        return self._down

    # --- faults ------------------------------------------------------------------------

    def blackout(self, seconds: float) -> None:
        """For `seconds`, deliver nothing either way: no pongs, no confirmations, frames lost.

        The sockets stay open, as when a network path goes quiet without a reset.
        """
        self.blackouts += 1
        self._blackout_until = max(self._blackout_until, time.monotonic() + seconds)

    def end_blackout(self) -> None:
        """Deliver again from now on."""
        self._blackout_until = 0.0

    def restart(self, down_for: float) -> None:
        """Close every socket and stop listening; listen again on the same port after
        `down_for` seconds (returns once the server is down, not when it is back)."""

        async def run() -> None:
            if self._server is None:
                return
            self._down = True
            self.restarts += 1
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()
            assert self._loop is not None
            self._reopen_handle = self._loop.call_later(down_for, self._reopen_soon)

        self._submit(run)

    def send_on_channel(self, channel: str, text: str | bytes, *, as_text: bool = True) -> None:
        """Send `text` verbatim on the connections subscribed to `channel` (whatever channel
        name the frame itself carries); bytes go out as a text frame when `as_text`."""
        if self._lost():
            return

        async def run() -> None:
            for conn in self.subscribers(channel):
                with contextlib.suppress(ConnectionClosed):
                    if isinstance(text, bytes):
                        await conn.ws.send(text, text=as_text)
                    else:
                        await conn.ws.send(text)

        self._submit(run)

    def send_raw(self, text: str | bytes, *, channel: str | None = None) -> None:
        """Like the plain server's, but lost during a blackout or a restart."""
        if self._lost():
            return
        super().send_raw(text, channel=channel)

    def send_error(self, code: int, message: str = "", *, close: bool = True) -> None:
        """Like the plain server's, but lost during a blackout or a restart."""
        if self._lost():
            return
        super().send_error(code, message, close=close)

    async def stop(self) -> None:
        """Stop listening, a restart in progress included."""
        if self._reopen_handle is not None:
            self._reopen_handle.cancel()
        await super().stop()

    # --- internals ---------------------------------------------------------------------

    def _lost(self) -> bool:
        if self.silent or self._down:
            self.lost_frames += 1
            return True
        return False

    def _reopen_soon(self) -> None:
        assert self._loop is not None
        self._loop.create_task(self._reopen(), name="fake-pusher:reopen")

    async def _reopen(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            ping_interval=None,
            max_size=None,
            compression=None,
        )
        self._down = False

    async def _on_message(self, conn: FakePusherConnection, text: str) -> None:
        if self.silent:
            return  # the client's frames vanish too: no pong, no confirmation
        await super()._on_message(conn, text)
