"""Monitors as workers on one PostgreSQL database: each subscribes to and reconciles only the
streamers it holds, two split the channels between them and record every change once, a clean
stop hands over at once, a worker that loses the database keeps what it held; on SQLite nothing
leases and one monitor watches every streamer."""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from kickwatch.domain.errors import ValidationError
from kickwatch.domain.status import EventType
from kickwatch.monitor import events as ev
from kickwatch.monitor.headless import LinePrinter
from kickwatch.monitor.leasing import (
    ENV_WORKER_NAME,
    LeaseChange,
    LeaseKeeper,
    LeaseOptions,
    build_lease_keeper,
    make_worker_id,
    worker_name,
)
from kickwatch.monitor.monitor import build_monitor
from kickwatch.store import Database, Repository, open_database
from kickwatch.store.leases import LeaseRound, LeaseStore, PeerCheck, holders
from tests.clock import ManualClock
from tests.fakekick import FakeChannel, FakeKick, wait_for
from tests.monitor.helpers import BusLog, Harness, monitor_options, open_test_context
from tests.store.postgres import PostgresServer

LEASE_SECONDS = 1.5  # rounds every half second

MakeWorker = Callable[[str], Harness]


@pytest_asyncio.fixture
async def make_worker(fake_kick: FakeKick, tmp_path: Path) -> AsyncIterator[MakeWorker]:
    """Monitors on `db_url` wired as `kickwatch run` wires them (leases on PostgreSQL)."""
    made: list[Harness] = []

    def make(db_url: str) -> Harness:
        home = tmp_path / f"home{len(made)}"
        ctx = open_test_context(db_url, home, fake_kick, credentials=True)
        http = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
        leases = build_lease_keeper(ctx, LeaseOptions(LEASE_SECONDS))
        monitor = build_monitor(ctx, http, monitor_options(), leases=leases)
        bus = BusLog()
        monitor.bus.subscribe(bus)
        harness = Harness(fake_kick, ctx, http, monitor, bus)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        if harness.monitor.connection_state is not ev.ConnectionState.CLOSED:  # not stopped yet
            await harness.monitor.stop()
        await harness.http.aclose()
    # Two contexts in one process share the models' database binding, so a monitor's threads
    # may hold connections of the other's pool: close the pools once those threads are gone.
    await wait_for(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("kickwatch-")],
        5,
        what="the monitors' threads ended",
    )
    for harness in made:
        harness.ctx.close()


def watched_by(kick: FakeKick, channels: list[FakeChannel]) -> list[int]:
    """How many connections subscribe to each channel, in order."""
    return [len(kick.pusher.subscribers(f"channel.{c.channel_id}")) for c in channels]


def held_channels(harness: Harness) -> frozenset[int]:
    return harness.monitor.subscribed_channels


@pytest.mark.postgres
async def test_two_workers_split_the_channels_and_record_each_change_once(
    fake_kick: FakeKick, make_worker: MakeWorker, pg_url: str
) -> None:
    channels = [fake_kick.add_channel(f"w{i:02d}") for i in range(10)]
    first = make_worker(pg_url)
    for channel in channels:
        first.add(channel)
    await first.start()
    assert held_channels(first) == {c.channel_id for c in channels}
    [leases] = first.bus.of(ev.LeasesChanged)
    assert (leases.held, leases.active, leases.workers) == (10, 10, 1)
    assert leases.gained == tuple(c.slug for c in channels)

    second = make_worker(pg_url)
    await second.start(connected=False)
    await wait_for(
        lambda: (
            len(held_channels(first)) == len(held_channels(second)) == 5
            and watched_by(fake_kick, channels) == [1] * 10
        ),
        10,
        what="the channels split five and five, each subscribed once",
    )
    assert held_channels(first).isdisjoint(held_channels(second))
    assert first.bus.of(ev.LeasesChanged)[-1].lost == tuple(c.slug for c in channels[5:])
    assert second.bus.of(ev.LeasesChanged)[-1].gained == tuple(c.slug for c in channels[5:])
    assert first.monitor.leases is not None and second.monitor.leases is not None
    by_worker = holders(first.ctx.database, first.ctx.clock)
    assert {i for i, w in by_worker.items() if w == second.monitor.leases.worker_id} == {
        s.id for s in second.monitor.streamers()
    }
    assert set(by_worker.values()) == {
        first.monitor.leases.worker_id,
        second.monitor.leases.worker_id,
    }
    await wait_for(lambda: first.reconcile_idle and second.reconcile_idle, 5)

    for channel in channels:
        fake_kick.go_live(channel.slug)
    await wait_for(
        lambda: len(first.rows(EventType.STREAM_START)) == 10, 10, what="ten starts stored"
    )
    await wait_for(
        lambda: len(first.bus.of(ev.StreamStarted)) + len(second.bus.of(ev.StreamStarted)) == 10,
        5,
        what="every start announced",
    )
    announced = [e.streamer.username for h in (first, second) for e in h.bus.of(ev.StreamStarted)]
    assert sorted(announced) == [c.slug for c in channels]  # each once, by its holder
    assert {e.streamer.username for e in second.bus.of(ev.StreamStarted)} == {
        c.slug for c in channels[5:]
    }


