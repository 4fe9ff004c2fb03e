"""The batch write: a transaction's worth of starts, ends and observations, applied in order.

Duplicates are ignored, late events become history without overwriting a newer status, and
timestamps ahead of the local clock are clamped to the receive time (see `timeline` for the
ordering rules). The common case, an event newer than everything stored for its streamer, runs on
prepared SQL without peewee's query builder: a burst of thousands of changes must commit in well
under a second.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kickwatch.domain.clock import Clock, utc
from kickwatch.domain.errors import ValidationError
from kickwatch.domain.records import StatusEventRecord, StreamerRecord, iso
from kickwatch.domain.status import EventType, Status, status_after, transition_for
from kickwatch.store.convert import (
    current_broadcast,
    row_broadcast,
    timeline_order,
    to_event_record,
    to_streamer_record,
)
from kickwatch.store.database import Database
from kickwatch.store.models import StatusEvent, Streamer
from kickwatch.store.statements import (
    INSERT_COLUMNS,
    INSERT_FIELDS,
    UPDATE_COLUMNS,
    UPDATE_FIELDS,
    Inserted,
    statements_for,
)
from kickwatch.store.timeline import (
    BROADCAST_TOLERANCE,
    ONE_TICK,
    Broadcast,
    synthetic_start_time,
)

log = logging.getLogger(__name__)

_ID_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An observed start or end of a broadcast of one streamer, to be recorded."""

    streamer_id: int
    event_type: EventType
    received_timestamp: datetime
    event_timestamp: datetime | None = None  # None: when it was received (Pusher stop events)
    kick_event_id: str | None = None
    livestream_id: str | None = None
    broadcast_started_at: datetime | None = None
    event_data: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    category: str | None = None
    viewers: int | None = None
    reconcile_reason: str | None = None  # why the poll that saw it ran; None for a push


@dataclass(frozen=True, slots=True)
class StatusObservation:
    """What a poll saw of a streamer, recorded without an event: live details, initial offline."""

    streamer_id: int
    is_live: bool
    observed_at: datetime
    title: str | None = None
    category: str | None = None
    viewers: int | None = None


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """A committed status change: the new row and the streamer as it is after the batch."""

    streamer: StreamerRecord
    event: StatusEventRecord
    reconcile_reason: str | None = None  # carried from the `StatusChange`


@dataclass
class BatchResult:
    """What a batch did: changes of the current status, late history, duplicates, no-ops."""

    applied: list[AppliedChange] = field(default_factory=list)
    history: list[StatusEventRecord] = field(default_factory=list)
    streamers: list[StreamerRecord] = field(default_factory=list)  # every one changed, as stored
    duplicates: int = 0
    unchanged: int = 0
    missing_streamers: int = 0
    quarantined: list[str] = field(default_factory=list)  # why each set-aside change was

    def merge(self, other: BatchResult) -> None:
        """Add what a later transaction did; a streamer changed again keeps its newer state."""
        self.applied.extend(other.applied)
        self.history.extend(other.history)
        stored = {record.id: record for record in self.streamers}
        stored.update((record.id, record) for record in other.streamers)
        self.streamers = list(stored.values())
        self.duplicates += other.duplicates
        self.unchanged += other.unchanged
        self.missing_streamers += other.missing_streamers
        self.quarantined.extend(other.quarantined)


