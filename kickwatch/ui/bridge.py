"""The one adapter between the monitor's event bus and Qt: each monitor event becomes a signal.

Widgets connect to these signals and never reach into the monitor. The bus calls listeners on
the event loop's thread, which in the GUI is Qt's main thread (qasync), so signals are emitted
directly.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from kickwatch.monitor.events import (
    ConnectionStateChanged,
    DatabaseRecovered,
    DatabaseUnavailable,
    ErrorOccurred,
    EventBus,
    MonitorEvent,
    ReconcileCompleted,
    ReconcileFailed,
    StreamEnded,
    StreamersChanged,
    StreamStarted,
)


class MonitorBridge(QObject):
    """Re-emits monitor events as Qt signals.

    Signals:
        event_received(object): every event, for the notification policy.
        streams_changed(): someone went live or offline.
        connection_changed(object): a `ConnectionStateChanged`.
        reconciled(object): a `ReconcileCompleted`.
        check_failed(object): a `ReconcileFailed`.
        database_changed(object): `DatabaseUnavailable` or `DatabaseRecovered`.
        streamers_changed(): the set of streamers or their preferences changed.
        error_occurred(object): an `ErrorOccurred`.
    """

    event_received = Signal(object)
    streams_changed = Signal()
    connection_changed = Signal(object)
    reconciled = Signal(object)
    check_failed = Signal(object)
    database_changed = Signal(object)
    streamers_changed = Signal()
    error_occurred = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self.on_bus_event)

    def on_bus_event(self, event: MonitorEvent) -> None:
        """Translate one monitor event into signals."""
        self.event_received.emit(event)
        if isinstance(event, StreamStarted | StreamEnded):
            self.streams_changed.emit()
        elif isinstance(event, ConnectionStateChanged):
            self.connection_changed.emit(event)
        elif isinstance(event, ReconcileCompleted):
            self.reconciled.emit(event)
        elif isinstance(event, ReconcileFailed):
            self.check_failed.emit(event)
        elif isinstance(event, DatabaseUnavailable | DatabaseRecovered):
            self.database_changed.emit(event)
        elif isinstance(event, StreamersChanged):
            self.streamers_changed.emit()
        elif isinstance(event, ErrorOccurred):
            self.error_occurred.emit(event)

    def close(self) -> None:
        """Stop listening to the bus."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
