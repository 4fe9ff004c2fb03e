"""Validation rules of the data model, as pure functions raising `ValidationError`.

The store applies them before every write (the database enforces the same rules again with
constraints), the command line and the settings dialog apply them to what a person types.
"""

from __future__ import annotations

import re

from kickwatch.domain.errors import ValidationError
from kickwatch.domain.text import MAX_NAME

CATEGORIES = ("auth", "database", "monitoring", "system")
# Kick ids are stored as BIGINT (PostgreSQL's 64-bit signed integer; SQLite's INTEGER too).
MAX_KICK_ID = 2**63 - 1
# Names Kick sends are cut to MAX_NAME; one typed by a person may not be longer.
MAX_DISPLAY_NAME = MAX_NAME
# Bad input is echoed back in messages at most this long.
MAX_ECHO = 40
SENSITIVE_WORDS = ("secret", "password", "token")
_KEY = re.compile(r"^([a-z]+)\.([a-z0-9_]+)$")
_USERNAME = re.compile(r"^[a-z0-9_-]{1,50}$")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?kick\.com/", re.IGNORECASE)


def shorten(value: object, limit: int = MAX_ECHO) -> str:
    """`value` for a message (text quoted), cut to `limit` characters saying how long it was."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[: limit - 1]!r}… ({len(value)} characters)"
    try:
        text = str(value)
    except ValueError:  # an integer too long for str()
        return f"a {type(value).__name__} too long to show"
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} digits)"


def normalize_username(text: str) -> str:
    """The Kick username in `text`, which may be a name, `@name` or a kick.com URL, lowercased.

    Raises ValidationError("username", ...) when nothing usable remains.
    """
    raw = (text or "").strip()
    path = _URL_PREFIX.sub("", raw)
    # A kick.com URL may go on (/videos, ?tab=, #...); a bare name may only end with a slash.
    value = re.split(r"[/?#]", path, maxsplit=1)[0] if path != raw else raw.rstrip("/")
    value = value.strip().removeprefix("@")
    value = value.lower()
    if not value:
        raise ValidationError("username", "must not be empty")
    if not _USERNAME.match(value):
        raise ValidationError(
            "username",
            f"{shorten(value)} is not a Kick username (letters, digits, '_' and '-', "
            "at most 50 characters)",
        )
    return value


def validate_display_name(value: str) -> str:
    """A display name, stripped; must not be empty nor longer than `MAX_DISPLAY_NAME`."""
    value = value.strip()
    if not value:
        raise ValidationError("display_name", "must not be empty")
    if len(value) > MAX_DISPLAY_NAME:
        raise ValidationError(
            "display_name", f"must be at most {MAX_DISPLAY_NAME} characters, not {len(value)}"
        )
    return value


def validate_kick_id(field: str, value: int | str | None) -> int:
    """A Kick user or channel id: a positive integer that fits a BIGINT."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(field, "must not be empty")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(field, f"must be a positive integer, not {shorten(value)}") from None
    if number <= 0:
        raise ValidationError(field, f"must be a positive integer, not {shorten(number)}")
    if number > MAX_KICK_ID:
        raise ValidationError(
            field, f"must be at most {MAX_KICK_ID} (a 64-bit integer), not {shorten(number)}"
        )
    return number


def validate_config_key(key: str) -> str:
    """A configuration key `category.name`: lowercase, `[a-z0-9_]`, a known category."""
    match = _KEY.match(key)
    if not match:
        raise ValidationError(
            "key", f"{shorten(key)} must look like category.name (lowercase letters, digits, '_')"
        )
    category = match.group(1)
    if category not in CATEGORIES:
        raise ValidationError(
            "category", f"{shorten(category)} is not one of {', '.join(CATEGORIES)}"
        )
    return key


def category_of(key: str) -> str:
    """The category part of a valid configuration key."""
    return validate_config_key(key).split(".", 1)[0]


def is_sensitive(key: str) -> bool:
    """Whether a key names a secret that must be stored encrypted."""
    lowered = key.lower()
    return any(word in lowered for word in SENSITIVE_WORDS)
