"""Where Kick lives: the Pusher WebSocket URL and the three HTTP bases, all overridable.

Defaults are Kick's production addresses. Configuration values override the defaults and the
`KICKWATCH_*_URL` environment variables override both, so a proxy, a rotated Pusher app key or
the test suite's fake Kick can be used without code changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

DEFAULT_PUSHER_URL = "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=8.4.0&flash=false"
DEFAULT_API_URL = "https://api.kick.com"
DEFAULT_AUTH_URL = "https://id.kick.com"
DEFAULT_WEB_URL = "https://kick.com"

ENV_VARIABLES: Mapping[str, str] = {
    "pusher_url": "KICKWATCH_PUSHER_URL",
    "api_url": "KICKWATCH_API_URL",
    "auth_url": "KICKWATCH_AUTH_URL",
    "web_url": "KICKWATCH_WEB_URL",
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The addresses kickwatch talks to; HTTP bases are kept without a trailing slash."""

    pusher_url: str = DEFAULT_PUSHER_URL
    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    web_url: str = DEFAULT_WEB_URL

    def __post_init__(self) -> None:
        for name in ("api_url", "auth_url", "web_url"):
            object.__setattr__(self, name, getattr(self, name).rstrip("/"))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], overrides: Mapping[str, str] | None = None
    ) -> Endpoints:
        """Build endpoints: environment variables win over `overrides`, which win over defaults.

        `overrides` holds configuration values keyed by field name (`pusher_url`) or by a
        dotted configuration key ending in it (`monitoring.pusher_url`); blank values are ignored.
        """
        chosen: dict[str, str] = {}
        for key, value in (overrides or {}).items():
            name = key.rsplit(".", 1)[-1]
            if name in ENV_VARIABLES and value and value.strip():
                chosen[name] = value.strip()
        for name, variable in ENV_VARIABLES.items():
            value = environ.get(variable, "")
            if value.strip():
                chosen[name] = value.strip()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in chosen.items() if k in known})


def endpoint_origins(
    environ: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> dict[str, tuple[str, str]]:
    """For each endpoint (`pusher_url`, ...): the value `from_env` puts in force and where it
    comes from: the environment variable's name, `setting`, or `default`."""
    chosen = Endpoints.from_env(environ, overrides)
    configured = {
        key.rsplit(".", 1)[-1]
        for key, value in (overrides or {}).items()
        if value and value.strip()
    }
    origins: dict[str, tuple[str, str]] = {}
    for name, variable in ENV_VARIABLES.items():
        if environ.get(variable, "").strip():
            origin = variable
        elif name in configured:
            origin = "setting"
        else:
            origin = "default"
        origins[name] = (getattr(chosen, name), origin)
    return origins
