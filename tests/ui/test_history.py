"""The history window: lazy pages, filters, and a CSV export identical to `history --csv`."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from kickwatch.cli.output import print_csv
from kickwatch.context import Context
from kickwatch.domain.records import HISTORY_FIELDS
from kickwatch.domain.status import EventType
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.store.repository import StatusChange
from kickwatch.ui.history import HistoryWindow, parse_day
from kickwatch.ui.history_model import PAGE_SIZE

DAY = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def record_history(ctx: Context, name: str, broadcasts: int, start: datetime) -> None:
    """`broadcasts` start/end pairs, one an hour from `start`."""
    streamer = ctx.repository.get_by_username(name) or ctx.repository.add_streamer(
        name, abs(hash(name)) % 10**6 + 1
    )
    changes = []
    for i in range(broadcasts):
        began = start + timedelta(hours=i)
        changes.append(
            StatusChange(
                streamer.id,
                EventType.STREAM_START,
                began,
                began,
                event_data={"title": f"stream {i}"},
            )
        )
        ended = began + timedelta(minutes=30)
        changes.append(StatusChange(streamer.id, EventType.STREAM_END, ended, ended))
    ctx.repository.apply_changes(changes)


class Chooser:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, parent: Any) -> str:
        return str(self.path)


@pytest.fixture
def window(ctx: Context, tmp_path: Path, qloop: Any, qtbot: Any) -> Iterator[HistoryWindow]:
    tasks = Supervisor()
    record_history(ctx, "alice", 300, DAY - timedelta(days=20))
    record_history(ctx, "bob", 5, DAY)
    ctx.repository.record_connection_test(True, "ok")
    history = HistoryWindow(ctx.repository, tasks.spawn, UTC, Chooser(tmp_path / "out.csv"))
    qtbot.addWidget(history)
    history.show()
    qtbot.waitUntil(lambda: history.model.rowCount() > 0)
    yield history
    task = asyncio.ensure_future(tasks.wait_idle())
    qtbot.waitUntil(task.done)


def test_events_load_a_page_at_a_time(window: HistoryWindow, qtbot: Any) -> None:
    model = window.model
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore()
    qtbot.waitUntil(lambda: window.total.text() == "611 events")
    while not model.exhausted:
        model.fetchMore()
        qtbot.waitUntil(lambda: not model._loading)
    assert model.rowCount() == 611
    assert not model.canFetchMore()


def test_scrolling_to_the_end_fetches_more(window: HistoryWindow, qtbot: Any) -> None:
    window.table.scrollToBottom()
    qtbot.waitUntil(lambda: window.model.rowCount() > PAGE_SIZE)


def test_newest_first_with_readable_columns(window: HistoryWindow) -> None:
    model = window.model
    first = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert first[1] == "—" and first[2] == "connection test" and first[4] == "ok"
    second = [model.data(model.index(1, c)) for c in range(model.columnCount())]
    assert second == [
        "2026-01-10 16:30:00",
        "bob",
        "stream end",
        "online → offline",
        "",
    ]


def select(combo: Any, data: object) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_filter_by_streamer_and_type(window: HistoryWindow, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: window.streamer.count() == 3)
    select(window.streamer, "bob")
    qtbot.waitUntil(lambda: window.model.rowCount() == 10)
    select(window.event_type, EventType.STREAM_START)
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)
    model = window.model
    assert {model.data(model.index(r, 2)) for r in range(5)} == {"stream start"}
    assert window.model.data(window.model.index(0, 4)) == "stream 4"


def test_filter_by_date_range(window: HistoryWindow, qtbot: Any) -> None:
    window.since.setText("2026-01-10")
    window.until.setText("2026-01-10")
    assert window.apply_filter()
    qtbot.waitUntil(lambda: window.total.text() == "10 events")


def test_bad_dates_are_explained_and_not_applied(window: HistoryWindow) -> None:
    before = window.model.filter
    window.since.setText("last tuesday")
    assert not window.apply_filter()
    assert "is not a date" in window.message.text()
    window.since.setText("2026-02-01")
    window.until.setText("2026-01-01")
    assert not window.apply_filter()
    assert window.message.text() == "the start of the range is after its end"
    assert window.model.filter == before


def test_parse_day_covers_whole_local_days() -> None:
    assert parse_day("2026-01-10", UTC, end=False) == DAY.replace(hour=0)
    end = parse_day("2026-01-10", UTC, end=True)
    assert end is not None and end.hour == 23 and end.minute == 59
    assert parse_day("", UTC, end=False) is None
    assert parse_day("2026-01-10T08:15", UTC, end=False) == DAY.replace(hour=8, minute=15)


def test_export_writes_every_matching_event_like_the_cli(
    ctx: Context, window: HistoryWindow, tmp_path: Path, qtbot: Any
) -> None:
    select(window.streamer, "alice")
    qtbot.waitUntil(lambda: window.model.filter.username == "alice")
    with qtbot.waitSignal(window.exported, timeout=10000) as done:
        window.export_button.click()
    path = Path(done.args[0])
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 600  # all of them, not only the loaded page
    assert tuple(rows[0]) == HISTORY_FIELDS
    assert {r["streamer"] for r in rows} == {"alice"}
    expected = io.StringIO()
    events = ctx.repository.event_history(username="alice")
    print_csv(
        HISTORY_FIELDS, [[e.as_json()[f] for f in HISTORY_FIELDS] for e in events], out=expected
    )
    assert text == expected.getvalue()


def test_a_failed_export_is_reported(window: HistoryWindow, tmp_path: Path, qtbot: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    window._choose_file = Chooser(blocker / "out.csv")
    with qtbot.waitSignal(window.export_failed):
        window.export_button.click()
    assert window.message.text().startswith("Export failed:")


def test_filters_are_named_for_screen_readers_and_escape_closes(
    window: HistoryWindow, qtbot: Any
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    names = [
        w.accessibleName()
        for w in (window.streamer, window.event_type, window.since, window.until, window.table)
    ]
    assert names == [
        "Show events of streamer",
        "Show events of type",
        "From date",
        "To date",
        "Status events",
    ]
    window.show()
    QTest.keyClick(window.since, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_inferred_rows_look_inferred(ctx: Context, qloop: Any, qtbot: Any, tmp_path: Path) -> None:
    carol = ctx.repository.add_streamer("carol", 77)
    first, second = DAY - timedelta(hours=3), DAY - timedelta(hours=1)
    ctx.repository.apply_changes(
        [StatusChange(carol.id, EventType.STREAM_START, first, first, "c:1:start", "1")]
    )
    # A start of another broadcast while the first is still live: its end is inferred.
    ctx.repository.apply_changes(
        [StatusChange(carol.id, EventType.STREAM_START, second, second, "c:2:start", "2")]
    )
    tasks = Supervisor()
    history = HistoryWindow(ctx.repository, tasks.spawn, UTC, Chooser(tmp_path / "out.csv"))
    qtbot.addWidget(history)
    history.show()
    model = history.model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    events = [model.data(model.index(row, 2)) for row in range(3)]
    assert events == ["stream start", "stream end (inferred)", "stream start"]
    assert "Kick never sent" in model.data(model.index(1, 0), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, 3), Qt.ItemDataRole.FontRole).italic()
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole) is None
    task = asyncio.ensure_future(tasks.wait_idle())
    qtbot.waitUntil(task.done)
