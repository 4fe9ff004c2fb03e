"""Building a real Monitor against the fake Kick, and reading what it recorded and published."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from kickwatch.context import Context, open_context
from kickwatch.domain.clock import Clock
from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.status import EventType
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.pusher import PusherOptions
from kickwatch.monitor import events as ev
from kickwatch.monitor.monitor import Monitor, MonitorOptions, build_monitor
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeChannel, FakeKick, wait_for

E = TypeVar("E")
MASTER_KEY = "monitor-test-key"


class NoKeyring:
    """A keyring module stand-in without a backend: the environment's master key is used."""

    def get_keyring(self) -> Any:
        raise RuntimeError("no keyring in tests")


class RecordingSleep:
    """An injectable `sleep` that records each delay and waits at most `cap` seconds."""

    def __init__(self, cap: float = 0.01) -> None:
        self.delays: list[float] = []
        self.cap = cap

    async def __call__(self, seconds: float) -> None:
        import asyncio

        self.delays.append(seconds)
        await asyncio.sleep(min(seconds, self.cap))


def pusher_options(**changes: Any) -> PusherOptions:
    """Pusher timings shrunk for tests; `aliases` on, so `channel_N` duplicates arrive too."""
    values: dict[str, Any] = {
        "pong_timeout": 0.3,
        "open_timeout": 3.0,
        "subscribe_timeout": 3.0,
        "backoff": Backoff(initial=0.01, maximum=0.05),
        "min_backoff": 0.05,
        "aliases": True,
    }
    values.update(changes)
    return PusherOptions(**values)


def monitor_options(**changes: Any) -> MonitorOptions:
    """Monitor timings shrunk for tests (no periodic reconciliation unless asked)."""
    values: dict[str, Any] = {
        "reconcile_interval": 3600.0,
        "watch_interval": 0.1,
        "sleep_check_interval": 0.05,
        "retention_interval": 3600.0,
        "pusher": pusher_options(),
    }
    values.update(changes)
    return MonitorOptions(**values)


@dataclass
class BusLog:
    """Every event the monitor published, with the `perf_counter` time it was published."""

    events: list[ev.MonitorEvent] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    checks: list[Callable[[ev.MonitorEvent], None]] = field(default_factory=list)

    def __call__(self, event: ev.MonitorEvent) -> None:
        self.times.append(time.perf_counter())
        self.events.append(event)
        for check in self.checks:
            check(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def time_of(self, event: object) -> float:
        return next(t for e, t in zip(self.events, self.times, strict=True) if e is event)


@dataclass
class Harness:
    """A monitor on a real database against the fake Kick, plus what it published."""

    kick: FakeKick
    ctx: Context
    http: httpx.AsyncClient
    monitor: Monitor
    bus: BusLog
    reconciling: int = 0  # reconciliations running now

    def __post_init__(self) -> None:
        # Count running reconciliations, so that a test can wait until none is in flight (a
        # late start-up poll would otherwise report what the test makes happen next).
        original = self.monitor._reconcile

        async def counted(reason: Any) -> None:
            self.reconciling += 1
            try:
                await original(reason)
            finally:
                self.reconciling -= 1

        self.monitor._reconcile = counted  # type: ignore[method-assign]

    @property
    def reconcile_idle(self) -> bool:
        return self.reconciling == 0 and not self.monitor._reconcile_wanted.is_set()

    async def start(self, *, connected: bool = True) -> None:
        await self.monitor.start()
        if connected:
            await self.until_connected()

    async def until_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Connected, every active channel confirmed, and a reconciliation done since."""
        reconciled = len(self.bus.of(ev.ReconcileCompleted))
        await wait_for(
            lambda: (
                self.monitor.connection_state is ev.ConnectionState.CONNECTED
                and self.monitor.subscribed_channels >= self.channel_ids()
                and (
                    len(self.bus.of(ev.ReconcileCompleted)) > reconciled
                    or not self.monitor.streamers()
                )
                and self.reconcile_idle
            ),
            timeout,
            what="the monitor connected and reconciled",
        )

    def channel_ids(self) -> frozenset[int]:
        return frozenset(
            s.kick_channel_id for s in self.monitor.streamers() if s.kick_channel_id is not None
        )

    def add(self, channel: FakeChannel, *, active: bool = True) -> StreamerRecord:
        """Store a fake channel as a monitored streamer."""
        return self.ctx.repository.add_streamer(
            channel.slug,
            channel.user_id,
            display_name=channel.display_name,
            kick_channel_id=channel.channel_id,
            slug=channel.slug,
            is_active=active,
        )

    def rows(
        self, event_type: EventType | None = None, username: str | None = None
    ) -> list[StatusEventRecord]:
        """Stored events, oldest first (read on the test's own connection)."""
        events = self.ctx.repository.event_history(
            username=username, event_type=event_type, newest_first=False
        )
        return [e for e in events if e.event_type is not EventType.CONNECTION_TEST]

    def real_rows(self, event_type: EventType, username: str) -> list[StatusEventRecord]:
        return [r for r in self.rows(event_type, username) if not r.event_data.get("synthetic")]

    def started(self, username: str) -> list[ev.StreamStarted]:
        return [e for e in self.bus.of(ev.StreamStarted) if e.streamer.username == username]

    def ended(self, username: str) -> list[ev.StreamEnded]:
        return [e for e in self.bus.of(ev.StreamEnded) if e.streamer.username == username]


def open_test_context(
    db_url: str, home: Path, kick: FakeKick, *, credentials: bool, clock: Clock | None = None
) -> Context:
    """A context on `db_url` whose endpoints point at the fake Kick."""
    environ = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": MASTER_KEY}
    environ.update(kick.env())
    ctx = open_context(db_url, environ=environ, clock=clock, keyring_module=NoKeyring())
    if credentials:
        ctx.settings.set("auth.client_id", CLIENT_ID)
        ctx.settings.set("auth.client_secret", CLIENT_SECRET)
    return ctx


def make_harness(
    kick: FakeKick,
    db_url: str,
    home: Path,
    *,
    credentials: bool = True,
    clock: Clock | None = None,
    options: MonitorOptions | None = None,
) -> Harness:
    ctx = open_test_context(db_url, home, kick, credentials=credentials, clock=clock)
    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
    monitor = build_monitor(ctx, http, options or monitor_options())
    bus = BusLog()
    monitor.bus.subscribe(bus)
    return Harness(kick, ctx, http, monitor, bus)
