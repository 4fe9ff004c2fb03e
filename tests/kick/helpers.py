"""Small test doubles for the Kick client tests: a controllable clock, a recording sleep and a
recorder of the Pusher client's callbacks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kickwatch.domain.events import StreamEvent
from kickwatch.kick.pusher import PusherConnection
from kickwatch.kick.pusher_pool import PusherPool
from kickwatch.monitor.events import ConnectionState


class FakeClock:
    """A clock that moves only when told to (`advance`)."""

    def __init__(self, start: datetime = datetime(2025, 9, 15, 21, 0, tzinfo=UTC)) -> None:
        self._now = start
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


class RecordingSleep:
    """An injectable `sleep` that records every requested delay and returns (almost) at once."""

    def __init__(self, cap: float = 0.0) -> None:
        self.delays: list[float] = []
        self.cap = cap

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(min(seconds, self.cap))


@dataclass
class Recorder:
    """Collects what the client reports through its callbacks."""

    events: list[StreamEvent] = field(default_factory=list)
    states: list[tuple[ConnectionState, str]] = field(default_factory=list)
    connected: int = 0
    subscribed_when_connected: list[frozenset[int]] = field(default_factory=list)
    client: PusherConnection | PusherPool | None = None

    def on_state(self, state: ConnectionState, detail: str) -> None:
        self.states.append((state, detail))

    def on_connected(self) -> None:
        self.connected += 1
        if self.client is not None:
            self.subscribed_when_connected.append(self.client.subscribed_channels)

    @property
    def state(self) -> ConnectionState | None:
        return self.states[-1][0] if self.states else None
