"""A batch costs a handful of statements, however many changes and streamers it holds.

Every statement `apply_changes` sends is counted at the driver boundary (the cursors peewee
hands out, on which its `execute_sql` runs too; an `executemany` counts once): a burst for 300
streamers must cost what a burst for 3 costs, on both engines, but for the one more INSERT of
SQLite per `SQLITE_INSERT_ROWS` rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from kickwatch.domain.status import EventType, Status
from kickwatch.store import StatusChange, StatusObservation
from kickwatch.store.statements import SQLITE_INSERT_ROWS
from tests.store.fixtures import Store


@dataclass
class Statements:
    """What was sent: one entry per `execute` or `executemany`, with its row count."""

    sent: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent)


class CountingCursor:
    def __init__(self, cursor: Any, log: Statements) -> None:
        self._cursor = cursor
        self._log = log

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._log.sent.append((sql, 1))
        return self._cursor.execute(sql, *args, **kwargs)

    def executemany(self, sql: str, params: Any, *args: Any, **kwargs: Any) -> Any:
        params = list(params)
        self._log.sent.append((sql, len(params)))
        return self._cursor.executemany(sql, params, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@pytest.fixture
def counted(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Statements]:
    """Count what the store's connection is sent from now on."""
    log = Statements()
    handle = store.database.handle
    cursor = handle.cursor  # every statement, peewee's `execute_sql` too, runs on one of these
    monkeypatch.setattr(handle, "cursor", lambda *a, **k: CountingCursor(cursor(*a, **k), log))
    yield log


def add_streamers(store: Store, count: int) -> list[int]:
    """`count` more streamers (their Kick channel id is 5000 + their id)."""
    first = len(store.repository.all_streamers())
    with store.database.handle.atomic():
        added = [
            store.repository.add_streamer(f"s{i:04d}", i + 1) for i in range(first, first + count)
        ]
        return [
            store.repository.update_streamer(s.username, kick_channel_id=5000 + s.id).id
            for s in added
        ]


def burst(store: Store, ids: list[int], rounds: int) -> list[StatusChange]:
    """Starts and ends of back-to-back broadcasts, pushed a millisecond apart."""
    now = store.clock.now()
    changes = []
    for turn in range(rounds):
        for offset, streamer in enumerate(ids):
            at = now - timedelta(seconds=10) + timedelta(milliseconds=turn * 1000 + offset)
            livestream = str(1_000_000 + (turn // 2) * 10_000 + streamer)
            start = turn % 2 == 0
            changes.append(
                StatusChange(
                    streamer,
                    EventType.STREAM_START if start else EventType.STREAM_END,
                    at,
                    at if start else None,
                    f"{5000 + streamer}:{livestream}:{'start' if start else 'end'}",
                    livestream,
                    at if start else None,
                    {"source": "pusher", "livestream_id": livestream},
                )
            )
    return changes


def statements_for(store: Store, counted: Statements, streamers: int, rounds: int) -> int:
    ids = add_streamers(store, streamers)
    changes = burst(store, ids, rounds)
    counted.sent.clear()
    result = store.repository.apply_changes(changes)
    assert len(result.applied) == len(changes)
    return len(counted)


def test_a_start_for_each_of_many_streamers_costs_what_a_start_for_a_few_costs(
    store: Store, counted: Statements
) -> None:
    few = statements_for(store, counted, 3, rounds=1)
    assert sum(sql.startswith("INSERT") for sql, _ in counted.sent) == 1
    many = statements_for(store, counted, 300, rounds=1)
    assert sum(sql.startswith("INSERT") for sql, _ in counted.sent) == 1
    assert many == few <= 8


def test_back_to_back_broadcasts_of_many_streamers_cost_a_bounded_number_of_statements(
    store: Store, counted: Statements
) -> None:
    """Start, end, start, end, start per streamer, each within seconds of the last: every
    start is checked against the stored broadcasts, from what the batch read at its start."""
    few = statements_for(store, counted, 3, rounds=5)
    many = statements_for(store, counted, 300, rounds=5)
    # At most one more statement per SQLITE_INSERT_ROWS rows (SQLite inserts that many in one).
    assert few <= 8 and many <= few + 1500 // SQLITE_INSERT_ROWS
    assert store.repository.count_events() == 15 + 1500


def test_observations_of_many_streamers_are_one_update(store: Store, counted: Statements) -> None:
    ids = add_streamers(store, 200)
    counted.sent.clear()
    now = store.clock.now()
    result = store.repository.apply_changes([StatusObservation(i, False, now) for i in ids])
    assert {record.status for record in result.streamers} == {Status.OFFLINE}
    assert sum(sql.startswith("UPDATE") for sql, _ in counted.sent) == 1
    assert len(counted) <= 5


def test_a_late_event_still_goes_to_the_database_and_is_history(
    store: Store, counted: Statements
) -> None:
    """The rare path (history older than the newest row) reads and rebuilds the timeline in
    the database, as one change at a time did; the rest of the batch stays set-wise."""
    ids = add_streamers(store, 50)
    now = store.clock.now()
    starts = burst(store, ids, rounds=1)
    store.repository.apply_changes(starts)
    late = StatusChange(
        ids[0],
        EventType.STREAM_END,
        now,
        now - timedelta(hours=1),
        "5000:earlier:end",
        "earlier",
    )
    counted.sent.clear()
    result = store.repository.apply_changes([late])
    assert [h.kick_event_id for h in result.history] == ["5000:earlier:end"]
    assert result.applied == []
    assert any("SELECT" in sql and "status_event" in sql for sql, _ in counted.sent)
