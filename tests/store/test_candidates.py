"""How a batch finds the stored events that may repeat a broadcast it records.

`Known.load_candidates` (and, for one streamer, the `same_broadcast` statement a batch falls back
on) reads, for every streamer of the batch, the events with one of the
livestream ids the batch looks for, the events without an id whose start lies near a start it
looks for, and (only for a broadcast without an id) any event whose start lies near one. It must
find exactly those, and, since a streamer's history only grows, finding them must not cost more
the longer that history is: the work SQLite does for one batch is counted (its virtual machine's
instructions, through the progress handler) on a short and on a long history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from kickwatch.domain.status import EventType
from kickwatch.store import StatusChange
from kickwatch.store.known import Known, Wanted
from kickwatch.store.models import StatusEvent
from kickwatch.store.statements import same_broadcast_params, statements_for, timestamp_writer
from kickwatch.store.timeline import BROADCAST_TOLERANCE, Broadcast
from tests.store.fixtures import Store
from tests.store.test_batch_statements import add_streamers

STEP = 100  # SQLite instructions per call of the progress handler


def broadcasts(store: Store, ids: list[int], count: int, first: int) -> list[StatusChange]:
    """`count` whole broadcasts (start and end) of each streamer, an hour apart, ending a day
    before the clock; livestream ids from `first` on."""
    begin = store.clock.now() - timedelta(days=1, hours=count)
    changes = []
    for turn in range(count):
        for streamer in ids:
            at = begin + timedelta(hours=turn, milliseconds=streamer)
            livestream = str(first + turn * 10_000 + streamer)
            for kind, stamped, started in (
                (EventType.STREAM_START, at, at),
                (EventType.STREAM_END, at + timedelta(minutes=30), None),
            ):
                key = f"{5000 + streamer}:{livestream}:{kind.value}"
                data = {"source": "pusher", "livestream_id": livestream}
                changes.append(
                    StatusChange(streamer, kind, stamped, stamped, key, livestream, started, data)
                )
    return changes


def new_broadcasts(store: Store, ids: list[int]) -> Wanted:
    """What a batch of pushed starts of new broadcasts looks for."""
    wanted = Wanted()
    now = store.clock.now()
    for streamer in ids:
        wanted.add(streamer, Broadcast(str(9_000_000 + streamer), now - timedelta(seconds=5)))
    return wanted


def candidates(store: Store, ids: list[int], wanted: Wanted) -> dict[int, set[int]]:
    """The ids of the stored events `Known` finds for `wanted`, per streamer."""
    known = Known(store.database, statements_for(store.database.dialect))
    known.load_streamers(ids)
    known.load_candidates(wanted)
    found = {}
    for streamer in ids:
        stored = known.candidates(streamer)
        assert stored is not None  # every streamer of the batch: from memory now
        found[streamer] = {int(event.id) for event in stored if event.id is not None}
    return found


class Instructions:
    """Counts calls of SQLite's progress handler, one per `STEP` instructions."""

    def __init__(self) -> None:
        self.calls = 0

    def tick(self) -> int:
        self.calls += 1
        return 0  # go on

    def of(self, work: Callable[..., Any], *args: Any) -> tuple[Any, int]:
        """What `work(*args)` returns, and the instructions SQLite ran for it (in `STEP`s)."""
        self.calls = 0
        return work(*args), self.calls


@pytest.fixture
def instructions(store: Store) -> Iterator[Instructions]:
    """SQLite's instructions on the store's connection."""
    assert store.database.dialect == "sqlite", "the progress handler is SQLite's"
    counter = Instructions()
    connection: Any = store.database.handle.connection()
    connection.set_progress_handler(counter.tick, STEP)
    yield counter
    connection.set_progress_handler(None, STEP)


def short_and_long(
    store: Store, streamers: int, long_broadcasts: int
) -> tuple[list[int], list[int]]:
    """Two groups of `streamers` streamers: 2 broadcasts stored for each of the first (4
    events), `long_broadcasts` for each of the second."""
    short, long = add_streamers(store, streamers), add_streamers(store, streamers)
    store.repository.apply_changes(broadcasts(store, short, 2, 1_000_000))
    store.repository.apply_changes(broadcasts(store, long, long_broadcasts, 1_000_000))
    return short, long


