"""KickApi against the fake Kick's real HTTP servers: tokens, batching, retries, blocking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from kickwatch.domain.errors import KickwatchError
from kickwatch.domain.status import EventSource
from kickwatch.kick.endpoints import Endpoints
from kickwatch.kick.errors import (
    ChannelNotFoundError,
    KickAuthError,
    KickBlockedError,
    KickUnavailableError,
)
from kickwatch.kick.rest import KickApi
from tests.fakekick import CLIENT_SECRET, FakeKick
from tests.kick.conftest import MakeApi, streamer
from tests.kick.helpers import FakeClock, RecordingSleep

LIVESTREAMS = "/public/v1/users/livestreams"


# --- the app token -----------------------------------------------------------------------


async def test_token_is_fetched_once_form_encoded_and_cached(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    fake_kick.add_channel("alpha", user_id=11)
    api = make_api()
    assert api.has_credentials
    await api.live_status([11])
    await api.live_status([11])
    tokens = fake_kick.control.requests_to("/oauth/token")
    assert len(tokens) == 1
    assert tokens[0].role == "auth" and tokens[0].method == "POST"
    assert tokens[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "grant_type=client_credentials" in tokens[0].body
    calls = fake_kick.control.requests_to(LIVESTREAMS)
    assert len(calls) == 2 and all(c.headers["Authorization"].startswith("Bearer ") for c in calls)


@pytest.mark.parametrize(
    ("lifetime", "expires_after"),
    [(120, 120), ("120", 120), (None, 3600)],
    ids=["number", "string", "missing"],
)
async def test_token_is_refreshed_when_it_expires(
    fake_kick: FakeKick, make_api: MakeApi, clock: FakeClock, lifetime: object, expires_after: int
) -> None:
    fake_kick.control.token_lifetime = lifetime
    api = make_api()
    await api.live_status([1])
    clock.advance(expires_after * 0.8)
    await api.live_status([1])
    assert len(fake_kick.control.requests_to("/oauth/token")) == 1
    clock.advance(expires_after * 0.2 + 1)
    await api.live_status([1])
    assert len(fake_kick.control.requests_to("/oauth/token")) == 2


@pytest.mark.parametrize("invalidate", ["revoke_tokens", "expire_tokens"])
async def test_a_401_fetches_a_new_token_once(
    fake_kick: FakeKick, make_api: MakeApi, invalidate: str
) -> None:
    fake_kick.add_channel("alpha", user_id=11)
    fake_kick.go_live("alpha", push=False)
    api = make_api()
    await api.live_status([11])
    getattr(fake_kick.control, invalidate)()
    result = await api.live_status([11])
    assert result[11].is_live
    assert len(fake_kick.control.requests_to("/oauth/token")) == 2
    assert [r.status for r in fake_kick.control.requests_to(LIVESTREAMS)] == [200, 401, 200]


async def test_a_second_401_is_an_auth_error(fake_kick: FakeKick, make_api: MakeApi) -> None:
    fake_kick.control.fail(LIVESTREAMS, 401, count=5, body='{"data":{},"message":"Unauthorized"}')
    with pytest.raises(KickAuthError) as info:
        await make_api().live_status([1])
    assert len(fake_kick.control.requests_to("/oauth/token")) == 2
    assert len(fake_kick.control.requests_to(LIVESTREAMS)) == 2
    assert "client_secret" in str(info.value) and CLIENT_SECRET not in str(info.value)


async def test_wrong_credentials_are_an_auth_error(fake_kick: FakeKick, make_api: MakeApi) -> None:
    with pytest.raises(KickAuthError):
        await make_api(secret="wrong-secret-value").live_status([1])


async def test_official_calls_without_credentials_say_what_is_missing(make_api: MakeApi) -> None:
    api = make_api(credentials=False)
    assert not api.has_credentials
    with pytest.raises(KickAuthError, match=r"auth\.client_id"):
        await api.live_status([1])


# --- official API --------------------------------------------------------------------------


async def test_live_status_batches_100_ids_and_reports_absent_users_offline(
    fake_kick: FakeKick, make_api: MakeApi, clock: FakeClock
) -> None:
    for n in range(250):
        fake_kick.add_channel(f"s{n}", user_id=n + 1, channel_id=5000 + n)
    started = datetime(2025, 9, 15, 20, 0, tzinfo=UTC)
    live = fake_kick.go_live("s7", push=False, title="hello", started_at=started)
    fake_kick.go_live("s240", push=False)
    result = await make_api().live_status(range(1, 251))
    calls = fake_kick.control.requests_to(LIVESTREAMS)
    assert [len(c.query["user_id"]) for c in calls] == [100, 100, 50]
    assert set(result) == set(range(1, 251))
    assert [uid for uid, snap in result.items() if snap.is_live] == [8, 241]
    snap = result[8]
    assert snap.source is EventSource.OFFICIAL_API
    assert snap.started_at == started and snap.title == "hello"
    assert snap.slug == "s7" and snap.viewers == live.viewers and snap.category == "Just Chatting"
    assert snap.livestream_id is None  # the official API has no Pusher livestream id
    assert snap.observed_at == clock.now()
    assert result[1].is_live is False and result[1].user_id == 1


async def test_official_channels_batches_50_slugs(fake_kick: FakeKick, make_api: MakeApi) -> None:
    for n in range(120):
        fake_kick.add_channel(f"c{n}", user_id=n + 1)
    fake_kick.go_live("c3", push=False, title="on air")
    result = await make_api().official_channels([f"C{n}" for n in range(120)] + ["ghost"])
    calls = fake_kick.control.requests_to("/public/v1/channels")
    assert [len(c.query["slug"]) for c in calls] == [50, 50, 21]
    assert len(result) == 120 and "ghost" not in result
    assert result["c3"].live is not None and result["c3"].live.is_live
    assert result["c3"].live.title == "on air"
    assert result["c4"].user_id == 5 and result["c4"].channel_id is None
    assert result["c4"].live is not None and not result["c4"].live.is_live


async def test_a_batch_failing_on_a_bad_slug_is_retried_one_by_one(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    fake_kick.add_channel("good", user_id=1)
    fake_kick.control.fail(
        "/public/v1/channels", 400, body='{"data":"bad slug","message":"Bad request"}'
    )
    result = await make_api().official_channels(["good", "bad-one"])
    assert list(result) == ["good"]
    assert len(fake_kick.control.requests_to("/public/v1/channels")) == 3


# --- retries ---------------------------------------------------------------------------------


async def test_429_honours_retry_after_seconds(
    fake_kick: FakeKick, make_api: MakeApi, sleep: RecordingSleep
) -> None:
    fake_kick.control.fail(LIVESTREAMS, 429, retry_after="7", body='{"message":"Too Many"}')
    await make_api().live_status([1])
    assert sleep.delays == [7.0]
    assert [r.status for r in fake_kick.control.requests_to(LIVESTREAMS)] == [429, 200]


async def test_429_honours_retry_after_http_date(
    fake_kick: FakeKick, make_api: MakeApi, sleep: RecordingSleep, clock: FakeClock
) -> None:
    when = format_datetime(clock.now() + timedelta(seconds=12), usegmt=True)
    fake_kick.control.fail(LIVESTREAMS, 429, retry_after=when)
    await make_api().live_status([1])
    assert sleep.delays == [pytest.approx(12.0)]


async def test_429_without_retry_after_backs_off_exponentially(
    fake_kick: FakeKick, make_api: MakeApi, sleep: RecordingSleep
) -> None:
    fake_kick.control.fail(LIVESTREAMS, 429, count=3, retry_after="garbage")
    await make_api().live_status([1])
    assert len(sleep.delays) == 3
    assert 0.5 <= sleep.delays[0] <= 0.75
    assert 1.0 <= sleep.delays[1] <= 1.5
    assert 2.0 <= sleep.delays[2] <= 3.0


async def test_rate_limited_for_too_long_is_unavailable(
    fake_kick: FakeKick, make_api: MakeApi, sleep: RecordingSleep
) -> None:
    fake_kick.control.fail(LIVESTREAMS, 429, retry_after="3600")
    with pytest.raises(KickUnavailableError, match="rate-limited"):
        await make_api().live_status([1])
    assert sleep.delays == []


async def test_5xx_is_retried_then_unavailable(
    fake_kick: FakeKick, make_api: MakeApi, sleep: RecordingSleep
) -> None:
    fake_kick.control.fail(LIVESTREAMS, 500, count=10)
    with pytest.raises(KickUnavailableError, match="HTTP 500"):
        await make_api(max_retries=3).live_status([1])
    assert len(fake_kick.control.requests_to(LIVESTREAMS)) == 4
    assert len(sleep.delays) == 3


async def test_5xx_then_success_recovers(fake_kick: FakeKick, make_api: MakeApi) -> None:
    fake_kick.control.fail(LIVESTREAMS, 503, count=2)
    result = await make_api().live_status([1])
    assert result[1].is_live is False


async def test_a_slow_answer_times_out_and_is_retried(
    fake_kick: FakeKick, clock: FakeClock, sleep: RecordingSleep
) -> None:
    fake_kick.add_channel("alpha")
    fake_kick.control.slow("/api/v2/channels/alpha", 1.0)
    async with httpx.AsyncClient(timeout=0.2) as client:
        api = KickApi(
            client,
            fake_kick.endpoints(),
            client_id=None,
            client_secret=None,
            clock=clock,
            sleep=sleep,
        )
        info = await api.unofficial_channel("alpha")
    assert info.slug == "alpha"
    assert len(sleep.delays) == 1


async def test_an_unreachable_kick_is_unavailable(
    http: httpx.AsyncClient, clock: FakeClock, sleep: RecordingSleep
) -> None:
    endpoints = Endpoints(web_url="http://127.0.0.1:9")  # discard port: connection refused
    api = KickApi(http, endpoints, client_id=None, client_secret=None, clock=clock, sleep=sleep)
    with pytest.raises(KickUnavailableError, match="unreachable"):
        await api.unofficial_channel("alpha")
    assert len(sleep.delays) == 3


# --- unofficial API and lookups ------------------------------------------------------------


async def test_unofficial_channel_reads_ids_names_and_live_state(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    fake_kick.add_channel("adinross", channel_id=875396, user_id=904404, display_name="AdinRoss")
    api = make_api(credentials=False)
    offline = await api.unofficial_channel("AdinRoss")
    assert (offline.channel_id, offline.user_id, offline.slug) == (875396, 904404, "adinross")
    assert offline.display_name == "AdinRoss"
    assert offline.profile_picture_url == "https://files.kick.invalid/adinross.webp"
    assert offline.live is not None and not offline.live.is_live
    started = datetime(2024, 2, 6, 19, 10, 40, tzinfo=UTC)
    live = fake_kick.go_live("adinross", push=False, title="$55 start", started_at=started)
    info = await api.unofficial_channel("adinross")
    assert info.live is not None and info.live.is_live
    assert info.live.livestream_id == str(live.id)
    assert info.live.started_at == started
    assert info.live.title == "$55 start" and info.live.source is EventSource.UNOFFICIAL_API


async def test_unknown_name_is_channel_not_found(fake_kick: FakeKick, make_api: MakeApi) -> None:
    with pytest.raises(ChannelNotFoundError, match=r"^no Kick channel named nobody_here$"):
        await make_api().lookup_channel("https://kick.com/Nobody_Here")


@pytest.mark.parametrize("block", ["cloudflare", "policy"])
async def test_403_is_blocked_with_its_message_and_not_retried(
    fake_kick: FakeKick, make_api: MakeApi, sleep: RecordingSleep, block: str
) -> None:
    fake_kick.add_channel("alpha")
    fake_kick.control.unofficial_block = block
    with pytest.raises(KickBlockedError) as info:
        await make_api(credentials=False).lookup_channel("@alpha")
    assert str(info.value).startswith(
        "Kick blocked this lookup (HTTP 403). Add Kick API credentials"
    )
    assert len(fake_kick.control.requests_to("/api/v2/channels/")) == 1
    assert sleep.delays == []


async def test_lookup_prefers_the_unofficial_api_for_the_channel_id(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    fake_kick.add_channel("alpha", channel_id=42, user_id=7, display_name="Alpha")
    info = await make_api().lookup_channel("kick.com/ALPHA/")
    assert (info.channel_id, info.user_id, info.display_name) == (42, 7, "Alpha")
    assert fake_kick.control.requests_to("/public/v1/") == []


async def test_blocked_lookup_falls_back_to_the_official_api(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    fake_kick.add_channel("alpha", channel_id=42, user_id=7, display_name="Alpha")
    fake_kick.go_live("alpha", push=False)
    fake_kick.control.unofficial_block = "cloudflare"
    info = await make_api().lookup_channel("alpha")
    assert (info.channel_id, info.user_id, info.slug, info.display_name) == (
        None,
        7,
        "alpha",
        "Alpha",
    )
    assert info.profile_picture_url == "https://files.kick.invalid/alpha.webp"
    assert info.live is not None and info.live.is_live
    with pytest.raises(ChannelNotFoundError):
        await make_api().lookup_channel("ghost")


async def test_live_snapshots_use_the_official_batch_with_credentials(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    fake_kick.add_channel("a", user_id=1)
    fake_kick.add_channel("b", user_id=2)
    fake_kick.go_live("b", push=False)
    result = await make_api().live_snapshots([streamer(1, "a"), streamer(2, "b")])
    assert {k: v.is_live for k, v in result.items()} == {1: False, 2: True}
    assert fake_kick.control.requests_to("/api/v2/") == []


async def test_live_snapshots_without_credentials_ask_each_channel(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    for n in range(6):
        fake_kick.add_channel(f"u{n}", user_id=n + 1)
    fake_kick.go_live("u2", push=False)
    refs = [streamer(n + 1, f"u{n}") for n in range(6)] + [streamer(99, "gone")]
    result = await make_api(credentials=False).live_snapshots(refs)
    assert sorted(result) == [1, 2, 3, 4, 5, 6]
    assert [k for k, v in result.items() if v.is_live] == [3]
    assert result[3].source is EventSource.UNOFFICIAL_API


async def test_live_snapshots_stop_at_the_first_403(fake_kick: FakeKick, make_api: MakeApi) -> None:
    for n in range(20):
        fake_kick.add_channel(f"u{n}", user_id=n + 1)
    fake_kick.control.unofficial_block = "policy"
    refs = [streamer(n + 1, f"u{n}") for n in range(20)]
    with pytest.raises(KickBlockedError):
        await make_api(credentials=False, concurrency=4).live_snapshots(refs)
    assert len(fake_kick.control.requests_to("/api/v2/channels/")) <= 4


async def test_connection_test_reports_in_words(fake_kick: FakeKick, make_api: MakeApi) -> None:
    summary = await make_api().test_connection()
    assert "credentials work" in summary
    assert "reachable" in await make_api(credentials=False).test_connection()
    with pytest.raises(KickAuthError):
        await make_api(secret="nope").test_connection()
    fake_kick.control.unofficial_block = "cloudflare"
    with pytest.raises(KickBlockedError):
        await make_api(credentials=False).test_connection()


async def test_no_secret_or_token_in_any_error_message(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    errors: list[KickwatchError] = []
    scenarios: list[Callable[[], Awaitable[object]]] = [
        lambda: make_api(secret="s3cr3t-value").live_status([1]),
        lambda: make_api().live_status([1]),
        lambda: make_api().lookup_channel("ghost"),
        lambda: make_api(credentials=False).lookup_channel("alpha"),
    ]
    fake_kick.add_channel("alpha")
    for number, scenario in enumerate(scenarios):
        if number == 1:
            fake_kick.control.fail(LIVESTREAMS, 500, count=10)
        if number == 3:
            fake_kick.control.unofficial_block = "policy"
        with pytest.raises(KickwatchError) as info:
            await scenario()
        errors.append(info.value)
    tokens = list(fake_kick.control.tokens)
    assert tokens
    for error in errors:
        text = f"{error} {error!r}"
        assert "s3cr3t-value" not in text and CLIENT_SECRET not in text
        assert not any(token in text for token in tokens)
