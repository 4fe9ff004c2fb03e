"""Typed settings on top of the configuration table: every known key, its default and its rule.

The command line (`kickwatch config`), the settings dialog and the monitor read settings through
`Settings`, so a value is validated the same way wherever it is typed, and an unset key has one
default in one place. Each setting also says when a running kickwatch sees a change (`Applies`).

The database itself is not a setting: the settings live in the database, so the URL in force
comes from `--db`, then `KICKWATCH_DB`, then the default file (see `kickwatch.context`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from kickwatch.domain.errors import ValidationError
from kickwatch.domain.validation import shorten, validate_config_key
from kickwatch.store.config import ConfigStore


def _integer(minimum: int, maximum: int | None = None) -> Callable[[str, str], int]:
    def parse(key: str, text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValidationError(key, f"must be an integer, not {shorten(text)}") from None
        if value < minimum:
            rule = "a positive integer" if minimum == 1 else f"at least {minimum}"
            raise ValidationError(key, f"must be {rule}, not {value}")
        if maximum is not None and value > maximum:
            raise ValidationError(key, f"must be at most {maximum}, not {value}")
        return value

    return parse


def _boolean(key: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValidationError(key, f"must be true or false, not {shorten(text)}")


def _text(key: str, text: str) -> str:
    return text.strip()


def _clock_time(key: str, text: str) -> str:
    if not re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
        raise ValidationError(key, f"must be a time of day HH:MM, not {shorten(text)}")
    hours, minutes = (int(part) for part in text.strip().split(":"))
    try:
        return time(hours, minutes).strftime("%H:%M")
    except ValueError:
        raise ValidationError(key, f"must be a time of day HH:MM, not {shorten(text)}") from None


def _url(schemes: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(key: str, text: str) -> str:
        value = text.strip()
        if not value:
            return ""
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.netloc:
            raise ValidationError(
                key, f"must be a {' or '.join(schemes)} URL, not {shorten(value)}"
            )
        return value.rstrip("/") if parsed.scheme.startswith("http") else value

    return parse


_WORKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def _worker_name(key: str, text: str) -> str:
    value = text.strip()
    if value and not _WORKER_NAME.fullmatch(value):
        rule = "must be up to 63 letters, digits, dots, dashes or underscores"
        raise ValidationError(key, f"{rule}, not {shorten(value)}")
    return value


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(key: str, text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValidationError(key, f"must be {' or '.join(choices)}, not {shorten(text)}")
        return value

    return parse


def _player(key: str, text: str) -> str:
    value = text.strip()
    if value and "{url}" not in value:
        raise ValidationError(key, "must contain {url} where the stream's address goes")
    return value


_HOST_PATTERN = re.compile(
    r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*"
)


def _hosts(key: str, text: str) -> str:
    names = [part.strip().lower().rstrip(".") for part in text.replace(",", " ").split()]
    for name in names:
        if not _HOST_PATTERN.fullmatch(name):
            raise ValidationError(
                key, f"must be host names such as images.example.com, not {shorten(name)}"
            )
    return ",".join(names)


def _instant(key: str, text: str) -> str:
    value = text.strip()
    if not value:
        return ""
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(key, f"must be an ISO 8601 time, not {shorten(text)}") from None
    return value


class Applies(StrEnum):
    """When a kickwatch that is already running sees a changed value."""

    AT_USE = "at use"  # read each time it is used (or, start at login, applied at once)
    AT_START = "at start"  # read when the tray app or `kickwatch run` starts
    BY_TRAY_APP = "by the tray app"  # notification rules: read by the tray app when it starts
    # and when its own settings dialog saves


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One known setting: its key, default, parser (which validates), description, and when a
    running kickwatch sees a change."""

    key: str
    default: Any
    parse: Callable[[str, str], Any]
    description: str
    applies: Applies = Applies.AT_USE
    postgresql_only: tuple[str, ...] = ()  # values refused unless the database is PostgreSQL


_START = Applies.AT_START
_TRAY = Applies.BY_TRAY_APP

SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "auth.client_id", "", _text, "Kick app client id (kick.com → Settings → Developer)", _START
    ),
    SettingSpec(
        "auth.client_secret", "", _text, "Kick app client secret (stored encrypted)", _START
    ),
    SettingSpec("database.retention_days", 90, _integer(1), "Days of history to keep", _START),
    SettingSpec(
        "monitoring.reconcile_interval",
        120,
        _integer(10, 86400),
        "Seconds between reconciliation polls of Kick's API",
        _START,
    ),
    SettingSpec(
        "monitoring.max_channels_per_connection",
        1000,
        _integer(1, 1000),
        "Pusher channels per WebSocket connection",
        _START,
    ),
    SettingSpec(
        "monitoring.mode",
        "local",
        _choice("local", "shared"),
        "How the tray app learns of changes: local (it watches Kick itself) or shared (it "
        "listens to the PostgreSQL database that `kickwatch run` workers fill, and never "
        "connects to Kick)",
        _START,
        postgresql_only=("shared",),
    ),
    SettingSpec("monitoring.pusher_url", "", _url(("ws", "wss")), "Pusher WebSocket URL", _START),
    SettingSpec("monitoring.api_url", "", _url(("http", "https")), "Official API base URL", _START),
    SettingSpec("monitoring.auth_url", "", _url(("http", "https")), "OAuth token base URL", _START),
    SettingSpec("monitoring.web_url", "", _url(("http", "https")), "kick.com base URL", _START),
    SettingSpec(
        "monitoring.lease_seconds",
        30,
        _integer(3, 3600),
        "PostgreSQL workers (kickwatch run): the longest a stopped worker's streamers wait for "
        "another worker to take them over (leases are renewed every third of it)",
        _START,
    ),
    SettingSpec(
        "monitoring.worker_name",
        "",
        _worker_name,
        "PostgreSQL workers: the name before :pid:random in a worker's id (empty: the host "
        "name; KICKWATCH_WORKER_NAME sets it for one machine)",
        _START,
    ),
    SettingSpec(
        "system.alert_already_live",
        False,
        _boolean,
        "Notify about streams already live when kickwatch starts",
        _TRAY,
    ),
    SettingSpec("system.notify_on_end", False, _boolean, "Offline alerts for new streamers"),
    SettingSpec(
        "system.offline_grace_seconds",
        90,
        _integer(0, 3600),
        "Wait this long before an offline alert (a quick restart shows no alert)",
        _TRAY,
    ),
    SettingSpec(
        "system.restart_cooldown_seconds",
        300,
        _integer(0, 86400),
        "No second live alert for the same streamer within this time",
        _TRAY,
    ),
    SettingSpec("system.sounds", True, _boolean, "Play the notification sound", _TRAY),
    SettingSpec(
        "system.quiet_hours_enabled", False, _boolean, "Silence alerts during quiet hours", _TRAY
    ),
    SettingSpec(
        "system.quiet_hours_start", "23:00", _clock_time, "Quiet hours begin (HH:MM)", _TRAY
    ),
    SettingSpec("system.quiet_hours_end", "07:00", _clock_time, "Quiet hours end (HH:MM)", _TRAY),
    SettingSpec(
        "system.quiet_hours_favorites",
        True,
        _boolean,
        "Favourites are announced in quiet hours",
        _TRAY,
    ),
    SettingSpec(
        "system.group_threshold",
        3,
        _integer(2, 100),
        "Go-lives at once that are grouped into one notification",
        _TRAY,
    ),
    SettingSpec(
        "system.player_command",
        "",
        _player,
        "Command to open a stream, e.g. streamlink {url} best (empty: the browser)",
    ),
    SettingSpec(
        "system.avatar_hosts",
        "",
        _hosts,
        "More hosts avatars may come from, comma-separated (*.example.com for subdomains); "
        "https only, Kick's own image hosts are always allowed",
    ),
    SettingSpec(
        "system.paused_until", "", _instant, "Notifications paused until (ISO 8601)", _TRAY
    ),
    SettingSpec("system.start_at_login", False, _boolean, "Start kickwatch at login"),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}
START_AT_LOGIN = "system.start_at_login"
# Keys that were settings once, and why they are not any more.
RETIRED = {
    "database.url": "the database cannot be chosen by a setting stored inside it: "
    "use --db or the KICKWATCH_DB environment variable",
}


def spec_for(key: str) -> SettingSpec:
    """The spec of a known key; ValidationError for a malformed, unknown or retired key."""
    validate_config_key(key)
    spec = SPEC_BY_KEY.get(key)
    if spec is None:
        if key in RETIRED:
            raise ValidationError("key", f"{key} is not a setting: {RETIRED[key]}")
        raise ValidationError(
            "key", f"{shorten(key)} is not a kickwatch setting (see `kickwatch config list`)"
        )
    return spec


def format_value(value: Any) -> str:
    """How a typed value is stored as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class Settings:
    """Typed, validated access to every known setting."""

    def __init__(self, config: ConfigStore) -> None:
        self.config = config

    def get(self, key: str) -> Any:
        """The typed value of `key`, or its default when unset."""
        spec = spec_for(key)
        raw = self.config.get(key)
        if raw is None:
            return spec.default
        try:
            return spec.parse(key, raw)
        except ValidationError:
            return spec.default

    def validate(self, key: str, text: str) -> Any:
        """Parse `text` for `key` by the key's rule; ValidationError names the key and rule."""
        spec = spec_for(key)
        return self._fits_database(spec, spec.parse(key, text))

    def _fits_database(self, spec: SettingSpec, value: Any) -> Any:
        """`value`, unless it needs a PostgreSQL database and this one is not."""
        dialect = self.config.database.dialect
        if format_value(value) in spec.postgresql_only and dialect != "postgresql":
            raise ValidationError(
                spec.key,
                f"{format_value(value)} needs a PostgreSQL database, not "
                f"{_ENGINES.get(dialect, dialect)} ({self.config.database.display_url()}): "
                "choose one with --db postgresql://... or KICKWATCH_DB",
            )
        return value

    def set(self, key: str, text: str, *, updated_by: str = "user") -> Any:
        """Validate and store; returns the typed value."""
        spec = spec_for(key)
        value = self._fits_database(spec, spec.parse(key, text))
        self.config.set(
            key, format_value(value), updated_by=updated_by, description=spec.description
        )
        return value

    def set_many(self, values: dict[str, str], *, updated_by: str = "user") -> None:
        """Validate every value first, then store them all in one transaction (nothing half)."""
        parsed = {key: self.validate(key, text) for key, text in values.items()}
        with self.config.database.handle.atomic():
            for key, value in parsed.items():
                self.config.set(
                    key,
                    format_value(value),
                    updated_by=updated_by,
                    description=SPEC_BY_KEY[key].description,
                )
