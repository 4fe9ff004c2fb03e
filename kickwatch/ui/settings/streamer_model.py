"""The table model of monitored streamers: one row per streamer, switches as checkable cells.

A plain `QAbstractTableModel` over a list of `StreamerRecord`s (no widget per row), so the
Streamers tab stays responsive with thousands of streamers; a `QSortFilterProxyModel` on top
filters by name. Toggling a switch does not write anything itself: the model emits
`preference_changed` and the tab stores the change, then hands the stored record back. The name
cell shows the streamer's avatar, from an icon source the tab passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import Status

Index = QModelIndex | QPersistentModelIndex
IconSource = Callable[[StreamerRecord], QIcon]

# (header, field of StreamerRecord for a switch column or None)
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("On", "is_active"),
    ("Streamer", None),
    ("Status", None),
    ("Last seen online", None),
    ("Live alert", "notify_on_start"),
    ("Offline alert", "notify_on_end"),
    ("Favourite", "is_favorite"),
    ("Muted", "is_muted"),
)
NAME_COLUMN = 1
STATUS_COLUMN = 2
SWITCHES = {column: field for column, (_h, field) in enumerate(COLUMNS) if field}


class StreamerTableModel(QAbstractTableModel):
    """Streamers as rows.

    Signals:
        preference_changed(str, str, bool): username, field (is_active, notify_on_start, ...),
            the new value the user asked for.
    """

    preference_changed = Signal(str, str, bool)

    def __init__(
        self, zone: tzinfo, parent: QObject | None = None, icon: IconSource | None = None
    ) -> None:
        super().__init__(parent)
        self.zone = zone
        self._icon = icon
        self._rows: list[StreamerRecord] = []
        self._row_of: dict[str, int] = {}

    # -- contents ---------------------------------------------------------------------------

    def set_streamers(self, streamers: list[StreamerRecord]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = sorted(streamers, key=lambda s: s.username)
        self._reindex()
        self.endResetModel()

    def streamer(self, row: int) -> StreamerRecord:
        """The record of a row."""
        return self._rows[row]

    def usernames(self) -> list[str]:
        """Every username, in row order."""
        return [s.username for s in self._rows]

    def upsert(self, streamer: StreamerRecord) -> None:
        """Add a streamer or replace its row with a newer record."""
        row = self._row_of.get(streamer.username)
        if row is not None:
            self._rows[row] = streamer
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            return
        position = sum(1 for s in self._rows if s.username < streamer.username)
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, streamer)
        self._reindex()
        self.endInsertRows()

    def refresh(self, username: str) -> None:
        """Repaint a streamer's name cell (e.g. its avatar arrived)."""
        row = self._row_of.get(username)
        if row is not None:
            index = self.index(row, NAME_COLUMN)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def remove(self, username: str) -> None:
        """Drop a streamer's row."""
        row = self._row_of.get(username)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self._reindex()
        self.endRemoveRows()

    def _reindex(self) -> None:
        self._row_of = {s.username: row for row, s in enumerate(self._rows)}

    # -- Qt's model interface ---------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in SWITCHES:
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        streamer = self._rows[index.row()]
        column = index.column()
        field = SWITCHES.get(column)
        if field is not None:
            on = bool(getattr(streamer, field))
            if role == Qt.ItemDataRole.CheckStateRole:
                return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"{COLUMNS[column][0]} of {streamer.display_name}: {'on' if on else 'off'}"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(streamer, column)
        if column == NAME_COLUMN:
            if role == Qt.ItemDataRole.ToolTipRole:
                return streamer.url
            if role == Qt.ItemDataRole.DecorationRole and self._icon is not None:
                return self._icon(streamer)
        return None

    def _text(self, streamer: StreamerRecord, column: int) -> str:
        if column == NAME_COLUMN:
            if streamer.display_name.lower() == streamer.username:
                return streamer.display_name
            return f"{streamer.display_name} ({streamer.username})"
        if column == STATUS_COLUMN:
            if not streamer.is_active:
                return "disabled"
            return {Status.ONLINE: "● live", Status.OFFLINE: "offline"}.get(
                streamer.status, "unknown"
            )
        seen = streamer.last_seen_online
        return _local(seen, self.zone) if seen is not None else "never"

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        field = SWITCHES.get(index.column())
        if field is None or role != Qt.ItemDataRole.CheckStateRole:
            return False
        checked = _is_checked(value)
        streamer = self._rows[index.row()]
        self.preference_changed.emit(streamer.username, field, checked)
        return True


def _is_checked(value: Any) -> bool:
    if isinstance(value, Qt.CheckState):
        return value == Qt.CheckState.Checked
    return int(value) == Qt.CheckState.Checked.value


def _local(value: datetime, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


Confirm = Callable[[str], bool]
