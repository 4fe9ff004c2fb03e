"""Property: batches store exactly what applying their changes one by one stores.

`apply_changes` answers the common case from what it read when the batch began and writes its
rows together at the end. The reference applies each change in a transaction of its own with
those answers switched off, so that every question goes to the database as the batch write
always asked it (the stored broadcasts, the newest row). For random interleavings of pushes and
polls of a few streamers (starts, ends, duplicates, late events, timestamps ahead of the clock,
observations, a streamer that no longer exists) both must leave the same rows, the same
streamers and the same results.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kickwatch.domain.status import EventType
from kickwatch.store import BatchResult, StatusChange, StatusObservation
from kickwatch.store.known import Known
from kickwatch.store.models import QuarantinedChange, StatusEvent, Streamer
from tests.store.fixtures import Store

Item = StatusChange | StatusObservation
MISSING = 10**9  # a streamer id that does not exist (removed while its changes waited)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[int, int, bool]]:
    """Broadcasts of one streamer (start second, end second, ended?), oldest first; some
    begin within seconds of the last end, as a restarted stream does."""
    count = draw(st.integers(1, 4))
    second, plan = 0, []
    for _ in range(count):
        start = second + draw(st.sampled_from([2, 5, 30, 600, 3600]))
        end = start + draw(st.sampled_from([1, 8, 300, 7200]))
        plan.append((start, end, True))
        second = end
    if draw(st.booleans()):
        start, end, _ = plan[-1]
        plan[-1] = (start, end, False)
    return plan


def _push_start(sid: int, lid: str, at: datetime, now: datetime, ahead: bool) -> StatusChange:
    stamped = now + timedelta(minutes=5) if ahead else at  # Kick's clock ahead: clamped
    return StatusChange(
        sid,
        EventType.STREAM_START,
        now,
        stamped,
        f"{sid}:{lid}:start",
        lid,
        stamped,
        {"source": "pusher", "livestream_id": lid},
        title=f"title {lid}",
        viewers=int(lid),
    )


def _poll_start(sid: int, at: datetime, now: datetime, skew: int) -> StatusChange:
    started = at + timedelta(seconds=skew)
    return StatusChange(
        sid,
        EventType.STREAM_START,
        now,
        started,
        f"u{sid}:{int(started.timestamp())}:start",
        None,
        started,
        {"source": "official_api", "reconcile": "periodic"},
        category="poll",
        reconcile_reason="periodic",
    )


def _end(sid: int, lid: str | None, at: datetime, stamped: bool) -> StatusChange:
    return StatusChange(
        sid,
        EventType.STREAM_END,
        at,  # seen when it happened
        at if stamped else None,
        f"{sid}:{lid}:end" if lid else None,
        lid,
        event_data={"source": "pusher" if lid else "poll"},
    )


@st.composite
def arrivals(draw: st.DrawFn, store: Store, streamer_ids: list[int]) -> list[Item]:
    now = store.clock.now()
    base = now - timedelta(days=1)
    items: list[Item] = []
    for sid in streamer_ids:
        for number, (start, end, ended) in enumerate(draw(histories())):
            lid = str(1000 * sid + number + 1)
            began = base + timedelta(seconds=start)
            kinds = draw(st.sets(st.sampled_from(["push", "poll"]), min_size=1))
            if "push" in kinds:
                items.append(_push_start(sid, lid, began, now, draw(st.booleans())))
            if "poll" in kinds:
                items.append(_poll_start(sid, began, now, draw(st.integers(-3, 3))))
            if ended:
                finished = base + timedelta(seconds=end)
                pushed_end = draw(st.booleans())
                items.append(_end(sid, lid if pushed_end else None, finished, draw(st.booleans())))
            if draw(st.booleans()):
                seen = began + timedelta(seconds=(end - start) / 2)
                items.append(StatusObservation(sid, True, seen, title="seen", viewers=7))
        if draw(st.booleans()):
            items.append(StatusObservation(sid, False, now))
    if draw(st.booleans()):
        items.append(StatusChange(MISSING, EventType.STREAM_START, now, now, "gone:1:start", "1"))
    extra = draw(st.lists(st.sampled_from(items), max_size=len(items) // 2))
    return list(draw(st.permutations(items + extra)))


def _stored() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every column of every event and streamer, ids included."""
    events = StatusEvent.select().order_by(StatusEvent.id).tuples()
    streamers = Streamer.select().order_by(Streamer.id).tuples()
    return [tuple(row) for row in events], [tuple(row) for row in streamers]


def _outcome(result: BatchResult) -> tuple[Any, ...]:
    """What results say (an applied change's streamer is as its batch left it: not compared)."""
    return (
        [(a.event, a.reconcile_reason) for a in result.applied],
        result.history,
        sorted(result.streamers, key=lambda s: s.id),
        result.duplicates,
        result.unchanged,
        result.missing_streamers,
        result.quarantined,
    )


def _reset(store: Store) -> list[int]:
    """No rows, and ids counted from 1 again: both runs get the same ids."""
    StatusEvent.delete().execute()
    QuarantinedChange.delete().execute()
    Streamer.delete().execute()
    handle = store.database.handle
    if store.database.dialect == "sqlite":
        handle.execute_sql("DELETE FROM sqlite_sequence")
    else:
        for table in ("streamer", "status_event"):
            handle.execute_sql(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), 1, false)", (table,)
            )
    return [
        store.repository.add_streamer(name, uid, kick_channel_id=100 + uid).id
        for name, uid in (("alpha", 1), ("beta", 2))
    ]


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_one_batch_stores_what_the_changes_one_by_one_store(
    store: Store, data: st.DataObject
) -> None:
    streamer_ids = _reset(store)
    items = data.draw(arrivals(store, streamer_ids))
    one_by_one = BatchResult()
    with pytest.MonkeyPatch.context() as patch:
        # Nothing answered from memory: every lookup is a query, as one change at a time.
        patch.setattr(Known, "load_candidates", lambda self, wanted: None)
        patch.setattr(Known, "newest", lambda self, streamer_id: (False, None))
        for item in items:
            one_by_one.merge(store.repository.apply_changes([item]))
    expected = _stored()

    # A few batches: the later ones begin with history stored, which they must read right.
    cuts = sorted(data.draw(st.sets(st.integers(0, len(items)), max_size=3)))
    assert _reset(store) == streamer_ids
    batched = BatchResult()
    for start, end in itertools.pairwise([0, *cuts, len(items)]):
        result = store.repository.apply_changes(items[start:end])
        final = {record.id: record for record in result.streamers}
        assert all(applied.streamer == final[applied.streamer.id] for applied in result.applied)
        batched.merge(result)

    assert _stored() == expected
    assert _outcome(batched) == _outcome(one_by_one)
