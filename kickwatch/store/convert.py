"""Conversions between peewee rows and the immutable records the rest of kickwatch uses."""

from __future__ import annotations

import peewee

from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.status import EventType, Status
from kickwatch.store.models import StatusEvent, Streamer
from kickwatch.store.timeline import Broadcast


def timeline_order(*, descending: bool) -> list[peewee.Ordering]:
    """(event_timestamp, end-before-start, id): the order of one streamer's history."""
    rank = peewee.Case(StatusEvent.event_type, [(EventType.STREAM_END.value, 0)], 1)
    columns = [StatusEvent.event_timestamp, rank, StatusEvent.id]
    return [c.desc() if descending else c.asc() for c in columns]


def current_broadcast(row: Streamer) -> Broadcast:
    """The broadcast a streamer is in now, as stored."""
    return Broadcast(row.current_livestream_id, row.current_broadcast_started_at)


def row_broadcast(event: StatusEvent) -> Broadcast:
    """The broadcast a stored event belongs to."""
    return Broadcast(event.livestream_id, event.broadcast_started_at)


def to_streamer_record(row: Streamer) -> StreamerRecord:
    """An immutable snapshot of a streamer row."""
    return StreamerRecord(
        id=row.id,
        kick_user_id=row.kick_user_id,
        username=row.username,
        display_name=row.display_name,
        status=Status(row.status),
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        kick_channel_id=row.kick_channel_id,
        slug=row.slug,
        profile_picture_url=row.profile_picture_url,
        last_seen_online=row.last_seen_online,
        last_status_update=row.last_status_update,
        current_broadcast_started_at=row.current_broadcast_started_at,
        current_livestream_id=row.current_livestream_id,
        current_title=row.current_title,
        current_category=row.current_category,
        current_viewers=row.current_viewers,
        notify_on_start=bool(row.notify_on_start),
        notify_on_end=bool(row.notify_on_end),
        is_favorite=bool(row.is_favorite),
        is_muted=bool(row.is_muted),
    )


def to_event_record(row: StatusEvent, username: str | None = None) -> StatusEventRecord:
    """An immutable snapshot of a status event row (with its streamer's username, looked up
    unless given)."""
    streamer = row.__data__.get("streamer")
    if username is None and streamer is not None:
        related = row.__rel__.get("streamer")
        if related is None:
            related = Streamer.get_or_none(Streamer.id == streamer)
        username = related.username if related is not None else ""
    return StatusEventRecord(
        id=row.id,
        streamer_id=streamer,
        streamer=username or "",
        event_type=EventType(row.event_type),
        previous_status=Status(row.previous_status),
        new_status=Status(row.new_status),
        kick_event_id=row.kick_event_id,
        event_timestamp=row.event_timestamp,
        received_timestamp=row.received_timestamp,
        processed_timestamp=row.processed_timestamp,
        event_data=row.event_data or {},
        inferred=bool(row.synthetic),
    )
