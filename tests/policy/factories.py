"""Builders of streamer records and monitor events for the policy tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.rules import StreamerRule
from kickwatch.domain.status import EventType, Status
from kickwatch.monitor.events import StreamEnded, StreamStarted

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def streamer(sid: int = 1, name: str | None = None, **fields: object) -> StreamerRecord:
    """A streamer record with sensible defaults; `fields` override them."""
    username = name or f"streamer{sid}"
    record = StreamerRecord(
        id=sid,
        kick_user_id=1000 + sid,
        username=username,
        display_name=username.capitalize(),
        status=Status.ONLINE,
        is_active=True,
        created_at=T0 - timedelta(days=1),
        updated_at=T0 - timedelta(days=1),
        current_title="Morning stream",
        current_category="Just Chatting",
    )
    return replace(record, **fields)  # type: ignore[arg-type]


def _event(record: StreamerRecord, event_type: EventType, when: datetime) -> StatusEventRecord:
    previous, new = (
        (Status.OFFLINE, Status.ONLINE)
        if event_type is EventType.STREAM_START
        else (Status.ONLINE, Status.OFFLINE)
    )
    return StatusEventRecord(
        id=1,
        streamer_id=record.id,
        streamer=record.username,
        event_type=event_type,
        previous_status=previous,
        new_status=new,
        kick_event_id=None,
        event_timestamp=when,
        received_timestamp=when,
        processed_timestamp=when,
    )


def started(
    record: StreamerRecord,
    when: datetime = T0,
    *,
    initial: bool = False,
    after_resume: bool = False,
    rule: StreamerRule | None = None,
) -> StreamStarted:
    """A committed go-live of `record` (with the streamer's rule, if it has one)."""
    return StreamStarted(
        record, _event(record, EventType.STREAM_START, when), initial, after_resume, rule
    )


def ended(
    record: StreamerRecord,
    when: datetime = T0,
    *,
    initial: bool = False,
    after_resume: bool = False,
) -> StreamEnded:
    """A committed end of `record`'s stream."""
    return StreamEnded(record, _event(record, EventType.STREAM_END, when), initial, after_resume)
