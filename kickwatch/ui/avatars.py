"""Streamers' avatars for notifications: downloaded once with the shared HTTP client, then cached.

Files are named by a hash of the picture URL in the cache folder, written atomically; anything
that fails (no URL, no network, not an image) falls back to the app icon, and a notification is
never held up for long by a slow download.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 4.0
MAX_BYTES = 2_000_000
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


class AvatarCache:
    """Local files of avatar URLs."""

    def __init__(self, http: httpx.AsyncClient | None, folder: Path, fallback: Path | None) -> None:
        self._http = http
        self.folder = folder
        self.fallback = fallback
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
        assert self._http is not None
        try:
            response = await self._http.get(url, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.info("avatar %s not downloaded: %s", url, exc)
            return None
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        extension = _EXTENSIONS.get(kind)
        if extension is None or len(response.content) > MAX_BYTES:
            log.info("avatar %s is not a usable image (%s)", url, kind or "no type")
            return None
        stem = hashlib.sha256(url.encode()).hexdigest()[:32]
        return await asyncio.to_thread(self._write, stem + extension, response.content)

    def _write(self, name: str, content: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.folder / name
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".avatar-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, target)
        return target