class Batch:
    """The state of one `apply_changes` transaction: loaded streamers, seen ids, results."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        items: Sequence[StatusChange | StatusObservation],
        result: BatchResult,
    ) -> None:
        self.database = database
        self.sql = statements_for(database.dialect)
        self.now = clock.now()
        self.result = result
        ids = {item.streamer_id for item in items}
        self.streamers: dict[int, Streamer] = {}
        # Lock the streamers this batch changes before deduplicating against their history, in
        # id order so that two writers cannot deadlock: a concurrent batch on the same streamers
        # waits, then sees what this one committed. (SQLite: the transaction began IMMEDIATE and
        # holds the database's write lock already.)
        lock = database.dialect == "postgresql"
        for chunk in _chunks(sorted(ids)):
            rows = Streamer.select().where(Streamer.id.in_(chunk)).order_by(Streamer.id)
            for row in rows.for_update() if lock else rows:
                self.streamers[row.id] = row
        event_ids = sorted(
            {i.kick_event_id for i in items if isinstance(i, StatusChange) and i.kick_event_id}
        )
        self.known_event_ids: set[str] = set()
        for chunk in _chunks(event_ids):
            query = StatusEvent.select(StatusEvent.kick_event_id).where(
                StatusEvent.kick_event_id.in_(chunk)
            )
            self.known_event_ids.update(str(row.kick_event_id) for row in query)
        self.touched: set[int] = set()
        self.fresh: list[tuple[int, Inserted, str | None]] = []

    def observe(self, item: StatusObservation) -> None:
        row = self.streamers.get(item.streamer_id)
        if row is None:
            self.result.missing_streamers += 1
            return
        observed = min(utc(item.observed_at), self.now)
        if item.is_live:
            if row.last_seen_online is None or observed > row.last_seen_online:
                row.last_seen_online = observed
            for name in ("title", "category", "viewers"):
                value = getattr(item, name)
                if value is not None:
                    setattr(row, f"current_{name}", value)
        elif row.status == Status.UNKNOWN:
            # Initial detection of an offline streamer: a status, not a stream that ended, so
            # no event row; last_status_update stays with the newest recorded event.
            row.status = Status.OFFLINE
        self.touched.add(row.id)

    def apply(self, change: StatusChange) -> None:
        if change.event_type not in (EventType.STREAM_START, EventType.STREAM_END):
            raise ValidationError("event_type", f"{change.event_type} is not a status change")
        row = self.streamers.get(change.streamer_id)
        if row is None:
            self.result.missing_streamers += 1
            return
        if change.kick_event_id and change.kick_event_id in self.known_event_ids:
            self.result.duplicates += 1
            return
        change = self._clamped(change)
        at = change.event_timestamp
        assert at is not None
        broadcast = Broadcast(change.livestream_id, change.broadcast_started_at)
        if change.event_type is EventType.STREAM_START and broadcast.started_at is None:
            broadcast = replace(broadcast, started_at=at)
        if change.event_type is EventType.STREAM_END:
            resolved = self._end_broadcast(row, broadcast, at)
            if resolved is None:
                return
            broadcast = resolved
        if self._is_duplicate(row, change.event_type, broadcast, at):
            self.result.duplicates += 1
            return
        if change.kick_event_id:
            self.known_event_ids.add(change.kick_event_id)
        self.touched.add(row.id)
        newest = row.last_status_update is None or at > row.last_status_update
        if not newest and self._follows_last_broadcast(row, change.event_type, broadcast):
            change, at = self._after_last_end(row, change)
            newest = True
        if newest:
            self._append(row, change, broadcast)
        else:
            self._insert_late(row, change, broadcast)
        # Online until an end, and seen online when a current start arrives.
        seen = (
            change.received_timestamp
            if newest and change.event_type is EventType.STREAM_START
            else at
        )
        if row.last_seen_online is None or seen > row.last_seen_online:
            row.last_seen_online = seen

    def _follows_last_broadcast(
        self, row: Streamer, event_type: EventType, broadcast: Broadcast
    ) -> bool:
        """Whether a start stamped before the streamer's last end belongs to a later broadcast.

        An end is stamped when it was seen (Pusher's stop event has no time; a poll sees only
        that the stream is gone), on the local clock; a start is stamped by Kick's clock. When
        Kick's clock runs behind, a new broadcast seems to start before the last one ended. A
        broadcast that began after the last one did cannot have started before it ended.
        """
        if event_type is not EventType.STREAM_START or row.status != Status.OFFLINE:
            return False
        last = self._newest_row(row)
        if last is None or last.event_type != EventType.STREAM_END:
            return False
        return _earlier(row_broadcast(last), broadcast)

    def _after_last_end(self, row: Streamer, change: StatusChange) -> tuple[StatusChange, datetime]:
        """The change restamped just after the last end, its own time kept in event_data."""
        assert row.last_status_update is not None and change.event_timestamp is not None
        at = row.last_status_update + ONE_TICK
        data = dict(change.event_data)
        data.setdefault("raw_event_timestamp", iso(change.event_timestamp))
        received = max(change.received_timestamp, at)
        return replace(change, event_timestamp=at, received_timestamp=received, event_data=data), at

    def _clamped(self, change: StatusChange) -> StatusChange:
        received = min(utc(change.received_timestamp), self.now)
        at = utc(change.event_timestamp) if change.event_timestamp is not None else received
        data = dict(change.event_data)
        if at > received:
            data["raw_event_timestamp"] = iso(at)
            at = received
        started = change.broadcast_started_at
        started = None if started is None else min(utc(started), received)
        return replace(
            change,
            received_timestamp=received,
            event_timestamp=at,
            broadcast_started_at=started,
            event_data=data,
        )

    def _end_broadcast(self, row: Streamer, broadcast: Broadcast, at: datetime) -> Broadcast | None:
        """Which broadcast an end applies to, or None when it changes nothing.

        An end applies to the current broadcast unless it provably names another one.
        """
        if row.status == Status.ONLINE:
            current = current_broadcast(row)
            if not broadcast.known or not broadcast.differs_from(current):
                return broadcast.merged(current)
            if (
                row.last_status_update is not None
                and at > row.last_status_update
                and _earlier(broadcast, current)
            ):
                # A late end of a broadcast before the current one, stamped when it was seen:
                # that broadcast ended before this one began, which the history already holds
                # (its end, or the stand-in made when the current start arrived). The current
                # status stands. (An end with an earlier time of its own is history instead.)
                self.result.duplicates += 1
                return None
            return broadcast
        if not broadcast.known:
            self._observe_offline(row)
            return None
        newest = row.last_status_update is None or at > row.last_status_update
        if newest:
            last = self._newest_row(row)
            if last is None and row.status == Status.OFFLINE and broadcast.livestream_id is None:
                # Offline since the first poll, and no broadcast on record: nothing ended.
                # An end naming Kick's livestream id is a real end (Pusher has no replay) whose
                # start is missing or still on its way: record it, with a stand-in start that
                # the real one replaces, so that arrival order does not decide the status.
                self._observe_offline(row)
                return None
            if last is None:
                return broadcast
            if not broadcast.differs_from(row_broadcast(last)):
                self.result.duplicates += 1
                return None
        return broadcast

    def _newest_row(self, row: Streamer) -> StatusEvent | None:
        newest: StatusEvent | None = (
            StatusEvent.select()
            .where(StatusEvent.streamer == row.id)
            .order_by(*timeline_order(descending=True))
            .first()
        )
        return newest

    def _observe_offline(self, row: Streamer) -> None:
        if row.status == Status.UNKNOWN:
            row.status = Status.OFFLINE
            self.touched.add(row.id)
        self.result.unchanged += 1

    def _is_duplicate(
        self, row: Streamer, event_type: EventType, broadcast: Broadcast, at: datetime
    ) -> bool:
        """A real row of this type and broadcast exists; a synthetic stand-in is removed."""
        if (
            event_type is EventType.STREAM_START
            and row.status == Status.ONLINE
            and current_broadcast(row).same_as(broadcast)
        ):
            return True
        if row.last_status_update is None:
            return False
        if at > row.last_status_update:
            # Newer than all history: only a start within the tolerance of the newest row, or an
            # end of a broadcast other than the current one, can repeat a stored row.
            if event_type is EventType.STREAM_START and broadcast.started_at is not None:
                if broadcast.started_at - BROADCAST_TOLERANCE > row.last_status_update:
                    return False
            elif row.status == Status.ONLINE and not broadcast.differs_from(current_broadcast(row)):
                return False
        if not broadcast.known:
            return False
        started = broadcast.started_at
        field = StatusEvent.broadcast_started_at
        params = [
            row.id,
            str(event_type),
            broadcast.livestream_id,
            field.db_value(started - BROADCAST_TOLERANCE) if started else None,
            field.db_value(started + BROADCAST_TOLERANCE) if started else None,
        ]
        cursor = self.database.handle.execute_sql(self.sql.same_broadcast, params)
        for event_id, synthetic, livestream_id, started_text, at_text in cursor.fetchall():
            stored = Broadcast(livestream_id, field.python_value(started_text))
            if not broadcast.same_as(stored):
                continue
            if not synthetic:
                return True
            self.database.handle.execute_sql(self.sql.delete_event, [event_id])
            # The stand-in is gone: rebuild the timeline from where it stood.
            self._relink(row, min(StatusEvent.event_timestamp.python_value(at_text), at))
        return False

    def _append(self, row: Streamer, change: StatusChange, broadcast: Broadcast) -> None:
        """The common case: the event is newer than everything stored for this streamer."""
        at = change.event_timestamp
        assert at is not None
        target = status_after(change.event_type)
        if transition_for(Status(row.status), change.event_type) is None:
            # A repeat of the current status: the opposite event was missed, a stand-in fills it.
            if change.event_type is EventType.STREAM_START:
                self._insert(
                    row,
                    EventType.STREAM_END,
                    Status.ONLINE,
                    _inferred_end(row, at),
                    current_broadcast(row),
                )
            else:
                when = synthetic_start_time(at, broadcast, row.last_status_update)
                self._insert(row, EventType.STREAM_START, Status.OFFLINE, when, broadcast)
            previous = Status.OFFLINE if target == Status.ONLINE else Status.ONLINE
        else:
            previous = Status(row.status)
        event = self._insert(
            row, change.event_type, previous, at, broadcast, change=change, synthetic=False
        )
        self._set_current(row, change.event_type, at, broadcast, change)
        self.fresh.append((row.id, event, change.reconcile_reason))

    def _insert_late(self, row: Streamer, change: StatusChange, broadcast: Broadcast) -> None:
        """An event older than the newest stored one: history, then re-derive the timeline."""
        at = change.event_timestamp
        assert at is not None
        natural = Status.OFFLINE if change.event_type is EventType.STREAM_START else Status.ONLINE
        inserted = self._insert(
            row, change.event_type, natural, at, broadcast, change=change, synthetic=False
        )
        self._relink(row, at)
        event = StatusEvent.get_by_id(inserted.id)  # re-read: the relink changed it
        event.streamer = row
        self.result.history.append(to_event_record(event))

    def _relink(self, row: Streamer, since: datetime) -> None:
        """Recompute previous statuses and stand-ins of every row from `since` on."""
        before = (
            StatusEvent.select()
            .where((StatusEvent.streamer == row.id) & (StatusEvent.event_timestamp < since))
            .order_by(*timeline_order(descending=True))
            .first()
        )
        StatusEvent.delete().where(
            (StatusEvent.streamer == row.id)
            & (StatusEvent.event_timestamp >= since)
            & (StatusEvent.synthetic == True)  # noqa: E712
        ).execute()
        rows = list(
            StatusEvent.select()
            .where((StatusEvent.streamer == row.id) & (StatusEvent.event_timestamp >= since))
            .order_by(*timeline_order(descending=False))
        )
        running = Status.UNKNOWN if before is None else Status(before.new_status)
        running_broadcast = Broadcast() if before is None else row_broadcast(before)
        last_at = None if before is None else before.event_timestamp
        for event in rows:
            event_type = EventType(event.event_type)
            target = status_after(event_type)
            broadcast = row_broadcast(event)
            if transition_for(running, event_type) is None:
                if target == Status.ONLINE:
                    self._insert(
                        row,
                        EventType.STREAM_END,
                        Status.ONLINE,
                        event.event_timestamp,
                        running_broadcast,
                    )
                    running = Status.OFFLINE
                else:
                    when = synthetic_start_time(event.event_timestamp, broadcast, last_at)
                    self._insert(row, EventType.STREAM_START, running, when, broadcast)
                    running = Status.ONLINE
            if event.previous_status != running:
                event.previous_status = running
                event.save(only=[StatusEvent.previous_status])
            running, running_broadcast, last_at = target, broadcast, event.event_timestamp

    def _insert(
        self,
        row: Streamer,
        event_type: EventType,
        previous: Status,
        at: datetime,
        broadcast: Broadcast,
        *,
        change: StatusChange | None = None,
        synthetic: bool = True,
    ) -> Inserted:
        received = change.received_timestamp if change is not None else self.now
        data: dict[str, Any] = dict(change.event_data) if change is not None else {}
        if synthetic:
            data = {"synthetic": True, "reason": "the matching event was never received"}
        values: dict[str, Any] = {
            "streamer": row.id,
            "event_type": event_type,
            "previous_status": previous,
            "new_status": status_after(event_type),
            "kick_event_id": change.kick_event_id if change is not None else None,
            "event_timestamp": at,
            "received_timestamp": max(received, at),
            "processed_timestamp": max(self.now, received, at),
            "event_data": data,
            "livestream_id": broadcast.livestream_id,
            "broadcast_started_at": broadcast.started_at,
            "synthetic": synthetic,
        }
        params = [INSERT_FIELDS[name].db_value(values[name]) for name in INSERT_COLUMNS]
        cursor = self.database.handle.execute_sql(self.sql.insert_event, params)
        new_id = cursor.lastrowid if self.database.dialect == "sqlite" else cursor.fetchone()[0]
        return Inserted(int(new_id), values)

    def _set_current(
        self,
        row: Streamer,
        event_type: EventType,
        at: datetime,
        broadcast: Broadcast,
        change: StatusChange,
    ) -> None:
        row.status = status_after(event_type)
        row.last_status_update = at
        if event_type is EventType.STREAM_START:
            row.current_broadcast_started_at = broadcast.started_at
            row.current_livestream_id = broadcast.livestream_id
            row.current_title = change.title
            row.current_category = change.category
            row.current_viewers = change.viewers
        else:
            row.current_broadcast_started_at = None
            row.current_livestream_id = None
            row.current_viewers = None

    def finish(self) -> None:
        """Save every touched streamer and build the records of the committed changes."""
        for streamer_id in self.touched:
            row = self.streamers[streamer_id]
            row.updated_at = max(self.now, row.created_at)
            params = [UPDATE_FIELDS[name].db_value(getattr(row, name)) for name in UPDATE_COLUMNS]
            self.database.handle.execute_sql(self.sql.update_streamer, [*params, row.id])
        records = {sid: to_streamer_record(self.streamers[sid]) for sid in self.touched}
        self.result.streamers = list(records.values())
        for streamer_id, inserted, reason in self.fresh:
            event = inserted.record(self.streamers[streamer_id].username)
            self.result.applied.append(AppliedChange(records[streamer_id], event, reason))


def _inferred_end(row: Streamer, next_start: datetime) -> datetime:
    """When a broadcast whose end was never seen ended, at the latest: the last time it was
    seen live, if that lies between its start and the next start; else the next start."""
    seen: datetime | None = row.last_seen_online
    began: datetime | None = row.last_status_update
    if seen is not None and (began is None or seen > began) and seen < next_start:
        return seen
    return next_start


def _earlier(broadcast: Broadcast, other: Broadcast) -> bool:
    """Whether `broadcast` provably began before `other` (Kick's livestream ids grow)."""
    if broadcast.livestream_id and other.livestream_id:
        return _later_id(other.livestream_id, broadcast.livestream_id)
    if broadcast.started_at is not None and other.started_at is not None:
        return other.started_at - broadcast.started_at > BROADCAST_TOLERANCE
    return False


def _later_id(candidate: str, previous: str) -> bool:
    """Whether Kick's numeric livestream id `candidate` was issued after `previous`."""
    if candidate.isascii() and candidate.isdigit() and previous.isascii() and previous.isdigit():
        return int(candidate) > int(previous)
    return False


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _ID_CHUNK):
        yield values[start : start + _ID_CHUNK]
