"""What the batch write takes (starts, ends, observations) and what it reports back.

Plain values, free of any database handle: they are made on the event loop, queued, written on
the writer thread, and the results handed back to the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kickwatch.domain.quick_init import quick_init
from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.status import EventType


@quick_init
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


@quick_init
@dataclass(frozen=True, slots=True)
class StatusObservation:
    """What a poll saw of a streamer, recorded without an event: live details, initial offline."""

    streamer_id: int
    is_live: bool
    observed_at: datetime
    title: str | None = None
    category: str | None = None
    viewers: int | None = None


@quick_init
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