def same_on_a_long_history(short: int, long: int) -> bool:
    """Whether the work on the long history is that on the short one (reading a streamer's
    every event took 25 times as much there)."""
    return long <= short * 1.5 + 10


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_finding_the_stored_broadcasts_costs_the_same_on_a_long_history(
    store: Store, instructions: Instructions
) -> None:
    short, long = short_and_long(store, 20, 100)
    assert store.repository.count_events() == 20 * 2 * 2 + 20 * 100 * 2

    # One search per livestream id: the same work for 4 or 200 events per streamer.
    costs = []
    for ids in (short, long):
        found, cost = instructions.of(candidates, store, ids, new_broadcasts(store, ids))
        assert found == {streamer: set() for streamer in ids}  # new broadcasts: nothing stored
        costs.append(cost)
    assert same_on_a_long_history(*costs), costs


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_looking_up_one_streamers_broadcast_costs_the_same_on_a_long_history(
    store: Store, instructions: Instructions
) -> None:
    short, long = short_and_long(store, 1, 200)
    sql = statements_for("sqlite").same_broadcast

    def look_up(params: list[Any]) -> list[Any]:
        return list(store.database.handle.execute_sql(sql, params).fetchall())

    costs = []
    for (streamer,) in (short, long):
        params = same_broadcast_params(streamer, "stream_start", "9000000", "2000", "2001")
        rows, cost = instructions.of(look_up, params)
        assert rows == []
        costs.append(cost)
    assert same_on_a_long_history(*costs), costs


def test_the_stored_events_that_may_name_a_broadcast_are_found_and_no_others(
    store: Store,
) -> None:
    (streamer,) = add_streamers(store, 1)
    now = store.clock.now()
    at = now - timedelta(hours=5)

    def stored(
        livestream: str | None, started: datetime | None, kind: EventType, synthetic: bool
    ) -> int:
        row = StatusEvent.create(
            streamer=streamer,
            event_type=kind.value,
            previous_status="offline" if kind is EventType.STREAM_START else "online",
            new_status="online" if kind is EventType.STREAM_START else "offline",
            event_timestamp=started or at,
            received_timestamp=started or at,
            processed_timestamp=now,
            livestream_id=livestream,
            broadcast_started_at=started,
            synthetic=synthetic,
        )
        return int(row.id)

    near = at + BROADCAST_TOLERANCE / 2
    far = at - timedelta(hours=2)
    same_id = stored("111", far, EventType.STREAM_START, False)  # its id, whatever its start
    same_id_end = stored("111", None, EventType.STREAM_END, False)
    bare_near = stored(None, near, EventType.STREAM_START, True)  # no id, start nearby
    stored(None, far, EventType.STREAM_START, False)  # no id, start far away
    other_id_near = stored("222", near, EventType.STREAM_START, False)  # another broadcast
    stored("333", far, EventType.STREAM_END, False)

    with_id = Wanted()
    with_id.add(streamer, Broadcast("111", at))
    assert candidates(store, [streamer], with_id) == {streamer: {same_id, same_id_end, bare_near}}

    # A broadcast without an id may be any event that started near it, with an id or not.
    without_id = Wanted()
    without_id.add(streamer, Broadcast(None, at))
    assert candidates(store, [streamer], without_id) == {streamer: {bare_near, other_id_near}}

    both = Wanted()
    both.add(streamer, Broadcast("111", at))
    both.add(streamer, Broadcast(None, at))
    assert candidates(store, [streamer], both) == {
        streamer: {same_id, same_id_end, bare_near, other_id_near}
    }

    # The statement a batch falls back on finds the starts among them.
    def looked_up(livestream: str | None) -> set[int]:
        dialect = store.database.dialect
        write = timestamp_writer(dialect)  # the range as the batch writes it
        low, high = write(at - BROADCAST_TOLERANCE), write(at + BROADCAST_TOLERANCE)
        params = same_broadcast_params(streamer, "stream_start", livestream, low, high)
        sql = statements_for(dialect).same_broadcast
        return {int(row[0]) for row in store.database.handle.execute_sql(sql, params).fetchall()}

    assert looked_up("111") == {same_id, bare_near}
    assert looked_up(None) == {bare_near, other_id_near}


def test_every_partition_has_the_index_of_stored_broadcasts(store: Store) -> None:
    handle = store.database.handle
    if store.database.dialect == "sqlite":
        rows = handle.execute_sql("PRAGMA index_info(idx_status_event_streamer_broadcast)")
        assert [row[2] for row in rows.fetchall()] == [
            "streamer_id",
            "livestream_id",
            "broadcast_started_at",
        ]
        return
    today = store.clock.now().date()
    later = today.replace(year=today.year + 1, day=1)  # a month no partition holds yet
    handle.execute_sql("SELECT kickwatch_ensure_partition(%s::date)", (later.isoformat(),))
    tables = [
        row[0]
        for row in handle.execute_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'status_event'"
            " AND c.relkind = 'r'"
        ).fetchall()
    ]
    assert len(tables) >= 2  # the default partition and this month's at least
    for table in tables:
        definitions = [
            row[0]
            for row in handle.execute_sql(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,)
            ).fetchall()
        ]
        assert any(
            "(streamer_id, livestream_id, broadcast_started_at)" in d for d in definitions
        ), (table, definitions)
