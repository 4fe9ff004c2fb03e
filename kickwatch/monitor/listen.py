"""The LISTEN loop of a shared-mode desktop: committed status events and stream changes from
PostgreSQL, each once.

`EventListener` runs in a thread of its own, on a PostgreSQL connection of its own (never a
pooled one: LISTEN belongs to a session). It LISTENs on `EVENT_CHANNEL`, whose NOTIFYs carry
the id of each committed `status_event` row, and on `CHANGE_CHANNEL`, whose NOTIFYs carry the id
of each committed `stream_change` row (a live stream's new title or category); it reads those
rows (through the store, on that thread's database connection) and hands them over in id order,
the status events of a round before its stream changes. Each table has its own ids and its own
cursor. On its first connection it starts from the newest id of each, so history is not
announced again; after a lost connection it reconnects with back-off and catches up both from
where it was.

`EventCursor` is the bookkeeping, without I/O. Ids are handed out when rows are inserted, not
when they commit: with several writers, id 11 may commit before id 10, and a rolled-back
transaction leaves its ids unused for ever. So the cursor keeps the ids it has not seen below
the highest it has (holes), and a catch-up reads from below the oldest hole, skipping what it
delivered already. A hole is given up after `settle_seconds` (a writing transaction is long
committed or rolled back by then); while connected, the NOTIFY of a late commit names its id
anyway.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import peewee

from kickwatch.kick.backoff import Backoff
from kickwatch.monitor.events import ConnectionState
from kickwatch.store.database import Database
from kickwatch.store.event_notify import (
    CHANGE_CHANNEL,
    EVENT_CHANNEL,
    StoredChange,
    StoredEvent,
    newest_change_id,
    newest_event_id,
    read_changes,
    read_events,
)

log = logging.getLogger(__name__)
R = TypeVar("R")
SEEN_LIMIT = 200_000  # delivered ids remembered, so that a catch-up never repeats one


@dataclass(frozen=True)
class ListenOptions:
    """Timings of the LISTEN loop; tests shorten them."""

    poll_seconds: float = 0.25  # how often a waiting loop looks at its stop flag
    linger_seconds: float = 0.02  # after a NOTIFY, how long to gather more before reading
    settle_seconds: float = 60.0  # how long an unseen id may still turn up in a catch-up
    connect_timeout: int = 5
    page: int = 1000  # rows read per query
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=1.0, maximum=30.0))


@dataclass
class _Hole:
    low: int
    high: int
    since: float


class EventCursor:
    """Which event ids were delivered, and where a catch-up must start (see the docstring)."""

    def __init__(self, settle_seconds: float) -> None:
        self.settle_seconds = settle_seconds
        self.newest = 0  # the highest id delivered or skipped
        self.holes: list[_Hole] = []
        self._seen: set[int] = set()
        self._order: deque[int] = deque()

    def begin_at(self, newest: int) -> None:
        """Start after `newest`: nothing at or below it is delivered by a catch-up."""
        self.newest = newest
        self.holes.clear()

    @property
    def floor(self) -> int:
        """Every id at or below this one is settled; a catch-up reads the ids above it."""
        return self.holes[0].low - 1 if self.holes else self.newest

    def is_new(self, event_id: int) -> bool:
        """Whether `event_id` has not been delivered yet."""
        return event_id not in self._seen

    def mark(self, event_id: int, now: float) -> None:
        """`event_id` is settled: delivered, skipped, or known to be gone."""
        if event_id > self.newest:
            if event_id > self.newest + 1:
                self.holes.append(_Hole(self.newest + 1, event_id - 1, now))
            self.newest = event_id
        else:
            self._fill(event_id)
        if event_id not in self._seen:
            self._seen.add(event_id)
            self._order.append(event_id)
        while len(self._order) > SEEN_LIMIT and self._order[0] <= self.floor:
            self._seen.discard(self._order.popleft())

    def expire(self, now: float) -> None:
        """Give up holes older than `settle_seconds`."""
        self.holes = [h for h in self.holes if now - h.since < self.settle_seconds]

    def _fill(self, event_id: int) -> None:
        for index, hole in enumerate(self.holes):
            if hole.low <= event_id <= hole.high:
                parts = [
                    _Hole(low, high, hole.since)
                    for low, high in ((hole.low, event_id - 1), (event_id + 1, hole.high))
                    if low <= high
                ]
                self.holes[index : index + 1] = parts
                return


OnEvents = Callable[[list[StoredEvent]], None]
OnChanges = Callable[[list[StoredChange]], None]
OnState = Callable[[ConnectionState, str, float | None], None]  # state, detail, retry (monotonic)


@dataclass
class _Channel(Generic[R]):
    """One NOTIFY channel: the table's cursor, how to read its rows, and who is handed them."""

    name: str
    cursor: EventCursor
    newest: Callable[[], int]
    read: Callable[[int, Iterable[int], int], list[R]]
    row_id: Callable[[R], int]
    hand_over: Callable[[list[R]], None]

    def deliver(
        self, after: int, named: Iterable[int], page: int, monotonic: Callable[[], float]
    ) -> None:
        """Read the rows above `after` and those `named`, a page at a time, and hand over the
        ones not handed over before."""
        cursor = self.cursor
        pending = set(named)
        while True:
            rows = self.read(after, pending, page)
            last = self.row_id(rows[-1]) if len(rows) >= page else None
            now = monotonic()
            fresh = [row for row in rows if cursor.is_new(self.row_id(row))]
            for row in rows:
                cursor.mark(self.row_id(row), now)
            for row_id in pending:
                if last is None or row_id <= last:
                    # Named by a NOTIFY but not there: committed, then deleted (a stand-in
                    # replaced in the same transaction, a change pruned). Settled all the same.
                    cursor.mark(row_id, now)
            if fresh:
                self.hand_over(fresh)
            if last is None:
                return
            after, pending = last, {i for i in pending if i > last}


