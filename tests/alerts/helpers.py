"""A real store, a one-thread database runner standing in for the monitor's writer, and changes
(starts, ends, and live title/category changes) recorded for real, for the alert tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from kickwatch.alerts.dispatcher import DispatcherOptions, TargetHealth
from kickwatch.alerts.service import AlertService
from kickwatch.alerts.targets import TargetStore
from kickwatch.context import Context, open_context
from kickwatch.domain.rules import DetailsSeen
from kickwatch.domain.status import EventType, Status
from kickwatch.monitor.events import EventBus, StreamDetailsChanged, StreamEnded, StreamStarted
from kickwatch.monitor.policy import PolicySettings
from kickwatch.store.convert import to_event_record, to_streamer_record
from kickwatch.store.models import StatusEvent, Streamer
from kickwatch.store.rules import RuleStore
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock

T = TypeVar("T")
MASTER_KEY = "alerts-test-key"
# Every decision at once: no grouping window, no offline grace, no cooldown.
IMMEDIATE = PolicySettings(
    group_window_seconds=0, offline_grace_seconds=0, restart_cooldown_seconds=0
)


class NoKeyring:
    """A keyring module without a backend: the environment's master key is used."""

    def get_keyring(self) -> Any:
        raise RuntimeError("no keyring in tests")


def open_store(db_path: Path, clock: ManualClock) -> Context:
    """A context on `db_path` whose master key comes from the environment."""
    return open_context(
        str(db_path),
        environ={"KICKWATCH_HOME": str(db_path.parent), "KICKWATCH_MASTER_KEY": MASTER_KEY},
        clock=clock,
        keyring_module=NoKeyring(),
    )


class SerialDb:
    """Runs database calls on one thread, as the monitor's writer does (`monitor.write`)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="test-db")
        self.failing: str | None = None  # when set, every call raises with this reason

    async def __call__(self, function: Callable[..., T], *args: Any) -> T:
        if self.failing is not None:
            from kickwatch.domain.errors import DatabaseUnavailableError

            raise DatabaseUnavailableError(self.failing)
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def close(self) -> None:
        self.executor.submit(self.ctx.database.close).result(timeout=5)
        self.executor.shutdown(wait=True)


class Alerts:
    """An AlertService on a bus, with what it reported."""

    def __init__(
        self,
        ctx: Context,
        clock: ManualClock,
        *,
        settings: PolicySettings = IMMEDIATE,
        options: DispatcherOptions | None = None,
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.bus = EventBus()
        self.db = SerialDb(ctx)
        self.health: list[TargetHealth] = []
        self.service = AlertService(
            ctx,
            self.bus,
            self.db,
            settings,
            options=options or DispatcherOptions(retry_initial=5.0, retry_max=20.0),
            on_health=self.health.append,
            reload_interval=3600.0,
        )

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.service.start()

    async def stop(self) -> None:
        await self.service.stop()
        self.db.close()

    async def __aenter__(self) -> Alerts:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def failures(self) -> int:
        return sum(1 for h in self.health if h.failures)

    async def record(self, username: str, event_type: EventType) -> StreamStarted | StreamEnded:
        """Store a start or end of `username` (added when new) and publish it, as the monitor
        does after the commit. The rows are written directly: these tests are about what
        happens after a change is stored."""
        self.clock.advance(1)
        return await self.db(self._store_change, username, event_type)

    def _store_change(self, username: str, event_type: EventType) -> StreamStarted | StreamEnded:
        now = self.clock.now()
        starts = event_type is EventType.STREAM_START
        count = Streamer.select().count()
        row, _ = Streamer.get_or_create(
            username=username,
            defaults={
                "kick_user_id": 1000 + count + 1,
                "kick_channel_id": 5000 + count + 1,
                "display_name": username.capitalize(),
                "profile_picture_url": f"https://files.kick.com/images/{username}.webp",
                "created_at": now,
                "updated_at": now,
            },
        )
        previous = str(row.status)
        row.status = str(Status.ONLINE if starts else Status.OFFLINE)
        row.current_title = f"{username} plays" if starts else None
        row.current_category = "Just Chatting" if starts else None
        row.last_status_update = now
        row.updated_at = now
        row.save()
        event = StatusEvent.create(
            streamer=row,
            event_type=str(event_type),
            previous_status=previous,
            new_status=row.status,
            event_timestamp=now,
            received_timestamp=now,
            processed_timestamp=now,
        )
        streamer = to_streamer_record(row)
        record = to_event_record(event, username)
        published: StreamStarted | StreamEnded = (
            StreamStarted(streamer, record, initial=False)
            if starts
            else StreamEnded(streamer, record, initial=False)
        )
        self.loop.call_soon_threadsafe(self.bus.publish, published)
        return published

    async def change_details(
        self, username: str, *, title: str | None = None, category: str | None = None
    ) -> StreamDetailsChanged:
        """Record a new title and/or category of `username`'s live stream, as a push would
        bring it, and publish the change with the streamer's rule, as the monitor does."""
        self.clock.advance(1)
        return await self.db(self._store_details, username, title, category)

    def _store_details(
        self, username: str, title: str | None, category: str | None
    ) -> StreamDetailsChanged:
        store = RuleStore(self.ctx.database, self.clock)
        row = Streamer.get(Streamer.username == username)
        seen = DetailsSeen(row.id, self.clock.now(), "pusher", title=title, category=category)
        [(streamer, changes)] = store.record_details([seen])
        published = StreamDetailsChanged(streamer, changes, store.all_rules().get(streamer.id))
        self.loop.call_soon_threadsafe(self.bus.publish, published)
        return published

    async def read_until(
        self, read: Callable[[], T], done: Callable[[T], object], within: float = 10.0
    ) -> T:
        """`read()` on the database thread, again until `done(value)` (a mark is written just
        after the send it records)."""
        deadline = time.monotonic() + within
        while True:
            value = await self.db(read)
            if done(value) or time.monotonic() > deadline:
                return value
            await asyncio.sleep(0.01)

    async def advance(self, seconds: float) -> None:
        """Move the clock and let the dispatcher look at it."""
        self.clock.advance(seconds)
        self.service.dispatcher.wake()
        await asyncio.sleep(0)