@pytest.mark.postgres
async def test_a_cleanly_stopped_worker_hands_its_streamers_over_without_waiting_for_expiry(
    fake_kick: FakeKick, make_worker: MakeWorker, pg_url: str
) -> None:
    channels = [fake_kick.add_channel(f"h{i}") for i in range(6)]
    first = make_worker(pg_url)
    for channel in channels:
        first.add(channel)
    await first.start()
    second = make_worker(pg_url)
    await second.start(connected=False)
    await wait_for(lambda: len(held_channels(second)) == 3, 10, what="second holds its half")
    await second.monitor.stop()
    rows = first.ctx.database.handle.execute_sql("SELECT count(*) FROM worker").fetchone()
    assert rows[0] == 1, "the stopped worker left the worker table"
    # The next round of the first takes them: a third of the lease time, not all of it.
    await wait_for(
        lambda: held_channels(first) == {c.channel_id for c in channels},
        LEASE_SECONDS,
        what="the first took every channel back",
    )


@pytest.mark.postgres
async def test_a_worker_that_cannot_reach_the_database_keeps_what_it_held(
    own_pg_server: PostgresServer,
) -> None:
    own_pg_server.sql("CREATE DATABASE kw_leases")
    url = own_pg_server.url("kw_leases")
    clock = ManualClock()
    database = open_database(url)
    try:
        repository = Repository(database, clock)
        ids = {repository.add_streamer(f"k{i}", i + 1).id for i in range(3)}
        store = LeaseStore(database, "solo", timedelta(seconds=20), clock)
        keeper = LeaseKeeper(store, LeaseOptions(30), clock)
        first = await keeper.renew()
        assert first is not None and first.gained == ids and keeper.held == ids
        assert await keeper.renew() is None  # nothing changed
        own_pg_server.pg_ctl("-m", "immediate", "-w", "stop")
        assert await keeper.renew() is None
        assert keeper.held == ids and keeper.failures == 1
        own_pg_server.start()
        clock.advance(5)
        assert await keeper.renew() is None  # reachable again, still holding the same
        assert keeper.failures == 0 and keeper.last_round is not None
        assert keeper.last_round.at == clock.now()
        await keeper.stop()
        assert keeper.held == frozenset()
    finally:
        database.close()


@pytest.mark.postgres
async def test_the_lease_loop_renews_on_its_interval_and_reports_what_it_gains(
    pg_url: str,
) -> None:
    clock = ManualClock()
    database = open_database(pg_url)
    repository = Repository(database, clock)
    repository.add_streamer("early", 1)
    options = LeaseOptions(0.3)
    assert options.interval == pytest.approx(0.1)
    assert options.valid_for == timedelta(seconds=0.15)
    keeper = LeaseKeeper(LeaseStore(database, "loop", options.valid_for, clock), options, clock)
    changes: list[frozenset[int]] = []

    async def on_changed(change: LeaseChange) -> None:
        changes.append(change.gained)

    await keeper.renew()
    task = asyncio.ensure_future(keeper.run(on_changed))
    try:
        late = repository.add_streamer("late", 2)
        await wait_for(lambda: changes == [frozenset({late.id})], 5, what="the late one gained")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await keeper.stop()
        database.close()


