"""The history table's model: status events loaded page by page as the view scrolls.

`canFetchMore`/`fetchMore` ask for the next page (`event_history(limit, offset)`) in a worker
thread, so a table of millions of events opens at once and never blocks the GUI thread; rows are
appended when the page arrives. Changing the filter starts over from the first page. The CSV
export writes every matching event with the columns of `kickwatch history --csv`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont

from kickwatch.cli.output import print_csv
from kickwatch.domain.records import HISTORY_FIELDS, StatusEventRecord
from kickwatch.domain.status import EventType
from kickwatch.store.repository import Repository
from kickwatch.ui.qtloop import run_blocking

Index = QModelIndex | QPersistentModelIndex
Spawn = Callable[[Awaitable[Any], str], object]
PAGE_SIZE = 200
HEADERS = ("Time", "Streamer", "Event", "Change", "Details")


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which events to show."""

    username: str | None = None
    event_type: EventType | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> dict[str, Any]:
        """Keyword arguments of `Repository.event_history`/`count_events`."""
        return {
            "username": self.username,
            "event_type": self.event_type,
            "since": self.since,
            "until": self.until,
        }


def details(event: StatusEventRecord) -> str:
    """A short description from the event's data (title, category, test result)."""
    data = event.event_data or {}
    if event.event_type is EventType.CONNECTION_TEST:
        return str(data.get("detail", ""))
    parts = [str(data[k]) for k in ("title", "category") if data.get(k)]
    return " · ".join(parts)


INFERRED_TIP = (
    "Inferred: Kick never sent this event. The streamer started a new broadcast while the last "
    "one was still recorded as live, so it must have ended unseen (stamped when it was last "
    "seen live)."
)


class HistoryModel(QAbstractTableModel):
    """Status events, newest first, fetched lazily.

    Signals:
        page_loaded(int): a page of this many rows arrived.
        total_changed(int): how many events match the filter.
    """

    page_loaded = Signal(int)
    total_changed = Signal(int)

    def __init__(
        self, repository: Repository, spawn: Spawn, zone: tzinfo, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.repository = repository
        self._spawn = spawn
        self.zone = zone
        self.filter = HistoryFilter()
        self._rows: list[StatusEventRecord] = []
        self._exhausted = False
        self._loading = False
        self._generation = 0

    def set_filter(self, history_filter: HistoryFilter) -> None:
        """Show events matching `history_filter`, from the first page."""
        self.filter = history_filter
        self.reload()

    def reload(self) -> None:
        """Start over from the first page."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._exhausted = False
        self._loading = False
        self.endResetModel()
        self._spawn(self._count(self._generation), "count history")
        self.fetchMore(QModelIndex())

    def event(self, row: int) -> StatusEventRecord:  # type: ignore[override]
        """The event of a row."""
        return self._rows[row]

    # -- lazy loading -----------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._loading = True
        self._spawn(self._fetch(self._generation, len(self._rows)), "history page")

    async def _fetch(self, generation: int, offset: int) -> None:
        query = self.filter.query()
        page = await run_blocking(
            lambda: self.repository.event_history(**query, limit=PAGE_SIZE, offset=offset)
        )
        if generation != self._generation:
            return  # the filter changed meanwhile
        self._loading = False
        self._exhausted = len(page) < PAGE_SIZE
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()
        self.page_loaded.emit(len(page))

    async def _count(self, generation: int) -> None:
        query = self.filter.query()
        total = await run_blocking(lambda: self.repository.count_events(**query))
        if generation == self._generation:
            self.total_changed.emit(total)

    @property
    def exhausted(self) -> bool:
        """Whether every matching event is loaded."""
        return self._exhausted

    # -- Qt's model interface ---------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        event = self._rows[index.row()]
        if event.inferred and role == Qt.ItemDataRole.ToolTipRole:
            return INFERRED_TIP
        if event.inferred and role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)
            return font
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        column = index.column()
        if column == 0:
            return event.event_timestamp.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
        if column == 1:
            return event.streamer or "—"
        if column == 2:
            text = str(event.event_type).replace("_", " ")
            return f"{text} (inferred)" if event.inferred else text
        if column == 3:
            return f"{event.previous_status} → {event.new_status}"
        return details(event)


def export_csv(repository: Repository, history_filter: HistoryFilter, path: Path) -> int:
    """Write every matching event to `path` as `kickwatch history --csv` does; returns the count.

    Blocking: run it in a worker thread. Written to a temporary file and renamed, so a failed
    export never leaves half a file under the chosen name.
    """
    rows: list[list[Any]] = []
    offset = 0
    while True:
        page = repository.event_history(**history_filter.query(), limit=5000, offset=offset)
        rows.extend([event.as_json()[f] for f in HISTORY_FIELDS] for event in page)
        offset += len(page)
        if len(page) < 5000:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            print_csv(HISTORY_FIELDS, rows, out=handle)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(rows)


async def export_csv_async(
    repository: Repository, history_filter: HistoryFilter, path: Path
) -> int:
    """`export_csv` in a worker thread."""
    return await run_blocking(export_csv, repository, history_filter, path)
