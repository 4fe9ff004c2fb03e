"""A batch's set-wise reads on PostgreSQL stay cheap when the statement's plan is generic.

psycopg prepares a statement it has run five times, and PostgreSQL may then plan it once for any
parameter. A lookup written as `= ANY($1)` can then be a scan comparing each stored row with
every element of the array (the array is hashed only when the plan knows it): a batch of 10,000
Kick event ids took 11-18 s on 66,000 stored events. The lookups are joins with the set instead.
These tests plan them as a prepared statement may be planned, with the statistics autovacuum
gathers, and check that no row is compared with the whole array and that the tables holding rows
are read through their indexes.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from kickwatch.store import Database, partitions
from kickwatch.store.statements import statements_for
from tests.store.fixtures import Store
from tests.store.test_batch_statements import add_streamers
from tests.store.test_candidates import broadcasts

# The `store` fixture, on PostgreSQL only.
on_postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def generic_plan(
    database: Database, sql: str, values: list[Any], array: str
) -> list[dict[str, Any]]:
    """Every node of the plan PostgreSQL runs `sql` by for any parameter (`values`, an `array`,
    as its one parameter), with the statistics autovacuum will have gathered."""
    handle = database.handle
    with handle.atomic():
        # A client-side cursor: the text of PREPARE holds `$1`, which is not this statement's.
        cursor = psycopg.ClientCursor(handle.connection())
        cursor.execute("ANALYZE")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE lookup ({array}) AS {sql.replace('%s', '$1')}")
        try:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE lookup(%s::{array})", (values,))
            row = cursor.fetchone()
            assert row is not None
            (plan,) = row
        finally:
            cursor.execute("DEALLOCATE lookup")
    nodes = []
    pending = [(json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


def scans(nodes: list[dict[str, Any]]) -> dict[str, set[str]]:
    """How each table of the plan is read: its scan node types by table name."""
    found: dict[str, set[str]] = {}
    for node in nodes:
        if "Relation Name" in node:
            found.setdefault(node["Relation Name"], set()).add(node["Node Type"])
    return found


INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def compares_with_the_whole_array(nodes: list[dict[str, Any]]) -> bool:
    """Whether a node filters rows against every element of the array parameter."""
    return any("ANY ($1)" in node.get("Filter", "") for node in nodes)


@on_postgresql
def test_looking_up_event_ids_probes_the_index_of_a_long_history(store: Store) -> None:
    ids = add_streamers(store, 20)
    others = add_streamers(store, 100)
    store.repository.apply_changes(broadcasts(store, ids, 1, 1_000_000))
    store.repository.apply_changes(broadcasts(store, others, 100, 2_000_000))
    assert store.repository.count_events() == 20 * 2 + 100 * 100 * 2
    stored = [f"{5000 + s}:{1_000_000 + s}:stream_start" for s in ids]
    wanted = [*stored, *(f"{5000 + s}:9{s}:stream_start" for s in ids)]  # half of them new

    sql = statements_for(store.database.dialect).known_keys
    nodes = generic_plan(store.database, sql, wanted, "text[]")

    assert nodes[0]["Actual Rows"] == len(stored)
    assert not compares_with_the_whole_array(nodes)
    holding = {p.name for p in partitions.partitions(store.database.handle, True) if p.rows}
    assert holding  # the month of the history
    read = scans(nodes)
    assert all(read[name] <= INDEX_SCANS for name in holding), read


@on_postgresql
def test_locking_a_batchs_streamers_probes_the_primary_key_among_many(store: Store) -> None:
    few = add_streamers(store, 20)
    add_streamers(store, 2_000)
    sql = statements_for(store.database.dialect).streamers
    nodes = generic_plan(store.database, sql, few, "bigint[]")

    assert nodes[0]["Actual Rows"] == len(few)
    assert not compares_with_the_whole_array(nodes)
    assert scans(nodes)["streamer"] <= INDEX_SCANS
