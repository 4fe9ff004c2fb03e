"""Turning what a REST poll saw into the same changes a push would produce (pure).

A poll cannot tell *when* a stream ended, only that it is not live now, and the official API
has no Pusher livestream id. So a start is keyed by the streamer and its start time (the
broadcast identity shared with the Pusher `created_at`), an end applies to the broadcast the
streamer is in, and whatever else a poll teaches (title, viewers, initial offline) is recorded as
an observation without an event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from kickwatch.domain.events import LiveSnapshot, StreamEvent
from kickwatch.domain.records import StreamerRecord, iso
from kickwatch.domain.status import EventType, Status
from kickwatch.store.repository import StatusChange, StatusObservation
from kickwatch.store.timeline import Broadcast

# A start-up this soon after the streamer was last seen offline is a reconnect for it: a stream
# that began in between is news, not a stream that was already live when kickwatch started.
RESTART_WINDOW = timedelta(minutes=15)


class ReconcileReason(StrEnum):
    """Why a reconciliation ran; carried on each change to the notification policy."""

    STARTUP = "startup"
    RECONNECT = "reconnect"
    RESUME = "resume"
    PERIODIC = "periodic"
    STREAMERS_CHANGED = "streamers_changed"


def broadcast_key(user_id: int, started_at: datetime | None, livestream_id: str | None) -> str:
    """A kick_event_id stem naming one broadcast of one user, whatever the source."""
    if started_at is not None:
        return f"u{user_id}:{int(started_at.timestamp())}"
    return f"u{user_id}:l{livestream_id}"


def changes_from_snapshots(
    streamers: Iterable[StreamerRecord],
    snapshots: Mapping[int, LiveSnapshot],
    observed_at: datetime,
    reason: ReconcileReason,
) -> list[StatusChange | StatusObservation]:
    """Changes for every streamer polled: `snapshots` by Kick user id, absent means offline."""
    items: list[StatusChange | StatusObservation] = []
    for streamer in streamers:
        snapshot = snapshots.get(streamer.kick_user_id)
        if snapshot is not None and snapshot.is_live:
            items.extend(_live(streamer, snapshot, observed_at, reason))
        else:
            items.extend(_offline(streamer, snapshot, observed_at, reason))
    return items


def history_data(source: str, seen: StreamEvent | LiveSnapshot | None) -> dict[str, Any]:
    """What the history keeps of a push or a poll: where it came from and what the broadcast
    was. The frame or answer itself can be megabytes; its parsed, capped fields are enough."""
    data: dict[str, Any] = {"source": source}
    if seen is not None:
        if seen.livestream_id is not None:
            data["livestream_id"] = seen.livestream_id
        if seen.title:
            data["title"] = seen.title
        if seen.category:
            data["category"] = seen.category
        if seen.viewers is not None:
            data["viewers"] = seen.viewers
    return data


def _data(snapshot: LiveSnapshot | None, reason: ReconcileReason, source: str) -> dict[str, Any]:
    return {**history_data(source, snapshot), "reconcile": str(reason)}


def _live(
    streamer: StreamerRecord,
    snapshot: LiveSnapshot,
    observed_at: datetime,
    reason: ReconcileReason,
) -> list[StatusChange | StatusObservation]:
    observation = StatusObservation(
        streamer.id, True, observed_at, snapshot.title, snapshot.category, snapshot.viewers
    )
    seen = Broadcast(snapshot.livestream_id, snapshot.started_at)
    current = Broadcast(streamer.current_livestream_id, streamer.current_broadcast_started_at)
    if streamer.status == Status.ONLINE and (
        seen.same_as(current) or not seen.differs_from(current)
    ):
        return [observation]
    started = snapshot.started_at or observed_at
    if (
        reason is ReconcileReason.STARTUP
        and streamer.status == Status.OFFLINE
        and observed_at - streamer.updated_at <= RESTART_WINDOW
    ):
        # Compared on the local clock only: Kick's own clock may be minutes off.
        reason = ReconcileReason.RECONNECT
    key = broadcast_key(streamer.kick_user_id, snapshot.started_at, snapshot.livestream_id)
    start = StatusChange(
        streamer_id=streamer.id,
        event_type=EventType.STREAM_START,
        received_timestamp=observed_at,
        event_timestamp=started,
        kick_event_id=f"{key}:start" if snapshot.started_at or snapshot.livestream_id else None,
        livestream_id=snapshot.livestream_id,
        broadcast_started_at=started,
        event_data=_data(snapshot, reason, str(snapshot.source)),
        title=snapshot.title,
        category=snapshot.category,
        viewers=snapshot.viewers,
        reconcile_reason=str(reason),
    )
    return [start, observation]


def _offline(
    streamer: StreamerRecord,
    snapshot: LiveSnapshot | None,
    observed_at: datetime,
    reason: ReconcileReason,
) -> list[StatusChange | StatusObservation]:
    if streamer.status != Status.ONLINE:
        return [StatusObservation(streamer.id, False, observed_at)]
    started = streamer.current_broadcast_started_at
    livestream = streamer.current_livestream_id
    key = broadcast_key(streamer.kick_user_id, started, livestream)
    data = _data(snapshot, reason, str(snapshot.source) if snapshot else "poll")
    data["observed_offline_at"] = iso(observed_at)
    return [
        StatusChange(
            streamer_id=streamer.id,
            event_type=EventType.STREAM_END,
            received_timestamp=observed_at,
            event_timestamp=observed_at,
            kick_event_id=f"{key}:end" if started or livestream else None,
            livestream_id=livestream,
            broadcast_started_at=started,
            event_data=data,
            reconcile_reason=str(reason),
        )
    ]
