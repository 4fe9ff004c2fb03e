"""Typed events the monitor publishes, and the tiny bus that delivers them to listeners.

Listeners (the headless printer, the Qt bridge, the notification policy) subscribe to the bus;
they are called on the event loop's thread, after the change they describe has been committed.
A listener that raises is logged and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kickwatch.domain.quick_init import quick_init
from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.rules import StreamChange, StreamerRule

log = logging.getLogger(__name__)


class ConnectionState(StrEnum):
    """Health of the link to Kick, as shown by the tray icon."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    RATE_LIMITED = "rate_limited"
    STOPPED = "stopped"  # a fatal error: will not reconnect unchanged
    CLOSED = "closed"  # shut down on purpose


# States of one outage: Kick is not reachable (yet) and kickwatch keeps trying.
LINK_DOWN_STATES = frozenset(
    {ConnectionState.CONNECTING, ConnectionState.RECONNECTING, ConnectionState.RATE_LIMITED}
)


@quick_init
@dataclass(frozen=True, slots=True)
class StreamStarted:
    """A streamer went live; the stream_start row is committed."""

    streamer: StreamerRecord
    event: StatusEventRecord
    initial: bool  # observed by the first reconciliation after start-up (already live)
    after_resume: bool = False  # found by the reconciliation after a resume from sleep
    rule: StreamerRule | None = None  # the streamer's rule when it went live


@quick_init
@dataclass(frozen=True, slots=True)
class StreamEnded:
    """A streamer went offline; the stream_end row is committed."""

    streamer: StreamerRecord
    event: StatusEventRecord
    initial: bool
    after_resume: bool = False


@dataclass(frozen=True, slots=True)
class StreamDetailsChanged:
    """The title or category of a live stream changed; the `stream_change` rows are committed.

    `initial` when the first reconciliation after start-up found it (it changed while kickwatch
    was not running)."""

    streamer: StreamerRecord
    changes: tuple[StreamChange, ...]
    rule: StreamerRule | None = None
    initial: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionStateChanged:
    """The connection to Kick changed state; `detail` says why in words.

    `since` is when the link entered its current condition: connected since, unreachable since
    (kept through every reconnect attempt of one outage), stopped or closed since. `retry_at` is
    when the next connection attempt is due while reconnecting, else None. Both are wall-clock
    UTC times from the monitor's clock; the same state is published again when `retry_at` moves.
    """

    state: ConnectionState
    detail: str = ""
    since: datetime | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReconcileCompleted:
    """A reconciliation poll finished successfully at `at`."""

    at: datetime
    checked: int


@dataclass(frozen=True, slots=True)
class ReconcileFailed:
    """A reconciliation poll was tried at `at` and failed; `reason` says why in words."""

    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DatabaseUnavailable:
    """Writes are failing; events are held in memory (`pending` of them) and retried."""

    reason: str
    pending: int


@dataclass(frozen=True, slots=True)
class DatabaseRecovered:
    """Writes succeed again; everything held was stored."""

    flushed: int


@dataclass(frozen=True, slots=True)
class StreamersChanged:
    """The set of streamers or their settings changed (this process or another one)."""


@dataclass(frozen=True, slots=True)
class ResumedFromSleep:
    """The wall clock jumped ahead of the monotonic clock: the machine slept `slept_seconds`."""

    slept_seconds: float


@dataclass(frozen=True, slots=True)
class LeasesChanged:
    """A `kickwatch run` worker on PostgreSQL gained or lost streamers in a lease round.

    `held` streamers of `active` are this worker's, shared among `workers` live workers;
    `gained` and `lost` are the usernames that changed hands in this round."""

    worker_id: str
    held: int
    active: int
    workers: int
    gained: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorOccurred:
    """Something went wrong that the user should know of; monitoring goes on unless fatal."""

    message: str
    fatal: bool = False


MonitorEvent = (
    StreamStarted
    | StreamEnded
    | StreamDetailsChanged
    | ConnectionStateChanged
    | ReconcileCompleted
    | ReconcileFailed
    | DatabaseUnavailable
    | DatabaseRecovered
    | StreamersChanged
    | ResumedFromSleep
    | ErrorOccurred
    | LeasesChanged
)
Listener = Callable[[MonitorEvent], None]


class EventBus:
    """Delivers monitor events to subscribed listeners, in subscription order."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns a function that removes it again."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: MonitorEvent) -> None:
        """Call every listener with `event`; one that raises is logged and skipped."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("listener %r failed on %s", listener, type(event).__name__)
