"""Immutable snapshots of stored rows, handed from the store to the monitor, CLI and GUI.

They carry no database handle, so they can cross threads (the DB writer thread to the event
loop) and layers (the core to the Qt UI) freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kickwatch.domain.quick_init import quick_init
from kickwatch.domain.status import EventType, Status


@quick_init
@dataclass(frozen=True, slots=True)
class StreamerRecord:
    """One monitored streamer, as stored."""

    id: int
    kick_user_id: int
    username: str
    display_name: str
    status: Status
    is_active: bool
    created_at: datetime
    updated_at: datetime
    kick_channel_id: int | None = None
    slug: str | None = None
    profile_picture_url: str | None = None
    last_seen_online: datetime | None = None
    last_status_update: datetime | None = None
    current_broadcast_started_at: datetime | None = None
    current_livestream_id: str | None = None
    current_title: str | None = None
    current_category: str | None = None
    current_viewers: int | None = None
    notify_on_start: bool = True
    notify_on_end: bool = False
    is_favorite: bool = False
    is_muted: bool = False

    @property
    def url(self) -> str:
        """The streamer's page on kick.com."""
        return f"https://kick.com/{self.slug or self.username}"


# The columns of `history --json/--csv` and of the history window's export, in this order.
HISTORY_FIELDS = (
    "id",
    "streamer",
    "streamer_id",
    "event_type",
    "previous_status",
    "new_status",
    "kick_event_id",
    "event_timestamp",
    "received_timestamp",
    "processed_timestamp",
    "inferred",
    "event_data",
)


@quick_init
@dataclass(frozen=True, slots=True)
class StatusEventRecord:
    """One stored status event, with the username of its streamer for display."""

    id: int
    streamer_id: int | None  # None for a connection test
    streamer: str
    event_type: EventType
    previous_status: Status
    new_status: Status
    kick_event_id: str | None
    event_timestamp: datetime
    received_timestamp: datetime
    processed_timestamp: datetime
    event_data: dict[str, Any] = field(default_factory=dict)
    # Not sent by Kick: a stand-in for a transition that must have happened but was never seen
    # (a start while already online implies the end of the earlier broadcast).
    inferred: bool = False

    def as_json(self) -> dict[str, Any]:
        """The data model's field names, timestamps in ISO 8601 UTC, plus `streamer` and
        `inferred`."""
        return {
            "id": self.id,
            "streamer": self.streamer,
            "streamer_id": self.streamer_id,
            "event_type": str(self.event_type),
            "previous_status": str(self.previous_status),
            "new_status": str(self.new_status),
            "kick_event_id": self.kick_event_id,
            "event_timestamp": iso(self.event_timestamp),
            "received_timestamp": iso(self.received_timestamp),
            "processed_timestamp": iso(self.processed_timestamp),
            "inferred": self.inferred,
            "event_data": self.event_data,
        }


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, or None."""
    if value is None:
        return None
    text = value.isoformat()
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text + "Z"
