"""The Qt binding itself: emitting signals must not corrupt Python's reference counts.

PySide6 6.12.0 took one reference from Python's `True` on every `Signal.emit()`; the tray app,
which emits a few signals per monitor event, aborted with "bool_dealloc" after a few thousand
events. This guards whatever version the project pins.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    """Signals of the shapes the app uses.

    Signals:
        with_object(object): an event for the bridge.
        bare(): a notification with no arguments.
        with_text(str): a line of text.
    """

    with_object = Signal(object)
    bare = Signal()
    with_text = Signal(str)


def test_emitting_signals_leaves_reference_counts_alone(qapp: object) -> None:
    emitter = _Emitter()
    received: list[object] = []
    emitter.with_object.connect(received.append)
    emitter.bare.connect(lambda: received.append(None))
    emitter.with_text.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)
    for _ in range(1_000):
        emitter.with_object.emit(1)
        emitter.bare.emit()
        emitter.with_text.emit("x")
    after = (
        sys.getrefcount(True),
        sys.getrefcount(False),
        sys.getrefcount(None) - len([r for r in received if r is None]),
    )
    assert len(received) == 3_000
    assert after == before
