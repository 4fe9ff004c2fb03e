"""Kick's REST APIs over one injected `httpx.AsyncClient`: the official API with an app token,
and the unofficial `kick.com/api/v2/channels/{slug}` that alone knows the Pusher channel id.

Retries (`http_retry`) are bounded and use the injected `sleep`: 429 honours `Retry-After`,
timeouts, transport errors and 5xx back off with jitter, and what still fails becomes a
`KickUnavailableError`. A 403 is "blocked" (`KickBlockedError`) and is never
retried. The app token is cached until shortly before it expires and fetched again once on a
401. No error message ever contains the client secret or a token.

Answers are decoded by `bounded_json` and read by the pure parsers of `payloads`. An answer
kickwatch cannot read is a `KickAnswerError`; an item of a list it cannot read is skipped (and
logged) while the rest of the list is used, so one odd item never fails a reconciliation.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import httpx

from kickwatch.domain.clock import Clock
from kickwatch.domain.events import ChannelInfo, LiveSnapshot
from kickwatch.domain.status import EventSource
from kickwatch.domain.validation import normalize_username
from kickwatch.kick import bounded_json, payloads
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.endpoints import Endpoints
from kickwatch.kick.errors import (
    ChannelNotFoundError,
    KickAnswerError,
    KickAuthError,
    KickBlockedError,
    KickUnavailableError,
)
from kickwatch.kick.http_retry import RetryingHttp, Sleep
from kickwatch.kick.numeric import as_seconds

log = logging.getLogger(__name__)

USER_BATCH = 100
SLUG_BATCH = 50
DEFAULT_TOKEN_LIFETIME = 3600.0
MAX_TOKEN_LIFETIME = 366 * 24 * 3600.0
TOKEN_MARGIN = 60.0  # refresh this long before the token expires
MAX_BODY_BYTES = 16 * 1024 * 1024  # a hundred channels take well under 1 MiB

# What an HTTP header can carry: printable ASCII without spaces, of a sane length.
_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}", re.ASCII)

_Parsed = TypeVar("_Parsed")


class StreamerRef(Protocol):
    """What `live_snapshots` needs of a streamer (a `StreamerRecord` fits)."""

    @property
    def kick_user_id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def slug(self) -> str | None: ...


@dataclass(slots=True)
class _Token:
    value: str
    expires_at: float  # on the monotonic clock


class KickApi:
    """Client of Kick's official and unofficial REST APIs."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoints: Endpoints,
        *,
        client_id: str | None,
        client_secret: str | None,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 3,
        backoff: Backoff | None = None,
        concurrency: int = 4,
    ) -> None:
        self._http = RetryingHttp(
            http, clock, sleep, backoff or Backoff(initial=0.5, maximum=30.0), max_retries
        )
        self._endpoints = endpoints
        self._client_id = client_id or None
        self._client_secret = client_secret or None
        self._clock = clock
        self._concurrency = max(1, concurrency)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    @property
    def has_credentials(self) -> bool:
        """Whether a client id and secret for the official API were given."""
        return self._client_id is not None and self._client_secret is not None

    # --- official API -------------------------------------------------------------------

    async def live_status(self, user_ids: Iterable[int]) -> dict[int, LiveSnapshot]:
        """A snapshot for every user id: live ones as listed, absent ones offline."""
        ids = list(dict.fromkeys(user_ids))
        result: dict[int, LiveSnapshot] = {}
        for start in range(0, len(ids), USER_BATCH):
            batch = ids[start : start + USER_BATCH]
            body = await self._official_get(
                "/public/v1/users/livestreams", [("user_id", str(i)) for i in batch]
            )
            observed = self._clock.now()
            unreadable = 0
            for item in self._items(body):
                snapshot = _read(payloads.official_livestream, item, observed)
                if snapshot is None:
                    unreadable += 1
                elif snapshot.user_id in batch:
                    result[snapshot.user_id] = snapshot
            if unreadable:
                # An item without a readable user id may be any unlisted user's stream: leave
                # them unknown this round instead of calling them offline.
                log.warning(
                    "Kick's API listed %d livestream(s) kickwatch cannot read; skipped them, "
                    "and %d unlisted streamer(s) keep their status until the next check",
                    unreadable,
                    len([u for u in batch if u not in result]),
                )
                continue
            for user_id in batch:
                result.setdefault(
                    user_id, payloads.offline_snapshot(user_id, observed, EventSource.OFFICIAL_API)
                )
        return result

    async def official_channels(self, slugs: Iterable[str]) -> dict[str, ChannelInfo]:
        """Channel info by lowercase slug from `/public/v1/channels`; unknown slugs are absent.

        A bad slug can fail a whole batch (HTTP 400): such a batch is retried one slug at a time.
        """
        names = list(dict.fromkeys(s.lower() for s in slugs))
        result: dict[str, ChannelInfo] = {}
        for start in range(0, len(names), SLUG_BATCH):
            batch = names[start : start + SLUG_BATCH]
            try:
                items = await self._channel_items(batch)
            except _BadRequest:
                if len(batch) == 1:
                    continue
                items = []
                for slug in batch:
                    try:
                        items.extend(await self._channel_items([slug]))
                    except _BadRequest:
                        log.info("official API does not know the slug %r", slug)
            observed = self._clock.now()
            unreadable = 0
            for item in items:
                info = _read(payloads.official_channel, item, observed)
                if info is None:
                    unreadable += 1
                else:
                    result[info.slug] = info
            if unreadable:
                log.warning("Kick's API listed %d channel(s) kickwatch cannot read", unreadable)
        return result

    async def _channel_items(self, slugs: Sequence[str]) -> list[Any]:
        body = await self._official_get("/public/v1/channels", [("slug", s) for s in slugs])
        return self._items(body)

    async def official_users(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Raw `/public/v1/users` items (`user_id`, `name`, `profile_picture`) by user id."""
        ids = list(dict.fromkeys(user_ids))
        result: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), USER_BATCH):
            batch = ids[start : start + USER_BATCH]
            body = await self._official_get("/public/v1/users", [("id", str(i)) for i in batch])
            for item in self._items(body):
                user_id = payloads.official_user_id(item)
                if user_id is not None:
                    result[user_id] = item
        return result

    # --- unofficial API and lookups ------------------------------------------------------

    async def unofficial_channel(self, slug: str) -> ChannelInfo:
        """Channel info from `kick.com/api/v2/channels/{slug}`, the source of the channel id."""
        name = normalize_username(slug)
        response = await self._http.request(
            "GET",
            f"{self._endpoints.web_url}/api/v2/channels/{name}",
            headers={"Accept": "application/json"},
        )
        if response.status_code == 404:
            raise ChannelNotFoundError(name)
        if response.status_code == 403:
            raise KickBlockedError()
        if response.status_code != 200:
            raise KickUnavailableError(f"kick.com answered HTTP {response.status_code} for {name}")
        info = _read(payloads.unofficial_channel, _json(response), self._clock.now())
        if info is None:
            raise KickAnswerError(f"kick.com sent an answer for {name} that kickwatch cannot read")
        return info

    async def lookup_channel(self, name: str) -> ChannelInfo:
        """Resolve a name, `@name` or kick.com URL to a channel.

        The unofficial API is asked first (only it knows the Pusher channel id); when it is
        blocked and credentials exist, the official API answers without a channel id.
        """
        slug = normalize_username(name)
        try:
            return await self.unofficial_channel(slug)
        except KickBlockedError:
            if not self.has_credentials:
                raise
            log.info("kick.com blocked the lookup of %s; asking the official API", slug)
        found = (await self.official_channels([slug])).get(slug)
        if found is None:
            raise ChannelNotFoundError(slug)
        try:
            user = (await self.official_users([found.user_id])).get(found.user_id, {})
        except (KickUnavailableError, KickBlockedError):
            user = {}
        return ChannelInfo(
            user_id=found.user_id,
            slug=found.slug,
            display_name=payloads.name_text(user.get("name")) or found.display_name,
            profile_picture_url=payloads.url_text(user.get("profile_picture")),
            live=found.live,
        )

    async def live_snapshots(self, streamers: Iterable[StreamerRef]) -> dict[int, LiveSnapshot]:
        """Snapshots by Kick user id: one official batch with credentials, else per channel.

        Without credentials the unofficial API is asked with bounded concurrency; the first 403
        stops the round and raises `KickBlockedError`. Channels that no longer exist, and those
        whose answer kickwatch cannot read, are skipped (no snapshot: their status stays).
        """
        refs = list(streamers)
        if self.has_credentials:
            return await self.live_status(ref.kick_user_id for ref in refs)
        result: dict[int, LiveSnapshot] = {}
        queue: asyncio.Queue[StreamerRef] = asyncio.Queue()
        for ref in refs:
            queue.put_nowait(ref)
        failure: list[BaseException] = []

        async def worker() -> None:
            while not failure and not queue.empty():
                ref = queue.get_nowait()
                try:
                    info = await self.unofficial_channel(ref.slug or ref.username)
                except ChannelNotFoundError:
                    log.warning("Kick channel %s no longer exists", ref.slug or ref.username)
                    continue
                except KickAnswerError as exc:
                    log.warning("%s; skipped it this round", exc)
                    continue
                except (KickBlockedError, KickUnavailableError) as exc:
                    failure.append(exc)
                    return
                if info.live is not None:
                    result[ref.kick_user_id] = info.live

        workers = min(self._concurrency, len(refs))
        await asyncio.gather(*(worker() for _ in range(workers)))
        if failure:
            raise failure[0]
        return result

    async def test_connection(self) -> str:
        """Check that Kick can be reached (and the credentials work); a summary for a person."""
        if self.has_credentials:
            self._token = None
            token = await self._app_token()
            await self._official_get("/public/v1/channels", [("slug", "kick")])
            minutes = max(0, int((token.expires_at - self._clock.monotonic()) / 60))
            return (
                "Kick official API reachable; the credentials work "
                f"(app token valid for about {minutes} more minutes)."
            )
        response = await self._http.request(
            "GET", f"{self._endpoints.web_url}/api/v2/channels/kick"
        )
        if response.status_code == 403:
            raise KickBlockedError()
        if response.status_code not in (200, 404):
            raise KickUnavailableError(f"kick.com answered HTTP {response.status_code}")
        return "kick.com reachable without API credentials (unofficial API, may be blocked later)."

    # --- plumbing ------------------------------------------------------------------------

    @staticmethod
    def _items(body: Any) -> list[Any]:
        items = payloads.envelope_items(body)
        if items is None:
            raise KickAnswerError("Kick's API sent an answer kickwatch cannot read")
        return items

    async def _official_get(self, path: str, params: list[tuple[str, str]]) -> Any:
        """GET an official endpoint with the app token; one fresh token on a 401."""
        if not self.has_credentials:
            raise KickAuthError(
                "Kick's official API needs credentials: "
                "kickwatch config set auth.client_id … / auth.client_secret …"
            )
        used: _Token | None = None
        for _ in range(2):
            token = used = await self._app_token(stale=used)
            response = await self._http.request(
                "GET",
                f"{self._endpoints.api_url}{path}",
                params=params,
                headers={"Authorization": f"Bearer {token.value}", "Accept": "application/json"},
            )
            if response.status_code == 401:
                continue
            if response.status_code == 403:
                raise KickBlockedError(
                    "Kick blocked a request to its official API (HTTP 403); try again later."
                )
            if response.status_code == 400:
                raise _BadRequest()
            if response.status_code != 200:
                raise KickUnavailableError(f"Kick's API answered HTTP {response.status_code}")
            return _json(response)
        raise KickAuthError()

    async def _app_token(self, stale: _Token | None = None) -> _Token:
        """The cached app token, or a new one when it expired or `stale` was rejected."""
        async with self._token_lock:
            token = self._token
            fresh = token is not None and self._clock.monotonic() < token.expires_at
            if token is not None and fresh and token is not stale:
                return token
            self._token = await self._fetch_token()
            return self._token

    async def _fetch_token(self) -> _Token:
        assert self._client_id is not None and self._client_secret is not None
        response = await self._http.request(
            "POST",
            f"{self._endpoints.auth_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
        )
        if response.status_code in (400, 401, 403):
            raise KickAuthError()
        if response.status_code != 200:
            raise KickUnavailableError(f"Kick's token service answered HTTP {response.status_code}")
        body = _json(response)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not _TOKEN.fullmatch(value):
            raise KickAnswerError("Kick's token service sent no usable access token")
        lifetime = _lifetime(body.get("expires_in"))
        margin = min(TOKEN_MARGIN, lifetime / 10)
        return _Token(value, self._clock.monotonic() + lifetime - margin)


class _BadRequest(Exception):
    """The official API answered 400 (a bad slug can fail a whole batch)."""


def _json(response: httpx.Response) -> Any:
    """The JSON body of an answer; `KickAnswerError` when it is too big or not JSON."""
    host = response.request.url.host
    content = response.content
    if len(content) > MAX_BODY_BYTES:
        raise KickAnswerError(
            f"{host} sent an answer of more than {MAX_BODY_BYTES // (1024 * 1024)} MiB"
        )
    try:
        return bounded_json.loads(content)
    except bounded_json.JsonError as exc:
        raise KickAnswerError(
            f"{host} sent something kickwatch cannot read (HTTP {response.status_code}: {exc})"
        ) from None


def _read(
    parse: Callable[[Any, datetime], _Parsed | None], item: Any, observed: datetime
) -> _Parsed | None:
    """`parse(item, observed)`; the parsers never raise, but if one ever did, that would cost
    this one item and a logged traceback, not the whole answer."""
    try:
        return parse(item, observed)
    except Exception:
        log.exception("could not read an item of Kick's answer")
        return None


def _lifetime(value: Any) -> float:
    """`expires_in` in seconds, given as a number or a string; missing or bad: one hour."""
    return as_seconds(value, MAX_TOKEN_LIFETIME) or DEFAULT_TOKEN_LIFETIME
