"""The settings dialog: four tabs, values loaded off the GUI thread, saved all or nothing.

Loading reads every setting (decrypting the secret needs the master key, which may ask the
keyring), the streamers, the master key's whereabouts and the start-at-login state in a worker
thread. Save validates every field of every tab first; with any broken rule nothing is saved and
the first tab with a problem is shown. Otherwise the changed values are stored with one
`Settings.set_many` transaction, start at login is switched, and `saved` is emitted. The dialog
works from the keyboard alone: Tab walks tab bar, controls, Save and Close in reading order,
Ctrl+Tab switches tabs, Escape closes.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kickwatch.context import Context
from kickwatch.domain.errors import KickwatchError
from kickwatch.monitor.events import StreamEnded, StreamStarted
from kickwatch.monitor.policy import local_timezone
from kickwatch.platform.autostart import Autostart
from kickwatch.store.rules import RuleStore
from kickwatch.store.secrets import KeySource
from kickwatch.store.settings import SPECS
from kickwatch.ui.avatars import AvatarCache
from kickwatch.ui.bridge import MonitorBridge
from kickwatch.ui.columns import window_state
from kickwatch.ui.qtloop import run_blocking
from kickwatch.ui.rules_editor import RulesEditor
from kickwatch.ui.settings.fields import ERROR_STYLE, SettingsForm
from kickwatch.ui.settings.streamers_tab import Confirm, StreamersTab
from kickwatch.ui.settings.tabs import AccountTab, AdvancedTab, NotificationsTab
from kickwatch.ui.settings.targets_tab import TargetsTab

log = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[Any], str], object]


def describe_master_key(ctx: Context) -> str:
    """Where the master key is kept, in words (blocking: may ask the keyring)."""
    try:
        master = ctx.secrets.master
    except KickwatchError as exc:
        return f"Master key: not available ({exc})"
    where = {
        KeySource.KEYRING: f"in the system keyring ({master.detail})",
        KeySource.ENVIRONMENT: f"in the environment variable {master.detail}",
        KeySource.KEY_FILE: f"in the key file {master.detail} (readable only by you)",
    }[master.source]
    return f"Master key (encrypts the client secret): kept {where}."


class SettingsDialog(QDialog):
    """Streamers, Notifications, Account and Advanced settings.

    Signals:
        loaded(): stored values are shown (loading happens in a worker thread).
        saved(): changes were stored.
        save_failed(str): nothing was saved; the message says why.
    """

    loaded = Signal()
    saved = Signal()
    save_failed = Signal(str)

    def __init__(
        self,
        ctx: Context,
        monitor: Any,
        autostart: Autostart,
        spawn: Spawn,
        bridge: MonitorBridge | None = None,
        zone: tzinfo | None = None,
        confirm: Confirm | None = None,
        parent: QWidget | None = None,
        *,
        avatars: AvatarCache | None = None,
        alerts: Any = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.monitor = monitor
        self.autostart = autostart
        self._spawn = spawn
        self.setWindowTitle("kickwatch settings")
        self.resize(760, 560)
        zone = zone or local_timezone()
        self.streamers = StreamersTab(
            ctx.repository,
            monitor,
            spawn,
            zone,
            confirm,
            avatars=avatars,
            state=window_state(ctx.paths.config_dir),
        )
        self.rules = RulesEditor(RuleStore(ctx.database, ctx.clock), ctx.repository, monitor, spawn)
        self.streamers.streamers_edited.connect(self.rules.reload)
        self.notifications = NotificationsTab()
        self.account = AccountTab()
        self.advanced = AdvancedTab(
            ctx.database.display_url(), database_source=ctx.database_source, environ=ctx.environ
        )
        self.forms: list[SettingsForm] = [self.notifications, self.account, self.advanced]
        for form in self.forms:
            form.bind(ctx.settings.validate)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings sections")
        self.tabs.addTab(self.streamers, "Streamers")
        self.tabs.addTab(self.rules, "Rules")
        self.tabs.addTab(self.notifications, "Notifications")
        self.tabs.addTab(self.account, "Account")
        self.tabs.addTab(self.advanced, "Advanced")
        self.targets = TargetsTab(ctx, monitor, spawn, alerts)
        self.tabs.addTab(self.targets, "Targets")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        self.buttons.accepted.connect(self.on_buttons_accepted)
        self.buttons.rejected.connect(self.hide)
        self.account.test_requested.connect(self.on_account_test_requested)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        close_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        chain = [self.tabs.tabBar(), *self.streamers.focus_chain(), self.save_button, close_button]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)
        if bridge is not None:
            bridge.event_received.connect(self.on_bridge_event_received)
        self._spawn(self.load(), "load settings")

    def hideEvent(self, event: QHideEvent) -> None:
        self.streamers.columns.save()
        super().hideEvent(event)

    # -- loading ----------------------------------------------------------------------------

    async def load(self) -> None:
        """Read everything in a worker thread, then show it."""
        values, streamers, key_text, autostart = await run_blocking(self._read)
        for form in self.forms:
            form.load(values)
        self.streamers.set_streamers(streamers)
        self.account.master_key.setText(key_text)
        self.advanced.load_autostart(*autostart)
        self.save_button.setEnabled(True)
        self.loaded.emit()

    def _read(self) -> tuple[dict[str, Any], list[Any], str, tuple[bool, str]]:
        values: dict[str, Any] = {}
        for spec in SPECS:
            try:
                values[spec.key] = self.ctx.settings.get(spec.key)
            except KickwatchError as exc:  # e.g. a secret the master key cannot decrypt
                log.warning("%s", exc)
                values[spec.key] = spec.default
        try:
            autostart = (self.autostart.is_enabled(), self.autostart.describe())
        except KickwatchError as exc:
            autostart = (False, str(exc))
        return values, self.ctx.repository.all_streamers(), describe_master_key(self.ctx), autostart

    def on_bridge_event_received(self, event: object) -> None:
        if isinstance(event, StreamStarted | StreamEnded):
            self.streamers.on_streamer_updated(event.streamer)

    # -- saving -----------------------------------------------------------------------------

    def errors(self) -> dict[str, str]:
        """Every broken rule on every tab (each shown inline)."""
        found: dict[str, str] = {}
        for form in self.forms:
            found.update(form.errors())
        return found

    def on_buttons_accepted(self) -> None:
        self._spawn(self.save(), "save settings")

    async def save(self) -> bool:
        """Validate everything, then store all changes in one transaction; False if nothing was."""
        errors = self.errors()
        if errors:
            first = next(iter(errors))
            for form in self.forms:
                if first in form.fields:
                    self.tabs.setCurrentWidget(form)
            problem = "Nothing was saved. Fix first: " + "; ".join(errors.values())
            self._show_message(problem, error=True)
            self.save_failed.emit(problem)
            return False
        changes: dict[str, str] = {}
        for form in self.forms:
            changes.update(form.changes())
        self.save_button.setEnabled(False)
        try:
            await run_blocking(self.ctx.settings.set_many, changes)
        except KickwatchError as exc:
            self._show_message(f"Nothing was saved: {exc}", error=True)
            self.save_failed.emit(str(exc))
            return False
        finally:
            self.save_button.setEnabled(True)
        for form in self.forms:
            for key in changes:
                if key in form.fields:
                    form.fields[key].loaded = changes[key]
        autostart_ok = await self._apply_autostart()
        self._show_message(
            "Saved." if autostart_ok else "Saved, but start at login could not be changed.",
            error=not autostart_ok,
        )
        self.saved.emit()
        return True

    async def _apply_autostart(self) -> bool:
        if not self.advanced.autostart_changed:
            return True
        wanted = self.advanced.autostart.isChecked()
        try:
            await run_blocking(self.autostart.enable if wanted else self.autostart.disable)
            await run_blocking(
                self.ctx.settings.set, "system.start_at_login", "true" if wanted else "false"
            )
        except KickwatchError as exc:
            self.advanced.show_autostart_error(str(exc))
            return False
        self.advanced.autostart_loaded = wanted
        self.advanced.show_autostart_error(None)
        return True

    def _show_message(self, text: str, *, error: bool) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- connection test --------------------------------------------------------------------

    def on_account_test_requested(self) -> None:
        unsaved = any(self.account.fields[k].changed for k in self.account.fields)
        self.account.show_testing(unsaved)
        self._spawn(self.test_connection(), "test connection")

    async def test_connection(self) -> None:
        """Ask the monitor to test the connection (it records a connection_test event)."""
        try:
            ok, detail = await self.monitor.test_connection()
        except KickwatchError as exc:
            ok, detail = False, str(exc)
        except Exception as exc:
            log.exception("connection test failed")
            ok, detail = False, f"unexpected error ({type(exc).__name__})"
        self.account.show_result(ok, detail)
