r"""Parse the many timestamp formats Kick uses into aware UTC datetimes.

The same instant arrives as `2025-09-15T21:12:45.000000Z` (Pusher StreamerIsLive),
`2024-02-06 19:10:40` (LivestreamUpdated and the unofficial channel API: UTC without a zone),
RFC 3339 with `Z` or an offset such as `+11:00` (official API, webhooks), or unix seconds.
`parse_kick_time` accepts all of them and returns None for anything else; it never raises,
because a bad timestamp must not lose the event that carries it. Digits are ASCII digits only
(`str.isdigit` and a regex's digit class would also take '²' or '٣'), and a string is looked
at only when it is short enough to be a timestamp at all.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

# Unix seconds outside this range are garbage, not timestamps (years ~1970 to ~2286).
_MAX_UNIX_SECONDS = 10_000_000_000
_MAX_LENGTH = 64  # the longest form above is 32 characters
_UNIX_DIGITS = re.compile(r"[0-9]{1,11}")
_ISO_SHAPE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # date
    r"([ Tt][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"  # time, optional seconds and fraction
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"  # zone
)


# StreamerIsLive's own form, which `datetime.fromisoformat` reads as it is.
_PUSHER_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def parse_kick_time(value: object) -> datetime | None:
    """Return `value` as an aware UTC datetime, or None when it is not a timestamp Kick sends.

    Accepts ISO 8601 / RFC 3339 strings (with `T` or a space, optional fraction, `Z` or an
    offset; no zone means UTC), unix seconds as int, float or a string of digits, and aware or
    naive datetimes (naive is taken as UTC).
    """
    try:
        return _parse(value)
    except (ValueError, TypeError, OverflowError, OSError):
        return None


def _parse(value: object) -> datetime | None:
    if isinstance(value, str) and _PUSHER_TIME.fullmatch(value):
        return datetime.fromisoformat(value)  # the commonest form, read as such: UTC already
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, int | float):
        return _from_unix(float(value))
    if not isinstance(value, str):
        return None
    if len(value) > _MAX_LENGTH:
        return None
    text = value.strip()
    if _UNIX_DIGITS.fullmatch(text):
        return _from_unix(float(text))
    if not _ISO_SHAPE.fullmatch(text):
        return None
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    return _as_utc(datetime.fromisoformat(text))


def _from_unix(seconds: float) -> datetime | None:
    if not math.isfinite(seconds) or not 0 <= seconds < _MAX_UNIX_SECONDS:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
