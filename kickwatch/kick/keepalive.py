"""The liveness watch of one Pusher session, on one timer instead of a timeout per frame.

Pusher asks a client to send `pusher:ping` after `activity_timeout` seconds without a frame, and
to give the socket up when no `pusher:pong` (or any frame) follows within the pong timeout; until
`connection_established` the open timeout applies. `KeepAlive` keeps one timer on the event loop
and re-arms it only when it fires, so a received frame costs the receive loop one clock read
(`heard()`), not a timer. When the session has to end, it records why (`expired`) and makes the
session's `asyncio.timeout` expire, which cancels the pending receive.
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import broadcast

from kickwatch.kick import protocol


class KeepAlive:
    """Pings a silent socket and ends a dead session through `deadline`."""

    __slots__ = (
        "_deadline",
        "_handle",
        "_loop",
        "_ping_at",
        "_pong_timeout",
        "_ws",
        "activity",
        "established",
        "expired",
        "heard_at",
        "pings",
    )

    def __init__(
        self,
        ws: ClientConnection,
        deadline: asyncio.Timeout,
        *,
        open_timeout: float,
        pong_timeout: float,
    ) -> None:
        self._ws = ws
        self._deadline = deadline
        self._loop = asyncio.get_running_loop()
        self._pong_timeout = pong_timeout
        self._ping_at: float | None = None  # loop time of the unanswered ping, if any
        self.activity = open_timeout  # the silence allowed before acting
        self.established = False
        self.expired: str | None = None  # why the session must end
        self.heard_at = self._loop.time()
        self.pings = 0
        self._handle = self._loop.call_at(self.heard_at + open_timeout, self._check)

    def heard(self) -> None:
        """A frame arrived: the socket is alive."""
        self.heard_at = self._loop.time()

    def set_established(self, activity: float) -> None:
        """`connection_established` arrived: from now on, ping after `activity` seconds."""
        self.established = True
        self.activity = activity
        self._arm(self.heard_at + activity)

    def cancel(self) -> None:
        """Stop watching (the session ended)."""
        self._handle.cancel()

    def _arm(self, when: float) -> None:
        self._handle.cancel()
        self._handle = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        now = self._loop.time()
        if self._ping_at is not None:
            if self.heard_at <= self._ping_at:  # nothing since the ping
                if now < self._ping_at + self._pong_timeout:
                    self._arm(self._ping_at + self._pong_timeout)
                    return
                self._expire(f"no pong from Pusher within {self._pong_timeout:g} s")
                return
            self._ping_at = None
        if now < self.heard_at + self.activity:
            self._arm(self.heard_at + self.activity)
            return
        if not self.established:
            self._expire("Pusher sent no connection_established")
            return
        # `broadcast` writes at once without waiting (and skips a socket that is closing).
        broadcast([self._ws], protocol.encode_ping())
        self.pings += 1
        self._ping_at = now
        self._arm(now + self._pong_timeout)

    def _expire(self, reason: str) -> None:
        self.expired = reason
        self._deadline.reschedule(self._loop.time())
