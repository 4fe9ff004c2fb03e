"""The batch write: a transaction's worth of starts, ends and observations, applied in order.

Duplicates are ignored, late events become history without overwriting a newer status, and
timestamps ahead of the local clock are clamped to the receive time (see `timeline` for the
ordering rules). The common case, an event newer than everything stored for its streamer, is
decided from what the batch read when it began (`known`) and its rows are buffered and written
together (`statements.EventRows`), so a batch costs a handful of statements however many
changes it holds. The rare cases (late history, a stand-in replaced) rebuild the streamer's
timeline in the database, as one change at a time would.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kickwatch.domain.clock import Clock, utc
from kickwatch.domain.errors import ValidationError
from kickwatch.domain.status import EventType, Status, transition_for
from kickwatch.store.changes import AppliedChange, BatchResult, StatusChange, StatusObservation
from kickwatch.store.convert import to_event_record
from kickwatch.store.database import Database
from kickwatch.store.known import Known, StreamerState, Wanted
from kickwatch.store.models import StatusEvent
from kickwatch.store.rebuild import TimelineInDatabase
from kickwatch.store.stamped import Stamped
from kickwatch.store.statements import (
    EventRows,
    Inserted,
    StoredEvent,
    json_text,
    memoized,
    statements_for,
    timestamp_writer,
    update_streamers,
)
from kickwatch.store.timeline import (
    BROADCAST_TOLERANCE,
    Broadcast,
    earlier,
    inferred_end,
    synthetic_start_time,
)

log = logging.getLogger(__name__)

__all__ = ["AppliedChange", "Batch", "BatchResult", "StatusChange", "StatusObservation"]

_SYNTHETIC_DATA = {"synthetic": True, "reason": "the matching event was never received"}
_SYNTHETIC_TEXT = json_text(_SYNTHETIC_DATA)
_START, _END = EventType.STREAM_START, EventType.STREAM_END
_ONLINE, _OFFLINE, _UNKNOWN = Status.ONLINE, Status.OFFLINE, Status.UNKNOWN
_TEXT: dict[str, str] = {member: member.value for member in (*EventType, *Status)}
# Whether an event of this type changes this status (`transition_for`), looked up.
_CHANGES = {
    (status, kind): transition_for(status, kind) is not None
    for status in Status
    for kind in (_START, _END)
}


class Batch(TimelineInDatabase):
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
        self._timestamp = memoized(timestamp_writer(database.dialect))
        self._now_text = self._timestamp(self.now)
        # The stored form of `synthetic`: SQLite's driver binds a bool only after looking for
        # an adapter (and raising and clearing an AttributeError), an int at once.
        self._flag = (0, 1) if database.dialect == "sqlite" else (False, True)
        self.rows = EventRows(database.handle, self.sql)
        self.known = Known(database, self.sql)
        # Lock the streamers this batch changes before deduplicating against their history, in
        # id order so that two writers cannot deadlock: a concurrent batch on the same streamers
        # waits, then sees what this one committed. (SQLite: the transaction began IMMEDIATE and
        # holds the database's write lock already.)
        self.known.load_streamers(item.streamer_id for item in items)
        changes = [item for item in items if isinstance(item, StatusChange)]
        self.known.load_event_ids(c.kick_event_id for c in changes if c.kick_event_id)
        # Each change's times as recorded, worked out once (a change may be queued twice).
        self._stamped = {id(change): Stamped(change, self.now) for change in changes}
        wanted = Wanted()
        for change in changes:
            wanted.add(change.streamer_id, self._stamped[id(change)].looked_for())
        self.known.load_candidates(wanted)
        self.touched: set[int] = set()
        self.fresh: list[tuple[int, Inserted, str | None]] = []

    @property
    def streamers(self) -> dict[int, StreamerState]:
        """The batch's streamers by id, as it changes them."""
        return self.known.streamers

    def observe(self, item: StatusObservation) -> None:
        row = self.streamers.get(item.streamer_id)
        if row is None:
            self.result.missing_streamers += 1
            return
        observed = min(utc(item.observed_at), self.now)
        if item.is_live:
            if row.last_seen_online is None or observed > row.last_seen_online:
                row.last_seen_online = observed
            if item.title is not None:
                row.current_title = item.title
            if item.category is not None:
                row.current_category = item.category
            if item.viewers is not None:
                row.current_viewers = item.viewers
        elif row.status == _UNKNOWN:
            # Initial detection of an offline streamer: a status, not a stream that ended, so
            # no event row; last_status_update stays with the newest recorded event.
            row.status = _OFFLINE
        self.touched.add(row.id)

    def apply(self, change: StatusChange) -> None:
        if change.event_type is not _START and change.event_type is not _END:
            raise ValidationError("event_type", f"{change.event_type} is not a status change")
        row = self.streamers.get(change.streamer_id)
        if row is None:
            self.result.missing_streamers += 1
            return
        if change.kick_event_id and change.kick_event_id in self.known.event_ids:
            self.result.duplicates += 1
            return
        event = self._stamped.get(id(change)) or Stamped(change, self.now)
        at = event.at
        broadcast = Broadcast(change.livestream_id, event.started)
        if change.event_type is _START and broadcast.started_at is None:
            broadcast = Broadcast(broadcast.livestream_id, at)
        if change.event_type is _END:
            resolved = self._end_broadcast(row, broadcast, at)
            if resolved is None:
                return
            broadcast = resolved
        if self._is_duplicate(row, change.event_type, broadcast, at):
            self.result.duplicates += 1
            return
        if change.kick_event_id:
            self.known.event_ids.add(change.kick_event_id)
        self.touched.add(row.id)
        newest = row.last_status_update is None or at > row.last_status_update
        if not newest and self._follows_last_broadcast(row, change.event_type, broadcast):
            event = event.after(row.last_status_update)
            at = event.at
            newest = True
        if newest:
            self._append(row, event, broadcast)
        else:
            self._insert_late(row, event, broadcast)
        # Online until an end, and seen online when a current start arrives.
        seen = event.received if newest and change.event_type is _START else at
        if row.last_seen_online is None or seen > row.last_seen_online:
            row.last_seen_online = seen

    def _follows_last_broadcast(
        self, row: StreamerState, event_type: EventType, broadcast: Broadcast
    ) -> bool:
        """Whether a start stamped before the streamer's last end belongs to a later broadcast.

        An end is stamped when it was seen (Pusher's stop event has no time; a poll sees only
        that the stream is gone), on the local clock; a start is stamped by Kick's clock. When
        Kick's clock runs behind, a new broadcast seems to start before the last one ended. A
        broadcast that began after the last one did cannot have started before it ended.
        """
        if event_type is not _START or row.status != _OFFLINE:
            return False
        last = self._newest_row(row)
        if last is None or last.event_type != _END:
            return False
        return earlier(Broadcast(last.livestream_id, last.started_at), broadcast)

    def _end_broadcast(
        self, row: StreamerState, broadcast: Broadcast, at: datetime
    ) -> Broadcast | None:
        """Which broadcast an end applies to, or None when it changes nothing.

        An end applies to the current broadcast unless it provably names another one.
        """
        if row.status == _ONLINE:
            current = _current(row)
            if not broadcast.known or not broadcast.differs_from(current):
                return broadcast.merged(current)
            if (
                row.last_status_update is not None
                and at > row.last_status_update
                and earlier(broadcast, current)
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
            if last is None and row.status == _OFFLINE and broadcast.livestream_id is None:
                # Offline since the first poll, and no broadcast on record: nothing ended.
                # An end naming Kick's livestream id is a real end (Pusher has no replay) whose
                # start is missing or still on its way: record it, with a stand-in start that
                # the real one replaces, so that arrival order does not decide the status.
                self._observe_offline(row)
                return None
            if last is None:
                return broadcast
            if not broadcast.differs_from(Broadcast(last.livestream_id, last.started_at)):
                self.result.duplicates += 1
                return None
        return broadcast

    def _observe_offline(self, row: StreamerState) -> None:
        if row.status == _UNKNOWN:
            row.status = _OFFLINE
            self.touched.add(row.id)
        self.result.unchanged += 1

    def _is_duplicate(
        self, row: StreamerState, event_type: EventType, broadcast: Broadcast, at: datetime
    ) -> bool:
        """A real row of this type and broadcast exists; a synthetic stand-in is removed."""
        if event_type is _START and row.status == _ONLINE and _current(row).same_as(broadcast):
            return True
        if row.last_status_update is None:
            return False
        if at > row.last_status_update:
            # Newer than all history: only a start within the tolerance of the newest row, or an
            # end of a broadcast other than the current one, can repeat a stored row.
            if event_type is _START and broadcast.started_at is not None:
                if broadcast.started_at - BROADCAST_TOLERANCE > row.last_status_update:
                    return False
            elif row.status == _ONLINE and not broadcast.differs_from(_current(row)):
                return False
        if not broadcast.known:
            return False
        same = self.known.same_broadcast(row.id, event_type.value, broadcast)
        if same is not None and not any(event.synthetic for event in same):
            return bool(same)
        return self._replace_stand_in(row, event_type, broadcast, at)

    def _append(self, row: StreamerState, event: Stamped, broadcast: Broadcast) -> None:
        """The common case: the event is newer than everything stored for this streamer."""
        at = event.at
        change = event.change
        event_type = change.event_type
        if not _CHANGES[row.status, event_type]:
            # A repeat of the current status: the opposite event was missed, a stand-in fills it.
            if event_type is _START:
                ended = inferred_end(row.last_seen_online, row.last_status_update, at)
                self._insert(row, _END, _ONLINE, ended, _current(row))
            else:
                when = synthetic_start_time(at, broadcast, row.last_status_update)
                self._insert(row, _START, _OFFLINE, when, broadcast)
            previous = _OFFLINE if event_type is _START else _ONLINE
        else:
            previous = row.status
        inserted = self._insert(row, event_type, previous, at, broadcast, event)
        self.known.set_newest(row.id, inserted.stored)
        self._set_current(row, event_type, at, broadcast, change)
        self.fresh.append((row.id, inserted, change.reconcile_reason))

    def _insert_late(self, row: StreamerState, event: Stamped, broadcast: Broadcast) -> None:
        """An event older than the newest stored one: history, then re-derive the timeline."""
        at, event_type = event.at, event.change.event_type
        natural = _OFFLINE if event_type is _START else _ONLINE
        inserted = self._insert(row, event_type, natural, at, broadcast, event)
        self._relink(row, at)
        stored = StatusEvent.get_by_id(inserted.id)  # re-read: the relink changed it
        self.result.history.append(to_event_record(stored, row.username))

    def _insert(
        self,
        row: StreamerState,
        event_type: EventType,
        previous: Status,
        at: datetime,
        broadcast: Broadcast,
        event: Stamped | None = None,
    ) -> Inserted:
        """Queue one event row: `event`'s, or a stand-in for a missed one when it is None."""
        write = self._timestamp
        if event is None:
            received = self.now
            data: dict[str, Any] = dict(_SYNTHETIC_DATA)
            data_text = _SYNTHETIC_TEXT
            key = None
        else:
            received = event.received
            data = dict(event.data)
            data_text = json_text(data)
            key = event.change.kick_event_id
        if at > received:
            received = at
        processed = received if received > self.now else self.now
        new_status = _ONLINE if event_type is _START else _OFFLINE
        synthetic = event is None
        livestream_id, started = broadcast.livestream_id, broadcast.started_at
        kind = _TEXT[event_type]
        stored = StoredEvent(None, kind, synthetic, livestream_id, started)
        # The three times are often one instant: format it once.
        at_text = write(at)
        received_text = at_text if received == at else write(received)
        if started is None or started == at:
            started_text = None if started is None else at_text
        else:
            started_text = write(started)
        self.rows.add(
            (
                row.id,
                kind,
                _TEXT[previous],
                _TEXT[new_status],
                key,
                at_text,
                received_text,
                self._now_text if processed is self.now else write(processed),
                data_text,
                livestream_id,
                started_text,
                self._flag[synthetic],
            ),
            stored,
        )
        self.known.inserted(row.id, stored)
        fields = (row.id, row.username, event_type, previous, new_status, key, at, received)
        return Inserted(stored, (*fields, processed, data, synthetic))

    def _set_current(
        self,
        row: StreamerState,
        event_type: EventType,
        at: datetime,
        broadcast: Broadcast,
        change: StatusChange,
    ) -> None:
        row.status = _ONLINE if event_type is _START else _OFFLINE
        row.last_status_update = at
        if event_type is _START:
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
        """Write what is buffered, save every touched streamer (one statement) and build the
        records of the committed changes."""
        self.rows.flush()
        write = self._timestamp
        updates = []
        touched = sorted(self.touched)
        for streamer_id in touched:
            row = self.streamers[streamer_id]
            row.updated_at = max(self.now, row.created_at)
            updates.append(
                [  # UPDATE_COLUMNS, then the id
                    _TEXT[row.status],
                    write(row.last_seen_online),
                    write(row.last_status_update),
                    write(row.current_broadcast_started_at),
                    row.current_livestream_id,
                    row.current_title,
                    row.current_category,
                    row.current_viewers,
                    write(row.updated_at),
                    row.id,
                ]
            )
        update_streamers(self.database.handle, self.sql, updates)
        records = {sid: self.streamers[sid].record() for sid in touched}
        self.result.streamers = list(records.values())
        applied = self.result.applied
        for streamer_id, inserted, reason in self.fresh:
            applied.append(AppliedChange(records[streamer_id], inserted.record(), reason))


def _current(row: StreamerState) -> Broadcast:
    """The broadcast a streamer is in now, as the batch holds it."""
    return Broadcast(row.current_livestream_id, row.current_broadcast_started_at)