async def wait_until(condition: Callable[[], object], within: float = 10.0, what: str = "") -> None:
    """Wait (without blocking the loop) until `condition()` is true; fail after `within` s."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or condition}")
        await asyncio.sleep(0.01)


def add_target(db_path: Path, clock: ManualClock, url: str, **options: object) -> None:
    """Store an alert target in the database at `db_path`, as `kickwatch target add` does."""
    ctx = open_store(db_path, clock)
    try:
        TargetStore(ctx.database, ctx.secrets, clock).add(url, **options)  # type: ignore[arg-type]
    finally:
        ctx.close()


async def restart_twice(
    db_path: Path,
    clock: ManualClock,
    receiver: Receiver,
    *,
    sent: int,
    live: tuple[str, str],
    read: Callable[[], T] | None = None,
    done: Callable[[T], object] = bool,
) -> T | None:
    """After a stop with one alert waiting (`sent` reached the receiver before it): start
    again, which sends the waiting one, then `live[0]`'s go-live; start a third time, which
    sends `live[1]`'s go-live only. Returns `read()` from the third start, once `done` with it."""
    async with Alerts(open_store(db_path, clock), clock) as second:
        await wait_until(lambda: len(receiver.posts) >= sent + 1, what="the waiting alert")
        await second.record(live[0], EventType.STREAM_START)
        await wait_until(lambda: len(receiver.posts) >= sent + 2, what=f"{live[0]}'s go-live")
    async with Alerts(open_store(db_path, clock), clock) as third:
        await third.record(live[1], EventType.STREAM_START)  # a positive sign it is running
        await wait_until(lambda: len(receiver.posts) >= sent + 3, what=f"{live[1]}'s go-live")
        return None if read is None else await third.read_until(read, done)
