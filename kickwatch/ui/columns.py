"""Table column widths: sized to their content, one column filling the rest, drags remembered.

`ColumnSizer` manages the horizontal header of one `QTableView`. Every column starts as wide as
the widest of its header text and its cells (Qt's own size hints, so fonts, icons, check boxes
and the sort indicator are counted), never narrower than its header. One column (the name or
details column) fills the width left over and never gets narrower than its content; when the
window is too small for all of that the table scrolls sideways instead of cutting text (when the
window first shows it grows, within the screen, to fit every column). Widths
the user drags are stored in a `QSettings` file (kickwatch keeps it in its own config folder,
`window-state.ini`) under a key per table, by header text, and restored on the next start.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QHeaderView, QTableView

STATE_FILE = "window-state.ini"
SAVE_DELAY_MS = 400  # a drag resizes many times a second: write the file once it settles
MEASURED_ROWS = 100  # rows measured per column: the visible ones first, then their neighbours


def window_state(config_dir: Path) -> QSettings:
    """The settings file that keeps column widths (and nothing else of importance)."""
    return QSettings(str(config_dir / STATE_FILE), QSettings.Format.IniFormat)


class SizedTable(QTableView):
    """A table view that says when it is shown or resized (what `ColumnSizer` follows).

    Signals:
        shown(): the table was shown.
        resized(): the table changed size.
    """

    shown = Signal()
    resized = Signal()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class ColumnSizer(QObject):
    """Sizes the columns of `table` and remembers the widths the user drags.

    `fill` is the column that takes the room left over (not draggable itself: it follows the
    others); `key` names the table in `state`. Without `state` nothing is remembered.
    """

    def __init__(
        self,
        table: SizedTable,
        key: str,
        *,
        fill: int,
        state: QSettings | None = None,
    ) -> None:
        super().__init__(table)
        self.table = table
        self.key = key
        self.fill = fill
        self.state = state
        self._applying = False
        self._grown = False
        self._user: dict[str, int] = self._load()
        self._fitted: dict[int, int] = {}  # content widths so far: columns grow, never jitter
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self.fit)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save)
        header = table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(header.fontMetrics().averageCharWidth() * 3)
        header.sectionResized.connect(self.on_header_section_resized)
        header.setResizeContentsPrecision(MEASURED_ROWS)
        model = table.model()
        # Rows arrive in bursts (pages, a filter, a reload): measure once they have settled.
        model.modelReset.connect(self.on_model_changed)
        model.rowsInserted.connect(self.on_model_changed)
        model.columnsInserted.connect(self.on_model_changed)
        table.shown.connect(self.on_table_shown)
        table.resized.connect(self.fill_rest)
        self.fit()

    def on_model_changed(self, *_where: object) -> None:
        self._fit_timer.start()

    # -- sizes ------------------------------------------------------------------------------

    def header_text(self, column: int) -> str:
        """The header text of a column (the key its width is kept under)."""
        header = self.table.horizontalHeader()
        return str(self.table.model().headerData(column, header.orientation()))

    def minimum(self, column: int) -> int:
        """The width the header text needs (with its margins and sort indicator)."""
        return self.table.horizontalHeader().sectionSizeHint(column)

    def content(self, column: int) -> int:
        """The width the header and the cells need (never less than measured before)."""
        width = max(
            self.minimum(column), self.table.sizeHintForColumn(column), self._fitted.get(column, 0)
        )
        self._fitted[column] = width
        return width

    @property
    def pending(self) -> bool:
        """Whether new rows are waiting to be measured."""
        return self._fit_timer.isActive()

    def fit(self) -> None:
        """Size every column: remembered widths, else content; then the fill column."""
        self._fit_timer.stop()
        header = self.table.horizontalHeader()
        self._applying = True
        try:
            header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
            if 0 <= self.fill < header.count():
                header.setSectionResizeMode(self.fill, QHeaderView.ResizeMode.Fixed)
            for column in range(header.count()):
                if column == self.fill:
                    continue
                remembered = self._user.get(self.header_text(column))
                if remembered is not None:
                    width = max(remembered, self.minimum(column))
                else:
                    width = self.content(column)
                header.resizeSection(column, width)
        finally:
            self._applying = False
        self.fill_rest()

    def fill_rest(self) -> None:
        """Give the fill column what is left of the viewport, but never less than its content."""
        header = self.table.horizontalHeader()
        if not 0 <= self.fill < header.count():
            return
        others = sum(
            header.sectionSize(c)
            for c in range(header.count())
            if c != self.fill and not header.isSectionHidden(c)
        )
        width = max(self.content(self.fill), self.table.viewport().width() - others)
        if header.sectionSize(self.fill) != width:
            self._applying = True
            try:
                header.resizeSection(self.fill, width)
            finally:
                self._applying = False

    def on_table_shown(self) -> None:
        self.fit()  # fonts and style are final once shown
        self._grow_window_once()

    def wanted_width(self) -> int:
        """The viewport width that shows every column without cutting the fill column."""
        header = self.table.horizontalHeader()
        columns = sum(
            self.content(c) if c == self.fill else header.sectionSize(c)
            for c in range(header.count())
            if not header.isSectionHidden(c)
        )
        return columns + self.table.verticalScrollBar().sizeHint().width()

    def _grow_window_once(self) -> None:
        if self._grown:
            return
        self._grown = True
        missing = self.wanted_width() - self.table.viewport().width()
        window = self.table.window()
        screen = window.screen()
        if missing <= 0 or screen is None:
            return
        room = screen.availableGeometry().width() - window.frameGeometry().width()
        window.resize(window.width() + max(0, min(missing, room)), window.height())

    # -- what the user dragged --------------------------------------------------------------

    def on_header_section_resized(self, column: int, _old: int, new: int) -> None:
        if self._applying or column == self.fill:
            return
        floor = self.minimum(column)
        if new < floor:  # dragged below its header text: back to the header's width
            self._applying = True
            try:
                self.table.horizontalHeader().resizeSection(column, floor)
            finally:
                self._applying = False
            new = floor
        self._user[self.header_text(column)] = new
        self.fill_rest()
        if self.state is not None:
            self._save_timer.start()

    def remembered(self) -> dict[str, int]:
        """The widths the user dragged, by header text."""
        return dict(self._user)

    def save(self) -> None:
        """Write the dragged widths now."""
        self._save_timer.stop()
        if self.state is None:
            return
        self.state.setValue(f"{self.key}/column_widths", json.dumps(self._user, sort_keys=True))
        self.state.sync()

    def _load(self) -> dict[str, int]:
        if self.state is None:
            return {}
        raw = self.state.value(f"{self.key}/column_widths", "")
        try:
            data = json.loads(str(raw)) if raw else {}
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(name): int(width)
            for name, width in data.items()
            if isinstance(width, int) and 0 < width < 10_000
        }
