"""The Targets tab: where alerts go besides the desktop (Discord, Telegram, ntfy... via Apprise).

Lists the targets with their URLs masked, their filters and how their alerts are doing (sent,
waiting, failing and why); adds one (Apprise checks the URL first, and its message is shown
under the field), removes the selected one, or sends it a test alert. The URL field never shows
what is typed (a target URL holds tokens). Reading, checking and testing run in worker threads;
adding and removing go through the monitor's single writer; a running alert service is told to
follow the change at once. Every control has an accessible name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kickwatch.context import Context
from kickwatch.domain.errors import KickwatchError
from kickwatch.ui.qtloop import run_blocking
from kickwatch.ui.settings.fields import ERROR_STYLE

log = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[Any], str], object]
HEADERS = ("Name", "URL", "Streamers", "Events", "Alerts")
EXAMPLES = "e.g. discord://WEBHOOK_ID/TOKEN, ntfy://TOPIC, tgram://BOT_TOKEN/CHAT_ID"


class TargetsTab(QWidget):
    """List, add, remove and test alert targets.

    Signals:
        loaded(): the stored targets are shown.
        targets_changed(): a target was added or removed.
        message_shown(str): the line under the form changed (a result or a refusal).
    """

    loaded = Signal()
    targets_changed = Signal()
    message_shown = Signal(str)

    def __init__(
        self,
        ctx: Context,
        monitor: Any,
        spawn: Spawn,
        alerts: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.monitor = monitor
        self._spawn = spawn
        self.alerts = alerts
        self.names: list[str] = []
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setAccessibleName("Alert targets")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.url = QLineEdit()
        self.url.setEchoMode(QLineEdit.EchoMode.Password)  # it holds tokens
        self.url.setPlaceholderText(EXAMPLES)
        self.url.setAccessibleName("Target URL")
        self.url.setAccessibleDescription(
            "An Apprise URL; what is typed is not shown, as it holds the service's tokens"
        )
        self.name = QLineEdit()
        self.name.setPlaceholderText("from the URL")
        self.name.setAccessibleName("Target name")
        self.streamers = QLineEdit()
        self.streamers.setPlaceholderText("every streamer (or names, comma-separated)")
        self.streamers.setAccessibleName("Only these streamers")
        self.on_start = QCheckBox("Go-live alerts")
        self.on_start.setChecked(True)
        self.on_start.setAccessibleName("Send go-live alerts")
        self.on_end = QCheckBox("Offline alerts")
        self.on_end.setChecked(True)
        self.on_end.setAccessibleName("Send offline alerts")
        self.on_change = QCheckBox("Title/category changes")
        self.on_change.setChecked(True)
        self.on_change.setAccessibleName("Send title and category change alerts")
        self.on_change.setToolTip(
            "A live stream's new title or category, for streamers whose rule asks for it"
        )
        self.add_button = QPushButton("Add target")
        self.add_button.setAccessibleName("Add target")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove target")
        self.test_button = QPushButton("Send test alert")
        self.test_button.setAccessibleName("Send a test alert to the target")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Targets message")
        self.message.hide()

        form = QFormLayout()
        form.addRow("URL", self.url)
        form.addRow("Name", self.name)
        form.addRow("Streamers", self.streamers)
        events = QHBoxLayout()
        events.addWidget(self.on_start)
        events.addWidget(self.on_end)
        events.addWidget(self.on_change)
        events.addStretch(1)
        form.addRow("Events", events)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)

        self.add_button.clicked.connect(self.on_add_button_clicked)
        self.remove_button.clicked.connect(self.on_remove_button_clicked)
        self.test_button.clicked.connect(self.on_test_button_clicked)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()
        self._spawn(self.load(), "load targets")

    # -- showing ----------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the targets and their outbox counts in a worker thread, then show them."""
        health = {h.name: h for h in self.alerts.health()} if self.alerts is not None else {}
        try:
            rows = await run_blocking(self._read, health)
        except KickwatchError as exc:
            self.show_message(f"Targets cannot be read: {exc}", error=True)
            return
        self._show(rows)
        self.loaded.emit()

    def _read(self, health: dict[str, Any]) -> list[tuple[str, ...]]:
        from kickwatch.alerts.targets import Outbox, OutboxSummary, TargetStore

        targets = TargetStore(self.ctx.database, self.ctx.secrets, self.ctx.clock).all()
        summary = Outbox(self.ctx.database, self.ctx.clock).summary()
        rows: list[tuple[str, ...]] = []
        for target in targets:
            state = summary.get(target.id, OutboxSummary())
            text = f"{state.sent} sent"
            if state.pending:
                text += f", {state.pending} waiting"
            if state.failed:
                text += f", {state.failed} given up"
            now = health.get(target.name)
            if now is not None and now.failures:
                text += f"; failing: {now.last_error}"
            elif state.pending and state.last_error:
                text += f"; last error: {state.last_error}"
            rows.append(
                (
                    target.name,
                    target.url_masked,
                    ", ".join(target.streamers) or "all",
                    ", ".join(str(kind) for kind in target.events),
                    text,
                )
            )
        return rows

    def _show(self, rows: list[tuple[str, ...]]) -> None:
        self.names = [row[0] for row in rows]
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.remove_button.setEnabled(chosen)
        self.test_button.setEnabled(chosen)

    def selected(self) -> str | None:
        """The name of the selected target, or None."""
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.names):
            return None
        return self.names[rows[0].row()]

    def show_message(self, text: str, *, error: bool) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message_shown.emit(text)

    # -- actions ----------------------------------------------------------------------------

    def on_add_button_clicked(self) -> None:
        self._spawn(self.add(), "add target")

    def on_remove_button_clicked(self) -> None:
        name = self.selected()
        if name is not None:
            self._spawn(self.remove(name), "remove target")

    def on_test_button_clicked(self) -> None:
        name = self.selected()
        if name is not None:
            self._spawn(self.test(name), "test target")

    async def add(self) -> bool:
        """Check the URL with Apprise, store the target; the message says what happened."""
        from kickwatch.alerts.apprise_io import check_url
        from kickwatch.alerts.targets import TargetStore, parse_events, parse_streamers

        boxes = ((self.on_start, "start"), (self.on_end, "end"), (self.on_change, "change"))
        kinds = [kind for box, kind in boxes if box.isChecked()]
        store = TargetStore(self.ctx.database, self.ctx.secrets, self.ctx.clock)
        self.add_button.setEnabled(False)
        try:
            url = await run_blocking(check_url, self.url.text())
            events = parse_events(kinds)
            streamers = parse_streamers(self.streamers.text())
            name = self.name.text().strip() or None

            def add() -> Any:
                return store.add(url, name=name, streamers=streamers, events=events)

            record = await self.monitor.write(add)
        except KickwatchError as exc:
            self.show_message(f"Not added: {exc}", error=True)
            return False
        finally:
            self.add_button.setEnabled(True)
        self.url.clear()
        self.name.clear()
        self.streamers.clear()
        self.show_message(f"Added {record.name}: {record.url_masked}", error=False)
        await self._changed()
        return True

    async def remove(self, name: str) -> bool:
        """Remove a target (and what it was sent)."""
        from kickwatch.alerts.targets import TargetStore

        store = TargetStore(self.ctx.database, self.ctx.secrets, self.ctx.clock)
        try:
            record = await self.monitor.write(store.remove, name)
        except KickwatchError as exc:
            self.show_message(f"Not removed: {exc}", error=True)
            return False
        self.show_message(f"Removed {record.name}.", error=False)
        await self._changed()
        return True

    async def test(self, name: str) -> bool:
        """Send a test alert now; the message says whether the service took it."""
        try:
            error = await run_blocking(self._send_test, name)
        except KickwatchError as exc:
            error = str(exc)
        if error is not None:
            self.show_message(f"The test alert to {name} was not sent: {error}", error=True)
            return False
        self.show_message(f"A test alert was sent to {name}.", error=False)
        return True

    def _send_test(self, name: str) -> str | None:
        from kickwatch.alerts import apprise_io
        from kickwatch.alerts.message import AlertKind, AlertMessage
        from kickwatch.alerts.targets import TargetStore

        store = TargetStore(self.ctx.database, self.ctx.secrets, self.ctx.clock)
        message = AlertMessage(
            kind=AlertKind.START,
            streamer="kickwatch",
            title="kickwatch test alert",
            link="https://kick.com",
            stream_title="Alerts will arrive here.",
        )
        return apprise_io.send(store.url(name), message)

    async def _changed(self) -> None:
        if self.alerts is not None:
            try:
                await self.alerts.reload()
            except Exception as exc:
                log.warning("the alert service did not follow the change: %s", exc)
        await self.load()
        self.targets_changed.emit()
