"""parse_kick_time reads every timestamp format Kick sends and never raises on garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kickwatch.kick.timestamps import parse_kick_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-09-15T21:12:45.000000Z", datetime(2025, 9, 15, 21, 12, 45, tzinfo=UTC)),
        ("2024-02-06 19:10:40", datetime(2024, 2, 6, 19, 10, 40, tzinfo=UTC)),
        ("2025-04-01T14:38:29Z", datetime(2025, 4, 1, 14, 38, 29, tzinfo=UTC)),
        ("2025-01-01T11:00:00+11:00", datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)),
        ("2025-04-03T12:00:00-0230", datetime(2025, 4, 3, 14, 30, 0, tzinfo=UTC)),
        ("2024-02-08T02:07:41.123456789Z", datetime(2024, 2, 8, 2, 7, 41, 123456, tzinfo=UTC)),
        ("2025-04-01t07:56:18z", datetime(2025, 4, 1, 7, 56, 18, tzinfo=UTC)),
        (" 2023-06-22T05:50:32.000000Z ", datetime(2023, 6, 22, 5, 50, 32, tzinfo=UTC)),
        (1771046347, datetime(2026, 2, 14, 5, 19, 7, tzinfo=UTC)),
        (1771046347.5, datetime(2026, 2, 14, 5, 19, 7, 500000, tzinfo=UTC)),
        ("1771046347", datetime(2026, 2, 14, 5, 19, 7, tzinfo=UTC)),
        (datetime(2025, 1, 1, 12, 0), datetime(2025, 1, 1, 12, 0, tzinfo=UTC)),
        (
            datetime(2025, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2025, 1, 1, 10, 0, tzinfo=UTC),
        ),
    ],
)
def test_every_kick_format_becomes_aware_utc(value: object, expected: datetime) -> None:
    parsed = parse_kick_time(value)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "yesterday",
        "0001-01-01T00:00:00+99:00",
        "2025-13-45T99:99:99Z",
        "2025-02-30 10:00:00",
        "2025-09-15T21:12:45.000000Zjunk",
        "12:00:00",
        True,
        False,
        -5,
        10**20,
        float("nan"),
        float("inf"),
        [],
        {},
        object(),
    ],
)
def test_garbage_is_none_and_never_raises(value: object) -> None:
    assert parse_kick_time(value) is None


def test_same_stream_in_three_formats_is_the_same_instant() -> None:
    pusher = parse_kick_time("2024-02-06T19:10:40.000000Z")
    updated = parse_kick_time("2024-02-06 19:10:40")
    official = parse_kick_time("2024-02-07T06:10:40+11:00")
    assert pusher == updated == official
