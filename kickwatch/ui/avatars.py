"""Streamers' avatars for notifications: fetched under a strict policy, then cached.

The avatar URL comes from a Kick payload, which anyone who controls a channel or a server in the
path can shape, so a download is allowed only when every hop is https to one of Kick's image
hosts (`kick.com` and its subdomains such as `files.kick.com`, plus the hosts the user adds in
`system.avatar_hosts`). Redirects are followed by hand and each target is checked the same way;
the body must be an image type (by header and by its first bytes), is read in chunks and
abandoned as soon as it passes the size cap, and the whole download has a time limit. Anything
refused or failed falls back to the app icon. Files are named by a hash of the URL in the cache
folder, written atomically with mode 0600.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 4.0  # per request operation (connect, each read)
TOTAL_TIMEOUT = 10.0  # the whole download, redirects included
MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
KICK_IMAGE_HOSTS = ("kick.com", "*.kick.com")
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


class AvatarRefused(Exception):
    """A download that the avatar policy does not allow (the reason is the message)."""


def parse_hosts(text: str) -> tuple[str, ...]:
    """Host names from a comma- or space-separated list, lower case; `*.example.com` allowed."""
    names = (part.strip().lower().rstrip(".") for part in text.replace(",", " ").split())
    return tuple(name for name in names if name)


def host_matches(host: str, pattern: str) -> bool:
    """Whether `host` is `pattern`, or a subdomain of `x` when the pattern is `*.x`."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@dataclass(frozen=True, slots=True)
class AvatarPolicy:
    """Where avatars may come from and what they may be."""

    hosts: tuple[str, ...] = KICK_IMAGE_HOSTS
    schemes: frozenset[str] = frozenset({"https"})
    max_bytes: int = MAX_BYTES
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def with_extra_hosts(cls, text: str) -> AvatarPolicy:
        """Kick's image hosts plus the hosts of the `system.avatar_hosts` setting."""
        return cls(hosts=KICK_IMAGE_HOSTS + parse_hosts(text))

    def check(self, url: httpx.URL) -> None:
        """AvatarRefused unless `url` may be fetched."""
        if url.scheme not in self.schemes:
            raise AvatarRefused(f"scheme {url.scheme or 'none'} is not allowed")
        if not url.host or not any(host_matches(url.host, p) for p in self.hosts):
            raise AvatarRefused(f"host {url.host or 'none'} is not an allowed image host")


def sniff_image(content: bytes) -> str | None:
    """The image type that `content` starts with, or None."""
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


PolicySource = Callable[[], AvatarPolicy]


class AvatarCache:
    """Local files of avatar URLs."""

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        folder: Path,
        fallback: Path | None,
        policy: PolicySource | AvatarPolicy | None = None,
    ) -> None:
        self._http = http
        self.folder = folder
        self.fallback = fallback
        if policy is None or isinstance(policy, AvatarPolicy):
            fixed = policy or AvatarPolicy()
            self._policy: PolicySource = lambda: fixed
        else:
            self._policy = policy
        self._pending: dict[str, asyncio.Future[Path | None]] = {}

    def cached(self, url: str | None) -> Path | None:
        """The cached file of `url`, if it was downloaded before."""
        if not url:
            return None
        stem = hashlib.sha256(url.encode()).hexdigest()[:32]
        if self.folder.is_dir():
            for candidate in self.folder.glob(stem + ".*"):
                return candidate
        return None

    async def path_for(self, url: str | None) -> Path | None:
        """A local image for `url`: cached, downloaded now, or the fallback."""
        found = self.cached(url)
        if found is not None or not url or self._http is None:
            return found or self.fallback
        if url not in self._pending:
            self._pending[url] = asyncio.ensure_future(self._download(url))
        try:
            result = await asyncio.shield(self._pending[url])
        finally:
            if self._pending.get(url) is not None and self._pending[url].done():
                self._pending.pop(url, None)
        return result or self.fallback

    async def _download(self, url: str) -> Path | None:
        try:
            # The policy may read settings from the database: not on the GUI thread.
            policy = await asyncio.to_thread(self._policy)
            kind, content = await asyncio.wait_for(self.fetch(url, policy), TOTAL_TIMEOUT)
        except AvatarRefused as exc:
            log.info("avatar %s refused: %s", url, exc)
            return None
        except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
            log.info("avatar %s not downloaded: %s", url, exc or type(exc).__name__)
            return None
        stem = hashlib.sha256(url.encode()).hexdigest()[:32]
        return await asyncio.to_thread(self._write, stem + _EXTENSIONS[kind], content)

    async def fetch(self, url: str, policy: AvatarPolicy) -> tuple[str, bytes]:
        """The image type and bytes at `url`; AvatarRefused for anything the policy forbids."""
        assert self._http is not None
        target = httpx.URL(url)
        for _hop in range(policy.max_redirects + 1):
            policy.check(target)
            async with self._http.stream(
                "GET",
                target,
                headers={"Accept": ", ".join(_EXTENSIONS), "Accept-Encoding": "identity"},
                timeout=DOWNLOAD_TIMEOUT,
                follow_redirects=False,
            ) as response:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    target = response.url.join(location)
                    continue
                return await _read_image(response, policy.max_bytes)
        raise AvatarRefused(f"more than {policy.max_redirects} redirects")

    def _write(self, name: str, content: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.folder / name
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".avatar-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target


async def _read_image(response: httpx.Response, max_bytes: int) -> tuple[str, bytes]:
    """The body of an image response, read no further than `max_bytes`."""
    if response.status_code != 200:
        raise AvatarRefused(f"HTTP {response.status_code}")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in _EXTENSIONS:
        raise AvatarRefused(f"content type {kind or 'none'} is not an image type")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise AvatarRefused(f"content encoding {encoding} (asked for identity)")
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise AvatarRefused(f"{declared} bytes is over the {max_bytes}-byte limit")
    body = bytearray()
    async for chunk in response.aiter_bytes():  # identity: the bytes as sent
        body += chunk
        if len(body) > max_bytes:
            raise AvatarRefused(f"more than {max_bytes} bytes")
    if sniff_image(bytes(body[:16])) != kind:
        raise AvatarRefused(f"the content is not {kind}")
    return kind, bytes(body)
