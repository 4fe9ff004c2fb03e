"""Every qasync quirk in one place: the loop that joins asyncio to Qt, tasks, threads, signals.

qasync runs asyncio callbacks from Qt's event loop, so one thread serves both. The quirks this
module hides: Python 3.11's `asyncio.run` has no `loop_factory`, so the loop is created and
installed by hand; a loop can also be attached to an app that is already processing events
(tests, where pytest-qt pumps events); Python only runs signal handlers while it holds the GIL,
which a Qt event loop waiting in C never gives it, so SIGINT/SIGTERM are delivered through
`signal.set_wakeup_fd` and a `QSocketNotifier`; and blocking work goes to qasync's thread
executor. Background coroutines start under `kickwatch.monitor.supervisor.Supervisor`, which
names them, logs their exceptions and cancels them on shutdown (no orphan tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QCoreApplication, QSocketNotifier

log = logging.getLogger(__name__)

T = TypeVar("T")


def create_loop(app: QCoreApplication) -> asyncio.AbstractEventLoop:
    """A qasync loop on `app`, installed as the current loop (not running yet)."""
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop


def attach_loop(app: QCoreApplication) -> asyncio.AbstractEventLoop:
    """A qasync loop for an app whose events someone else processes (tests); detach after use."""
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    return loop


def detach_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Undo `attach_loop`: the loop is no longer the running loop of this thread."""
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
    with contextlib.suppress(Exception):
        executor = getattr(loop, "_QEventLoop__default_executor", None)
        if executor is not None:
            executor.shutdown(wait=True)


def run_main(loop: asyncio.AbstractEventLoop, main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on the qasync loop (the Qt event loop runs meanwhile)."""
    with loop:  # type: ignore[attr-defined]
        return loop.run_until_complete(main)


async def run_blocking(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking call (database, keyring, files) in a worker thread and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, function, *args)


class SignalWaker:
    """Delivers SIGINT/SIGTERM to `handler` promptly while Qt's event loop waits in C."""

    def __init__(self, handler: Callable[[int], None]) -> None:
        self._handler = handler
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self.on_notifier_activated)
        self._previous = {
            sig: signal.signal(sig, lambda number, frame: self._handler(number))
            for sig in (signal.SIGINT, signal.SIGTERM)
        }

    def on_notifier_activated(self) -> None:
        # Reading the byte lets Python run the handler set with signal.signal.
        with contextlib.suppress(OSError):
            self._reader.recv(64)

    def close(self) -> None:
        """Restore the previous signal handling."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()
