"""Which pushes and polls may carry a new title or category of a live stream (pure, no I/O).

A `StreamerIsLive` or `LivestreamUpdated` for a broadcast that is already live is a duplicate
start to the status history, but its title and category may be new; so may a reconciliation
poll's. `LiveDetailsTracker` remembers the title and category last known for each live
streamer's broadcast and lets through, as `DetailsSeen`, only what differs from it; the store
(`RuleStore.record_details`) then decides, against the database, whether it is a change. So the
two or three copies of one frame cost one comparison in memory, not a write each.

A poll is judged against what was known when it began: if a push brought news of a streamer
while the poll ran, the poll's older view of that streamer is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kickwatch.domain.events import LiveSnapshot, StreamEvent
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import DetailsSeen
from kickwatch.domain.status import EventType, Status
from kickwatch.store.timeline import Broadcast


@dataclass(frozen=True, slots=True)
class _Known:
    broadcast: Broadcast
    title: str | None
    category: str | None


def _broadcast(record: StreamerRecord) -> Broadcast:
    return Broadcast(record.current_livestream_id, record.current_broadcast_started_at)


def _may_tell(record: StreamerRecord, title: str | None, category: str | None) -> bool:
    """Whether what was seen can be news: a title or a category of a streamer who is live (of
    one who is not, a start is a new broadcast, which the status history records)."""
    return record.status == Status.ONLINE and (title is not None or category is not None)


class LiveDetailsTracker:
    """The title and category last known per live streamer (see the module docstring)."""

    def __init__(self) -> None:
        self._known: dict[int, _Known] = {}
        self._versions: dict[int, int] = {}

    def mark(self) -> dict[int, int]:
        """What is known now, to judge a poll that begins now by (`from_poll`)."""
        return dict(self._versions)

    def from_push(self, event: StreamEvent, record: StreamerRecord | None) -> DetailsSeen | None:
        """What a pushed start says of the live broadcast of `record`, if it may be news."""
        if (
            record is None
            or event.event_type is not EventType.STREAM_START
            or not _may_tell(record, event.title, event.category)
        ):
            return None  # decided before anything is built: most pushed starts are new broadcasts
        seen = DetailsSeen(
            streamer_id=record.id,
            seen_at=event.received_at,
            source=str(event.source),
            title=event.title,
            category=event.category,
            livestream_id=event.livestream_id,
            started_at=event.started_at,
        )
        return seen if self._news(record, seen) else None

    def from_poll(
        self,
        records: Mapping[int, StreamerRecord],
        polled: Iterable[int],
        snapshots: Mapping[int, LiveSnapshot],
        mark: Mapping[int, int],
    ) -> list[DetailsSeen]:
        """What a poll says of each live broadcast that may be news: `records` are the
        streamers as known now, `polled` the ids the poll asked about, `snapshots` its answer by
        Kick user id, `mark` what `mark()` gave when the poll began."""
        out: list[DetailsSeen] = []
        for streamer_id in polled:
            record = records.get(streamer_id)
            if record is None or self._versions.get(streamer_id) != mark.get(streamer_id):
                continue  # gone, or a push told more while the poll ran
            snapshot = snapshots.get(record.kick_user_id)
            if snapshot is None or not snapshot.is_live:
                continue
            seen = DetailsSeen(
                streamer_id=record.id,
                seen_at=snapshot.observed_at,
                source=str(snapshot.source),
                title=snapshot.title,
                category=snapshot.category,
                livestream_id=snapshot.livestream_id,
                started_at=snapshot.started_at,
            )
            if self._news(record, seen):
                out.append(seen)
        return out

    def remember(self, seen: DetailsSeen, record: StreamerRecord | None) -> None:
        """The store has judged `seen`: it is what is known now (unknown fields kept)."""
        if record is None or record.status != Status.ONLINE:
            return
        broadcast = _broadcast(record)
        known = self._known.get(record.id)
        if known is None or known.broadcast.differs_from(broadcast):
            known = _Known(broadcast, record.current_title, record.current_category)
        self._set(
            record.id,
            _Known(
                broadcast,
                seen.title if seen.title is not None else known.title,
                seen.category if seen.category is not None else known.category,
            ),
        )

    def started(self, record: StreamerRecord) -> None:
        """A new broadcast of `record` was committed: its start's details are what is known."""
        self._set(
            record.id, _Known(_broadcast(record), record.current_title, record.current_category)
        )

    def forget(self, streamer_id: int) -> None:
        """The streamer's broadcast ended (or it is no longer watched)."""
        if self._known.pop(streamer_id, None) is not None:
            self._versions[streamer_id] = self._versions.get(streamer_id, 0) + 1

    def _set(self, streamer_id: int, known: _Known) -> None:
        self._known[streamer_id] = known
        self._versions[streamer_id] = self._versions.get(streamer_id, 0) + 1

    def _news(self, record: StreamerRecord, seen: DetailsSeen) -> bool:
        if not _may_tell(record, seen.title, seen.category):
            return False
        current = _broadcast(record)
        if Broadcast(seen.livestream_id, seen.started_at).differs_from(current):
            return False  # another broadcast: a start, which the status history handles
        known = self._known.get(record.id)
        if known is None or known.broadcast.differs_from(current):
            return True  # nothing known of this broadcast in memory: the store knows
        return (seen.title is not None and seen.title != known.title) or (
            seen.category is not None and seen.category != known.category
        )
