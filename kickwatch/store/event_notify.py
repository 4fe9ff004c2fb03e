"""Committed status events and stream changes announced by PostgreSQL itself: the triggers, and
how to read the rows.

Every row inserted into `status_event` calls `pg_notify(EVENT_CHANNEL, id)` from the writing
transaction, and every row inserted into `stream_change` (a live stream's new title or category)
`pg_notify(CHANGE_CHANNEL, id)`. NOTIFY is transactional: PostgreSQL delivers it to the
listening sessions when that transaction commits and never when it rolls back, so a listener
hears of exactly the rows that were stored, whichever process or worker stored them and without
touching the write path. (Migration 9 partitions `status_event` and keeps its trigger;
`stream_change` is not partitioned.) SQLite has no NOTIFY; the migration step is empty there.

`read_events` reads such rows by id for a listener, each with its streamer as stored now and
whether a monitor that wrote it would have announced it: a real start or end that became the
streamer's newest status, not a stand-in for a missed transition and not late history (a row
that an earlier-written row of the same streamer already follows in time). `read_changes` reads
`stream_change` rows the same way, each with its streamer as stored now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import peewee

from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.rules import StreamChange
from kickwatch.domain.status import EventType
from kickwatch.store.convert import to_event_record, to_streamer_record
from kickwatch.store.models import StatusEvent, StreamChangeRow, Streamer

EVENT_CHANNEL = "kickwatch_status_event"
CHANGE_CHANNEL = "kickwatch_stream_change"


def _notify(table: str, channel: str) -> list[str]:
    function = f"trg_{table}_notify"
    return [
        f"""CREATE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{channel}', NEW.id::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
        f"CREATE TRIGGER {function} AFTER INSERT ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


def notify_events(dialect: str) -> list[str]:
    """The migration: AFTER INSERT triggers that NOTIFY the new id, on `status_event` (on
    EVENT_CHANNEL) and on `stream_change` (on CHANGE_CHANNEL)."""
    if dialect != "postgresql":
        return []
    return [
        *_notify("status_event", EVENT_CHANNEL),
        *_notify("stream_change", CHANGE_CHANNEL),
    ]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One committed status event as a listener reads it."""

    event: StatusEventRecord
    streamer: StreamerRecord | None  # None for a connection test
    announced: bool  # whether the monitor that stored it published it as a change


def newest_event_id() -> int:
    """The highest status_event id committed so far (0 for none)."""
    value = StatusEvent.select(peewee.fn.MAX(StatusEvent.id)).scalar()
    return int(value or 0)


def read_events(after: int, ids: Iterable[int] = (), limit: int = 1000) -> list[StoredEvent]:
    """Events with an id above `after`, or among `ids`, by id (at most `limit` of them)."""
    wanted = sorted(set(ids))
    earlier = StatusEvent.alias("earlier")
    late = peewee.fn.EXISTS(
        earlier.select(peewee.SQL("1")).where(
            (earlier.streamer == StatusEvent.streamer)
            & (earlier.id < StatusEvent.id)
            & (earlier.event_timestamp > StatusEvent.event_timestamp)
        )
    )
    where = StatusEvent.id > after
    if wanted:
        where = where | StatusEvent.id.in_(wanted)
    query = (
        StatusEvent.select(StatusEvent, Streamer, late.alias("late"))
        .join(Streamer, peewee.JOIN.LEFT_OUTER, on=(StatusEvent.streamer == Streamer.id))
        .where(where)
        .order_by(StatusEvent.id)
        .limit(limit)
    )
    found: list[StoredEvent] = []
    for row in query:
        event = to_event_record(row)
        streamer = row.__rel__.get("streamer") if event.streamer_id is not None else None
        record = None if streamer is None else to_streamer_record(streamer)
        announced = (
            record is not None
            and event.event_type in (EventType.STREAM_START, EventType.STREAM_END)
            and not event.inferred
            and not getattr(row, "late")  # noqa: B009 - selected under this alias
        )
        found.append(StoredEvent(event, record, announced))
    return found


@dataclass(frozen=True, slots=True)
class StoredChange:
    """One committed change of a live stream's title or category as a listener reads it."""

    change: StreamChange
    streamer: StreamerRecord  # as stored now


def newest_change_id() -> int:
    """The highest stream_change id committed so far (0 for none)."""
    value = StreamChangeRow.select(peewee.fn.MAX(StreamChangeRow.id)).scalar()
    return int(value or 0)


def read_changes(after: int, ids: Iterable[int] = (), limit: int = 1000) -> list[StoredChange]:
    """Stream changes with an id above `after`, or among `ids`, by id (at most `limit`)."""
    # Imported here: the rule store imports the database module, which imports this migration.
    from kickwatch.store.rules import to_change

    wanted = sorted(set(ids))
    where = StreamChangeRow.id > after
    if wanted:
        where = where | StreamChangeRow.id.in_(wanted)
    query = (
        StreamChangeRow.select(StreamChangeRow, Streamer)
        .join(Streamer)
        .where(where)
        .order_by(StreamChangeRow.id)
        .limit(limit)
    )
    return [
        StoredChange(to_change(row, row.streamer.username), to_streamer_record(row.streamer))
        for row in query
    ]
