"""The Notifications, Account and Advanced tabs of the settings dialog.

Each is a `SettingsForm` of fields bound to `system.*`, `auth.*`, `database.*` and
`monitoring.*` keys; the Account tab adds the connection test and where the master key is kept,
the Advanced tab the database in use (and where its URL comes from), the monitoring mode
(this computer watches Kick, or it follows a shared PostgreSQL database), the endpoint each
connection really uses (an environment variable wins over the setting), and start at login
(through the `Autostart` interface). Settings read only when kickwatch starts say so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QWidget

from kickwatch.kick.endpoints import Endpoints, endpoint_origins
from kickwatch.ui.settings.fields import ERROR_STYLE, SettingsForm

DEVELOPER_URL = "https://kick.com/settings/developer"
OK_STYLE = "color: #1e8449;"
RESTART_NOTE = "Takes effect when kickwatch restarts."
ENDPOINTS = {
    "monitoring.pusher_url": "Pusher WebSocket URL",
    "monitoring.api_url": "Official API URL",
    "monitoring.auth_url": "Token URL",
    "monitoring.web_url": "kick.com URL",
}
MONITORING_MODES = {
    "local": "This computer watches Kick",
    "shared": "Follow a shared PostgreSQL database (workers watch Kick)",
}
MODE_HINT = (
    "Shared: kickwatch run workers watch Kick and fill this PostgreSQL database; this desktop "
    "only listens to what they store and never connects to Kick."
)
DATABASE_SOURCES = {
    "--db": "from the --db option",
    "KICKWATCH_DB": "from the KICKWATCH_DB environment variable",
    "default": "the default file",
}


class NotificationsTab(SettingsForm):
    """Sounds, offline alerts, quiet hours, player command, start-up suppression, grouping."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.add_check("system.sounds", "Play a sound with live alerts")
        self.add_check(
            "system.notify_on_end",
            "Offline alerts for newly added streamers",
            "Each streamer has its own switch on the Streamers tab",
        )
        self.add_line(
            "system.offline_grace_seconds",
            "Offline grace (seconds)",
            "A stream that comes back within this time shows no alert at all",
        )
        self.add_line(
            "system.restart_cooldown_seconds",
            "Restart cooldown (seconds)",
            "Never two live alerts for one streamer within this time",
        )
        self.add_check(
            "system.alert_already_live", "Alert for streams already live when kickwatch starts"
        )
        self.add_line(
            "system.group_threshold",
            "Group alerts from",
            "This many go-lives at once become one notification",
        )
        self.add_check("system.quiet_hours_enabled", "Quiet hours")
        self.add_line("system.quiet_hours_start", "Quiet from (HH:MM)")
        self.add_line("system.quiet_hours_end", "Quiet until (HH:MM)")
        self.add_check("system.quiet_hours_favorites", "Favourites are announced in quiet hours")
        self.add_line(
            "system.player_command",
            "Player command",
            "e.g. streamlink {url} best; empty opens the browser",
        ).setPlaceholderText("streamlink {url} best   (empty: open in the browser)")


class AccountTab(SettingsForm):
    """Kick app credentials, the connection test, and where the master key is kept.

    Signals:
        test_requested(): the Test connection button was pressed.
    """

    test_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.add_line("auth.client_id", "Client ID", RESTART_NOTE)
        self.add_line(
            "auth.client_secret",
            "Client secret",
            f"Stored encrypted. {RESTART_NOTE}",
            password=True,
        )
        restart = QLabel(
            "New credentials are used when kickwatch restarts; the connection test uses the "
            "ones kickwatch started with."
        )
        restart.setWordWrap(True)
        restart.setObjectName("account_restart_note")
        self.outer.addWidget(restart)
        link = QLabel(
            f'Create an app and its credentials at <a href="{DEVELOPER_URL}">{DEVELOPER_URL}</a>'
        )
        link.setOpenExternalLinks(True)
        link.setWordWrap(True)
        self.outer.addWidget(link)
        row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(lambda: self.test_requested.emit())
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        row.addWidget(self.test_button)
        row.addWidget(self.test_result, 1)
        self.outer.addLayout(row)
        self.master_key = QLabel("Master key: …")
        self.master_key.setWordWrap(True)
        self.outer.addWidget(self.master_key)
        self.outer.addStretch(1)

    def show_testing(self, unsaved: bool) -> None:
        """The test is running."""
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText(
            "Testing with the credentials kickwatch started with…" if unsaved else "Testing…"
        )

    def show_result(self, ok: bool, detail: str) -> None:
        """The outcome of a connection test."""
        self.test_button.setEnabled(True)
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.test_result.setText(("✓ " if ok else "✗ ") + detail)


