"""Streamers' avatars as small icons for the streamer table, with the app icon until they arrive.

`AvatarIcons.icon(streamer)` answers at once: the avatar when its file is in the `AvatarCache`,
else the app icon, and in that case asks the cache (once per URL, as an async task) to fetch it;
when the file arrives `avatar_ready` names the streamer so the table repaints that row. The cache
applies its download policy (Kick's image hosts only, size cap, time limit); anything it refuses
stays the app icon. Icons are kept per URL so painting a row never touches the disk.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon

from kickwatch.domain.records import StreamerRecord
from kickwatch.resources import icon_path
from kickwatch.ui.avatars import AvatarCache

log = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[Any], str], object]


def app_icon() -> QIcon:
    """kickwatch's own icon (empty when the installation lacks it)."""
    try:
        return QIcon(str(icon_path()))
    except FileNotFoundError:
        return QIcon()


class AvatarIcons(QObject):
    """Avatar icons by streamer, fetched on first use.

    Signals:
        avatar_ready(str): the avatar of this username is now available.
    """

    avatar_ready = Signal(str)

    def __init__(
        self,
        cache: AvatarCache | None,
        spawn: Spawn,
        fallback: QIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache = cache
        self._spawn = spawn
        self.fallback = fallback if fallback is not None else app_icon()
        self._icons: dict[str, QIcon] = {}
        self._asked: set[str] = set()

    def icon(self, streamer: StreamerRecord) -> QIcon:
        """The streamer's avatar if at hand, else the fallback (and the avatar is fetched)."""
        url = streamer.profile_picture_url
        if not url or self.cache is None:
            return self.fallback
        found = self._icons.get(url)
        if found is not None:
            return found
        cached = self.cache.cached(url)
        if cached is not None:
            return self._remember(url, cached)
        if url not in self._asked:
            self._asked.add(url)
            self._spawn(self._fetch(url, streamer.username), f"avatar of {streamer.username}")
        return self.fallback

    async def _fetch(self, url: str, username: str) -> None:
        assert self.cache is not None
        path = await self.cache.path_for(url)
        if path is None or path == self.cache.fallback:
            return  # refused or failed: the fallback stays
        self._remember(url, path)
        self.avatar_ready.emit(username)

    def _remember(self, url: str, path: Path) -> QIcon:
        icon = QIcon(str(path))
        if icon.isNull():
            log.info("avatar %s is not a readable image", path.name)
            icon = self.fallback
        self._icons[url] = icon
        return icon
