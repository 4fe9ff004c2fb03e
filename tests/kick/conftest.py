"""Fixtures of the Kick client tests: the fake Kick, the recorded sample payloads, and a
`KickApi` factory on a real httpx client with an injected clock and an instant sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import Status
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.rest import KickApi
from tests.fakekick import FakeKick
from tests.fakekick.fixtures import fake_kick, fake_kick_thread
from tests.kick.helpers import FakeClock, RecordingSleep

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kick"

MakeApi = Callable[..., KickApi]

__all__ = [
    "FIXTURES",
    "MakeApi",
    "clock",
    "fake_kick",
    "fake_kick_thread",
    "http",
    "make_api",
    "sleep",
    "streamer",
]


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_api(
    fake_kick: FakeKick, http: httpx.AsyncClient, clock: FakeClock, sleep: RecordingSleep
) -> MakeApi:
    def make(*, credentials: bool = True, secret: str | None = None, **kwargs: object) -> KickApi:
        return KickApi(
            http,
            fake_kick.endpoints(),
            client_id=fake_kick.client_id if credentials else None,
            client_secret=(secret or fake_kick.client_secret) if credentials else None,
            clock=clock,
            sleep=sleep,
            backoff=Backoff(initial=0.5, maximum=30.0),
            **kwargs,  # type: ignore[arg-type]
        )

    return make


def streamer(user_id: int, slug: str) -> StreamerRecord:
    """A streamer record as the monitor keeps it, enough for `live_snapshots`."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return StreamerRecord(
        id=user_id,
        kick_user_id=user_id,
        username=slug,
        display_name=slug,
        status=Status.UNKNOWN,
        is_active=True,
        created_at=now,
        updated_at=now,
        slug=slug,
    )
