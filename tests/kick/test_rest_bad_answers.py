"""KickApi against the fake Kick answering with what kickwatch cannot read: a bad item in a list
costs that item only, and a lookup with an unreadable answer is a clear `KickAnswerError`."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from kickwatch.domain.errors import KickwatchError
from kickwatch.kick.errors import KickAnswerError, KickUnavailableError
from tests.fakekick import FakeKick
from tests.kick.conftest import MakeApi, streamer
from tests.kick.helpers import FakeClock

LIVESTREAMS = "/public/v1/users/livestreams"
CHANNELS = "/public/v1/channels"


def official_item(user_id: Any, **fields: Any) -> dict[str, Any]:
    item = {
        "broadcaster_user": {"id": user_id},
        "channel": {"slug": f"u{user_id}"},
        "title": "live",
        "started_at": "2025-09-15T20:00:00Z",
        "viewer_count": 10,
    }
    return item | fields


def answer(items: list[Any]) -> str:
    return json.dumps({"data": items, "message": "OK"})


async def test_a_livestream_item_with_odd_numbers_costs_only_those_numbers(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    items = [official_item(1), official_item(3, viewer_count="--5", started_at="²")]
    fake_kick.control.fail(LIVESTREAMS, 200, body=answer(items))
    result = await make_api().live_status([1, 2, 3])
    assert {k: v.is_live for k, v in result.items()} == {1: True, 2: False, 3: True}
    assert result[3].viewers is None and result[3].started_at is None


@pytest.mark.parametrize(
    "bad",
    [
        {"broadcaster_user": {"id": "²"}, "title": "x"},
        {"broadcaster_user_id": "--5"},
        {"broadcaster_user_id": "9" * 5000},
        "not an object",
        None,
    ],
    ids=["unicode_digit", "double_minus", "huge", "string", "null"],
)
async def test_an_unreadable_livestream_item_is_skipped_and_the_rest_is_kept(
    fake_kick: FakeKick, make_api: MakeApi, caplog: pytest.LogCaptureFixture, bad: Any
) -> None:
    fake_kick.control.fail(LIVESTREAMS, 200, body=answer([official_item(1), bad]))
    result = await make_api().live_status([1, 2])
    # User 2 is not listed, but the unreadable item may be theirs: no offline guess this round.
    assert list(result) == [1] and result[1].is_live
    assert "cannot read" in caplog.text


async def test_an_unreadable_channel_item_is_skipped_and_the_rest_is_kept(
    fake_kick: FakeKick, make_api: MakeApi
) -> None:
    good = {"broadcaster_user_id": 7, "slug": "alpha", "stream": {"is_live": False}}
    bad = {"broadcaster_user_id": "٣", "slug": "beta"}
    fake_kick.control.fail(CHANNELS, 200, body=answer([bad, good, 5]))
    result = await make_api().official_channels(["alpha", "beta"])
    assert list(result) == ["alpha"] and result["alpha"].user_id == 7


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"id": "²", "user_id": 1, "slug": "alpha"}),
        json.dumps({"id": "--5", "user_id": 1, "slug": "alpha"}),
        json.dumps({"id": 1, "user_id": "9" * 5000, "slug": "alpha"}),
        "[" * 100_000 + "]" * 100_000,
        '{"id": NaN, "user_id": Infinity, "slug": "alpha"}',
        "<html>not json</html>",
    ],
    ids=["unicode_digit", "double_minus", "huge", "deep", "nan", "html"],
)
async def test_a_lookup_with_an_unreadable_answer_is_a_clear_error(
    fake_kick: FakeKick, make_api: MakeApi, body: str
) -> None:
    fake_kick.control.fail("/api/v2/channels/alpha", 200, body=body)
    with pytest.raises(KickAnswerError, match="kickwatch cannot read") as info:
        await make_api(credentials=False).lookup_channel("alpha")
    assert isinstance(info.value, KickUnavailableError | KickwatchError)
    assert "[[[" not in str(info.value)  # the answer itself is never quoted


async def test_one_unreadable_channel_answer_does_not_fail_the_round(
    fake_kick: FakeKick, make_api: MakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(4):
        fake_kick.add_channel(f"u{n}", user_id=n + 1)
    fake_kick.go_live("u3", push=False)
    fake_kick.control.fail("/api/v2/channels/u1", 200, body='{"id":"²","user_id":2}')
    refs = [streamer(n + 1, f"u{n}") for n in range(4)]
    with caplog.at_level(logging.WARNING):
        result = await make_api(credentials=False, concurrency=2).live_snapshots(refs)
    assert sorted(result) == [1, 3, 4] and result[4].is_live
    assert "u1" in caplog.text and "cannot read" in caplog.text


@pytest.mark.parametrize("lifetime", ["1" + "0" * 400, "1e999", "Infinity", '"²"', '"--5"'])
async def test_a_token_lifetime_that_is_no_number_means_one_hour(
    fake_kick: FakeKick, make_api: MakeApi, clock: FakeClock, lifetime: str
) -> None:
    body = '{"access_token": "odd-token", "expires_in": ' + lifetime + "}"
    fake_kick.control.fail("/oauth/token", 200, body=body)
    fake_kick.add_channel("alpha", user_id=1)
    api = make_api()
    token = await api._app_token()
    assert token.value == "odd-token"
    assert token.expires_at == clock.monotonic() + 3600 - 60


@pytest.mark.parametrize("token", ["a\nb", "", "tok en", "é", 5, None])
async def test_a_token_that_cannot_be_sent_back_is_an_answer_error(
    fake_kick: FakeKick, make_api: MakeApi, token: object
) -> None:
    body = json.dumps({"access_token": token, "expires_in": 3600})
    fake_kick.control.fail("/oauth/token", 200, body=body)
    with pytest.raises(KickAnswerError, match="no usable access token"):
        await make_api().live_status([1])