class RecordingStore(LeaseStore):
    """A worker's lease store that notes, by its clock, when it ran a round or looked at peers."""

    def __init__(
        self, database: Database, worker_id: str, valid_for: timedelta, clock: ManualClock
    ) -> None:
        super().__init__(database, worker_id, valid_for, clock)
        self.rounds: list[float] = []
        self.checks: list[tuple[float, bool]] = []

    def renew(self) -> LeaseRound:
        self.rounds.append(self.clock.monotonic())
        return super().renew()

    def check_peers(self) -> PeerCheck:
        check = super().check_peers()
        self.checks.append((self.clock.monotonic(), check.expired))
        return check


class SteppedTime:
    """A `sleep` for a keeper that moves a manual clock instead of waiting: `peer` renews every
    `peer_every` seconds of it from `peer_next` (None: the peer is dead), and at `until` the
    keeper's loop is held and `reached` set."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.until = math.inf
        self.peer: LeaseStore | None = None
        self.peer_next: float | None = None
        self.peer_every = 10.0
        self.reached = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        target = self.clock.monotonic() + seconds
        if target > self.until:
            self.reached.set()
            await asyncio.Event().wait()  # held until cancelled
        while self.peer is not None and self.peer_next is not None and self.peer_next <= target:
            self.clock.advance(self.peer_next - self.clock.monotonic())
            self.peer.renew()
            self.peer_next += self.peer_every
        self.clock.advance(target - self.clock.monotonic())
        await asyncio.sleep(0)


async def split_between_keeper_and_peer(
    pg_url: str, time: SteppedTime, options: LeaseOptions
) -> tuple[Database, RecordingStore, LeaseKeeper, LeaseStore, frozenset[int]]:
    """Six streamers, three held by a keeper's worker (sleeping on `time`) and three by a peer,
    both renewed just now; returns the peer's ids with the rest."""
    clock = time.clock
    database = open_database(pg_url)
    repository = Repository(database, clock)
    for i in range(6):
        repository.add_streamer(f"split{i}", i + 1)
    store = RecordingStore(database, "keeper", options.valid_for, clock)
    peer = LeaseStore(database, "peer", options.valid_for, clock)
    keeper = LeaseKeeper(store, options, clock, time.sleep)
    await keeper.renew()  # all six
    peer.renew()  # none free yet
    await keeper.renew()  # releases three
    held_by_peer = peer.renew().held
    await keeper.renew()
    assert len(keeper.held) == len(held_by_peer) == 3
    store.rounds.clear()
    return database, store, keeper, peer, held_by_peer


