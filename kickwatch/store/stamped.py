"""A change's times as the batch records them, worked out once per change.

None lies after the local clock: a change received "later" than now was received now, an event
stamped after it was received (Kick's clock ahead of ours) is stamped when it was received, its
raw time kept in `event_data["raw_event_timestamp"]`, and a broadcast did not start after it was
seen.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from kickwatch.domain.clock import utc
from kickwatch.domain.records import iso
from kickwatch.domain.status import EventType
from kickwatch.store.changes import StatusChange
from kickwatch.store.timeline import ONE_TICK, Broadcast


class Stamped:
    """A change's times as the batch records them: none after the local clock, a start time
    no later than when it was received, and an event time no later than that either (the raw
    time is kept in event_data)."""

    __slots__ = ("at", "change", "data", "received", "started")

    def __init__(self, change: StatusChange, now: datetime) -> None:
        self.change = change
        received = as_utc(change.received_timestamp)
        if received > now:
            received = now
        at = received if change.event_timestamp is None else as_utc(change.event_timestamp)
        self.data = change.event_data
        if at > received:
            self.data = {**change.event_data, "raw_event_timestamp": iso(at)}
            at = received
        started = change.broadcast_started_at
        if started is not None:
            started = as_utc(started)
            if started > received:
                started = received
        self.received, self.at, self.started = received, at, started

    def looked_for(self) -> Broadcast:
        """The broadcast `Batch.apply` looks for when it checks the change for a duplicate."""
        if self.started is None and self.change.event_type is EventType.STREAM_START:
            return Broadcast(self.change.livestream_id, self.at)
        return Broadcast(self.change.livestream_id, self.started)

    def after(self, last: datetime | None) -> Stamped:
        """The change restamped just after the streamer's last end, its own time kept in
        event_data."""
        assert last is not None
        moved = copy.copy(self)
        moved.at = last + ONE_TICK
        moved.data = dict(self.data)
        moved.data.setdefault("raw_event_timestamp", iso(self.at))
        if moved.at > moved.received:
            moved.received = moved.at
        return moved


def as_utc(value: datetime) -> datetime:
    """`value` as aware UTC (itself when it is already)."""
    return value if value.tzinfo is UTC else utc(value)
