"""The shared monitoring mode: a desktop that follows what workers store and never calls Kick.

With `monitoring.mode` set to `shared` (PostgreSQL only) the tray app makes no connection to
Kick at all, neither Pusher nor REST: `kickwatch run` workers watch Kick and fill the database,
and `SharedMonitor`, which has the surface of `Monitor` that the GUI uses, LISTENs for what they
commit (see `kickwatch.monitor.listen`). Each committed change is published on its bus as the
`StreamStarted`/`StreamEnded` the local monitor publishes after its own commit, with the same
`initial` and `after_resume` flags (a worker's start-up or resume poll), and each committed change
of a live stream's title or category as the `StreamDetailsChanged` the local monitor publishes
(the rows one sighting recorded together, with the streamer's rule), so the same notification
policy decides, once per change. A `stream_change` row does not say which poll found it, so such
an event is never `initial`: to a desktop that was listening, it is news. The streamers themselves
are read from the database at each (re)connection, when another process changes the set, and
every `refresh_interval` seconds. `kickwatch run` reads no mode: it is the worker that fills the
database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import httpx
import peewee

from kickwatch.context import Context
from kickwatch.domain.errors import ConfigurationError, DatabaseUnavailableError, KickwatchError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import ChangeKind, StreamChange, StreamerRule
from kickwatch.domain.status import EventType, Status
from kickwatch.monitor import events as ev
from kickwatch.monitor.listen import EventListener, ListenOptions
from kickwatch.monitor.monitor import Monitor, build_monitor
from kickwatch.monitor.reconcile import ReconcileReason
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.monitor.watch import StreamerSetWatcher
from kickwatch.store.event_notify import StoredChange, StoredEvent
from kickwatch.store.rules import RuleStore

log = logging.getLogger(__name__)
T = TypeVar("T")
MODE_KEY = "monitoring.mode"


class MonitoringMode(StrEnum):
    """How the tray app learns of changes."""

    LOCAL = "local"  # it watches Kick itself
    SHARED = "shared"  # it listens to a PostgreSQL database that workers fill


class SharedModeError(KickwatchError):
    """Something only a desktop that watches Kick itself can do."""


def monitoring_mode(ctx: Context) -> MonitoringMode:
    """The mode in force; ConfigurationError when it is `shared` on a database that is not
    PostgreSQL (the setting refuses that value there, so it was stored by other means)."""
    mode = MonitoringMode(ctx.settings.get(MODE_KEY))
    if mode is MonitoringMode.SHARED and ctx.database.dialect != "postgresql":
        raise ConfigurationError(
            f"{MODE_KEY} is shared, which needs a PostgreSQL database, and "
            f"{ctx.database.display_url()} is not one: start with --db postgresql://... or "
            f"KICKWATCH_DB, or run `kickwatch config set {MODE_KEY} local`"
        )
    return mode


@dataclass
class SharedOptions:
    """Timings of the shared mode; tests shorten them."""

    refresh_interval: float = 120.0  # re-read every streamer's stored state this often
    watch_interval: float = 2.0  # look for another process's change of the streamer set
    listen: ListenOptions = field(default_factory=ListenOptions)


class SharedMonitor:
    """The GUI's monitor in shared mode (see the module docstring)."""

    def __init__(self, ctx: Context, options: SharedOptions | None = None) -> None:
        self.ctx = ctx
        self.options = options or SharedOptions()
        self.bus = ev.EventBus()
        self.connection_state = ev.ConnectionState.CLOSED
        self.last_check: datetime | None = None
        self.state_since: datetime | None = None
        self._retry_at: float | None = None
        self._streamers: dict[int, StreamerRecord] = {}
        # Deliveries counted, and the count at each streamer's last one: a reload of the
        # streamers that began before a delivery must not put back the state it replaced.
        self._deliveries = 0
        self._delivered_at: dict[int, int] = {}
        self._rules: dict[int, StreamerRule] = {}  # each go-live carries its streamer's rule
        self._rule_store = RuleStore(ctx.database, ctx.clock)
        self._db = ThreadPoolExecutor(1, thread_name_prefix="kickwatch-shared-db")
        self._watcher = StreamerSetWatcher(ctx.database)
        self._tasks = Supervisor(self._on_task_crashed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self.listener = EventListener(
            ctx.database,
            lambda rows: self._hand_over(self._deliver, rows),
            lambda *state: self._hand_over(self._on_listener_state, *state),
            ctx.clock.monotonic,
            self.options.listen,
            on_changes=lambda rows: self._hand_over(self._deliver_changes, rows),
        )

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the streamers, then listen to the database and keep the streamers current."""
        if self.ctx.database.dialect != "postgresql":
            raise ConfigurationError("the shared monitoring mode needs a PostgreSQL database")
        try:
            import psycopg  # noqa: F401 - the LISTEN connection is psycopg's own
        except ImportError:
            raise ConfigurationError(
                "the shared monitoring mode needs the psycopg driver: "
                "pip install 'kickwatch[postgres]'"
            ) from None
        self._loop = asyncio.get_running_loop()
        await self._run(self._watcher.changed)
        await self._load_streamers()
        self._set_state(ev.ConnectionState.CONNECTING, "connecting to the shared database")
        self.listener.start()
        self._tasks.spawn(self._watch_loop(), "watch-streamers")
        self._tasks.spawn(self._refresh_loop(), "refresh-streamers")

    async def stop(self) -> None:
        """Stop listening and close this monitor's database connections."""
        self._stopping = True
        await asyncio.to_thread(self.listener.stop)
        self._loop = None
        await self._tasks.cancel_all()
        await asyncio.get_running_loop().run_in_executor(
            self._db, self.ctx.database.drop_connection
        )
        self._db.shutdown(wait=False)
        self._set_state(ev.ConnectionState.CLOSED, "stopped")

    # -- what the GUI asks -----------------------------------------------------------------

    def live_streamers(self) -> list[StreamerRecord]:
        """Active streamers online as stored, by display name."""
        live = [s for s in self._streamers.values() if s.status == Status.ONLINE]
        return sorted(live, key=lambda s: s.display_name.lower())

    def streamers(self) -> list[StreamerRecord]:
        """Every active streamer as stored."""
        return list(self._streamers.values())

    def streamers_changed(self) -> None:
        """Re-read the streamers (after this process changed them)."""
        if self._loop is not None and not self._stopping:
            self._tasks.spawn(self._refresh(), "refresh-streamers-now")

    async def reconcile_now(self) -> None:
        """Re-read every streamer's stored state (the workers are the ones that check Kick)."""
        await self._refresh(checked=True)

    async def test_connection(self) -> tuple[bool, str]:
        """Check the shared database; this desktop never connects to Kick."""
        try:
            await self._run(self._ping)
        except (peewee.PeeweeException, KickwatchError) as exc:
            return False, f"the shared database cannot be reached: {exc}"
        return True, (
            "the shared database answers; this desktop does not connect to Kick, the "
            "`kickwatch run` workers that fill the database do"
        )

    async def lookup_and_add(self, name: str) -> StreamerRecord:
        """Refused: looking a name up means asking Kick."""
        raise SharedModeError(
            "this desktop follows a shared database and does not ask Kick: add streamers with "
            f"`kickwatch add {name}` on that database (--db or KICKWATCH_DB); the workers pick "
            "them up"
        )

    async def write(self, function: Callable[..., T], *args: Any) -> T:
        """Run a write (a streamer edit, say) on this monitor's database thread."""
        if self._loop is None or self._stopping:
            raise DatabaseUnavailableError("the monitor is not running")
        return await self._run(function, *args)

    # -- from the listener thread ----------------------------------------------------------

    def _hand_over(self, function: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop closed in between: the monitor is stopping
            log.debug("listener result after the loop closed")

    def _saw(self, record: StreamerRecord) -> None:
        """A delivered row's streamer, as stored when the row was read: it replaces what is in
        memory (a reload running meanwhile keeps it, see `_load_streamers`); one switched off
        leaves the list."""
        self._deliveries += 1
        self._delivered_at[record.id] = self._deliveries
        if record.is_active:
            self._streamers[record.id] = record
        elif self._streamers.pop(record.id, None) is not None:
            self.bus.publish(ev.StreamersChanged())

    def _deliver(self, rows: list[StoredEvent]) -> None:
        for row in rows:
            record = row.streamer
            if record is None:
                continue
            self._saw(record)
            if not row.announced or not record.is_active:
                continue  # history, a stand-in, or a streamer the user switched off
            reason = row.event.event_data.get("reconcile")
            initial = reason == ReconcileReason.STARTUP
            after_resume = reason == ReconcileReason.RESUME
            if row.event.event_type is EventType.STREAM_START:
                rule = self._rules.get(record.id)
                self.bus.publish(ev.StreamStarted(record, row.event, initial, after_resume, rule))
            else:
                self.bus.publish(ev.StreamEnded(record, row.event, initial, after_resume))

    def _deliver_changes(self, rows: list[StoredChange]) -> None:
        for stored, at_change, changes in _sightings(rows):
            self._saw(stored)
            if not stored.is_active:
                continue  # switched off: history only, as the local monitor does
            rule = self._rules.get(stored.id)
            self.bus.publish(ev.StreamDetailsChanged(at_change, changes, rule))

    def _on_listener_state(
        self, state: ev.ConnectionState, detail: str, retry_at: float | None
    ) -> None:
        if self._stopping:
            return  # `stop` reports the end itself
        self._set_state(state, detail, retry_at)
        if state is ev.ConnectionState.CONNECTED:
            # What was stored while this desktop was not listening: the stored states.
            self._tasks.spawn(self._refresh(checked=True), "refresh-after-connect")

    # -- streamers -------------------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._db, self.ctx.database.guarded, function, *args
        )

    def _ping(self) -> None:
        self.ctx.database.handle.execute_sql("SELECT 1").fetchone()

    async def _load_streamers(self) -> None:
        began = self._deliveries
        records = await self._run(self.ctx.repository.active_streamers)
        loaded = {record.id: record for record in records}
        # A change delivered while the read ran may be newer than what the read saw: keep it,
        # unless the read saw a later update of that streamer. A streamer the read did not see
        # at all was added after it began (one switched off arrives switched off, and goes).
        for streamer_id, current in self._streamers.items():
            if self._delivered_at.get(streamer_id, 0) <= began:
                continue
            fresh = loaded.get(streamer_id)
            if fresh is None or fresh.updated_at <= current.updated_at:
                loaded[streamer_id] = current
        self._streamers = loaded
        self._rules = await self._run(self._rule_store.all_rules)

    async def _refresh(self, *, checked: bool = False) -> None:
        await self._load_streamers()
        self.bus.publish(ev.StreamersChanged())
        if checked:
            self.last_check = self.ctx.clock.now()
            self.bus.publish(ev.ReconcileCompleted(self.last_check, len(self._streamers)))

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.watch_interval)
            try:
                if await self._run(self._watcher.changed):
                    await self._refresh()
            except Exception as exc:  # the listener reports outages; the watcher just waits
                log.debug("streamer watch failed: %s", exc)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.refresh_interval)
            try:
                await self._refresh(checked=True)
            except Exception as exc:
                log.warning("reading the shared streamers failed: %s", exc)
                self.bus.publish(ev.ReconcileFailed(self.ctx.clock.now(), str(exc)))

    def _on_task_crashed(self, name: str, error: BaseException) -> None:
        self.bus.publish(ev.ErrorOccurred(f"{name} failed: {error}"))

    def _set_state(
        self, state: ev.ConnectionState, detail: str, retry_at: float | None = None
    ) -> None:
        """Publish a state change (and the same state again when the next attempt moves);
        an outage keeps its start through every reconnect attempt, as the local monitor's."""
        previous = self.connection_state
        if state == previous and retry_at == self._retry_at:
            return
        clock = self.ctx.clock
        now = clock.now()
        down = ev.LINK_DOWN_STATES
        if self.state_since is None or (
            state != previous and not (state in down and previous in down)
        ):
            self.state_since = now
        self.connection_state, self._retry_at = state, retry_at
        retry_time = (
            None if retry_at is None else now + timedelta(seconds=retry_at - clock.monotonic())
        )
        self.bus.publish(ev.ConnectionStateChanged(state, detail, self.state_since, retry_time))


