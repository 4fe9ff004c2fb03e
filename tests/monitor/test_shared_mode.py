"""The shared mode on a real PostgreSQL: a desktop client that LISTENs is told of every change a
writer commits, once and in order, exactly the changes the writer's own monitor would announce;
nothing of a rolled-back transaction; after its LISTEN connection is killed it reconnects and
catches up, with nothing lost (not even a change that committed out of id order during the
outage) and nothing repeated. `kickwatch run` is the writer in shared mode too. The mode itself
is refused on SQLite with a clear message."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio

from kickwatch.context import Context, open_context
from kickwatch.domain.errors import ConfigurationError, ValidationError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import EventType, Status
from kickwatch.kick.backoff import Backoff
from kickwatch.monitor import events as ev
from kickwatch.monitor.listen import EventCursor, ListenOptions
from kickwatch.monitor.monitor import Monitor
from kickwatch.monitor.shared import SharedMonitor, SharedOptions, desktop_monitor, monitoring_mode
from kickwatch.store import StatusChange
from kickwatch.store import batch as batch_module
from kickwatch.store.event_notify import StoredEvent, notify_events
from kickwatch.store.repository import BatchResult
from tests.cli.helpers import make_cli
from tests.clock import ManualClock
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeKick, wait_for
from tests.fakekick.home import NoKeyring
from tests.monitor.helpers import BusLog
from tests.monitor.test_headless import RunningMonitor

pytestmark = pytest.mark.postgres
MASTER_KEY = "cli-test-key"  # the key `make_cli` gives the `kickwatch` subprocess


def listen_options(**changes: Any) -> ListenOptions:
    values: dict[str, Any] = {
        "poll_seconds": 0.05,
        "backoff": Backoff(initial=0.05, maximum=0.2, jitter=0.0),
    }
    values.update(changes)
    return ListenOptions(**values)


def context(url: str, home: Path, clock: ManualClock | None = None) -> Context:
    environ = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": MASTER_KEY}
    return open_context(url, environ=environ, clock=clock, keyring_module=NoKeyring())


@dataclass
class Client:
    """A started shared-mode monitor and everything it published."""

    monitor: SharedMonitor
    bus: BusLog

    def changes(self) -> list[ev.StreamStarted | ev.StreamEnded]:
        return [e for e in self.bus.events if isinstance(e, ev.StreamStarted | ev.StreamEnded)]

    def ids(self) -> list[int]:
        return [e.event.id for e in self.changes()]


@dataclass
class Writer:
    """A second process's worth of writing: its own context, the batches it committed."""

    ctx: Context
    clock: ManualClock
    applied: list[int] = field(default_factory=list)  # ids its own monitor would announce
    counter: int = 0

    def add(self, name: str, user_id: int) -> StreamerRecord:
        return self.ctx.repository.add_streamer(name, user_id)

    def change(self, streamer: StreamerRecord, event_type: EventType) -> StatusChange:
        """A start or end of a new broadcast, a second after the previous change."""
        self.counter += 1
        self.clock.advance(1)
        at = self.clock.now()
        return StatusChange(
            streamer.id,
            event_type,
            at,
            at,
            kick_event_id=f"{streamer.id}:{self.counter}:{event_type}",
            livestream_id=str(self.counter) if event_type is EventType.STREAM_START else None,
            broadcast_started_at=at if event_type is EventType.STREAM_START else None,
        )

    def commit(self, *changes: StatusChange) -> BatchResult:
        result = self.ctx.repository.apply_changes(changes)
        self.applied.extend(applied.event.id for applied in result.applied)
        return result

    async def last_one(self, client: Client, streamer: StreamerRecord) -> None:
        """Commit one more change and wait until the client has it: everything committed
        before it has been read by then (one writer commits in id order)."""
        result = self.commit(self.change(streamer, EventType.STREAM_START))
        last = result.applied[-1].event.id
        await wait_for(lambda: last in client.ids(), 10, what="the last change")

    def in_thread(self, function: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
        """Run `function` in a thread of its own: another writer, on its own connection."""

        def run() -> None:
            try:
                function(*args)
            finally:
                self.ctx.database.close()  # this thread's connection

        thread = threading.Thread(target=run, name=name)
        thread.start()
        return thread

    def flips(self, streamers: list[StreamerRecord], rounds: int, per_batch: int = 3) -> None:
        """Every streamer goes live and offline `rounds` times, `per_batch` changes a commit."""
        changes = [
            self.change(streamer, kind)
            for _ in range(rounds)
            for kind in (EventType.STREAM_START, EventType.STREAM_END)
            for streamer in streamers
        ]
        for start in range(0, len(changes), per_batch):
            self.commit(*changes[start : start + per_batch])


@pytest.fixture
def shared_ctx(pg_url: str, tmp_path: Path) -> Iterator[Context]:
    """One context for the writer and the client of a test: peewee binds its models to one
    database per process (they stand for two processes; the LISTEN session is the client's
    own all the same)."""
    ctx = context(pg_url, tmp_path / "home", ManualClock())
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def writer(shared_ctx: Context) -> Writer:
    assert isinstance(shared_ctx.clock, ManualClock)
    return Writer(shared_ctx, shared_ctx.clock)


@pytest_asyncio.fixture
async def start_client(pg_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[SharedMonitor] = []

    async def start(ctx: Context | None = None, **listen: Any) -> Client:
        monitor = SharedMonitor(
            ctx or context(pg_url, tmp_path / "desktop"),
            SharedOptions(watch_interval=0.1, listen=listen_options(**listen)),
        )
        bus = BusLog()
        monitor.bus.subscribe(bus)
        started.append(monitor)
        await monitor.start()
        await wait_for(
            lambda: monitor.connection_state is ev.ConnectionState.CONNECTED,
            10,
            what="the client listening",
        )
        return Client(monitor, bus)

    yield start
    for monitor in started:
        await monitor.stop()
        monitor.ctx.close()


def terminate(url: str, pid: int | None) -> None:
    assert pid is not None
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(%s)", [pid])


async def test_a_client_hears_each_committed_change_once_in_order_as_the_writer_announced_it(
    writer: Writer, start_client: Callable[..., Any]
) -> None:
    streamers = [writer.add(name, n) for n, name in enumerate(["alice", "bob", "carol"], 1)]
    old = writer.change(streamers[0], EventType.STREAM_START)
    writer.commit(old)  # history before the client starts: never announced
    client = await start_client(writer.ctx)

    writer.in_thread(writer.flips, streamers, 5, name="writer").join(30)
    # A start of a new broadcast while online (the end was missed: a stand-in is stored, and
    # not announced), then the missed end arriving late (history, not announced either).
    alice = streamers[0]
    first = writer.change(alice, EventType.STREAM_START)
    second = writer.change(alice, EventType.STREAM_START)
    assert first.event_timestamp is not None
    late_end = StatusChange(
        alice.id,
        EventType.STREAM_END,
        second.received_timestamp,
        first.event_timestamp + timedelta(milliseconds=500),
        livestream_id=first.livestream_id,
        broadcast_started_at=first.broadcast_started_at,
    )
    writer.commit(first)
    writer.commit(second)
    result = writer.commit(late_end)
    assert result.history and not result.applied

    await writer.last_one(client, streamers[1])
    assert client.ids() == writer.applied[1:]  # the one before the client started is left out
    assert len(set(client.ids())) == len(client.ids())
    kinds = [type(e) for e in client.changes()[:6]]
    assert kinds == [ev.StreamStarted] * 3 + [ev.StreamEnded] * 3
    assert {e.streamer.username for e in client.changes()} == {"alice", "bob", "carol"}
    assert not any(e.initial or e.after_resume for e in client.changes())
    assert [s.username for s in client.monitor.live_streamers()] == ["alice", "bob"]


async def test_a_rolled_back_transaction_tells_the_client_nothing(
    writer: Writer, start_client: Callable[..., Any]
) -> None:
    alice = writer.add("alice", 1)
    client = await start_client(writer.ctx)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), writer.ctx.database.handle.atomic():
        writer.ctx.repository.apply_changes([writer.change(alice, EventType.STREAM_START)])
        raise Abandoned
    committed = writer.commit(writer.change(alice, EventType.STREAM_START))

    await wait_for(lambda: client.ids(), 10, what="the committed change")
    assert client.ids() == [committed.applied[0].event.id]


async def test_after_its_listen_connection_is_killed_the_client_catches_up_losing_and_repeating_nothing(  # noqa: E501
    writer: Writer, start_client: Callable[..., Any], pg_url: str
) -> None:
    streamers = [writer.add(name, n) for n, name in enumerate(["alice", "bob"], 1)]
    client = await start_client(writer.ctx, backoff=Backoff(initial=1.5, maximum=1.5, jitter=0.0))
    listener = client.monitor.listener

    writer.flips(streamers, 3)
    await wait_for(lambda: client.ids() == writer.applied, 10, what="the first changes")
    terminate(pg_url, listener.backend_pid)
    await wait_for(
        lambda: client.monitor.connection_state is ev.ConnectionState.RECONNECTING,
        10,
        what="the client noticing",
    )
    writer.flips(streamers, 3)  # committed while nobody listens
    assert listener.connections == 1, "the outage ended before the writes: nothing was proven"
    await wait_for(lambda: listener.connections == 2, 10, what="the reconnection")
    writer.flips(streamers, 3)  # committed after the reconnection: NOTIFYs again

    await writer.last_one(client, streamers[0])
    assert client.ids() == writer.applied
    states = [e.state for e in client.bus.of(ev.ConnectionStateChanged)]
    assert states[-2:] == [ev.ConnectionState.RECONNECTING, ev.ConnectionState.CONNECTED]


async def test_a_change_that_commits_out_of_id_order_during_an_outage_is_caught_up(
    writer: Writer,
    start_client: Callable[..., Any],
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob = writer.add("alice", 1), writer.add("bob", 2)
    client = await start_client(writer.ctx, backoff=Backoff(initial=1.5, maximum=1.5, jitter=0.0))
    listener = client.monitor.listener
    paused, release = threading.Event(), threading.Event()
    finish = batch_module.Batch.finish

    def paused_finish(self: Any) -> None:
        finish(self)
        if threading.current_thread().name == "slow-writer":
            paused.set()
            release.wait(10)  # its row has an id, but is not committed yet

    monkeypatch.setattr(batch_module.Batch, "finish", paused_finish)
    slow = writer.change(alice, EventType.STREAM_START)
    slow_thread = writer.in_thread(writer.commit, slow, name="slow-writer")
    assert paused.wait(10)
    quick = writer.commit(writer.change(bob, EventType.STREAM_START))  # the higher id, first
    await wait_for(lambda: client.ids() == [quick.applied[0].event.id], 10, what="bob's start")

    terminate(pg_url, listener.backend_pid)
    await wait_for(
        lambda: client.monitor.connection_state is ev.ConnectionState.RECONNECTING,
        10,
        what="the client noticing",
    )
    release.set()
    slow_thread.join(10)  # alice's start commits while nobody listens, below bob's id
    assert listener.connections == 1, "the outage ended before the commit: nothing was proven"

    await wait_for(lambda: len(client.ids()) == 2, 10, what="alice's start caught up")
    assert sorted(client.ids()) == sorted(writer.applied)
    assert client.ids()[1] < client.ids()[0]


def test_the_cursor_keeps_unseen_ids_until_they_settle() -> None:
    cursor = EventCursor(settle_seconds=60)
    cursor.begin_at(10)
    cursor.mark(13, now=0)  # 11 and 12 are in flight (or rolled back)
    assert (cursor.floor, cursor.newest) == (10, 13)
    assert not cursor.is_new(13) and cursor.is_new(11)
    cursor.mark(11, now=1)
    assert cursor.floor == 11  # 12 is still open
    cursor.expire(59)
    assert cursor.floor == 11
    cursor.expire(61)  # 12 never came: a rolled-back transaction's id
    assert cursor.floor == 13
    cursor.mark(12, now=62)  # a very late commit, named by its NOTIFY, is still news once
    assert not cursor.is_new(12) and cursor.floor == 13


async def test_kickwatch_run_is_the_writer_in_shared_mode_and_the_client_hears_what_it_printed(
    fake_kick_thread: FakeKick, pg_url: str, tmp_path: Path, start_client: Callable[..., Any]
) -> None:
    kick = fake_kick_thread
    setup = context(pg_url, tmp_path / "setup")
    try:
        for slug in ("alpha", "beta"):
            channel = kick.add_channel(slug)
            setup.repository.add_streamer(slug, channel.user_id, kick_channel_id=channel.channel_id)
        setup.settings.set_many(
            {
                "auth.client_id": CLIENT_ID,
                "auth.client_secret": CLIENT_SECRET,
                "monitoring.mode": "shared",
            }
        )
    finally:
        setup.close()
    client = await start_client()
    cli = make_cli(tmp_path / "worker", KICKWATCH_DB=pg_url, **kick.env())
    run = RunningMonitor(cli, "--json")
    try:
        await wait_for(
            lambda: "connected" in run.states() and len(kick.pusher.open_connections) == 1,
            20,
            what="kickwatch run connected",
        )
        await wait_for(  # the start-up check stored (else a start would follow "unknown")
            lambda: (
                {s.status for s in client.monitor.ctx.repository.all_streamers()}
                == {Status.OFFLINE}
            ),
            20,
            what="the start-up check",
        )
        kick.go_live("alpha")
        kick.go_live("beta")
        await wait_for(lambda: len(run.changes("beta", "stream_start")) == 1, 10)
        kick.go_offline("alpha")
        await wait_for(lambda: len(run.changes("alpha", "stream_end")) == 1, 10)
        printed = [line["id"] for line in run.lines if "event_type" in line]
        await wait_for(lambda: printed[-1] in client.ids(), 10, what="the client")
    finally:
        run.kill()
    assert client.ids() == printed
    assert [s.username for s in client.monitor.live_streamers()] == ["beta"]


def test_shared_mode_is_refused_on_sqlite_with_a_clear_message(tmp_path: Path) -> None:
    ctx = context(str(tmp_path / "k.db"), tmp_path)
    try:
        with pytest.raises(ValidationError, match="shared needs a PostgreSQL database"):
            ctx.settings.set("monitoring.mode", "shared")
        with pytest.raises(ValidationError, match="must be local or shared"):
            ctx.settings.set("monitoring.mode", "sometimes")
        assert ctx.settings.get("monitoring.mode") == "local"
        # Stored behind the settings' back (an older kickwatch, a hand edit): start-up says so.
        ctx.config.set("monitoring.mode", "shared", updated_by="test")
        with pytest.raises(ConfigurationError, match="needs a PostgreSQL database"):
            monitoring_mode(ctx)
        assert notify_events("sqlite") == []
    finally:
        ctx.close()


async def test_the_desktop_monitor_follows_the_mode(pg_url: str, tmp_path: Path) -> None:
    ctx = context(pg_url, tmp_path)
    try:
        async with httpx.AsyncClient() as http:
            assert isinstance(desktop_monitor(ctx, http), Monitor)
            ctx.settings.set("monitoring.mode", "shared")
            assert isinstance(desktop_monitor(ctx, http), SharedMonitor)
        assert ctx.settings.get("monitoring.mode") == "shared"
    finally:
        ctx.close()


@pytest.mark.parametrize("added_after_the_read", [False, True], ids=["known", "new"])
async def test_a_reload_of_the_streamers_that_read_before_a_delivery_keeps_the_delivered_state(
    shared_ctx: Context,
    writer: Writer,
    start_client: Callable[..., Any],
    added_after_the_read: bool,
) -> None:
    carol = None if added_after_the_read else writer.add("carol", 3)
    client = await start_client(shared_ctx)
    monitor = client.monitor
    # Read before carol's start commits, or (new) before carol is even added.
    stale = shared_ctx.repository.active_streamers()
    carol = carol or writer.add("carol", 3)
    result = writer.commit(writer.change(carol, EventType.STREAM_START))
    record = shared_ctx.repository.get_by_id(carol.id)
    assert record is not None and record.status is Status.ONLINE
    event = result.applied[0].event

    async def slow_read(function: Callable[..., Any], *args: Any) -> Any:
        if function == shared_ctx.repository.active_streamers:
            # The delivery of carol's start lands while the read is in flight.
            monitor._deliver([StoredEvent(event, record, announced=True)])
            return stale
        return function(*args)

    monitor._run = slow_read  # type: ignore[method-assign]
    await monitor._load_streamers()
    assert [s.username for s in monitor.live_streamers()] == ["carol"]
