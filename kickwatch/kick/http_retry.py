"""HTTP requests with bounded retries, shared by every Kick REST call.

429 honours `Retry-After` (seconds or an HTTP date; a wait longer than `MAX_RETRY_AFTER` is
"unavailable" rather than a wait), 5xx answers, timeouts and transport errors back off
exponentially with jitter, and what still fails after `max_retries` retries becomes a
`KickUnavailableError`. All waits go through the injected `sleep`, so tests run them instantly.
Other statuses (403, 404, 401...) are returned for the caller to interpret.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from kickwatch.domain.clock import Clock, utc
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.errors import KickUnavailableError

Sleep = Callable[[float], Awaitable[None]]

MAX_RETRY_AFTER = 300.0


@dataclass(slots=True)
class RetryingHttp:
    """An `httpx.AsyncClient` plus the retry policy kickwatch uses for Kick."""

    http: httpx.AsyncClient
    clock: Clock
    sleep: Sleep
    backoff: Backoff
    max_retries: int = 3

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with bounded retries on 429, 5xx, timeouts and transport errors."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:  # timeouts included
                reason = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
                if attempt > self.max_retries:
                    raise KickUnavailableError(
                        f"Kick is {reason} ({type(exc).__name__}) after {attempt} tries"
                    ) from None
                await self.sleep(self.backoff.delay(attempt))
                continue
            status = response.status_code
            if status == 429:
                delay = self.retry_after(response)
                if delay is not None and delay > MAX_RETRY_AFTER:
                    raise KickUnavailableError(
                        f"Kick rate-limited kickwatch for {int(delay)} s; try again later"
                    )
                if attempt > self.max_retries:
                    raise KickUnavailableError(f"Kick kept rate-limiting after {attempt} tries")
                await self.sleep(delay if delay is not None else self.backoff.delay(attempt))
                continue
            if status >= 500:
                if attempt > self.max_retries:
                    raise KickUnavailableError(
                        f"Kick answered HTTP {status} {attempt} times; try again later"
                    )
                await self.sleep(self.backoff.delay(attempt))
                continue
            return response

    def retry_after(self, response: httpx.Response) -> float | None:
        """Seconds from `Retry-After` (seconds or an HTTP date), or None when absent/garbage."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = utc(parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, (when - self.clock.now()).total_seconds())