def _sightings(
    rows: list[StoredChange],
) -> list[tuple[StreamerRecord, StreamerRecord, tuple[StreamChange, ...]]]:
    """Rows (in id order) grouped as one push or poll recorded them (consecutive rows of one
    streamer, changed and recorded at one instant, a title and a category at most), each group
    with its streamer as stored now and as it was right after the change: the changed values
    its own, an unchanged one what the next change of it in `rows` changed from (else the one
    stored)."""
    groups: list[tuple[StreamerRecord, list[StreamChange]]] = []
    for row in rows:
        change = row.change
        if groups:
            group = groups[-1][1]
            last = group[-1]
            if (
                last.streamer_id == change.streamer_id
                and last.changed_at == change.changed_at
                and last.recorded_at == change.recorded_at
                and all(item.kind is not change.kind for item in group)
            ):
                group.append(change)
                groups[-1] = (row.streamer, group)  # the newest read of the streamer
                continue
        groups.append((row.streamer, [change]))
    out: list[tuple[StreamerRecord, StreamerRecord, tuple[StreamChange, ...]]] = []
    for index, (stored, group) in enumerate(groups):
        values: dict[ChangeKind, str | None] = {
            ChangeKind.TITLE: stored.current_title,
            ChangeKind.CATEGORY: stored.current_category,
        }
        for kind in values:
            later = [
                change
                for _, others in groups[index + 1 :]
                for change in others
                if change.streamer_id == stored.id and change.kind is kind
            ]
            if later:
                values[kind] = later[0].previous
        values.update({change.kind: change.value for change in group})
        at_change = replace(
            stored,
            current_title=values[ChangeKind.TITLE],
            current_category=values[ChangeKind.CATEGORY],
        )
        out.append((stored, at_change, tuple(group)))
    return out


def shared_options_from_settings(ctx: Context) -> SharedOptions:
    """Shared-mode options from the stored settings."""
    return SharedOptions(refresh_interval=float(ctx.settings.get("monitoring.reconcile_interval")))


def desktop_monitor(ctx: Context, http: httpx.AsyncClient) -> Monitor | SharedMonitor:
    """The tray app's monitor for the mode in force: the local one watches Kick with `http`,
    the shared one never uses it. ConfigurationError for shared mode on SQLite."""
    if monitoring_mode(ctx) is MonitoringMode.SHARED:
        return SharedMonitor(ctx, shared_options_from_settings(ctx))
    return build_monitor(ctx, http)
