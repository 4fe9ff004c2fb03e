"""Desktop notifications behind one small `Notifier` interface, with a native and a fake backend.

`DesktopNotifierBackend` sends through desktop-notifier (freedesktop D-Bus on Linux, the native
centres on macOS and Windows); it runs on the asyncio loop it is awaited on, which in the GUI is
qasync's. `RecordingNotifier` keeps what it was asked to show and lets tests click a notification
or press its buttons; `NullNotifier` shows nothing. `notifier_for_platform` is the one place that
chooses. No Qt here: callbacks are plain callables.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

Callback = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class NotificationButton:
    """An action button on a notification."""

    label: str
    callback: Callback


@dataclass(frozen=True, slots=True)
class Notification:
    """What to show: title, body, an icon (a file path or an URL), buttons and click handling."""

    title: str
    body: str = ""
    icon: Path | str | None = None
    buttons: tuple[NotificationButton, ...] = ()
    on_clicked: Callback | None = None
    sound: bool = False
    tag: str = ""  # what the notification is about, for logs and tests (e.g. the username)


class Notifier(Protocol):
    """Shows notifications; `notify` returns an identifier and never raises for a failed show."""

    async def notify(self, notification: Notification) -> str:
        """Show `notification`."""
        ...

    async def close(self) -> None:
        """Release the connection to the notification service."""
        ...


class NullNotifier:
    """Shows nothing (no notification service on this system)."""

    async def notify(self, notification: Notification) -> str:
        log.info("notification not shown (no notifier): %s", notification.title)
        return ""

    async def close(self) -> None:
        return None


@dataclass
class RecordingNotifier:
    """Keeps every notification, for tests; `click` and `press` play the user's part."""

    sent: list[Notification] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def notify(self, notification: Notification) -> str:
        self.sent.append(notification)
        return str(next(self._ids))

    async def close(self) -> None:
        return None

    @property
    def titles(self) -> list[str]:
        """The titles shown so far, in order."""
        return [n.title for n in self.sent]

    def click(self, index: int = -1) -> None:
        """Click the body of a shown notification."""
        handler = self.sent[index].on_clicked
        if handler is not None:
            handler()

    def press(self, label: str, index: int = -1) -> None:
        """Press the button labelled `label` on a shown notification."""
        for button in self.sent[index].buttons:
            if button.label == label:
                button.callback()
                return
        raise LookupError(f"no button {label!r} on {self.sent[index].title!r}")


class DesktopNotifierBackend:
    """Native notifications through desktop-notifier, on the running asyncio loop."""

    def __init__(self, app_name: str, app_icon: Path | None = None) -> None:
        from desktop_notifier import DesktopNotifier, Icon

        self._notifier = DesktopNotifier(
            app_name=app_name, app_icon=Icon(path=app_icon) if app_icon else None
        )

    async def notify(self, notification: Notification) -> str:
        from desktop_notifier import DEFAULT_SOUND, Button, Icon
        from desktop_notifier import Notification as NativeNotification

        icon = None
        if isinstance(notification.icon, Path):
            icon = Icon(path=notification.icon)
        elif notification.icon:
            icon = Icon(uri=notification.icon)
        native = NativeNotification(
            title=notification.title,
            message=notification.body,
            icon=icon,
            buttons=tuple(
                Button(title=b.label, on_pressed=_guarded(b.callback)) for b in notification.buttons
            ),
            on_clicked=_guarded(notification.on_clicked) if notification.on_clicked else None,
            sound=DEFAULT_SOUND if notification.sound else None,
        )
        try:
            return await self._notifier.send_notification(native)
        except Exception:
            # A notification service that disappeared must not take the monitor down with it.
            log.exception("could not show notification %r", notification.title)
            return ""

    async def close(self) -> None:
        backend = getattr(self._notifier, "_backend", None)
        bus = getattr(backend, "bus", None)
        if bus is not None:
            bus.disconnect()


def _guarded(callback: Callback) -> Callback:
    """A callback whose exceptions are logged, not raised into the D-Bus library."""

    def run() -> None:
        try:
            callback()
        except Exception:
            log.exception("notification action failed")

    return run


def notifier_for_platform(app_name: str, app_icon: Path | None = None) -> Notifier:
    """The native notifier where desktop-notifier has a backend, else the null one."""
    try:
        return DesktopNotifierBackend(app_name, app_icon)
    except Exception as exc:
        log.warning("desktop notifications are not available: %s", exc)
        return NullNotifier()
