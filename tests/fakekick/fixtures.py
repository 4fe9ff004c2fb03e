"""Pytest fixtures for the fake Kick; import them into a conftest to use them.

    from tests.fakekick.fixtures import fake_kick, fake_kick_thread  # noqa: F401

`fake_kick` runs on the test's event loop (async tests); `fake_kick_thread` runs in a background
thread with its own loop, for tests that drive a `kickwatch` subprocess.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.fakekick import FakeKick


@pytest_asyncio.fixture
async def fake_kick() -> AsyncIterator[FakeKick]:
    """A started fake Kick on the test's event loop, stopped afterwards."""
    async with FakeKick() as kick:
        yield kick


@pytest.fixture
def fake_kick_thread() -> Iterator[FakeKick]:
    """A started fake Kick in a background thread, stopped afterwards."""
    kick = FakeKick().start_in_thread()
    try:
        yield kick
    finally:
        kick.stop_thread()
