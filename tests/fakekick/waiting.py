"""Wait for a condition instead of sleeping: tests poll a predicate until it holds or time runs out.

`wait_for` is for coroutines on the event loop (it yields between polls, so the code under test
runs); `wait_for_sync` is for plain threads (a subprocess test driving the threaded fake Kick).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_for(
    predicate: Callable[[], object],
    timeout: float = 5.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    *,
    interval: float = 0.005,
    what: str = "",
) -> None:
    """Return as soon as `predicate()` is truthy; raise `AssertionError` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(interval)


def wait_for_sync(
    predicate: Callable[[], object], timeout: float = 5.0, *, interval: float = 0.01, what: str = ""
) -> None:
    """Blocking `wait_for`, for tests that are not on an event loop."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)
