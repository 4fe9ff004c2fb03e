"""Desktop notifications behind one small `Notifier` interface, with a native and a fake backend.

`DesktopNotifierBackend` sends through desktop-notifier (freedesktop D-Bus on Linux, the native
centres on macOS and Windows); it runs on the asyncio loop it is awaited on, which in the GUI is
qasync's. A `Notification` always holds plain text. The freedesktop body is markup on servers
that announce the `body-markup` capability (dunst, GNOME, KDE), so the body is escaped there, and
only there: a streamer's title such as `<a href=...>` is shown as those characters, never rendered
as a link or an image. The summary is plain text by the specification and is sent unchanged.
`RecordingNotifier` keeps what it was asked to show and lets tests click a notification or press
its buttons; `NullNotifier` shows nothing. `notifier_for_platform` is the one place that
chooses. No Qt here: callbacks are plain callables.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

Callback = Callable[[], Any]
MarkupProbe = Callable[[], Awaitable[bool]]

NOTIFICATIONS_BUS_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
CAPABILITIES_TIMEOUT = 2.0


def escape_body_markup(text: str) -> str:
    """`text` as literal text in a freedesktop notification body that is read as markup.

    The body markup is XML: `&`, `<` and `>` are the characters that can start markup or an
    entity; quotes are only special inside attributes, which plain text never opens.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
    sound_file: str | None = None  # played instead of the default sound where supported


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


class DBusBodyMarkupProbe:
    """Asks the freedesktop notification server whether it reads the body as markup.

    Asked before every notification (one D-Bus round trip on a connection kept open), so a
    server restarted with another configuration is followed. When the question cannot be
    answered the body is treated as markup: escaped text at worst shows an entity literally,
    unescaped text at worst renders a stranger's link.
    """

    def __init__(self) -> None:
        self._bus: Any = None

    async def __call__(self) -> bool:
        try:
            capabilities = await asyncio.wait_for(self._capabilities(), CAPABILITIES_TIMEOUT)
        except Exception as exc:
            log.debug("notification server capabilities unknown: %s", exc)
            return True
        return capabilities is None or "body-markup" in capabilities

    async def _capabilities(self) -> list[str] | None:
        from dbus_fast import Message, MessageType
        from dbus_fast.aio import MessageBus

        if self._bus is None or not self._bus.connected:
            self._bus = await MessageBus().connect()
        reply = await self._bus.call(
            Message(
                destination=NOTIFICATIONS_BUS_NAME,
                path=NOTIFICATIONS_PATH,
                interface=NOTIFICATIONS_BUS_NAME,
                member="GetCapabilities",
            )
        )
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            return None
        return [str(item) for item in reply.body[0]]

    def close(self) -> None:
        """Close the connection to the bus."""
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None


class DesktopNotifierBackend:
    """Native notifications through desktop-notifier, on the running asyncio loop.

    `body_markup` answers whether the server reads the body as markup; by default it is asked
    over D-Bus when desktop-notifier uses its D-Bus backend, and the answer is no elsewhere
    (macOS and Windows show plain text, where an escaped `&amp;` would show as such).
    """

    def __init__(
        self,
        app_name: str,
        app_icon: Path | None = None,
        body_markup: MarkupProbe | None = None,
    ) -> None:
        from desktop_notifier import DesktopNotifier, Icon

        self._notifier = DesktopNotifier(
            app_name=app_name, app_icon=Icon(path=app_icon) if app_icon else None
        )
        self._probe: DBusBodyMarkupProbe | None = None
        if body_markup is None and _uses_dbus(self._notifier):
            self._probe = DBusBodyMarkupProbe()
            body_markup = self._probe
        self._body_markup = body_markup
        self._sound_file_noted = False
        # freedesktop servers that play sounds take a file in the `sound-file` hint, which
        # desktop-notifier sends, though it lists file sounds as a capability only on Windows.
        self.sound_file_hint = _uses_dbus(self._notifier)

    async def wire_body(self, notification: Notification) -> str:
        """The body as sent to the server: escaped where the server reads markup."""
        if self._body_markup is not None and await self._body_markup():
            return escape_body_markup(notification.body)
        return notification.body

    async def notify(self, notification: Notification) -> str:
        from desktop_notifier import Button, Icon
        from desktop_notifier import Notification as NativeNotification

        icon = None
        if isinstance(notification.icon, Path):
            icon = Icon(path=notification.icon)
        elif notification.icon:
            icon = Icon(uri=notification.icon)
        native = NativeNotification(
            title=notification.title,
            message=await self.wire_body(notification),
            icon=icon,
            buttons=tuple(
                Button(title=b.label, on_pressed=_guarded(b.callback)) for b in notification.buttons
            ),
            on_clicked=_guarded(notification.on_clicked) if notification.on_clicked else None,
            sound=await self._sound(notification),
        )
        try:
            return await self._notifier.send_notification(native)
        except Exception:
            # A notification service that disappeared must not take the monitor down with it.
            log.exception("could not show notification %r", notification.title)
            return ""

    async def _sound(self, notification: Notification) -> Any:
        """The sound to send: the notification's file where the service plays files, else
        the default sound (said once in the log), or none."""
        from desktop_notifier import DEFAULT_SOUND, Capability, Sound

        if not notification.sound:
            return None
        if notification.sound_file is None:
            return DEFAULT_SOUND
        try:
            capabilities = await self._notifier.get_capabilities()
        except Exception:  # a service that cannot say what it supports: play what all do
            capabilities = frozenset()
        path = Path(notification.sound_file)
        plays_files = Capability.SOUND_FILE in capabilities or (
            self.sound_file_hint and Capability.SOUND in capabilities
        )
        if plays_files and await asyncio.to_thread(path.is_file):
            return Sound(path=path)
        if not self._sound_file_noted:
            self._sound_file_noted = True
            log.info(
                "this notification service cannot play sound files; the default sound is "
                "played instead of %s",
                notification.sound_file,
            )
        return DEFAULT_SOUND

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
        backend = getattr(self._notifier, "_backend", None)
        bus = getattr(backend, "bus", None)
        if bus is not None:
            bus.disconnect()


def _uses_dbus(notifier: object) -> bool:
    """Whether desktop-notifier chose its freedesktop D-Bus backend."""
    backend = getattr(notifier, "_backend", None)
    return type(backend).__module__.startswith("desktop_notifier.backends.dbus")


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