async def run_keeper_until(
    keeper: LeaseKeeper, time: SteppedTime
) -> list[tuple[float, frozenset[int]]]:
    """Run the keeper's loop on stepped time up to `time.until`; the changes it reported, each
    with the clock's time."""
    changes: list[tuple[float, frozenset[int]]] = []

    async def on_changed(change: LeaseChange) -> None:
        changes.append((time.clock.monotonic(), change.gained))

    task = asyncio.ensure_future(keeper.run(on_changed))
    try:
        await asyncio.wait_for(time.reached.wait(), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return changes


@pytest.mark.postgres
async def test_a_dead_workers_streamers_are_claimed_when_its_leases_run_out_not_a_round_later(
    pg_url: str,
) -> None:
    clock = ManualClock()
    time = SteppedTime(clock)
    options = LeaseOptions(30)  # rounds every 10 s, renewals hold 15 s
    database, store, keeper, _, peers = await split_between_keeper_and_peer(pg_url, time, options)
    try:
        died = clock.monotonic()  # the peer renewed last just now
        time.until = died + 40
        changes = await run_keeper_until(keeper, time)
        # Seconds after its death, to the millisecond: 0.05 is the keeper's grace.
        assert [round(at - died, 3) for at in store.rounds[:3]] == [
            10,  # the usual round; the peer still holds
            15.05,  # the peer ran out: a round at once
            25.05,
        ]
        assert [(round(at - died, 3), expired) for at, expired in store.checks] == [(15.05, True)]
        assert [(round(at - died, 3), gained) for at, gained in changes] == [(15.05, peers)]
        assert peers <= keeper.held and len(keeper.held) == 6
    finally:
        await keeper.stop()
        database.close()


@pytest.mark.postgres
async def test_a_live_worker_costs_a_look_at_its_expiry_and_no_extra_round(pg_url: str) -> None:
    clock = ManualClock()
    time = SteppedTime(clock)
    options = LeaseOptions(30)
    database, store, keeper, peer, peers = await split_between_keeper_and_peer(
        pg_url, time, options
    )
    try:
        start = clock.monotonic()
        # The peer renews 4 s into each of the keeper's 10 s, so its renewal holds until 9 s
        # into the next: the keeper looks then and finds it renewed at 4.
        time.until, time.peer, time.peer_next = start + 60, peer, start + 4
        changes = await run_keeper_until(keeper, time)
        assert [round(at - start, 3) for at in store.rounds] == [10 * n for n in range(1, 7)]
        assert [(round(at - start, 3), expired) for at, expired in store.checks] == [
            (10 * n + 9.05, False) for n in range(1, 6)
        ]
        assert changes == [] and keeper.held.isdisjoint(peers) and len(keeper.held) == 3
    finally:
        await keeper.stop()
        database.close()


async def test_on_sqlite_nothing_leases_and_one_monitor_watches_every_streamer(
    fake_kick: FakeKick, make_worker: MakeWorker, tmp_path: Path
) -> None:
    channels = [fake_kick.add_channel(f"q{i}") for i in range(4)]
    harness = make_worker(str(tmp_path / "kickwatch.db"))
    assert harness.monitor.leases is None
    for channel in channels:
        harness.add(channel)
    await harness.start()
    assert held_channels(harness) == {c.channel_id for c in channels}
    assert harness.bus.of(ev.LeasesChanged) == []
    rows = harness.ctx.database.handle.execute_sql("SELECT count(*) FROM streamer_lease")
    assert rows.fetchone()[0] == 0


def test_a_worker_is_named_by_option_then_environment_then_setting_then_host() -> None:
    environ = {ENV_WORKER_NAME: "eu-1"}
    assert worker_name(environ, "fleet", "cli-name") == "cli-name"
    assert worker_name(environ, "fleet") == "eu-1"
    assert worker_name({}, "fleet") == "fleet"
    assert worker_name({}, "") == socket.gethostname()
    name, pid, token = make_worker_id("eu-1").split(":")
    assert (name, pid) == ("eu-1", str(os.getpid())) and len(token) == 6
    assert make_worker_id("eu-1") != make_worker_id("eu-1")  # two workers never share an id


async def test_a_bad_worker_name_is_refused_by_the_setting_rule(
    fake_kick: FakeKick, pg_url: str, tmp_path: Path
) -> None:
    ctx = open_test_context(pg_url, tmp_path, fake_kick, credentials=False)
    try:
        with pytest.raises(ValidationError, match=r"monitoring\.worker_name: must be up to 63"):
            build_lease_keeper(ctx, name="no spaces: please")
        keeper = build_lease_keeper(ctx, name="eu-1")
        assert keeper is not None and keeper.worker_id.startswith("eu-1:")
    finally:
        ctx.close()


async def test_the_lease_time_is_a_setting_with_a_floor(
    fake_kick: FakeKick, pg_url: str, tmp_path: Path
) -> None:
    ctx = open_test_context(pg_url, tmp_path, fake_kick, credentials=False)
    try:
        with pytest.raises(ValidationError, match=r"lease_seconds: must be at least 3, not 2"):
            ctx.settings.set("monitoring.lease_seconds", "2")
        ctx.settings.set("monitoring.lease_seconds", "12")
        keeper = build_lease_keeper(ctx)
        assert keeper is not None
        assert keeper.options.interval == 4 and keeper.store.valid_for == timedelta(seconds=6)
    finally:
        ctx.close()


def test_run_prints_a_leases_line_saying_which_worker_holds_what() -> None:
    event = ev.LeasesChanged("eu-1:42:abcdef", 2, 5, 3, ("alpha", "beta"), ("gamma",))
    line = LinePrinter(io.StringIO(), json_lines=True).format(event)
    assert line is not None and json.loads(line) == {
        "event": "leases",
        "worker": "eu-1:42:abcdef",
        "held": 2,
        "active": 5,
        "workers": 3,
        "gained": ["alpha", "beta"],
        "lost": ["gamma"],
    }
    text = LinePrinter(io.StringIO(), json_lines=False).format(event)
    assert text == "leases: worker eu-1:42:abcdef watches 2 of 5 streamers (3 workers live; +2 -1)"
