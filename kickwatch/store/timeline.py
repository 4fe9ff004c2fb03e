"""The history of one streamer as a timeline, and the rules that keep it consistent.

Events may arrive late, twice, or from two sources. The stored history is therefore kept as a
function of the set of real events, not of their arrival order: rows are ordered by
(event_timestamp, end-before-start), each row's `previous_status` is the status left by the row
before it, and where a transition is missing (a start while already online in another broadcast,
an end while already offline) a `synthetic` row stands in for it until the real one arrives and
replaces it. The streamer's current status is always that of the newest row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

# Pusher `created_at` and the official `started_at` name the same instant in different formats.
BROADCAST_TOLERANCE = timedelta(seconds=10)
ONE_TICK = timedelta(microseconds=1)


class Broadcast(NamedTuple):
    """The identity of one broadcast: Kick's livestream id and/or its start time.

    A named tuple rather than a frozen dataclass: the batch write makes several per change, and
    a tuple is made in a fraction of the time.
    """

    livestream_id: str | None = None
    started_at: datetime | None = None

    @property
    def known(self) -> bool:
        """Whether anything identifies this broadcast."""
        return self.livestream_id is not None or self.started_at is not None

    def same_as(self, other: Broadcast) -> bool:
        """Whether both name the same broadcast (ids when both have one, else start times)."""
        if self.livestream_id is not None and other.livestream_id is not None:
            return self.livestream_id == other.livestream_id
        if self.started_at is not None and other.started_at is not None:
            return abs(self.started_at - other.started_at) <= BROADCAST_TOLERANCE
        return False

    def differs_from(self, other: Broadcast) -> bool:
        """Whether both are provably different broadcasts (not merely unknown)."""
        if self.livestream_id is not None and other.livestream_id is not None:
            return self.livestream_id != other.livestream_id
        if self.started_at is not None and other.started_at is not None:
            return abs(self.started_at - other.started_at) > BROADCAST_TOLERANCE
        return False

    def merged(self, other: Broadcast) -> Broadcast:
        """This identity with what it lacks taken from `other`."""
        return Broadcast(
            self.livestream_id if self.livestream_id is not None else other.livestream_id,
            self.started_at if self.started_at is not None else other.started_at,
        )


def synthetic_start_time(
    end_at: datetime, broadcast: Broadcast, after: datetime | None
) -> datetime:
    """When to place a stand-in start for a broadcast whose start was never seen."""
    started = broadcast.started_at
    if started is not None and started < end_at and (after is None or started > after):
        return started
    return end_at - ONE_TICK


def earlier(broadcast: Broadcast, other: Broadcast) -> bool:
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


def inferred_end(
    last_seen_online: datetime | None, began: datetime | None, next_start: datetime
) -> datetime:
    """When a broadcast whose end was never seen ended, at the latest: the last time it was
    seen live, if that lies between its start (`began`) and the next start; else the next
    start."""
    seen = last_seen_online
    if seen is not None and (began is None or seen > began) and seen < next_start:
        return seen
    return next_start
