"""`KickwatchApp`: wires the monitor's events to the tray, notifications and windows.

It is built by the composition root (`kickwatch.ui.startup.run`) with everything passed in:
context, monitor, notifier, start-at-login, avatar cache and, where the desktop has a tray, the
tray icon that start-up already showed. `shutdown` is the one way out: it awaits `monitor.stop()`
so that pending writes are flushed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from kickwatch.context import Context
from kickwatch.domain.errors import KickwatchError
from kickwatch.domain.records import StreamerRecord
from kickwatch.monitor.events import (
    ConnectionState,
    ConnectionStateChanged,
    DatabaseRecovered,
    DatabaseUnavailable,
    ErrorOccurred,
    EventBus,
    ReconcileCompleted,
    ReconcileFailed,
)
from kickwatch.monitor.policy import NotificationPolicy, PolicySettings, local_timezone
from kickwatch.monitor.shared import SharedMonitor
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.platform.autostart import Autostart, autostart_for_platform
from kickwatch.platform.notifier import Notifier
from kickwatch.ui.avatars import AvatarCache
from kickwatch.ui.bridge import MonitorBridge
from kickwatch.ui.main_window import MainWindow
from kickwatch.ui.notifications import NotificationController
from kickwatch.ui.opener import StreamOpener
from kickwatch.ui.qtloop import run_blocking
from kickwatch.ui.tray import TrayIcon
from kickwatch.ui.tray_model import TrayViewModel

if TYPE_CHECKING:
    from kickwatch.alerts.dispatcher import TargetHealth
    from kickwatch.alerts.service import AlertService

log = logging.getLogger(__name__)


T = TypeVar("T")


class MonitorPort(Protocol):
    """The surface of `kickwatch.monitor.monitor.Monitor` the GUI uses."""

    bus: EventBus
    connection_state: ConnectionState
    last_check: datetime | None

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def live_streamers(self) -> list[StreamerRecord]: ...
    def streamers(self) -> list[StreamerRecord]: ...
    def streamers_changed(self) -> None: ...
    async def reconcile_now(self) -> None: ...
    async def test_connection(self) -> tuple[bool, str]: ...
    async def lookup_and_add(self, name: str) -> StreamerRecord: ...
    async def write(self, function: Callable[..., T], *args: Any) -> T: ...


class KickwatchApp(QObject):
    """Wires the monitor to the tray (or fallback window), notifications and dialogs.

    Signals:
        quit_requested(): the user or the system asked kickwatch to quit.
        settings_shown(object): the settings dialog was shown (the dialog).
    """

    quit_requested = Signal()
    settings_shown = Signal(object)

    def __init__(
        self,
        ctx: Context,
        monitor: MonitorPort,
        notifier: Notifier,
        *,
        tray_available: bool,
        tray: TrayIcon | None = None,
        autostart: Autostart | None = None,
        avatars: AvatarCache | None = None,
        zone: tzinfo | None = None,
        group_window_seconds: float | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.monitor = monitor
        self.notifier = notifier
        self.autostart = autostart if autostart is not None else autostart_for_platform()
        self.zone = zone or local_timezone()
        self._group_window = group_window_seconds
        self.avatars = avatars
        self.tasks = Supervisor()
        self.exit_code = 0
        self._quit = asyncio.Event()
        self._stopped = False
        self.bridge = MonitorBridge(monitor.bus, self)
        self.model = tray.model if tray is not None else TrayViewModel(lambda: [], self.zone)
        self.model.set_source(monitor.live_streamers, monitor.streamers)
        self.model.connection_state = monitor.connection_state
        self.model.last_check = monitor.last_check
        if isinstance(monitor, SharedMonitor):  # it follows workers' database, never Kick
            self.model.link = "the shared database"
        self.opener = StreamOpener(lambda: str(ctx.settings.get("system.player_command")))
        self.controller = NotificationController(
            NotificationPolicy(self.policy_settings()),
            notifier,
            self.opener,
            ctx.clock.now,
            self.tasks.spawn,
            self.mute,
            avatars,
            self,
        )
        self.tray: TrayIcon | None = None
        self.window: MainWindow | None = None
        if tray_available:
            self.tray = tray or TrayIcon(self.model, ctx.clock.now)
            self.tray.setParent(self)
            surface: Any = self.tray.menu
            self.tray.activated.connect(self.show_settings)
        else:
            self.window = MainWindow(self.model, ctx.clock.now)
            surface = self.window
        surface.stream_open_requested.connect(self.opener.open)
        surface.pause_requested.connect(self.on_surface_pause_requested)
        surface.settings_requested.connect(self.show_settings)
        surface.history_requested.connect(self.show_history)
        surface.quit_requested.connect(self.request_quit)
        self.pause_timer = QTimer(self)
        self.pause_timer.setSingleShot(True)
        self.pause_timer.timeout.connect(self.refresh)
        # Runs only while a countdown is shown, firing when its text changes; idle otherwise.
        self.countdown_timer = QTimer(self)
        self.countdown_timer.setSingleShot(True)
        self.countdown_timer.timeout.connect(self.refresh)
        self.bridge.event_received.connect(self.controller.on_bridge_event_received)
        self.bridge.streams_changed.connect(self.refresh)
        self.bridge.streamers_changed.connect(self.refresh)
        self.bridge.connection_changed.connect(self.on_bridge_connection_changed)
        self.bridge.reconciled.connect(self.on_bridge_reconciled)
        self.bridge.check_failed.connect(self.on_bridge_check_failed)
        self.bridge.database_changed.connect(self.on_bridge_database_changed)
        self.bridge.error_occurred.connect(self.on_bridge_error_occurred)
        self.settings_dialog: QWidget | None = None
        self.history_window: QWidget | None = None
        self.alerts: AlertService | None = None
        self._load_pause()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Show the tray icon (or window), then start monitoring."""
        if self.tray is not None:
            self.tray.show()
        if self.window is not None:
            self.window.show()
        try:
            await self.monitor.start()
        except KickwatchError as exc:
            self.model.fatal_error = str(exc)
            log.error("monitoring could not start: %s", exc)
        else:
            await self._start_alerts()
        self.model.connection_state = self.monitor.connection_state
        self.refresh()

    async def _start_alerts(self) -> None:
        """Send the policy's decisions to the alert targets too (Apprise, off this thread)."""
        from kickwatch.alerts.service import AlertService

        self.alerts = AlertService(
            self.ctx,
            self.monitor.bus,
            self.monitor.write,
            self.controller.policy.settings,
            on_health=self.on_alerts_health,
        )
        await self.alerts.start()

    def on_alerts_health(self, health: TargetHealth) -> None:
        """A target started failing or works again: said in the log, the tray's tooltip and
        menu, and the Targets tab."""
        failing = health.state != "ok"
        log.log(logging.WARNING if failing else logging.INFO, "%s", health.describe())
        self.model.target_health(health.name, failing, health.last_error or "")
        self.refresh()

    async def wait_for_quit(self) -> int:
        """Wait until quit is requested; returns the exit code."""
        await self._quit.wait()
        return self.exit_code

    def request_quit(self, code: int = 0) -> None:
        """Ask the app to shut down (idempotent)."""
        if not self._quit.is_set():
            self.exit_code = code
            self._quit.set()
            self.quit_requested.emit()

    async def shutdown(self) -> None:
        """Close windows, stop the monitor (flushing writes), cancel tasks, drop the tray icon."""
        if self._stopped:
            return
        self._stopped = True  # from now on nothing is redrawn: the widgets are going away
        for widget in (self.settings_dialog, self.history_window, self.window):
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.controller.timer.stop()
        self.pause_timer.stop()
        self.countdown_timer.stop()
        if self.alerts is not None:
            await self.alerts.stop()  # before the monitor: its writes go through the monitor
        try:
            await self.monitor.stop()
        except Exception:
            log.exception("monitor did not stop cleanly")
        await self.tasks.cancel_all()
        await self.notifier.close()
        self.bridge.close()
        if self.tray is not None:
            self.tray.hide()

    # -- state shown ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw tray icon/tooltip (and the fallback window) from the current state."""
        if self._stopped:
            self.countdown_timer.stop()
            return
        if self.tray is not None:
            self.tray.refresh()
        if self.window is not None:
            self.window.refresh()
        wait = self.model.next_tick(self.ctx.clock.now())
        if wait is None:
            self.countdown_timer.stop()
        else:
            self.countdown_timer.start(math.ceil(wait * 1000) + 5)

    def on_bridge_connection_changed(self, event: ConnectionStateChanged) -> None:
        self.model.connection_changed(event)
        self.refresh()

    def on_bridge_reconciled(self, event: ReconcileCompleted) -> None:
        self.model.check_completed(event.at)
        self.refresh()

    def on_bridge_check_failed(self, event: ReconcileFailed) -> None:
        self.model.check_failed(event.at, event.reason)
        self.refresh()

    def on_bridge_database_changed(self, event: DatabaseUnavailable | DatabaseRecovered) -> None:
        self.model.database_problem = (
            event.reason if isinstance(event, DatabaseUnavailable) else None
        )
        self.refresh()

    def on_bridge_error_occurred(self, event: ErrorOccurred) -> None:
        if event.fatal:
            self.model.fatal_error = event.message
            self.refresh()

    # -- preferences ------------------------------------------------------------------------

    def policy_settings(self) -> PolicySettings:
        """The notification policy's settings as stored now."""
        settings = PolicySettings.from_settings(self.ctx.settings.get, self.zone)
        if self._group_window is not None:
            settings = PolicySettings(
                **{
                    name: getattr(settings, name)
                    for name in PolicySettings.__dataclass_fields__
                    if name != "group_window_seconds"
                },
                group_window_seconds=self._group_window,
            )
        return settings

    def reload_settings(self) -> None:
        """Apply stored settings (after the settings dialog saved)."""
        self._load_pause()
        self.controller.update_settings(self.policy_settings())
        if self.alerts is not None:
            self.alerts.update_settings(self.controller.policy.settings)
        self.monitor.streamers_changed()
        self.refresh()

    def _load_pause(self) -> None:
        until = self.policy_settings().paused_until
        now = self.ctx.clock.now()
        self.model.paused_until = until if until is not None and until > now else None
        if self.model.paused_until is not None:
            seconds = (self.model.paused_until - now).total_seconds()
            self.pause_timer.start(int(min(seconds, 86400 * 7) * 1000) + 10)
        else:
            self.pause_timer.stop()

    def on_surface_pause_requested(self, until: datetime | None) -> None:
        self.tasks.spawn(self.set_pause(until), "pause")

    async def set_pause(self, until: datetime | None) -> None:
        """Pause notifications until `until`, or resume them (None)."""
        text = until.isoformat() if until is not None else ""
        await run_blocking(self.ctx.settings.set, "system.paused_until", text)
        self._load_pause()
        self.controller.update_settings(self.policy_settings())
        if self.alerts is not None:
            self.alerts.update_settings(self.controller.policy.settings)
        self.refresh()

    async def mute(self, username: str) -> None:
        """Mute a streamer (from a notification's Mute button)."""
        update = functools.partial(self.ctx.repository.update_streamer, username, is_muted=True)
        await self.monitor.write(update)
        self.monitor.streamers_changed()

    # -- windows ----------------------------------------------------------------------------

    def show_settings(self) -> None:
        """Show the settings dialog (created on first use) and bring it forward."""
        if self.settings_dialog is None:
            from kickwatch.ui.settings.dialog import SettingsDialog

            dialog = SettingsDialog(
                self.ctx,
                self.monitor,
                self.autostart,
                self.tasks.spawn,
                self.bridge,
                avatars=self.avatars,
                alerts=self.alerts,
            )
            dialog.saved.connect(self.reload_settings)
            self.settings_dialog = dialog
        _bring_forward(self.settings_dialog)
        self.settings_shown.emit(self.settings_dialog)

    def show_history(self) -> None:
        """Show the history window (created on first use)."""
        if self.history_window is None:
            from kickwatch.ui.columns import window_state
            from kickwatch.ui.history import HistoryWindow

            self.history_window = HistoryWindow(
                self.ctx.repository,
                self.tasks.spawn,
                self.zone,
                state=window_state(self.ctx.paths.config_dir),
            )
        _bring_forward(self.history_window)


def _bring_forward(widget: QWidget) -> None:
    widget.show()
    widget.raise_()
    widget.activateWindow()
