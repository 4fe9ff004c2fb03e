"""Leases: several `kickwatch run` workers on one PostgreSQL database share the streamers.

A worker renews its leases in rounds, one transaction each (`LeaseStore.renew`): it writes its
heartbeat into `worker`, gives a lease row to every active streamer that has none, renews its
own leases, and moves towards its share, `ceil(active streamers / live workers)`: above it, it
releases the excess (highest ids first); below it, it claims free or expired leases (lowest ids
first) with `SELECT ... FOR UPDATE SKIP LOCKED`, so two workers claiming at once never wait for
each other nor take the same streamer. A lease row names one worker at a time, so each streamer
is watched by one live worker; a worker that dies stops renewing, and the others take its
streamers over once its leases expire (a lease expires with its holder's heartbeat). Last, the
round forgets the workers whose heartbeat expired and whose leases have all been taken: a
worker forgotten sooner would set its leases free by the foreign key's `ON DELETE SET NULL`,
which locks them until that round commits, and the other workers' claims, skipping locked
rows, would pass over the dead worker's streamers until their next round.

Each round also says when the first of the other workers runs out if it renews no more
(`LeaseRound.peer_expiry`), and `LeaseStore.check_peers` reads at that moment whether it did:
the keeper runs a round at once when one has, so a dead worker's streamers are claimed when its
leases expire, not a round later.

Every timestamp comes from one clock, injected: in production `DatabaseClock`, the PostgreSQL
server's `now()`, so that workers on machines whose clocks disagree still agree on when a lease
expires; tests pass a manual clock. Only PostgreSQL leases; on SQLite one process watches every
streamer (`LeaseStore` refuses a SQLite database).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kickwatch.domain.clock import Clock, utc
from kickwatch.domain.errors import ConfigurationError
from kickwatch.store.database import Database
from kickwatch.store.lease_models import StreamerLease, Worker

_UPSERT_WORKER = (
    "INSERT INTO worker (id, started_at, heartbeat_at, expires_at) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at,"
    " expires_at = EXCLUDED.expires_at"
)
# Only a dead worker that no lease names (see the module docstring). Skip a row another
# transaction holds: that worker is writing its heartbeat, so it lives.
_FORGET_DEAD = (
    "DELETE FROM worker WHERE id IN (SELECT w.id FROM worker w WHERE w.expires_at < %s"
    " AND w.id <> %s AND NOT EXISTS (SELECT 1 FROM streamer_lease l WHERE l.worker_id = w.id)"
    " FOR UPDATE OF w SKIP LOCKED)"
)
_DROP_INACTIVE = (
    "DELETE FROM streamer_lease WHERE streamer_id IN (SELECT l.streamer_id FROM streamer_lease l"
    " JOIN streamer s ON s.id = l.streamer_id WHERE NOT s.is_active FOR UPDATE OF l SKIP LOCKED)"
)
# In id order, so that two workers adding the same rows wait for each other, never deadlock.
_ADD_MISSING = (
    "INSERT INTO streamer_lease (streamer_id, worker_id, expires_at, renewed_at)"
    " SELECT s.id, NULL, %s, %s FROM streamer s WHERE s.is_active AND NOT EXISTS"
    " (SELECT 1 FROM streamer_lease l WHERE l.streamer_id = s.id) ORDER BY s.id"
    " ON CONFLICT (streamer_id) DO NOTHING"
)
_RENEW = (
    "UPDATE streamer_lease l SET expires_at = %s, renewed_at = %s FROM streamer s"
    " WHERE s.id = l.streamer_id AND s.is_active AND l.worker_id = %s RETURNING l.streamer_id"
)
_COUNTS = (
    "SELECT (SELECT count(*) FROM worker WHERE expires_at >= %s),"
    " (SELECT count(*) FROM streamer WHERE is_active)"
)
# When the first of the other workers runs out if it renews no more, and whether one has.
_PEERS = (
    "SELECT min(expires_at) FILTER (WHERE expires_at >= %s), coalesce(bool_or(expires_at < %s),"
    " FALSE) FROM worker WHERE id <> %s"
)
_RELEASE = (
    "UPDATE streamer_lease SET worker_id = NULL, expires_at = %s WHERE streamer_id IN"
    " (SELECT streamer_id FROM streamer_lease WHERE worker_id = %s"
    " ORDER BY streamer_id DESC LIMIT %s) RETURNING streamer_id"
)
_CLAIM = (
    "UPDATE streamer_lease SET worker_id = %s, expires_at = %s, renewed_at = %s"
    " WHERE streamer_id IN (SELECT l.streamer_id FROM streamer_lease l"
    " JOIN streamer s ON s.id = l.streamer_id"
    " WHERE s.is_active AND (l.worker_id IS NULL OR l.expires_at < %s)"
    " ORDER BY l.streamer_id LIMIT %s FOR UPDATE OF l SKIP LOCKED) RETURNING streamer_id"
)
_WORKERS = (
    "SELECT w.id, w.started_at, w.heartbeat_at, w.expires_at, count(l.streamer_id)"
    " FROM worker w LEFT JOIN streamer_lease l ON l.worker_id = w.id AND l.expires_at >= %s"
    " WHERE w.expires_at >= %s GROUP BY w.id ORDER BY w.id"
)
_HOLDERS = (
    "SELECT l.streamer_id, l.worker_id FROM streamer_lease l JOIN worker w ON w.id = l.worker_id"
    " WHERE l.expires_at >= %s AND w.expires_at >= %s"
)
_UNHELD = (
    "SELECT count(*) FROM streamer s WHERE s.is_active AND NOT EXISTS (SELECT 1"
    " FROM streamer_lease l JOIN worker w ON w.id = l.worker_id"
    " WHERE l.streamer_id = s.id AND l.expires_at >= %s AND w.expires_at >= %s)"
)


class LeasingUnsupportedError(ConfigurationError):
    """Leases need PostgreSQL; on SQLite one process watches every streamer."""


@dataclass(frozen=True, slots=True)
class LeaseRound:
    """What one round left this worker with, and the figures it judged its share by."""

    at: datetime
    held: frozenset[int]
    claimed: frozenset[int]
    released: frozenset[int]
    workers: int  # live workers, this one included
    active: int  # active streamers
    share: int  # ceil(active / workers)
    peer_expiry: datetime | None  # the first moment another worker's leases can run out


@dataclass(frozen=True, slots=True)
class PeerCheck:
    """Whether another worker's heartbeat has run out (a round would claim its streamers), and
    when the next one would if none renews."""

    at: datetime
    expired: bool
    peer_expiry: datetime | None


@dataclass(frozen=True, slots=True)
class WorkerHolding:
    """A live worker and how many streamers it holds."""

    worker_id: str
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    held: int


@dataclass(frozen=True, slots=True)
class LeaseOverview:
    """Who holds what: the live workers, and the active streamers no live worker holds."""

    at: datetime
    workers: list[WorkerHolding]
    active: int
    unheld: int


class DatabaseClock:
    """The PostgreSQL server's clock (`now()`: the start of the current transaction, the same
    for every statement in it) for timestamps, and a local clock for intervals."""

    def __init__(self, database: Database, local: Clock) -> None:
        self._database = database
        self._local = local

    def now(self) -> datetime:
        """The server's time, aware UTC (one query on the calling thread's connection)."""
        row = self._database.handle.execute_sql("SELECT now() AT TIME ZONE 'UTC'").fetchone()
        return utc(row[0])

    def monotonic(self) -> float:
        """The local monotonic clock (intervals are measured where they are waited for)."""
        return self._local.monotonic()


def require_postgres(database: Database) -> None:
    """Raise LeasingUnsupportedError unless `database` is PostgreSQL."""
    if database.dialect != "postgresql":
        raise LeasingUnsupportedError(
            "leases need PostgreSQL: on SQLite one kickwatch process watches every streamer"
        )


def _naive(value: datetime) -> datetime:
    """Naive UTC, the form the TIMESTAMP columns hold."""
    return utc(value).replace(tzinfo=None)


def _ids(rows: Iterable[Any]) -> frozenset[int]:
    return frozenset(int(row[0]) for row in rows)


class LeaseStore:
    """The lease rounds of one worker (call them on one thread; see the module docstring).

    `valid_for` is how long a renewal holds: a worker that stops renewing loses its streamers
    that long after its last round.
    """

    def __init__(
        self, database: Database, worker_id: str, valid_for: timedelta, clock: Clock
    ) -> None:
        require_postgres(database)
        if valid_for <= timedelta(0):
            raise ValueError("a lease must be valid for some time")
        self.database = database
        self.worker_id = worker_id
        self.valid_for = valid_for
        self.clock = clock

    def _sql(self, statement: str, params: tuple[Any, ...]) -> Any:
        return self.database.handle.execute_sql(statement, params)

    def renew(self) -> LeaseRound:
        """One round in one transaction: heartbeat, renew, release or claim to the share, then
        forget the dead workers whose leases are all taken."""
        me = self.worker_id
        with self.database.handle.atomic():
            now = _naive(self.clock.now())
            until = now + self.valid_for
            self._sql(_UPSERT_WORKER, (me, now, now, until))
            self._sql(_DROP_INACTIVE, ())
            self._sql(_ADD_MISSING, (now, now))
            held = set(_ids(self._sql(_RENEW, (until, now, me))))
            workers, active = self._sql(_COUNTS, (now,)).fetchone()
            peer_expiry, _ = self._sql(_PEERS, (now, now, me)).fetchone()
            share = math.ceil(int(active) / max(int(workers), 1))
            released: frozenset[int] = frozenset()
            claimed: frozenset[int] = frozenset()
            if len(held) > share:
                released = _ids(self._sql(_RELEASE, (now, me, len(held) - share)))
                held -= released
            elif len(held) < share:
                claimed = _ids(self._sql(_CLAIM, (me, until, now, now, share - len(held))))
                held |= claimed
            self._sql(_FORGET_DEAD, (now, me))
        return LeaseRound(
            at=utc(now),
            held=frozenset(held),
            claimed=claimed,
            released=released,
            workers=int(workers),
            active=int(active),
            share=share,
            peer_expiry=None if peer_expiry is None else utc(peer_expiry),
        )

    def check_peers(self) -> PeerCheck:
        """One read of the `worker` table, no lock taken: has another worker stopped renewing
        (the next round would forget it and claim its streamers), and when does the first of
        the others run out if it renews no more."""
        with self.database.handle.atomic():
            now = _naive(self.clock.now())
            peer_expiry, expired = self._sql(_PEERS, (now, now, self.worker_id)).fetchone()
        return PeerCheck(utc(now), bool(expired), None if peer_expiry is None else utc(peer_expiry))

    def leave(self) -> int:
        """Release every lease of this worker and remove it from `worker` (a clean stop: the
        others take its streamers at their next round); returns how many were released."""
        with self.database.handle.atomic():
            now = self.clock.now()
            released = (
                StreamerLease.update(worker=None, expires_at=now)
                .where(StreamerLease.worker == self.worker_id)
                .execute()
            )
            Worker.delete().where(Worker.id == self.worker_id).execute()
        return int(released)


def overview(database: Database, clock: Clock) -> LeaseOverview:
    """The live workers with their counts, and the active streamers no live worker holds."""
    require_postgres(database)
    handle = database.handle
    with handle.atomic():
        now = _naive(clock.now())
        rows = handle.execute_sql(_WORKERS, (now, now)).fetchall()
        active = handle.execute_sql(_COUNTS, (now,)).fetchone()[1]
        unheld = handle.execute_sql(_UNHELD, (now, now)).fetchone()[0]
    workers = [WorkerHolding(str(r[0]), utc(r[1]), utc(r[2]), utc(r[3]), int(r[4])) for r in rows]
    return LeaseOverview(utc(now), workers, int(active), int(unheld))


def holders(database: Database, clock: Clock) -> dict[int, str]:
    """Streamer id -> the live worker holding it, for every streamer a live worker holds."""
    require_postgres(database)
    handle = database.handle
    with handle.atomic():
        now = clock.now()
        rows = handle.execute_sql(_HOLDERS, (_naive(now), _naive(now))).fetchall()
    return {int(streamer_id): str(worker_id) for streamer_id, worker_id in rows}
