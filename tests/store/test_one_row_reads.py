"""On SQLite a batch's set-wise reads come back as one row of JSON each (`Statements.rows`).

SQLite's driver lets go of the interpreter lock for every row it steps; while the event loop is
busy each row then costs the writer a switch interval. The reads are one row each, and what
comes back through JSON is what the table holds, text of every kind included.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from kickwatch.store.known import Known, Wanted
from kickwatch.store.statements import STREAMER_COLUMNS, statements_for
from kickwatch.store.timeline import Broadcast
from tests.store.fixtures import Store
from tests.store.test_batch_statements import add_streamers
from tests.store.workloads import broadcasts

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# Text a foreign writer, or Kick, may have left in a column: NUL and other control characters,
# quotes and backslashes, JSON's own escapes, separators JavaScript treats as line ends, DEL,
# characters outside the BMP, and text that looks like a number or like JSON.
AWKWARD = [
    "nul\x00inside",
    'quote " and \\ backslash',
    "\\u0000 written out",
    "line\u2028para\u2029end",
    "del\x7f and \x1f unit",
    "emoji \U0001f3ae and é",
    "0042",
    '{"a": [1, 2]}',
    "",
]


def plain(store: Store, sql: str, params: tuple[Any, ...]) -> list[list[Any]]:
    cursor = store.database.handle.execute_sql(sql, params)
    return [list(row) for row in cursor.fetchall()]


@sqlite_only
def test_a_batchs_three_reads_come_back_from_sqlite_as_one_row_each(store: Store) -> None:
    ids = add_streamers(store, 300)
    changes = broadcasts(store.clock.now() - timedelta(minutes=5), ids, 1_200)
    store.repository.apply_changes(changes)
    sql = statements_for("sqlite")
    handle = store.database.handle
    keys = [c.kick_event_id for c in changes]
    wanted = Wanted()
    for streamer_id in ids:
        wanted.add(streamer_id, Broadcast(str(1_000_000 + streamer_id), None))
    reads = [
        (sql.streamers, (sql.id_set(ids),)),
        (sql.known_keys, (sql.id_set(keys),)),
        (sql.candidates, (json.dumps(wanted.rows("sqlite")),)),
    ]
    with handle.atomic():
        for statement, params in reads:
            assert len(handle.execute_sql(statement, params).fetchall()) == 1

        streamers = sql.rows(handle.execute_sql(sql.streamers, (sql.id_set(ids),)))
        assert streamers == plain(
            store, f"SELECT {', '.join(STREAMER_COLUMNS)} FROM streamer ORDER BY id", ()
        )
        stored_keys = sql.rows(handle.execute_sql(sql.known_keys, (sql.id_set(keys),)))
        assert sorted(key for (key,) in stored_keys) == sorted(keys)
        # None of the batch's keys stored: an empty set, not a row of NULL.
        missing = sql.id_set(["not-stored-1", "not-stored-2"])
        assert sql.rows(handle.execute_sql(sql.known_keys, (missing,))) == []


@sqlite_only
def test_text_of_every_kind_reads_back_through_the_one_row_exactly(store: Store) -> None:
    ids = add_streamers(store, len(AWKWARD))
    handle = store.database.handle
    with handle.atomic():
        for streamer_id, text in zip(ids, AWKWARD, strict=True):
            # Written past the application's own cleaning, as another program could have.
            handle.execute_sql(
                "UPDATE streamer SET current_title = ?, current_category = ?,"
                " current_viewers = ?, current_livestream_id = ? WHERE id = ?",
                (text, text[::-1], 2**62 + streamer_id, text, streamer_id),
            )
    expected = {record.id: record for record in store.repository.all_streamers()}

    known = Known(store.database, statements_for("sqlite"))
    with handle.atomic():
        known.load_streamers(ids)
    assert {sid: state.record() for sid, state in known.streamers.items()} == expected
    assert [known.streamers[sid].current_title for sid in ids] == AWKWARD


@sqlite_only
def test_kick_event_ids_of_every_kind_are_found_through_the_one_row(store: Store) -> None:
    (streamer_id,) = add_streamers(store, 1)
    changes = broadcasts(store.clock.now() - timedelta(minutes=5), [streamer_id], len(AWKWARD))
    changes = [
        type(change)(**{**_fields(change), "kick_event_id": f"{text}#{number}"})
        for number, (change, text) in enumerate(zip(changes, AWKWARD, strict=True))
    ]
    store.repository.apply_changes(changes)
    keys = [change.kick_event_id for change in changes]

    known = Known(store.database, statements_for("sqlite"))
    with store.database.handle.atomic():
        known.load_event_ids([*keys, "never-stored"])
    assert known.event_ids == set(keys)
    # The next batch holding them again records none of them twice.
    result = store.repository.apply_changes(changes)
    assert result.duplicates == len(changes)
    assert store.repository.count_events() == len(changes)


def _fields(change: Any) -> dict[str, Any]:
    return {name: getattr(change, name) for name in type(change).__dataclass_fields__}


@sqlite_only
def test_a_repeat_of_a_broadcast_whose_livestream_id_holds_nul_is_recognised(
    store: Store,
) -> None:
    (streamer_id,) = add_streamers(store, 1)
    began = store.clock.now() - timedelta(minutes=30)
    start, end = broadcasts(began, [streamer_id], 2)
    odd = {"livestream_id": "live\x00stream", "kick_event_id": None}
    start = type(start)(**{**_fields(start), **odd, "broadcast_started_at": began})
    end = type(end)(**{**_fields(end), **odd, "event_timestamp": began + timedelta(minutes=20)})
    store.repository.apply_changes([start, end])
    assert store.repository.count_events() == 2

    # The start again, received later (a reconnect's replay): history has it already.
    again = type(start)(**{**_fields(start), "received_timestamp": store.clock.now()})
    result = store.repository.apply_changes([again])
    assert result.duplicates == 1
    assert store.repository.count_events() == 2
