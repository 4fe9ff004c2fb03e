"""The history window: recorded status events with filters and CSV export.

The changes of a live stream's title or category are shown among them as their own kind ("title
change", "category change"). Filters (streamer, kind of event, date range in local time) are
validated inline and applied to the lazily loaded `HistoryModel`; Export CSV asks for a file
name and writes every matching event in a worker thread. Columns are sized to their content
(Details takes the rest) and the widths the user drags are remembered; every control has an
accessible name and Escape closes the window.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QHideEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kickwatch.domain.errors import KickwatchError
from kickwatch.domain.rules import ChangeKind
from kickwatch.domain.status import EventType
from kickwatch.store.repository import Repository
from kickwatch.ui.columns import ColumnSizer, SizedTable
from kickwatch.ui.history_model import (
    HEADERS,
    HistoryFilter,
    HistoryModel,
    export_csv_async,
    kind_of,
)
from kickwatch.ui.qtloop import run_blocking
from kickwatch.ui.settings.fields import ERROR_STYLE

Spawn = Callable[[Awaitable[Any], str], object]
ChooseFile = Callable[[QWidget], str]


def parse_day(text: str, zone: tzinfo, *, end: bool) -> datetime | None:
    """`YYYY-MM-DD` (start or end of that local day) or an ISO time; None when empty."""
    value = text.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.max if end else time.min, tzinfo=zone)
            return moment
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DD HH:MM)"
        ) from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def choose_csv_file(parent: QWidget) -> str:
    """Ask where to save the CSV (empty when cancelled)."""
    name, _filter = QFileDialog.getSaveFileName(
        parent, "Export history", "kickwatch-history.csv", "CSV files (*.csv)"
    )
    return name


class HistoryWindow(QWidget):
    """The table of status events with its filters.

    Signals:
        exported(str): the CSV was written to this path.
        export_failed(str): why the export failed.
    """

    exported = Signal(str)
    export_failed = Signal(str)

    def __init__(
        self,
        repository: Repository,
        spawn: Spawn,
        zone: tzinfo,
        choose_file: ChooseFile = choose_csv_file,
        parent: QWidget | None = None,
        *,
        state: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.repository = repository
        self._spawn = spawn
        self.zone = zone
        self._choose_file = choose_file
        self.setWindowTitle("kickwatch history")
        self.resize(900, 560)
        self.model = HistoryModel(repository, spawn, zone, self)
        self.streamer = QComboBox()
        self.streamer.setAccessibleName("Show events of streamer")
        self.streamer.addItem("All streamers", None)
        self.event_type = QComboBox()
        self.event_type.setAccessibleName("Show events of type")
        self.event_type.addItem("All events", None)
        for kind in EventType:
            self.event_type.addItem(str(kind).replace("_", " "), kind)
        for change in ChangeKind:
            self.event_type.addItem(change.label, change)
        self.since = QLineEdit()
        self.since.setPlaceholderText("from YYYY-MM-DD")
        self.since.setAccessibleName("From date")
        self.since.setAccessibleDescription("YYYY-MM-DD (local time) or YYYY-MM-DD HH:MM")
        self.until = QLineEdit()
        self.until.setPlaceholderText("to YYYY-MM-DD")
        self.until.setAccessibleName("To date")
        self.until.setAccessibleDescription("YYYY-MM-DD (that whole day) or YYYY-MM-DD HH:MM")
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.hide()
        self.total = QLabel()
        self.export_button = QPushButton("&Export CSV…")
        self.export_button.setAccessibleName("Export CSV")
        self.export_button.setAccessibleDescription("Save the matching events as a CSV file")
        self.export_button.clicked.connect(self.on_export_button_clicked)
        self.streamer.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.event_type.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.since.editingFinished.connect(self.apply_filter)
        self.until.editingFinished.connect(self.apply_filter)
        self.model.total_changed.connect(lambda n: self.total.setText(f"{n} events"))
        self.table = SizedTable()
        self.table.setAccessibleName("Status events")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        details = HEADERS.index("Details")
        self.columns = ColumnSizer(self.table, "history", fill=details, state=state)
        filters = QHBoxLayout()
        for widget in (self.streamer, self.event_type, self.since, self.until):
            filters.addWidget(widget)
        filters.addStretch(1)
        filters.addWidget(self.total)
        filters.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        chain = [self.streamer, self.event_type, self.since, self.until, self.export_button]
        for before, after in itertools.pairwise([*chain, self.table]):
            QWidget.setTabOrder(before, after)
        self._spawn(self._load_streamers(), "history streamers")
        self.model.set_filter(HistoryFilter())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.columns.save()
        super().hideEvent(event)

    async def _load_streamers(self) -> None:
        streamers = await run_blocking(self.repository.all_streamers)
        self.streamer.blockSignals(True)
        for streamer in streamers:
            self.streamer.addItem(streamer.display_name, streamer.username)
        self.streamer.blockSignals(False)

    def current_filter(self) -> HistoryFilter:
        """The filter the widgets describe; ValueError with a readable message if invalid."""
        since = parse_day(self.since.text(), self.zone, end=False)
        until = parse_day(self.until.text(), self.zone, end=True)
        if since is not None and until is not None and since > until:
            raise ValueError("the start of the range is after its end")
        return HistoryFilter(
            username=self.streamer.currentData(),
            event_type=kind_of(self.event_type.currentData()),
            since=since,
            until=until,
        )

    def apply_filter(self) -> bool:
        """Show events for the filter; an invalid filter is explained and not applied."""
        try:
            chosen = self.current_filter()
        except ValueError as exc:
            self.message.setText(str(exc))
            self.message.show()
            return False
        self.message.hide()
        if chosen != self.model.filter:
            self.model.set_filter(chosen)
        return True

    def on_export_button_clicked(self) -> None:
        if not self.apply_filter():
            return
        name = self._choose_file(self)
        if name:
            self._spawn(self.export(Path(name)), "export history")

    async def export(self, path: Path) -> None:
        """Write the matching events to `path` (in a worker thread)."""
        self.export_button.setEnabled(False)
        try:
            count = await export_csv_async(self.repository, self.model.filter, path)
        except (OSError, KickwatchError) as exc:
            self.message.setText(f"Export failed: {exc}")
            self.message.show()
            self.export_failed.emit(str(exc))
            return
        finally:
            self.export_button.setEnabled(True)
        self.total.setText(f"{count} events exported to {path.name}")
        self.exported.emit(str(path))
