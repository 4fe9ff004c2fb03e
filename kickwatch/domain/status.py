"""Statuses, event types and the state machine of a streamer.

The data model allows unknown → online/offline and online ↔ offline. A repeated status
(online → online) is not a transition: `transition_for` returns None for it.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Whether a streamer is live, as far as kickwatch knows."""

    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


class EventType(StrEnum):
    """What a status event records."""

    STREAM_START = "stream_start"
    STREAM_END = "stream_end"
    CONNECTION_TEST = "connection_test"


class EventSource(StrEnum):
    """Where an observation of a streamer's state came from."""

    PUSHER = "pusher"
    OFFICIAL_API = "official_api"
    UNOFFICIAL_API = "unofficial_api"
    USER = "user"


_ALLOWED: frozenset[tuple[Status, Status]] = frozenset(
    {
        (Status.UNKNOWN, Status.ONLINE),
        (Status.UNKNOWN, Status.OFFLINE),
        (Status.ONLINE, Status.OFFLINE),
        (Status.OFFLINE, Status.ONLINE),
    }
)


def status_after(event_type: EventType) -> Status:
    """The status a streamer has after an event of this type."""
    if event_type is EventType.STREAM_START:
        return Status.ONLINE
    if event_type is EventType.STREAM_END:
        return Status.OFFLINE
    raise ValueError(f"{event_type} does not change a streamer's status")


def is_transition(previous: Status, new: Status) -> bool:
    """Whether previous → new is a transition the state machine allows."""
    return (previous, new) in _ALLOWED


def transition_for(previous: Status, event_type: EventType) -> Status | None:
    """The new status if an event of `event_type` changes `previous`, else None (a no-op)."""
    new = status_after(event_type)
    return new if is_transition(previous, new) else None
