"""Spread many Kick channels over several Pusher connections.

`PusherPool` keeps at most `max_channels_per_connection` channels on each `PusherConnection`,
keeps a channel on the connection it was first given to (so a change never resubscribes
channels that did not change), opens connections as channels are added and closes emptied ones
(always keeping one). Its connections share one `ReconnectGate`: when the server goes away, one
connection at a time probes it, and all reconnect at once when a probe gets through. It folds
the connections' states into one state for the monitor and forwards every `on_connected`, so the
monitor reconciles after any connection's (re)connect.

1,000 channels per connection by default, chosen by measurement on soketi (`benchmarks/`):
10,000 subscriptions confirm as fast over 10 connections as over 20 (0.18-0.23 s against
0.17-0.28 s), and a burst costs less CPU per frame on fewer connections (14 against 16-23 µs
for 1,000 channels on one connection and on two). Pusher sets no limit on channels per
connection; its quota, and Kick's, counts connections.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterable

from kickwatch.domain.clock import Clock, SystemClock
from kickwatch.kick.pusher import (
    OnConnected,
    OnEvent,
    OnState,
    PusherConnection,
    PusherOptions,
)
from kickwatch.monitor.events import ConnectionState

log = logging.getLogger(__name__)

CHANNELS_PER_CONNECTION = 1000  # see the module docstring; `monitoring.max_channels_per_connection`


class PusherPool:
    """Several `PusherConnection`s behind one `set_channels`."""

    def __init__(
        self,
        url: str,
        *,
        on_event: OnEvent,
        on_state: OnState,
        on_connected: OnConnected,
        max_channels_per_connection: int = CHANNELS_PER_CONNECTION,
        options: PusherOptions | None = None,
        clock: Clock | None = None,
        name: str = "pusher",
    ) -> None:
        if max_channels_per_connection < 1:
            raise ValueError("max_channels_per_connection must be at least 1")
        self.url = url
        self.name = name
        self.max_channels_per_connection = max_channels_per_connection
        self.state = ConnectionState.CLOSED
        self.detail = ""
        self.retry_at: float | None = None  # the folded state's next attempt (monotonic)
        self._on_event = on_event
        self._on_state = on_state
        self._on_connected = on_connected
        self._options = options or PusherOptions()
        self._clock = clock or SystemClock()
        self.gate = self._options.gate(self._clock)  # shared by every connection
        self._numbers = itertools.count()
        self._connections: dict[PusherConnection, set[int]] = {}
        self._started = False
        self._retiring: set[asyncio.Task[None]] = set()
        self._retired_malformed = 0  # frames skipped by connections that were closed since
        self._retired_attempts = 0
        self._add_connection()

    @property
    def connections(self) -> tuple[PusherConnection, ...]:
        """The live connections, oldest first."""
        return tuple(self._connections)

    @property
    def channels(self) -> frozenset[int]:
        """Every channel id the pool should be subscribed to."""
        return frozenset(itertools.chain.from_iterable(self._connections.values()))

    @property
    def subscribed_channels(self) -> frozenset[int]:
        """Channel ids confirmed on any connection."""
        return frozenset(
            itertools.chain.from_iterable(c.subscribed_channels for c in self._connections)
        )

    @property
    def subscribed_count(self) -> int:
        """How many channels are confirmed (a channel is on one connection only)."""
        return sum(c.subscribed_count for c in self._connections)

    @property
    def attempts(self) -> int:
        """Connection attempts made by all connections, retired ones included."""
        return self._retired_attempts + sum(c.attempts for c in self._connections)

    @property
    def malformed_frames(self) -> int:
        """Malformed frames skipped by all connections, retired ones included."""
        return self._retired_malformed + sum(c.malformed_frames for c in self._connections)

    def set_channels(self, channel_ids: Iterable[int]) -> None:
        """Make the pool's subscriptions exactly `channel_ids`, changing only the difference."""
        wanted = set(channel_ids)
        for assigned in self._connections.values():
            assigned &= wanted
        placed = set(itertools.chain.from_iterable(self._connections.values()))
        limit = self.max_channels_per_connection
        # The connections with room, oldest first; each is filled before the next.
        room = iter([ids for ids in self._connections.values() if len(ids) < limit])
        target = next(room, None)
        for channel_id in sorted(wanted - placed):
            while target is not None and len(target) >= limit:
                target = next(room, None)
            if target is None:
                target = self._connections[self._add_connection()]
            target.add(channel_id)
        for connection, assigned in list(self._connections.items()):
            if not assigned and len(self._connections) > 1:
                self._retire(connection)
            else:
                connection.set_channels(assigned)

    async def start(self) -> None:
        """Start every connection (a fresh start: the gate forgets failures and refusals)."""
        self._started = True
        self.gate.reset()
        for connection in self._connections:
            connection.start_soon()

    async def stop(self) -> None:
        """Stop every connection and wait for them; no task outlives this call."""
        self._started = False
        stops = [c.stop() for c in self._connections]
        await asyncio.gather(*stops, *self._retiring, return_exceptions=True)
        self._retiring.clear()
        self._update_state()

    def _add_connection(self) -> PusherConnection:
        number = next(self._numbers)
        connection = PusherConnection(
            self.url,
            on_event=self._on_event,
            on_state=lambda _state, _detail: self._update_state(),
            on_connected=self._on_connected,
            options=self._options,
            clock=self._clock,
            name=f"{self.name}-{number}",
            gate=self.gate,
        )
        self._connections[connection] = set()
        if self._started:
            connection.start_soon()
        return connection

    def _retire(self, connection: PusherConnection) -> None:
        del self._connections[connection]
        self._retired_malformed += connection.malformed_frames
        self._retired_attempts += connection.attempts
        if not connection.running:
            return
        task = asyncio.get_running_loop().create_task(
            connection.stop(), name=f"{connection.name}:retire"
        )
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _update_state(self) -> None:
        states = [(c.state, c.detail) for c in self._connections]
        state, detail = _fold(states, self.subscribed_count)
        retry_at = next(
            (c.retry_at for c in self._connections if (c.state, c.detail) == (state, detail)),
            None,
        )
        if (state, detail, retry_at) == (self.state, self.detail, self.retry_at):
            return
        self.state, self.detail, self.retry_at = state, detail, retry_at
        try:
            self._on_state(state, detail)
        except Exception:
            log.exception("%s: on_state failed", self.name)


def _fold(
    states: list[tuple[ConnectionState, str]], subscribed: int
) -> tuple[ConnectionState, str]:
    """One state for the pool: the worst of its connections."""
    if len(states) == 1:
        return states[0]
    for state, detail in states:
        if state is ConnectionState.STOPPED:
            return state, detail
    kinds = {state for state, _ in states}
    if kinds == {ConnectionState.CONNECTED}:
        return ConnectionState.CONNECTED, f"subscribed to {subscribed} channels"
    if kinds == {ConnectionState.CLOSED}:
        return ConnectionState.CLOSED, "stopped"
    for wanted in (ConnectionState.RECONNECTING, ConnectionState.CONNECTING):
        for state, detail in states:
            if state is wanted:
                return state, detail
    return states[0]
