"""Exponential back-off with jitter, shared by the Pusher reconnect loop and the REST retries.

Delays grow by `factor` from `initial` up to `maximum`; jitter only ever adds (up to `jitter`
times the delay), so a delay is never shorter than its base and many clients that lost the
same server do not come back in the same instant. A `cap` (the Pusher client's, for a server
that was healthy a moment ago) bounds the delay jitter included, and keeps the jitter: the base
is then at most `cap / (1 + jitter)`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """A back-off schedule; `delay(n)` is the wait before retry number n (1-based)."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, cap: float | None = None) -> float:
        """Seconds to wait before retry `attempt` (1 for the first retry), jitter included;
        never more than `cap` when one is given."""
        exponent = max(0, min(attempt - 1, 64))
        base = min(self.maximum, self.initial * self.factor**exponent)
        if cap is not None and base * (1.0 + self.jitter) > cap:
            base = cap / (1.0 + self.jitter)
            return min(cap, base * (1.0 + self.jitter * self.rng.random()))
        return min(self.maximum, base * (1.0 + self.jitter * self.rng.random()))
