"""Stand-ins with the surfaces the GUI talks to: the Monitor and start at login."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from kickwatch.context import Context
from kickwatch.domain.errors import KickwatchError, NotFoundError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import EventType, Status
from kickwatch.domain.validation import normalize_username
from kickwatch.monitor.events import (
    ConnectionState,
    EventBus,
    StreamEnded,
    StreamStarted,
)
from kickwatch.store.repository import StatusChange

T = TypeVar("T")


class FakeMonitor:
    """The Monitor's surface over a real repository; tests drive go-lives by hand."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.bus = EventBus()
        self.connection_state = ConnectionState.CONNECTED
        self.last_check: datetime | None = None
        self.started = False
        self.stopped = False
        self.changed = 0
        self.writes = 0
        self.unknown: set[str] = set()
        self.blocked = False
        self.connection_ok = (True, "connected to the fake Kick")
        self._ids = itertools.count(5000)
        self._live: dict[str, StreamerRecord] = {}

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def live_streamers(self) -> list[StreamerRecord]:
        return list(self._live.values())

    def streamers(self) -> list[StreamerRecord]:
        """Every active streamer as stored (the live ones as the monitor holds them)."""
        stored = self.ctx.repository.active_streamers()
        return [self._live.get(s.username, s) for s in stored]

    def streamers_changed(self) -> None:
        self.changed += 1

    async def reconcile_now(self) -> None:
        return None

    async def write(self, function: Callable[..., T], *args: Any) -> T:
        """Writes run off the GUI thread, as on the real monitor's writer; counted."""
        self.writes += 1
        return await asyncio.to_thread(function, *args)

    async def test_connection(self) -> tuple[bool, str]:
        ok, detail = self.connection_ok
        self.ctx.repository.record_connection_test(ok, detail)
        return ok, detail

    async def lookup_and_add(self, name: str) -> StreamerRecord:
        username = normalize_username(name)
        if self.blocked:
            raise KickwatchError("Kick refused the lookup (blocked by its security policy)")
        if username in self.unknown:
            raise NotFoundError(f"there is no Kick channel named {username}")
        user_id = next(self._ids)
        return self.ctx.repository.add_streamer(
            username, user_id, display_name=username.capitalize(), kick_channel_id=user_id
        )

    # -- driving it ----------------------------------------------------------------------

    def go_live(
        self, username: str, *, initial: bool = False, after_resume: bool = False, **live: object
    ) -> StreamerRecord:
        """Record a go-live in the store and publish it, as the real monitor does."""
        record = self.ctx.repository.get_by_username(username)
        assert record is not None
        now = self.ctx.clock.now()
        result = self.ctx.repository.apply_changes(
            [
                StatusChange(
                    streamer_id=record.id,
                    event_type=EventType.STREAM_START,
                    received_timestamp=now,
                    event_timestamp=now,
                    title=str(live.get("title", "Test stream")),
                    category=str(live.get("category", "Just Chatting")),
                    viewers=int(live.get("viewers", 42)),  # type: ignore[call-overload]
                )
            ]
        )
        applied = result.applied[0]
        streamer = replace(applied.streamer, current_broadcast_started_at=now)
        self._live[username] = streamer
        self.bus.publish(StreamStarted(streamer, applied.event, initial, after_resume))
        return streamer

    def go_offline(self, username: str) -> StreamerRecord:
        """Record an end and publish it."""
        record = self.ctx.repository.get_by_username(username)
        assert record is not None
        now = self.ctx.clock.now()
        result = self.ctx.repository.apply_changes(
            [
                StatusChange(
                    streamer_id=record.id,
                    event_type=EventType.STREAM_END,
                    received_timestamp=now,
                    event_timestamp=now,
                )
            ]
        )
        applied = result.applied[0]
        self._live.pop(username, None)
        self.bus.publish(StreamEnded(applied.streamer, applied.event, False))
        return applied.streamer

    def set_live(self, streamers: list[StreamerRecord]) -> None:
        """Replace the in-memory live list without events (for menus and benchmarks)."""
        self._live = {s.username: replace(s, status=Status.ONLINE) for s in streamers}


class FakeAutostart:
    """Start at login in memory; `fail` makes changes raise like a read-only folder."""

    def __init__(self) -> None:
        self.enabled = False
        self.fail = False

    def is_enabled(self) -> bool:
        return self.enabled

    def enable(self) -> None:
        if self.fail:
            from kickwatch.platform.autostart import AutostartError

            raise AutostartError("Cannot write /read-only/autostart: Permission denied")
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False

    def describe(self) -> str:
        return "in memory (tests)"
