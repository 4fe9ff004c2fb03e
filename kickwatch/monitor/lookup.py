"""Building the Kick API client from the configuration, and the one-shot uses of it.

`build_api` is the one place that reads credentials and endpoints (environment over settings over
Kick's defaults). `add_by_names` and `test_connection` serve the command line, which has no
event loop of its own; the monitor uses the same pieces asynchronously.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

from kickwatch.context import Context
from kickwatch.domain.errors import AlreadyExistsError, KickwatchError
from kickwatch.domain.events import ChannelInfo
from kickwatch.domain.records import StreamerRecord
from kickwatch.kick.endpoints import Endpoints
from kickwatch.kick.rest import KickApi

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "kickwatch (+https://github.com/kickwatch/kickwatch)"


def endpoints_for(ctx: Context) -> Endpoints:
    """Endpoints from `KICKWATCH_*_URL`, else the monitoring.* settings, else Kick's."""
    overrides = {
        name: value
        for name in ("pusher_url", "api_url", "auth_url", "web_url")
        if (value := ctx.settings.get(f"monitoring.{name}"))
    }
    return Endpoints.from_env(ctx.environ, overrides)


def new_http_client() -> httpx.AsyncClient:
    """The one HTTP client of a process (created by the composition root)."""
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, headers={"User-Agent": USER_AGENT})


def build_api(ctx: Context, http: httpx.AsyncClient) -> KickApi:
    """A Kick API client with the stored credentials."""
    return KickApi(
        http,
        endpoints_for(ctx),
        client_id=ctx.settings.get("auth.client_id") or None,
        client_secret=ctx.settings.get("auth.client_secret") or None,
        clock=ctx.clock,
    )


def store_channel(
    ctx: Context, info: ChannelInfo, display_name: str | None = None
) -> StreamerRecord:
    """Add a looked-up channel as a streamer (AlreadyExistsError if it is there).

    Offline alerts start as `system.notify_on_end` says for new streamers.
    """
    return ctx.repository.add_streamer(
        info.slug,
        info.user_id,
        display_name=display_name or info.display_name,
        kick_channel_id=info.channel_id,
        slug=info.slug,
        profile_picture_url=info.profile_picture_url,
        notify_on_end=bool(ctx.settings.get("system.notify_on_end")),
    )


@dataclass(frozen=True, slots=True)
class AddOutcome:
    """The result of adding one name: the record, or the error that stopped it."""

    name: str
    record: StreamerRecord | None = None
    error: KickwatchError | None = None


def add_by_names(
    ctx: Context, names: Iterable[str], *, display_name: str | None = None
) -> list[AddOutcome]:
    """Look each name up on Kick and store it; existing names are reported, not changed."""

    async def run() -> list[AddOutcome]:
        outcomes = []
        async with new_http_client() as http:
            api = build_api(ctx, http)
            for name in names:
                existing = ctx.repository.get_by_username(name)
                if existing is not None:
                    outcomes.append(
                        AddOutcome(name, error=AlreadyExistsError(f"{name} is already monitored"))
                    )
                    continue
                try:
                    info = await api.lookup_channel(name)
                    record = store_channel(ctx, info, display_name)
                except KickwatchError as exc:
                    outcomes.append(AddOutcome(name, error=exc))
                else:
                    outcomes.append(AddOutcome(name, record=record))
        return outcomes

    return asyncio.run(run())


async def check_connection(
    api: KickApi, record: Callable[[bool, str], Awaitable[object]]
) -> tuple[bool, str]:
    """Test the connection to Kick and record the result (`record(ok, detail)`) as a
    connection_test event."""
    try:
        detail = await api.test_connection()
        ok = True
    except KickwatchError as exc:
        detail, ok = str(exc), False
    except httpx.HTTPError as exc:
        detail, ok = f"Kick cannot be reached: {type(exc).__name__}", False
    await record(ok, detail)
    return ok, detail


def test_connection(ctx: Context) -> tuple[bool, str]:
    """`kickwatch doctor --connection`: the check, recorded in the history."""

    async def run() -> tuple[bool, str]:
        async with new_http_client() as http:
            return await check_connection(
                build_api(ctx, http),
                lambda ok, detail: asyncio.to_thread(
                    ctx.repository.record_connection_test, ok, detail
                ),
            )

    return asyncio.run(run())