class AdvancedTab(SettingsForm):
    """Database in use, retention, reconciliation interval, monitoring mode, endpoints in force,
    start at login.

    `database_source` says where the database URL came from (`--db`, `KICKWATCH_DB`,
    `default`); `environ` is where the `KICKWATCH_*_URL` overrides are read (the process
    environment when not given).
    """

    def __init__(
        self,
        database: str,
        parent: QWidget | None = None,
        *,
        database_source: str = "",
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        source = DATABASE_SOURCES.get(database_source, "")
        in_use = QLabel(
            f"Database in use: {database}" + (f" ({source})" if source else "") + ". "
            "Choose another with the --db option or the KICKWATCH_DB environment variable: "
            "the settings are stored in the database, so it is not a setting."
        )
        in_use.setWordWrap(True)
        in_use.setObjectName("database_in_use")
        self.form.addRow(in_use)
        restart = QLabel(
            f"{RESTART_NOTE} (except start at login): a running kickwatch keeps the values it "
            "started with."
        )
        restart.setWordWrap(True)
        restart.setObjectName("advanced_restart_note")
        self.form.addRow(restart)
        self.add_line("database.retention_days", "Keep history (days)", RESTART_NOTE)
        self.add_line("monitoring.reconcile_interval", "Check every (seconds)", RESTART_NOTE)
        self.add_combo(
            "monitoring.mode", "Monitoring mode", MONITORING_MODES, f"{MODE_HINT} {RESTART_NOTE}"
        )
        defaults = Endpoints()
        self.in_force: dict[str, QLabel] = {}
        for key, label in ENDPOINTS.items():
            edit = self.add_line(key, label, RESTART_NOTE)
            edit.setPlaceholderText(f"default: {getattr(defaults, key.split('.', 1)[1])}")
            shown = QLabel()
            shown.setWordWrap(True)
            shown.setObjectName(f"{key}.in_force")
            self.in_force[key] = shown
            self.form.addRow("", shown)
            edit.textChanged.connect(lambda _text: self.refresh_in_force())
        self.refresh_in_force()
        self.autostart = QCheckBox("Start kickwatch at login")
        self.autostart.setObjectName("autostart")
        self.autostart_where = QLabel()
        self.autostart_where.setWordWrap(True)
        self.autostart_message = QLabel()
        self.autostart_message.setStyleSheet(ERROR_STYLE)
        self.autostart_message.setWordWrap(True)
        self.autostart_message.hide()
        self.outer.addWidget(self.autostart)
        self.outer.addWidget(self.autostart_where)
        self.outer.addWidget(self.autostart_message)
        self.outer.addStretch(1)
        self.autostart_loaded = False

    def load(self, values: dict[str, Any]) -> None:
        """Show stored values and the endpoints they put in force."""
        super().load(values)
        self.refresh_in_force()

    def refresh_in_force(self) -> None:
        """Under each endpoint: the address in use and where it comes from."""
        overrides = {key: self.fields[key].text() for key in ENDPOINTS}
        for name, (value, origin) in endpoint_origins(self.environ, overrides).items():
            key = f"monitoring.{name}"
            if origin == "default":
                where = "Kick's default"
            elif origin == "setting":
                where = "from this setting"
            else:
                where = f"from the environment variable {origin}, which wins over this setting"
            self.in_force[key].setText(f"In use: {value} ({where})")

    def load_autostart(self, enabled: bool, where: str) -> None:
        """Show whether start at login is on, and where that is kept."""
        self.autostart.setChecked(enabled)
        self.autostart_loaded = enabled
        self.autostart_where.setText(where)

    @property
    def autostart_changed(self) -> bool:
        """Whether the start-at-login box was changed."""
        return self.autostart.isChecked() != self.autostart_loaded

    def show_autostart_error(self, message: str | None) -> None:
        """Show (or clear) a failure to change start at login."""
        self.autostart_message.setText(message or "")
        self.autostart_message.setVisible(bool(message))
