"""A kickwatch home for a real app process against the fake Kick: one streamer it watches and
the fake's API credentials, written through kickwatch's own context (no OS keyring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kickwatch.context import open_context
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeKick


class NoKeyring:
    """The keyring module of a headless machine: no backend (the environment key is used)."""

    def get_keyring(self) -> Any:
        raise RuntimeError("no keyring here")


def home_watching(
    home: Path,
    kick: FakeKick,
    slug: str,
    master_key: str,
    *,
    display_name: str | None = None,
    settings: dict[str, str] | None = None,
) -> Path:
    """Make `home` watch the fake channel `slug` (added to the fake here) with the fake's
    credentials and `settings`; returns the database file."""
    channel = kick.add_channel(slug, display_name=display_name or slug.capitalize())
    env = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": master_key}
    ctx = open_context(None, environ=env, keyring_module=NoKeyring())
    try:
        ctx.repository.add_streamer(
            slug,
            channel.user_id,
            display_name=channel.display_name,
            kick_channel_id=channel.channel_id,
        )
        ctx.settings.set_many(
            {"auth.client_id": CLIENT_ID, "auth.client_secret": CLIENT_SECRET, **(settings or {})}
        )
        return ctx.paths.database_file
    finally:
        ctx.close()
