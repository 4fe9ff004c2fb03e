"""Opening a stream: the browser through Qt, or the user's player command without a shell.

`system.player_command` is a template such as `streamlink {url} best`; it is split with shlex
and started detached, so no shell ever sees the URL. When it cannot be started the stream opens
in the browser instead and the failure is reported.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)


def player_arguments(template: str, url: str) -> list[str]:
    """The argv of the player command for `url` (empty when there is no usable template)."""
    try:
        parts = shlex.split(template)
    except ValueError:
        return []
    return [part.replace("{url}", url) for part in parts]


def _start_detached(program: str, arguments: list[str]) -> bool:
    started, _pid = QProcess.startDetached(program, arguments)
    return bool(started)


class StreamOpener:
    """Opens stream URLs with the player command when one is set, else in the browser."""

    def __init__(
        self,
        player_command: Callable[[], str],
        open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl,
        start_detached: Callable[[str, list[str]], bool] = _start_detached,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._player_command = player_command
        self._open_url = open_url
        self._start_detached = start_detached
        self._on_error = on_error

    def open(self, url: str) -> None:
        """Open `url`."""
        template = self._player_command().strip()
        if template:
            argv = player_arguments(template, url)
            if argv and self._start_detached(argv[0], argv[1:]):
                return
            message = f"could not start the player command {template!r}; opening the browser"
            log.warning(message)
            if self._on_error is not None:
                self._on_error(message)
        self._open_url(QUrl(url))
