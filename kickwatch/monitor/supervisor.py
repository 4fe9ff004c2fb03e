"""Background tasks under one owner: each has a name, its crash is logged, shutdown cancels all.

No coroutine of the monitor runs as an orphan task: `Supervisor.spawn` keeps a reference,
reports an unexpected exception through `on_crash`, and `stop` cancels and awaits every task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Supervisor:
    """Owns the named background tasks of one component."""

    def __init__(self, on_crash: Callable[[str, BaseException], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_crash = on_crash

    def spawn(self, coroutine: Awaitable[T], name: str) -> asyncio.Task[T]:
        """Run `coroutine` as a task called `name`."""
        task: asyncio.Task[T] = asyncio.ensure_future(coroutine)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("task %s failed", task.get_name(), exc_info=error)
            if self._on_crash is not None:
                self._on_crash(task.get_name(), error)

    @property
    def names(self) -> list[str]:
        """Names of the running tasks."""
        return sorted(task.get_name() for task in self._tasks)

    @property
    def running(self) -> int:
        """How many tasks are still running."""
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until every task started so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel every task and wait until they are all done."""
        pending = set(self._tasks)
        while pending:  # a task may absorb one cancellation; cancel again until all end
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        self._tasks.clear()
