"""Leases on a real PostgreSQL with a manual clock: claiming (SKIP LOCKED, never the same
streamer twice), renewing, expiring and taking over, rebalancing when a worker joins, a clean
leave, and the lease table on SQLite, where nothing leases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from kickwatch.domain.clock import SystemClock
from kickwatch.domain.records import StreamerRecord
from kickwatch.store import Database, Repository, open_database
from kickwatch.store.leases import (
    DatabaseClock,
    LeaseRound,
    LeaseStore,
    LeasingUnsupportedError,
    holders,
    overview,
)
from tests.clock import ManualClock

pytestmark = pytest.mark.postgres
VALID = timedelta(seconds=20)


@dataclass
class Shared:
    """One PostgreSQL database, its streamers, and workers on one manual clock."""

    database: Database
    repository: Repository
    clock: ManualClock

    def add(self, count: int, start: int = 0) -> list[StreamerRecord]:
        return [
            self.repository.add_streamer(f"s{i:03d}", i + 1, kick_channel_id=1000 + i)
            for i in range(start, start + count)
        ]

    def worker(self, name: str) -> LeaseStore:
        return LeaseStore(self.database, name, VALID, self.clock)

    def holders(self) -> dict[int, str]:
        return holders(self.database, self.clock)


@pytest.fixture
def shared(pg_url: str) -> Iterator[Shared]:
    database = open_database(pg_url)
    clock = ManualClock()
    yield Shared(database, Repository(database, clock), clock)
    database.close()


def test_a_lone_worker_claims_every_active_streamer_and_no_inactive_one(shared: Shared) -> None:
    records = shared.add(6)
    shared.repository.set_active(records[0].username, False)
    result = shared.worker("a").renew()
    assert result.held == {r.id for r in records[1:]}
    assert (result.workers, result.active, result.share) == (1, 5, 5)
    assert result.claimed == result.held and result.released == frozenset()
    assert shared.holders() == {r.id: "a" for r in records[1:]}


def test_two_workers_claiming_at_once_skip_each_others_rows_and_never_share_one(
    shared: Shared,
) -> None:
    records = shared.add(40)
    first, second = shared.worker("a"), shared.worker("b")
    first.renew()
    second.renew()  # both announced
    handle = shared.database.handle
    handle.execute_sql("UPDATE streamer_lease SET worker_id = NULL")  # every lease free
    with handle.atomic():  # the first worker's round, not yet committed: its rows stay locked
        held_a = first.renew().held
        held_b = renew_on_another_thread(shared, second).held
    assert len(held_a) == len(held_b) == 20
    assert held_a.isdisjoint(held_b)
    assert held_a | held_b == {r.id for r in records}


def test_renewed_leases_hold_and_unrenewed_ones_are_taken_over_once_expired(
    shared: Shared,
) -> None:
    records = shared.add(4)
    first, second = shared.worker("a"), shared.worker("b")
    assert len(first.renew().held) == 4
    shared.clock.advance(15)
    assert second.renew().held == frozenset()  # a's leases still hold
    assert first.renew().held == {r.id for r in records[:2]}  # two workers: share 2
    shared.clock.advance(15)
    assert second.renew().held == {r.id for r in records[2:]}  # released by a: free
    assert first.renew().held == {r.id for r in records[:2]}
    # a stops renewing; b renews, and takes a's streamers once a's leases have expired.
    shared.clock.advance(VALID.total_seconds() - 1)
    assert second.renew().held == {r.id for r in records[2:]}
    shared.clock.advance(2)
    taken = second.renew()
    assert taken.held == {r.id for r in records}
    assert taken.claimed == {r.id for r in records[:2]} and taken.workers == 1
    assert shared.holders() == {r.id: "b" for r in records}
    # a comes back: it lost them, and is below its share again, with nothing free to claim.
    back = first.renew()
    assert back.held == frozenset() and back.workers == 2


def test_a_dead_workers_streamers_are_claimed_while_another_round_taking_them_is_open(
    shared: Shared,
) -> None:
    shared.add(9)
    a, b, c = shared.worker("a"), shared.worker("b"), shared.worker("c")
    for worker in (a, b, c, a, b, c):
        worker.renew()
    dead = _by_worker(shared.holders())["c"]
    shared.clock.advance(10)  # c is gone; a and b go on renewing
    a.renew()
    b.renew()
    shared.clock.advance(11)  # c's leases expired
    with shared.database.handle.atomic():  # a's round, not yet committed
        by_a = a.renew().claimed  # two of c's three: a's share is ceil(9 / 2) = 5
        by_b = renew_on_another_thread(shared, b).claimed
    assert len(by_a) == 2 and by_b == dead - by_a  # not locked away from b
    assert set(_by_worker(shared.holders())) == {"a", "b"}
    rows = shared.database.handle.execute_sql("SELECT id FROM worker ORDER BY id").fetchall()
    assert [row[0] for row in rows] == ["a", "b", "c"]  # c still named by a lease in a's round
    a.renew()  # no lease names c now: forgotten
    rows = shared.database.handle.execute_sql("SELECT id FROM worker ORDER BY id").fetchall()
    assert [row[0] for row in rows] == ["a", "b"]


def test_a_round_tells_when_the_first_other_worker_runs_out_and_a_check_sees_that_it_did(
    shared: Shared,
) -> None:
    shared.add(4)
    a, b, c = shared.worker("a"), shared.worker("b"), shared.worker("c")
    alone = a.renew()
    assert alone.peer_expiry is None and a.check_peers().peer_expiry is None
    b.renew()
    shared.clock.advance(3)
    c.renew()
    b_expires = shared.clock.now() - timedelta(seconds=3) + VALID
    shared.clock.advance(1)
    assert a.renew().peer_expiry == b_expires  # b's runs out before c's
    shared.clock.advance((b_expires - shared.clock.now()).total_seconds())
    at_expiry = a.check_peers()  # a lease holds up to its last moment
    assert (at_expiry.expired, at_expiry.peer_expiry) == (False, b_expires)
    assert at_expiry.at == shared.clock.now()
    shared.clock.advance(0.5)
    ran_out = a.check_peers()
    assert ran_out.expired and ran_out.peer_expiry == b_expires + timedelta(seconds=3)  # c's
    after = a.renew()  # forgets b; c is still one of the others
    assert after.workers == 2 and after.peer_expiry == b_expires + timedelta(seconds=3)
    assert not a.check_peers().expired


def test_a_joining_worker_gets_its_share_as_the_others_release_their_excess(
    shared: Shared,
) -> None:
    records = shared.add(10)
    a, b, c = shared.worker("a"), shared.worker("b"), shared.worker("c")
    assert len(a.renew().held) == 10
    joined = b.renew()
    assert joined.held == frozenset() and (joined.workers, joined.share) == (2, 5)
    released = a.renew()
    assert released.released == {r.id for r in records[5:]}  # the highest ids go
    assert b.renew().held == {r.id for r in records[5:]}
    assert c.renew().share == 4  # ceil(10 / 3)
    for worker in (a, b, c, a, b, c):
        worker.renew()
    counts = sorted(len(ids) for ids in _by_worker(shared.holders()).values())
    assert counts == [2, 4, 4] and sum(counts) == 10


def test_a_dead_worker_is_forgotten_and_its_streamers_taken_over_by_the_living(
    shared: Shared,
) -> None:
    records = shared.add(9)
    a, b, c = shared.worker("a"), shared.worker("b"), shared.worker("c")
    for worker in (a, b, c, a, b, c):
        worker.renew()
    assert sorted(len(v) for v in _by_worker(shared.holders()).values()) == [3, 3, 3]
    shared.clock.advance(10)  # c is gone; a and b go on renewing
    a.renew()
    b.renew()
    shared.clock.advance(11)  # c's leases expired
    b.renew()  # b forgets c and claims up to its new share
    a.renew()
    final = _by_worker(shared.holders())
    assert set(final) == {"a", "b"}
    assert sorted(len(v) for v in final.values()) == [4, 5]
    assert set().union(*final.values()) == {r.id for r in records}
    rows = shared.database.handle.execute_sql("SELECT id FROM worker ORDER BY id").fetchall()
    assert [row[0] for row in rows] == ["a", "b"]


def test_a_clean_leave_hands_every_lease_back_at_once(shared: Shared) -> None:
    records = shared.add(6)
    a, b = shared.worker("a"), shared.worker("b")
    a.renew()
    b.renew()
    assert a.leave() == 6
    assert shared.holders() == {}
    taken = b.renew()  # no waiting for expiry: a has left
    assert taken.workers == 1 and taken.held == {r.id for r in records}


def test_switched_off_and_removed_streamers_lose_their_leases_and_new_ones_get_one(
    shared: Shared,
) -> None:
    records = shared.add(3)
    a = shared.worker("a")
    a.renew()
    shared.repository.set_active(records[0].username, False)
    shared.repository.remove_streamer(records[1].username)
    [added] = shared.add(1, start=3)
    assert a.renew().held == {records[2].id, added.id}
    rows = shared.database.handle.execute_sql("SELECT streamer_id FROM streamer_lease")
    assert {row[0] for row in rows.fetchall()} == {records[2].id, added.id}


def test_the_overview_names_each_live_worker_with_its_count_and_the_unheld(
    shared: Shared,
) -> None:
    shared.add(5)
    a, b = shared.worker("a"), shared.worker("b")
    a.renew()
    shared.clock.advance(1)
    b.renew()
    seen = overview(shared.database, shared.clock)
    assert [(w.worker_id, w.held) for w in seen.workers] == [("a", 5), ("b", 0)]
    assert (seen.active, seen.unheld) == (5, 0)
    assert seen.workers[1].heartbeat_at == shared.clock.now()
    shared.clock.advance(VALID.total_seconds() + 1)
    stale = overview(shared.database, shared.clock)
    assert (stale.workers, stale.unheld) == ([], 5)


def test_the_database_clock_reads_the_server_once_per_transaction(shared: Shared) -> None:
    clock = DatabaseClock(shared.database, SystemClock())
    handle = shared.database.handle
    with handle.atomic():
        first = clock.now()
        again = clock.now()
    later = clock.now()
    assert first.tzinfo is not None and first.utcoffset() == timedelta(0)
    assert first == again  # one instant for a whole round
    assert later >= first
    # The test server runs on this machine: its clock is this one.
    assert abs((first - SystemClock().now()).total_seconds()) < 60  # clock-ok


def test_sqlite_has_the_tables_but_no_leases_one_process_watches_everything(
    tmp_path: Path,
) -> None:
    database = open_database(str(tmp_path / "kickwatch.db"))
    try:
        tables = {
            row[0]
            for row in database.handle.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
        }
        assert {"worker", "streamer_lease"} <= tables
        with pytest.raises(LeasingUnsupportedError, match="one kickwatch process watches every"):
            LeaseStore(database, "a", VALID, ManualClock())
        with pytest.raises(LeasingUnsupportedError):
            overview(database, ManualClock())
    finally:
        database.close()


def renew_on_another_thread(shared: Shared, worker: LeaseStore) -> LeaseRound:
    """`worker`'s round on a thread of its own, as another process would run it; it must not
    wait for the rows the calling thread's open transaction holds."""
    done: list[LeaseRound] = []

    def run() -> None:
        try:
            done.append(worker.renew())
        finally:
            shared.database.close()

    other = threading.Thread(target=run)
    other.start()
    other.join(10)
    assert not other.is_alive(), "a claim must skip locked rows, not wait for them"
    return done[0]


def _by_worker(held: dict[int, str]) -> dict[str, set[int]]:
    grouped: dict[str, set[int]] = {}
    for streamer_id, worker in held.items():
        grouped.setdefault(worker, set()).add(streamer_id)
    return grouped
