"""Background tasks under one owner: each has a name, its crash is logged, shutdown cancels all.

No coroutine of the monitor runs as an orphan task: `Supervisor.spawn` keeps a reference,
reports an unexpected exception through `on_crash`, and `stop` cancels and awaits every task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Supervisor:
    """Owns the named background tasks of one component."""

    def __init__(self, on_crash: Callable[[str, BaseException], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_crash = on_crash

    def spawn(self, name: str, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coroutine` as a task called `name`."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
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

    async def stop(self) -> None:
        """Cancel every task and wait until they are all done."""
        pending = set(self._tasks)
        while pending:  # a task may absorb one cancellation; cancel again until all end
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        self._tasks.clear()
