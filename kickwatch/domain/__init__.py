"""The pure domain of kickwatch: statuses, event types, stream events, transition rules, errors.

Nothing here performs I/O or imports Qt; every other layer builds on these types.
"""

from kickwatch.domain.clock import Clock, SystemClock
from kickwatch.domain.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    KickwatchError,
    NotFoundError,
    ValidationError,
)
from kickwatch.domain.status import EventSource, EventType, Status, transition_for

__all__ = [
    "Clock",
    "ConfigurationError",
    "DatabaseUnavailableError",
    "EventSource",
    "EventType",
    "KickwatchError",
    "NotFoundError",
    "Status",
    "SystemClock",
    "ValidationError",
    "transition_for",
]
