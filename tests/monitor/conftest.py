"""Fixtures of the monitor tests: the fake Kick and a factory of monitors wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio

from tests.fakekick import FakeKick
from tests.fakekick.fixtures import fake_kick, fake_kick_thread
from tests.monitor.helpers import Harness, make_harness

__all__ = ["fake_kick", "fake_kick_thread", "make_monitor"]

MakeMonitor = Callable[..., Harness]


@pytest_asyncio.fixture
async def make_monitor(fake_kick: FakeKick, tmp_path: Path) -> AsyncIterator[MakeMonitor]:
    """Build monitors on a SQLite file (or `db_url=`); each is stopped and closed afterwards."""
    made: list[Harness] = []

    def make(db_url: str | None = None, **kwargs: Any) -> Harness:
        harness = make_harness(
            fake_kick, db_url or str(tmp_path / "kickwatch.db"), tmp_path, **kwargs
        )
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.monitor.stop()
        await harness.http.aclose()
        harness.ctx.close()
