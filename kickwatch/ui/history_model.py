"""The history table's model: status events and live title/category changes, page by page.

`canFetchMore`/`fetchMore` ask for the next page in a worker thread, so a table of millions of
events opens at once and never blocks the GUI thread; rows are appended when the page arrives.
Status events and the changes of live streams (their own kind, kept apart from `status_event`)
are two sorted sources merged newest first: each page takes the next rows of both, keeps the
newest `PAGE_SIZE` of them and remembers how far into each source it got. Changing the filter
starts over from the first page. The CSV export writes every matching status event with the
columns of `kickwatch history --csv`, or, when the filter shows one kind of change, the changes
with the columns of `kickwatch history --changes --csv`.
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
from kickwatch.domain.rules import CHANGE_FIELDS, ChangeKind, StreamChange
from kickwatch.domain.status import EventType
from kickwatch.store.repository import Repository
from kickwatch.store.rules import RuleStore
from kickwatch.ui.qtloop import run_blocking

Index = QModelIndex | QPersistentModelIndex
Spawn = Callable[[Awaitable[Any], str], object]
PAGE_SIZE = 200
HEADERS = ("Time", "Streamer", "Event", "Change", "Details")
HistoryRow = StatusEventRecord | StreamChange


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which events to show: a status event type, a kind of change, or everything (None)."""

    username: str | None = None
    event_type: EventType | ChangeKind | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def shows_status(self) -> bool:
        """Whether status events are shown."""
        return not isinstance(self.event_type, ChangeKind)

    @property
    def shows_changes(self) -> bool:
        """Whether changes of live streams are shown."""
        return not isinstance(self.event_type, EventType)

    def query(self) -> dict[str, Any]:
        """Keyword arguments of `Repository.event_history`/`count_events`."""
        return {
            "username": self.username,
            "event_type": self.event_type if isinstance(self.event_type, EventType) else None,
            "since": self.since,
            "until": self.until,
        }

    def change_query(self) -> dict[str, Any]:
        """Keyword arguments of `RuleStore.changes`/`count_changes`."""
        return {
            "username": self.username,
            "kind": self.event_type if isinstance(self.event_type, ChangeKind) else None,
            "since": self.since,
            "until": self.until,
        }


def kind_of(value: object) -> EventType | ChangeKind | None:
    """A filter's kind from a combo box's data (Qt may hand an enum back as its text)."""
    if value is None or value == "":
        return None
    text = str(value)
    if text in {kind.value for kind in EventType}:
        return EventType(text)
    return ChangeKind(text)


def _newest_first(row: HistoryRow) -> tuple[datetime, int, int]:
    if isinstance(row, StreamChange):
        return (row.changed_at, 0, row.id)
    return (row.event_timestamp, 1, row.id)


def merge_page(
    events: list[StatusEventRecord], changes: list[StreamChange], size: int
) -> tuple[list[HistoryRow], int, int]:
    """The newest `size` rows of two newest-first lists, and how many of each were taken."""
    both: list[HistoryRow] = [*events, *changes]
    rows = sorted(both, key=_newest_first, reverse=True)[:size]
    taken = sum(1 for row in rows if isinstance(row, StreamChange))
    return rows, len(rows) - taken, taken


def details(event: HistoryRow) -> str:
    """A short description from the event's data (title, category, test result)."""
    if isinstance(event, StreamChange):
        return f"“{event.previous}” → “{event.value}”"
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
    """Status events and changes of live streams, newest first, fetched lazily.

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
        self.changes = RuleStore(repository.database, repository.clock)
        self._spawn = spawn
        self.zone = zone
        self.filter = HistoryFilter()
        self._rows: list[HistoryRow] = []
        self._offsets = (0, 0)  # rows taken so far from the status events and the changes
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
        self._offsets = (0, 0)
        self._exhausted = False
        self._loading = False
        self.endResetModel()
        self._spawn(self._count(self._generation), "count history")
        self.fetchMore(QModelIndex())

    def event(self, row: int) -> HistoryRow:  # type: ignore[override]
        """The event (or change) of a row."""
        return self._rows[row]

    # -- lazy loading -----------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._loading = True
        self._spawn(self._fetch(self._generation, self._offsets), "history page")

    def _read_page(
        self, offsets: tuple[int, int]
    ) -> tuple[list[StatusEventRecord], list[StreamChange]]:
        chosen = self.filter
        events = (
            self.repository.event_history(**chosen.query(), limit=PAGE_SIZE, offset=offsets[0])
            if chosen.shows_status
            else []
        )
        changes = (
            self.changes.changes(**chosen.change_query(), limit=PAGE_SIZE, offset=offsets[1])
            if chosen.shows_changes
            else []
        )
        return events, changes

    async def _fetch(self, generation: int, offsets: tuple[int, int]) -> None:
        events, changes = await run_blocking(self._read_page, offsets)
        if generation != self._generation:
            return  # the filter changed meanwhile
        page, from_events, from_changes = merge_page(events, changes, PAGE_SIZE)
        self._offsets = (offsets[0] + from_events, offsets[1] + from_changes)
        self._loading = False
        self._exhausted = (
            len(events) < PAGE_SIZE
            and len(changes) < PAGE_SIZE
            and len(page) == len(events) + len(changes)
        )
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()
        self.page_loaded.emit(len(page))

    def _read_count(self) -> int:
        chosen = self.filter
        total = self.repository.count_events(**chosen.query()) if chosen.shows_status else 0
        if chosen.shows_changes:
            total += self.changes.count_changes(**chosen.change_query())
        return total

    async def _count(self, generation: int) -> None:
        total = await run_blocking(self._read_count)
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
        if isinstance(event, StreamChange):
            return self._change_data(event, index.column(), role)
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

    def _change_data(self, change: StreamChange, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"The {change.kind} changed while live from “{change.previous}” to “{change.value}”"
            )
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return change.changed_at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
        if column == 1:
            return change.streamer
        if column == 2:
            return change.kind.label
        if column == 3:
            return "live"
        return details(change)


def export_csv(repository: Repository, history_filter: HistoryFilter, path: Path) -> int:
    """Write every matching event to `path` as `kickwatch history --csv` does; returns the count.

    Blocking: run it in a worker thread. Written to a temporary file and renamed, so a failed
    export never leaves half a file under the chosen name.
    """
    rows: list[list[Any]] = []
    offset = 0
    fields = HISTORY_FIELDS if history_filter.shows_status else CHANGE_FIELDS
    changes = RuleStore(repository.database, repository.clock)
    while True:
        page: list[StatusEventRecord] | list[StreamChange] = (
            repository.event_history(**history_filter.query(), limit=5000, offset=offset)
            if history_filter.shows_status
            else changes.changes(**history_filter.change_query(), limit=5000, offset=offset)
        )
        rows.extend([event.as_json()[f] for f in fields] for event in page)
        offset += len(page)
        if len(page) < 5000:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            print_csv(fields, rows, out=handle)
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
