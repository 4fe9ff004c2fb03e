"""Times of day for the notification policy: quiet hours that may wrap midnight, `HH:MM` and
ISO 8601 settings, and the machine's local time zone (the one quiet hours are typed in).

Pure functions of their arguments, apart from `local_timezone`, which asks the system once
when the policy's settings are built.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo


def parse_clock(text: str) -> time:
    """`HH:MM` as a time of day."""
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; naive means UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local_timezone() -> tzinfo:
    """The machine's local time zone (the one quiet hours are typed in)."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


def in_quiet_hours(now: datetime, start: time, end: time, zone: tzinfo) -> bool:
    """Whether `now` falls in the daily window [start, end), which may wrap midnight."""
    local = now.astimezone(zone).time().replace(second=0, microsecond=0)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end
