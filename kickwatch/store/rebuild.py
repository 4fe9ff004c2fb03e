"""The rare paths of the batch write, which ask the database and rebuild a timeline there.

A late event (older than the streamer's newest row) and a real event that replaces a stand-in
change rows already stored: previous statuses are recomputed and stand-ins made or removed from
that point on, in the database, exactly as one change at a time would. The batch then `forget`s
what it knew of that streamer (`kickwatch.store.known`) and asks the database from there on.
Every method here flushes the buffered inserts first: the database must hold them to be asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kickwatch.domain.status import EventType, Status, status_after, transition_for
from kickwatch.store.convert import timeline_order
from kickwatch.store.database import Database
from kickwatch.store.known import Known, StreamerState
from kickwatch.store.models import StatusEvent
from kickwatch.store.stamped import Stamped
from kickwatch.store.statements import (
    EventRows,
    Inserted,
    Statements,
    StoredEvent,
    read_timestamp,
    same_broadcast_params,
)
from kickwatch.store.timeline import BROADCAST_TOLERANCE, Broadcast, synthetic_start_time

_START, _END = EventType.STREAM_START, EventType.STREAM_END
_ONLINE, _OFFLINE, _UNKNOWN = Status.ONLINE, Status.OFFLINE, Status.UNKNOWN


class TimelineInDatabase:
    """The database-side half of `kickwatch.store.batch.Batch` (a mixin of it)."""

    database: Database
    sql: Statements
    rows: EventRows
    known: Known
    _timestamp: Any

    def _insert(
        self,
        row: StreamerState,
        event_type: EventType,
        previous: Status,
        at: datetime,
        broadcast: Broadcast,
        event: Stamped | None = None,
    ) -> Inserted:
        raise NotImplementedError

    def _newest_row(self, row: StreamerState) -> StoredEvent | None:
        known, newest = self.known.newest(row.id)
        if known:
            return newest
        self.rows.flush()
        found = (
            StatusEvent.select(
                StatusEvent.id,
                StatusEvent.event_type,
                StatusEvent.synthetic,
                StatusEvent.livestream_id,
                StatusEvent.broadcast_started_at,
            )
            .where(StatusEvent.streamer == row.id)
            .order_by(*timeline_order(descending=True))
            .first()
        )
        newest = None
        if found is not None:
            newest = StoredEvent(
                found.id,
                found.event_type,
                bool(found.synthetic),
                found.livestream_id,
                found.broadcast_started_at,
            )
        self.known.set_newest(row.id, newest)
        return newest

    def _replace_stand_in(
        self, row: StreamerState, event_type: EventType, broadcast: Broadcast, at: datetime
    ) -> bool:
        """Look for the broadcast in the database: True if a real row holds it; a stand-in
        found first is deleted and the timeline rebuilt from where it stood."""
        self.rows.flush()
        started = broadcast.started_at
        write = self._timestamp
        params = same_broadcast_params(
            row.id,
            event_type.value,
            broadcast.livestream_id,
            write(started - BROADCAST_TOLERANCE) if started else None,
            write(started + BROADCAST_TOLERANCE) if started else None,
        )
        cursor = self.database.handle.execute_sql(self.sql.same_broadcast, params)
        for event_id, synthetic, livestream_id, started_at, event_at in cursor.fetchall():
            stored = Broadcast(livestream_id, read_timestamp(started_at))
            if not broadcast.same_as(stored):
                continue
            if not synthetic:
                return True
            self.database.handle.execute_sql(self.sql.delete_event, [event_id])
            # The stand-in is gone: rebuild the timeline from where it stood.
            stood = read_timestamp(event_at)
            assert stood is not None
            self._relink(row, min(stood, at))
        return False

    def _relink(self, row: StreamerState, since: datetime) -> None:
        """Recompute previous statuses and stand-ins of every row from `since` on."""
        self.rows.flush()
        self.known.forget(row.id)
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
        running = _UNKNOWN if before is None else Status(before.new_status)
        running_broadcast = Broadcast()
        if before is not None:
            running_broadcast = Broadcast(before.livestream_id, before.broadcast_started_at)
        last_at = None if before is None else before.event_timestamp
        for event in rows:
            event_type = EventType(event.event_type)
            target = status_after(event_type)
            broadcast = Broadcast(event.livestream_id, event.broadcast_started_at)
            if transition_for(running, event_type) is None:
                if target == _ONLINE:
                    self._insert(row, _END, _ONLINE, event.event_timestamp, running_broadcast)
                    running = _OFFLINE
                else:
                    when = synthetic_start_time(event.event_timestamp, broadcast, last_at)
                    self._insert(row, _START, running, when, broadcast)
                    running = _ONLINE
            if event.previous_status != running:
                event.previous_status = running
                event.save(only=[StatusEvent.previous_status])
            running, running_broadcast, last_at = target, broadcast, event.event_timestamp
        self.rows.flush()
