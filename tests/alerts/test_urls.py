"""Masking target URLs: scheme and a host that names a machine stay, every token goes."""

from __future__ import annotations

import pytest

from kickwatch.alerts.urls import default_name, mask_target_url, redact, secret_parts, validate_name
from kickwatch.domain.errors import ValidationError


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV", "discord://****/****"),
        ("tgram://123456789:AABBccDDeeFF/-100123", "tgram://****/****"),
        ("ntfy://my-private-topic", "ntfy://****"),
        ("ntfys://ntfy.example.org/topic?priority=high", "ntfys://ntfy.example.org/****?****"),
        ("mailto://me:app-password@gmail.com", "mailto://****@gmail.com"),
        ("json://127.0.0.1:8080/hook/token", "json://127.0.0.1:8080/****/****"),
        ("json://localhost/x", "json://localhost/****"),
        ("jsons://[::1]:8443/x", "jsons://[::1]:8443/****"),
        ("slack://TokenA/TokenB/TokenC/#channel", "slack://****/****/****#****"),
        ("not a url at all", "****"),
    ],
)
def test_a_url_is_masked_to_its_scheme_and_machine(url: str, masked: str) -> None:
    assert mask_target_url(url) == masked


def test_redact_removes_every_fragment_and_masks_any_url() -> None:
    url = "json://user:pw-secret@10.1.2.3:99/path/tok-123?key=val-456"
    line = (
        "posting to http://10.1.2.3:99/path/tok-123?key=val-456 as user:pw-secret; "
        "token tok-123, value val-456"
    )
    cleaned = redact(line, secret_parts(url))
    for secret in ("pw-secret", "tok-123", "val-456", "user:pw-secret"):
        assert secret not in cleaned
    assert "10.1.2.3" in cleaned  # the machine is not a secret


def test_default_names_come_from_the_scheme_and_machine_and_stay_unique() -> None:
    assert default_name("discord://1/2", set()) == "discord"
    assert default_name("discord://1/2", {"Discord"}) == "discord-2"
    assert default_name("json://127.0.0.1:80/x", set()) == "json-127.0.0.1"


@pytest.mark.parametrize("name", ["", " ", "a b", "-x", "x" * 65, "é"])
def test_bad_target_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        validate_name(name)
