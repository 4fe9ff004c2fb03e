"""The prepared statements of the batch write, and what one insert returns.

The hot path of `kickwatch.store.batch` runs on these instead of peewee's query builder, which
costs more than SQLite itself for a single-row statement. Values are converted by the models'
own fields, so the stored text is the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kickwatch.domain.records import StatusEventRecord
from kickwatch.domain.status import EventType, Status
from kickwatch.store.models import StatusEvent, Streamer

INSERT_COLUMNS = (
    "streamer",
    "event_type",
    "previous_status",
    "new_status",
    "kick_event_id",
    "event_timestamp",
    "received_timestamp",
    "processed_timestamp",
    "event_data",
    "livestream_id",
    "broadcast_started_at",
    "synthetic",
)
INSERT_FIELDS = {name: StatusEvent._meta.fields[name] for name in INSERT_COLUMNS}
# The streamer's state that a batch changes; nothing a person edits (names, preferences).
UPDATE_COLUMNS = (
    "status",
    "last_seen_online",
    "last_status_update",
    "current_broadcast_started_at",
    "current_livestream_id",
    "current_title",
    "current_category",
    "current_viewers",
    "updated_at",
)
UPDATE_FIELDS = {name: Streamer._meta.fields[name] for name in UPDATE_COLUMNS}


@dataclass(frozen=True, slots=True)
class Statements:
    insert_event: str
    update_streamer: str
    same_broadcast: str
    delete_event: str


def statements_for(dialect: str) -> Statements:
    """The hot statements, prepared once per engine (the drivers cache them)."""
    mark = "?" if dialect == "sqlite" else "%s"
    columns = ", ".join(INSERT_FIELDS[name].column_name for name in INSERT_COLUMNS)
    marks = ", ".join(mark for _ in INSERT_COLUMNS)
    insert = f"INSERT INTO status_event ({columns}) VALUES ({marks})"
    if dialect != "sqlite":
        insert += " RETURNING id"
    sets = ", ".join(f"{UPDATE_FIELDS[name].column_name} = {mark}" for name in UPDATE_COLUMNS)
    same_broadcast = (
        "SELECT id, synthetic, livestream_id, broadcast_started_at, event_timestamp"
        f" FROM status_event WHERE streamer_id = {mark} AND event_type = {mark}"
        f" AND (livestream_id = {mark} OR broadcast_started_at BETWEEN {mark} AND {mark})"
    )
    return Statements(
        insert,
        f"UPDATE streamer SET {sets} WHERE id = {mark}",
        same_broadcast,
        f"DELETE FROM status_event WHERE id = {mark}",
    )


@dataclass(frozen=True, slots=True)
class Inserted:
    """A row this batch wrote: its id and the values it was written with."""

    id: int
    values: dict[str, Any]

    def record(self, username: str) -> StatusEventRecord:
        """The committed row as a record, without reading it back."""
        v = self.values
        return StatusEventRecord(
            id=self.id,
            streamer_id=v["streamer"],
            streamer=username,
            event_type=EventType(v["event_type"]),
            previous_status=Status(v["previous_status"]),
            new_status=Status(v["new_status"]),
            kick_event_id=v["kick_event_id"],
            event_timestamp=v["event_timestamp"],
            received_timestamp=v["received_timestamp"],
            processed_timestamp=v["processed_timestamp"],
            event_data=v["event_data"],
            inferred=bool(v["synthetic"]),
        )
