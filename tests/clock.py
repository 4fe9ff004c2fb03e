"""A clock the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """`now()` and `monotonic()` advance only when told (`advance`, `jump_wall`)."""

    def __init__(self, start: datetime | None = None) -> None:
        # A day back by default: in the database's past, which refuses times ahead of its clock.
        wall = datetime.now(UTC)  # clock-ok: only the default start
        self._now = start or wall.replace(microsecond=0) - timedelta(days=1)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """The wall clock jumps (a resume from sleep) while the monotonic clock does not."""
        self._now += timedelta(seconds=seconds)