class EventListener:
    """Delivers committed status events (and, given `on_changes`, stream changes) from the
    shared database (see the module docstring).

    `on_events`, `on_changes` and `on_state` are called on the listener's thread; the caller
    hands them over to its own loop."""

    def __init__(
        self,
        database: Database,
        on_events: OnEvents,
        on_state: OnState,
        monotonic: Callable[[], float],
        options: ListenOptions | None = None,
        on_changes: OnChanges | None = None,
    ) -> None:
        self.database = database
        self.options = options or ListenOptions()
        self.cursor = EventCursor(self.options.settle_seconds)  # status_event ids
        self.change_cursor = EventCursor(self.options.settle_seconds)  # stream_change ids
        channels: list[_Channel[StoredEvent] | _Channel[StoredChange]] = [
            _Channel(
                EVENT_CHANNEL,
                self.cursor,
                newest_event_id,
                read_events,
                lambda row: row.event.id,
                on_events,
            )
        ]
        if on_changes is not None:
            channels.append(
                _Channel(
                    CHANGE_CHANNEL,
                    self.change_cursor,
                    newest_change_id,
                    read_changes,
                    lambda row: row.change.id,
                    on_changes,
                )
            )
        self._channels = channels
        self.backend_pid: int | None = None  # the LISTEN session's server process, while up
        self.connections = 0  # LISTEN sessions opened so far
        self._on_state = on_state
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False  # whether the cursor has its starting point
        self._failures = 0  # failed sessions since the last one that caught up

    def start(self) -> None:
        """Start the listener thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kickwatch-listen", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it (blocking: within about `poll_seconds`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._session()
                    return  # stopped on purpose
                except Exception as exc:
                    if self._stop.is_set():
                        return
                    if not _is_connection_error(exc):
                        log.exception("the shared-database listener failed")
                    self._failures += 1
                    delay = self.options.backoff.delay(self._failures)
                    self._report(
                        ConnectionState.RECONNECTING,
                        f"shared database unreachable ({_reason(exc)}); "
                        f"reconnecting in {delay:.1f} s",
                        self._monotonic() + delay,
                    )
                    self._close_reader()
                    if self._stop.wait(delay):
                        return
        finally:
            self._close_reader()
            self._report(ConnectionState.CLOSED, "stopped", None)

    def _session(self) -> None:
        """One LISTEN session: connect, catch up, then read what each NOTIFY names."""
        import psycopg

        with psycopg.connect(
            self.database.url,
            autocommit=True,
            connect_timeout=self.options.connect_timeout,
            application_name="kickwatch-listen",
        ) as connection:
            for channel in self._channels:
                connection.execute(f"LISTEN {channel.name}")
            self.backend_pid = connection.info.backend_pid
            self.connections += 1
            try:
                for channel in self._channels:
                    if self._started:
                        self._deliver(channel, channel.cursor.floor, ())
                    else:  # after LISTEN: a row committed from now on is heard of
                        channel.cursor.begin_at(channel.newest())
                self._started = True
                self._failures = 0
                self._report(ConnectionState.CONNECTED, "listening to the shared database", None)
                while not self._stop.is_set():
                    heard = list(
                        connection.notifies(timeout=self.options.poll_seconds, stop_after=1)
                    )
                    if heard:
                        heard += connection.notifies(timeout=self.options.linger_seconds)
                        for channel in self._channels:
                            named = [int(n.payload) for n in heard if n.channel == channel.name]
                            if named:
                                self._deliver(channel, channel.cursor.newest, named)
                    for channel in self._channels:
                        channel.cursor.expire(self._monotonic())
            finally:
                self.backend_pid = None

    def _deliver(
        self,
        channel: _Channel[StoredEvent] | _Channel[StoredChange],
        after: int,
        named: Iterable[int],
    ) -> None:
        """Read the channel's rows above `after` and those `named`, and hand over the new ones."""
        channel.deliver(after, named, self.options.page, self._monotonic)
        self.database.release()  # idle until the next NOTIFY: back to the pool

    def _report(self, state: ConnectionState, detail: str, retry_at: float | None) -> None:
        try:
            self._on_state(state, detail, retry_at)
        except Exception:
            log.exception("reporting the listener's state failed")

    def _close_reader(self) -> None:
        """Drop this thread's store connection: after a failure the next read opens a new one."""
        handle = self.database.handle
        try:
            if not handle.is_closed():
                handle.close()
        except Exception:
            log.debug("closing a broken connection failed", exc_info=True)


def _is_connection_error(exc: BaseException) -> bool:
    import psycopg

    errors = (psycopg.OperationalError, peewee.OperationalError, peewee.InterfaceError)
    return isinstance(exc, errors)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
