"""Endpoint configuration precedence, username normalisation, and the Kick error messages."""

from __future__ import annotations

import random

import pytest

from kickwatch.domain.errors import KickwatchError, NotFoundError, ValidationError
from kickwatch.domain.validation import normalize_username
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.endpoints import DEFAULT_PUSHER_URL, Endpoints
from kickwatch.kick.errors import (
    ChannelNotFoundError,
    KickAuthError,
    KickBlockedError,
    KickUnavailableError,
)


def test_defaults_are_kicks_production_addresses() -> None:
    endpoints = Endpoints()
    assert endpoints.pusher_url == DEFAULT_PUSHER_URL
    assert "32cbd69e4b950bf97679" in endpoints.pusher_url and "protocol=7" in endpoints.pusher_url
    assert endpoints.api_url == "https://api.kick.com"
    assert endpoints.auth_url == "https://id.kick.com"
    assert endpoints.web_url == "https://kick.com"
    assert Endpoints.from_env({}) == endpoints


def test_environment_wins_over_configuration_which_wins_over_defaults() -> None:
    environ = {"KICKWATCH_PUSHER_URL": "ws://env/app/k", "KICKWATCH_API_URL": "http://env-api/"}
    overrides = {
        "pusher_url": "ws://config/app/k",
        "monitoring.api_url": "http://config-api",
        "auth_url": "http://config-auth/",
        "web_url": "  ",
    }
    endpoints = Endpoints.from_env(environ, overrides)
    assert endpoints.pusher_url == "ws://env/app/k"
    assert endpoints.api_url == "http://env-api"
    assert endpoints.auth_url == "http://config-auth"
    assert endpoints.web_url == "https://kick.com"


def test_blank_environment_values_are_ignored() -> None:
    endpoints = Endpoints.from_env({"KICKWATCH_WEB_URL": ""}, {"web_url": "http://cfg"})
    assert endpoints.web_url == "http://cfg"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("xQc", "xqc"),
        ("  @Gaming_Streamer-123 ", "gaming_streamer-123"),
        ("https://kick.com/AdinRoss", "adinross"),
        ("http://www.kick.com/adinross/", "adinross"),
        ("kick.com/adinross/", "adinross"),
        ("https://kick.com/adinross?tab=videos#x", "adinross"),
        ("KICK.COM/Trainwreckstv/videos", "trainwreckstv"),
    ],
)
def test_normalize_username_accepts_names_and_urls(text: str, expected: str) -> None:
    assert normalize_username(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "@", "https://kick.com/", "bad name", "naïve", "a/../b?", "x" * 60]
)
def test_normalize_username_rejects_invalid_names(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_username(text)
    assert info.value.field == "username"


def test_errors_are_kickwatch_errors_with_clear_messages() -> None:
    blocked = KickBlockedError()
    assert str(blocked) == (
        "Kick blocked this lookup (HTTP 403). Add Kick API credentials "
        "(kickwatch config set auth.client_id … / auth.client_secret …) "
        "or give --user-id/--channel-id by hand."
    )
    missing = ChannelNotFoundError("nobody")
    assert str(missing) == "no Kick channel named nobody"
    assert isinstance(missing, NotFoundError)
    for error in (blocked, missing, KickAuthError(), KickUnavailableError("down")):
        assert isinstance(error, KickwatchError)


def test_backoff_grows_exponentially_caps_and_only_adds_jitter() -> None:
    backoff = Backoff(initial=1.0, maximum=60.0, jitter=0.5, rng=random.Random(7))
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (500, 60.0)]:
        delay = backoff.delay(attempt)
        assert base <= delay <= min(60.0, base * 1.5)
