"""The timing and size knobs of the Pusher client (`PusherOptions`), with the defaults Kick's
Pusher calls for; tests make the delays tiny and inject the reconnect `sleep`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kickwatch.domain.clock import Clock
from kickwatch.kick import protocol
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.reconnect import ReconnectGate, Sleep

# Frames up to this size are read and rejected by the parser; larger ones close the socket.
SOCKET_MAX_BYTES = 4 * protocol.MAX_FRAME_BYTES


@dataclass(frozen=True, slots=True)
class PusherOptions:
    """Timing and size knobs of a Pusher connection; tests make the delays tiny."""

    pong_timeout: float = 30.0
    default_activity_timeout: float = 120.0  # when the server does not say
    max_activity_timeout: float = 120.0  # never wait longer than this before pinging
    open_timeout: float = 10.0  # for the handshake and for connection_established
    subscribe_timeout: float = 10.0  # report connected even if some never confirm
    backoff: Backoff = field(default_factory=Backoff)
    min_backoff: float = 1.0  # the least wait after a 4100-4199 close
    healthy_after: float = 10.0  # a session this long resets the failure count
    # The longest wait while the server was healthy lately ... Waits are then 0.6-0.9 s (the
    # cap with the back-off's jitter below it): a server back from a restart is reached within
    # 0.9 s, and a 5-second restart (6-7 s until soketi answers again) costs 8-10 probes.
    recent_cap: float = 0.9
    recent_window: float = 60.0  # ... that is, this many seconds ago at most
    max_size: int = SOCKET_MAX_BYTES  # larger than MAX_FRAME_BYTES: the parser rejects those
    aliases: bool = False  # also subscribe to `channel_{id}` (expect duplicate events)
    sleep: Sleep = asyncio.sleep  # every reconnect wait

    def gate(self, clock: Clock) -> ReconnectGate:
        """A reconnect gate with these timings, for the connections to one server."""
        return ReconnectGate(
            backoff=self.backoff,
            clock=clock,
            sleep=self.sleep,
            recent_cap=self.recent_cap,
            recent_window=self.recent_window,
            min_backoff=self.min_backoff,
        )
