"""The monitor: Pusher pushes and REST reconciliation in, each change recorded once, events out.

It keeps the active streamers in memory (by channel id and user id), maps every push and poll
result to a `StatusChange`, and hands it to the single DB writer. Only after the writer commits
does it publish `StreamStarted`/`StreamEnded` on its bus, so a listener never hears of a change
that was not stored. Reconciliation runs at start-up, after every (re)connect, after a resume
from sleep (the wall clock jumps ahead of the monotonic clock) and every
`monitoring.reconcile_interval` seconds. Changes made by another process to the streamer set are
picked up without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx

from kickwatch.context import Context
from kickwatch.domain.errors import (
    AlreadyExistsError,
    DatabaseUnavailableError,
    KickwatchError,
)
from kickwatch.domain.events import StreamEvent
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import DetailsSeen, StreamerRule
from kickwatch.domain.status import EventType, Status
from kickwatch.domain.validation import normalize_username
from kickwatch.kick.errors import KickBlockedError
from kickwatch.kick.pusher import PusherOptions
from kickwatch.kick.pusher_pool import CHANNELS_PER_CONNECTION, PusherPool
from kickwatch.kick.rest import KickApi
from kickwatch.monitor import events as ev
from kickwatch.monitor.details import LiveDetailsTracker
from kickwatch.monitor.leasing import LeaseChange, LeaseKeeper
from kickwatch.monitor.lookup import build_api, check_connection, endpoints_for, store_channel
from kickwatch.monitor.reconcile import ReconcileReason, changes_from_snapshots, history_data
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.monitor.watch import StreamerSetWatcher
from kickwatch.monitor.writer import DbWriter, WriterCallbacks
from kickwatch.store.repository import BatchResult, StatusChange
from kickwatch.store.rules import RuleStore, RuleWatcher

log = logging.getLogger(__name__)
T = TypeVar("T")
_RECENT_IDS = 20_000


@dataclass
class MonitorOptions:
    """Timings of the monitor; tests shorten them."""

    reconcile_interval: float = 120.0
    max_channels_per_connection: int = CHANNELS_PER_CONNECTION
    watch_interval: float = 2.0
    sleep_check_interval: float = 5.0
    sleep_threshold: float = 30.0  # wall-clock gain over monotonic that means "slept"
    retention_interval: float = 6 * 3600.0
    retention_days: int = 90
    pusher: PusherOptions | None = None
    max_pending: int = 100_000


class Monitor:
    """Watches the active streamers and records every change once (see the module docstring)."""

    def __init__(
        self,
        ctx: Context,
        api: KickApi,
        pusher_url: str,
        options: MonitorOptions,
        leases: LeaseKeeper | None = None,
    ) -> None:
        self.ctx = ctx
        self.leases = leases  # a worker on PostgreSQL; None: watch every active streamer
        self.api = api
        self.options = options
        self.bus = ev.EventBus()
        self.connection_state = ev.ConnectionState.CLOSED
        self.last_check: datetime | None = None
        self.stopped_by: str | None = None
        self.state_since: datetime | None = None  # when the link entered its condition
        self._retry_at: float | None = None  # monotonic time of the next Pusher attempt
        self._streamers: dict[int, StreamerRecord] = {}
        self._by_channel: dict[int, int] = {}
        self._by_user: dict[int, int] = {}
        self._recent_ids: OrderedDict[str, None] = OrderedDict()
        self._pushed: list[StatusChange] = []  # this turn of the loop's pushes, not yet queued
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="kickwatch-db-reader")
        self._watcher = StreamerSetWatcher(ctx.database)
        self._rule_store = RuleStore(ctx.database, ctx.clock)
        self._rule_watcher = RuleWatcher(ctx.database)
        self._rules: dict[int, StreamerRule] = {}
        self._details = LiveDetailsTracker()
        self._tasks = Supervisor(self._on_task_crashed)
        self._reconcile_wanted = asyncio.Event()
        self._reconcile_reason = ReconcileReason.STARTUP
        self._started_up = False
        self._blocked_reported = False
        self._writer: DbWriter | None = None
        self._stopped = False
        self._pool = PusherPool(
            pusher_url,
            on_event=self._on_pusher_event,
            on_state=self._on_pusher_state,
            on_connected=self._on_pusher_connected,
            max_channels_per_connection=options.max_channels_per_connection,
            options=options.pusher,
            clock=ctx.clock,
        )

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load streamers, start the writer, the socket and the background jobs."""
        loop = asyncio.get_running_loop()
        self._writer = DbWriter(
            self.ctx.repository,
            loop,
            WriterCallbacks(
                self._on_committed,
                self._on_db_unavailable,
                self._on_db_recovered,
                self._on_overflow,
                self._on_quarantined,
                self._on_db_failed,
            ),
            max_pending=self.options.max_pending,
        )
        self._writer.start()
        await self._read(self._watcher.changed)
        await self._read(self._rule_watcher.changed)  # the rules as loaded next
        first = None if self.leases is None else await self.leases.renew()
        await self._load_streamers()
        if first is not None:
            self._publish_leases(first, {})
        self._set_state(ev.ConnectionState.CONNECTING, "connecting to Kick")
        await self._pool.start()
        self._tasks.spawn(self._reconcile_loop(), "reconcile")
        self._tasks.spawn(self._watch_loop(), "watch-streamers")
        self._tasks.spawn(self._sleep_loop(), "sleep-detector")
        self._tasks.spawn(self._retention_loop(), "retention")
        if self.leases is not None:
            self._tasks.spawn(self.leases.run(self._on_leases_changed), "leases")
        self.request_reconcile(ReconcileReason.STARTUP)

    async def stop(self) -> None:
        """Stop everything and flush pending writes (within about a second and a half); a
        second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        await self._tasks.cancel_all()
        await self._pool.stop()
        self._queue_pushed()
        if self._writer is not None:
            await self._writer.stop()
        if self.leases is not None:
            await self.leases.stop()  # after the flush, so the next holder starts from it
        # The reader thread's connection must not outlive it (PostgreSQL would see it dropped).
        await asyncio.get_running_loop().run_in_executor(
            self._reader, self.ctx.database.drop_connection
        )
        self._reader.shutdown(wait=False)
        self._set_state(ev.ConnectionState.CLOSED, "stopped")

    @property
    def pending_writes(self) -> int:
        """Changes not yet committed."""
        return len(self._pushed) + (0 if self._writer is None else self._writer.pending)

    @property
    def subscribed_channels(self) -> frozenset[int]:
        """Pusher channels confirmed on any connection."""
        return self._pool.subscribed_channels

    @property
    def malformed_frames(self) -> int:
        """Frames the Pusher clients could not parse."""
        return self._pool.malformed_frames

    def live_streamers(self) -> list[StreamerRecord]:
        """Active streamers online now, by display name (in memory, cheap)."""
        live = [s for s in self._streamers.values() if s.status == Status.ONLINE]
        return sorted(live, key=lambda s: s.display_name.lower())

    def streamers(self) -> list[StreamerRecord]:
        """Every active streamer, as the monitor knows it."""
        return list(self._streamers.values())

    def streamers_changed(self) -> None:
        """Re-read the streamer set (after this process changed it) and follow it."""
        asyncio.get_running_loop().create_task(self._refresh(), name="refresh-streamers")

    def request_reconcile(self, reason: ReconcileReason) -> None:
        """Ask for a reconciliation soon (requests coalesce)."""
        if not self._reconcile_wanted.is_set() or reason is ReconcileReason.RESUME:
            self._reconcile_reason = reason
        self._reconcile_wanted.set()

    async def reconcile_now(self) -> None:
        """Poll Kick now and record what changed."""
        await self._reconcile(ReconcileReason.PERIODIC)

    async def test_connection(self) -> tuple[bool, str]:
        """Test the connection to Kick; the result is recorded as a connection_test event."""
        return await check_connection(
            self.api,
            lambda ok, detail: self.write(self.ctx.repository.record_connection_test, ok, detail),
        )

    async def lookup_and_add(self, name: str) -> StreamerRecord:
        """Look a name up on Kick, store it and start watching it."""
        username = normalize_username(name)
        if await self._read(self.ctx.repository.get_by_username, username) is not None:
            raise AlreadyExistsError(f"{username} is already monitored")
        info = await self.api.lookup_channel(username)
        record = await self.write(store_channel, self.ctx, info, None)
        await self._refresh()
        return record

    async def write(self, function: Callable[..., T], *args: Any) -> T:
        """Run a write (a streamer edit, say) on the single writer thread and return its result.

        Raises DatabaseUnavailableError when the monitor is not running."""
        if self._writer is None:
            raise DatabaseUnavailableError("the monitor is not running")
        return await self._writer.call(function, *args)

    # -- inputs ----------------------------------------------------------------------------

    def _on_pusher_event(self, event: StreamEvent) -> None:
        streamer_id = self._by_channel.get(event.channel_id or -1)
        if streamer_id is None:
            return
        seen = self._details.from_push(event, self._streamers.get(streamer_id))
        if seen is not None:  # a start of a broadcast already live may bring a new title
            self._tasks.spawn(self._record_details([seen], initial=False), "record stream change")
        key = event.kick_event_id
        if key is not None:
            if key in self._recent_ids:
                return  # the dot and underscore aliases deliver the same frame twice
            self._remember(key)
        change = StatusChange(
            streamer_id=streamer_id,
            event_type=event.event_type,
            received_timestamp=event.received_at,
            event_timestamp=event.occurred_at,
            kick_event_id=key,
            livestream_id=event.livestream_id,
            broadcast_started_at=event.started_at,
            event_data=history_data(str(event.source), event),
            title=event.title,
            category=event.category,
            viewers=event.viewers,
        )
        # Queued once per turn of the loop: a burst read in one turn is one hand-over to the
        # writer thread (one lock, one wake-up), not one per frame, and nothing waits longer.
        if not self._pushed:
            asyncio.get_running_loop().call_soon(self._queue_pushed)
        self._pushed.append(change)

    def _on_pusher_state(self, state: ev.ConnectionState, detail: str) -> None:
        if state is ev.ConnectionState.STOPPED:
            self.stopped_by = detail
        self._set_state(state, detail, self._pool.retry_at)

    def _on_pusher_connected(self) -> None:
        self.request_reconcile(
            ReconcileReason.STARTUP if not self._started_up else ReconcileReason.RECONNECT
        )

    def _remember(self, key: str) -> None:
        self._recent_ids[key] = None
        if len(self._recent_ids) > _RECENT_IDS:
            self._recent_ids.popitem(last=False)

    def _queue_pushed(self) -> None:
        pushed, self._pushed = self._pushed, []
        if pushed and self._writer is not None:
            self._writer.submit(pushed)

    def _submit(self, items: list[Any]) -> None:
        assert self._writer is not None
        self._queue_pushed()  # what was pushed before these goes first
        self._writer.submit(items)

    # -- writer results --------------------------------------------------------------------

    def _on_committed(self, result: BatchResult) -> None:
        disabled = False
        for record in result.streamers:  # the stored state replaces what was in memory
            if record.is_active and record.id in self._streamers:
                self._track(record)
            elif not record.is_active and record.id in self._streamers:
                disabled = True  # disabled by another process: the watcher has not seen it yet
        for applied in result.applied:
            record = applied.streamer
            if not record.is_active:
                # Recorded as history, never announced: the user switched this streamer off.
                continue
            reason = applied.reconcile_reason
            initial = reason == ReconcileReason.STARTUP
            after_resume = reason == ReconcileReason.RESUME
            if applied.event.event_type is EventType.STREAM_START:
                self._details.started(record)
                rule = self._rules.get(record.id)
                self.bus.publish(
                    ev.StreamStarted(record, applied.event, initial, after_resume, rule)
                )
            else:
                self._details.forget(record.id)
                self.bus.publish(ev.StreamEnded(record, applied.event, initial, after_resume))
        if disabled:
            self.streamers_changed()

    def _on_db_unavailable(self, reason: str, pending: int) -> None:
        self.bus.publish(ev.DatabaseUnavailable(reason, pending))

    def _on_db_recovered(self, flushed: int) -> None:
        self.bus.publish(ev.DatabaseRecovered(flushed))

    def _on_overflow(self, refused: int, reason: str) -> None:
        self.bus.publish(
            ev.ErrorOccurred(
                f"{refused} changes could not be queued and are lost ({reason}); "
                "the next check of Kick restores the current status"
            )
        )
        self.request_reconcile(ReconcileReason.PERIODIC)

    def _on_quarantined(self, count: int, reason: str) -> None:
        self.bus.publish(
            ev.ErrorOccurred(
                f"{count} change{'s' if count != 1 else ''} could not be stored and "
                f"{'were' if count != 1 else 'was'} set aside ({reason}); "
                "see `kickwatch quarantine`"
            )
        )

    def _on_db_failed(self, reason: str, pending: int) -> None:
        lost = "1 change was" if pending == 1 else f"{pending} changes were"
        message = f"{reason}; {lost} not stored; start kickwatch again to make a new database"
        self.stopped_by = message
        self.bus.publish(ev.ErrorOccurred(message))
        self._set_state(ev.ConnectionState.STOPPED, message)

    def _on_task_crashed(self, name: str, error: BaseException) -> None:
        self.bus.publish(ev.ErrorOccurred(f"{name} failed: {error}"))

    # -- streamers -------------------------------------------------------------------------

    async def _read(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._reader, self.ctx.database.guarded, function, *args
        )

    async def _load_streamers(self) -> None:
        records = await self._read(self.ctx.repository.active_streamers)
        if self.leases is not None:  # a worker watches what it holds, and nothing else
            held = self.leases.held
            records = [record for record in records if record.id in held]
        self._rules = await self._read(self._rule_store.all_rules)
        self._streamers, self._by_channel, self._by_user = {}, {}, {}
        for record in records:
            self._track(record)
        self._pool.set_channels(self._by_channel)

    def _track(self, record: StreamerRecord) -> None:
        self._streamers[record.id] = record
        self._by_user[record.kick_user_id] = record.id
        if record.kick_channel_id is not None:
            self._by_channel[record.kick_channel_id] = record.id

    async def _refresh(self) -> None:
        before = set(self._streamers)
        await self._load_streamers()
        self.bus.publish(ev.StreamersChanged())
        if set(self._streamers) - before:
            self.request_reconcile(ReconcileReason.STREAMERS_CHANGED)

    async def _on_leases_changed(self, change: LeaseChange) -> None:
        before = dict(self._streamers)
        await self._refresh()  # the streamers gained are reconciled at once
        self._publish_leases(change, before)

    def _publish_leases(self, change: LeaseChange, before: dict[int, StreamerRecord]) -> None:
        assert self.leases is not None
        known = {**before, **self._streamers}

        def names(ids: frozenset[int]) -> tuple[str, ...]:
            return tuple(sorted(known[i].username for i in ids if i in known))

        self.bus.publish(
            ev.LeasesChanged(
                self.leases.worker_id,
                len(change.round.held),
                change.round.active,
                change.round.workers,
                names(change.gained),
                names(change.lost),
            )
        )

    # -- background jobs -------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.options.reconcile_interval):
                    await self._reconcile_wanted.wait()
                reason = self._reconcile_reason
            except TimeoutError:
                reason = ReconcileReason.PERIODIC
            self._reconcile_wanted.clear()
            try:
                await self._reconcile(reason)
            except Exception as exc:  # e.g. the database is down: try again next time
                log.warning("reconciliation failed: %s", exc)
                self._check_failed(str(exc))

    async def _reconcile(self, reason: ReconcileReason) -> None:
        streamers = list(self._streamers.values())
        if not streamers:
            self._started_up = True
            return
        mark = self._details.mark()
        try:
            snapshots = await self.api.live_snapshots(streamers)
        except KickBlockedError as exc:
            self._check_failed(str(exc))
            if not self._blocked_reported:
                self._blocked_reported = True
                self.bus.publish(ev.ErrorOccurred(str(exc)))
            return
        except (KickwatchError, httpx.HTTPError) as exc:
            log.warning("reconciliation failed: %s", exc)
            self._check_failed(str(exc))
            self.bus.publish(ev.ErrorOccurred(f"checking Kick failed: {exc}"))
            return
        observed_at = self.ctx.clock.now()
        if not self._started_up and reason is not ReconcileReason.STARTUP:
            reason = ReconcileReason.STARTUP
        self._started_up = True
        # Judge the poll against what was known when it began: a push committed while it ran
        # is newer than the poll, which must not end (or restart) that broadcast.
        polled = [s for s in streamers if s.id in self._streamers]
        items = changes_from_snapshots(polled, snapshots, observed_at, reason)
        seen = self._details.from_poll(self._streamers, [s.id for s in polled], snapshots, mark)
        if seen:  # before the poll's observations, which store the same title and category
            await self._record_details(seen, initial=reason is ReconcileReason.STARTUP)
        self._submit(items)
        if self._writer is not None:
            await self._writer.flush(10.0)  # the committed state is in memory after this
        self.last_check = observed_at
        self._blocked_reported = False  # a later block is news again
        self.bus.publish(ev.ReconcileCompleted(observed_at, len(streamers)))

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.watch_interval)
            try:
                streamers = await self._read(self._watcher.changed)
                if await self._read(self._rule_watcher.changed) or streamers:
                    await self._refresh()
            except Exception as exc:  # the writer reports outages; the watcher just waits
                log.debug("streamer watch failed: %s", exc)

    async def _sleep_loop(self) -> None:
        clock = self.ctx.clock
        wall, mono = clock.now(), clock.monotonic()
        while True:
            await asyncio.sleep(self.options.sleep_check_interval)
            now_wall, now_mono = clock.now(), clock.monotonic()
            gained = (now_wall - wall).total_seconds() - (now_mono - mono)
            wall, mono = now_wall, now_mono
            if gained > self.options.sleep_threshold:
                log.info("resumed after about %.0f s of sleep", gained)
                self.bus.publish(ev.ResumedFromSleep(gained))
                await self._pool.stop()  # the sockets did not survive the sleep
                await self._pool.start()
                self.request_reconcile(ReconcileReason.RESUME)

    async def _retention_loop(self) -> None:
        while True:
            try:
                created = await self._read(self.ctx.repository.prepare_partitions)
                if created:
                    log.info("created %d monthly history partitions ahead", created)
                deleted = await self._read(
                    self.ctx.repository.delete_events_older_than, self.options.retention_days
                )
                if deleted:
                    log.info("retention removed %d old events", deleted)
                changes = await self._read(
                    self._rule_store.delete_changes_older_than, self.options.retention_days
                )
                if changes:
                    log.info("retention removed %d old title and category changes", changes)
            except Exception as exc:
                log.warning("retention cleanup failed: %s", exc)
            await asyncio.sleep(self.options.retention_interval)

    # -- what the tray shows: the link's condition, its age, the next attempt ---------------

    def _set_state(
        self, state: ev.ConnectionState, detail: str, retry_at: float | None = None
    ) -> None:
        """Publish a state change, and the same state again when the next attempt moves."""
        previous = self.connection_state
        if (
            state == previous
            and retry_at == self._retry_at
            and state is not ev.ConnectionState.STOPPED
        ):
            return
        clock = self.ctx.clock
        now = clock.now()
        down = ev.LINK_DOWN_STATES
        if self.state_since is None or (
            state != previous and not (state in down and previous in down)
        ):
            self.state_since = now  # an outage keeps its start through every reconnect
        self.connection_state, self._retry_at = state, retry_at
        retry_time = (
            None if retry_at is None else now + timedelta(seconds=retry_at - clock.monotonic())
        )
        self.bus.publish(ev.ConnectionStateChanged(state, detail, self.state_since, retry_time))

    def _check_failed(self, reason: str) -> None:
        self.bus.publish(ev.ReconcileFailed(self.ctx.clock.now(), reason))

    # -- live title and category changes ----------------------------------------------------

    async def _record_details(self, seen: list[DetailsSeen], *, initial: bool) -> None:
        """Record what changed in live streams (on the writer thread), then publish it."""
        try:
            changed = await self.write(self._rule_store.record_details, seen)
        except Exception as exc:  # the next push or poll brings the same news again
            log.warning("recording a change of a live stream failed: %s", exc)
            return
        updated = {record.id: record for record, _changes in changed}
        for item in seen:
            self._details.remember(
                item, updated.get(item.streamer_id) or self._streamers.get(item.streamer_id)
            )
        for record, changes in changed:
            if not record.is_active or record.id not in self._streamers:
                continue  # switched off meanwhile: history only
            self._track(record)
            rule = self._rules.get(record.id)
            self.bus.publish(ev.StreamDetailsChanged(record, changes, rule, initial))


def options_from_settings(ctx: Context) -> MonitorOptions:
    """Monitor options from the stored settings."""
    return MonitorOptions(
        reconcile_interval=float(ctx.settings.get("monitoring.reconcile_interval")),
        max_channels_per_connection=int(ctx.settings.get("monitoring.max_channels_per_connection")),
        retention_days=int(ctx.settings.get("database.retention_days")),
    )


def build_monitor(
    ctx: Context,
    http: httpx.AsyncClient,
    options: MonitorOptions | None = None,
    *,
    leases: LeaseKeeper | None = None,
) -> Monitor:
    """Wire a monitor from the context: API client, Pusher URL and options from settings;
    with `leases`, a worker that watches only the streamers it holds."""
    return Monitor(
        ctx,
        build_api(ctx, http),
        endpoints_for(ctx).pusher_url,
        options or options_from_settings(ctx),
        leases,
    )
