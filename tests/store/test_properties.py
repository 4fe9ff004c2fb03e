"""Property: any interleaving, duplication, reordering and batching of a set of events gives the
same final state and the same stored history as applying them once, in order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kickwatch.domain.status import EventType
from kickwatch.store import StatusChange
from kickwatch.store.models import StatusEvent, Streamer
from tests.store.fixtures import Store


@st.composite
def broadcasts(draw: st.DrawFn) -> list[tuple[int, int, bool]]:
    """Non-overlapping broadcasts (start minute, end minute, ended?) in time order."""
    count = draw(st.integers(min_value=1, max_value=4))
    gaps = draw(st.lists(st.integers(1, 30), min_size=count * 2, max_size=count * 2))
    minute, result = 0, []
    for index in range(count):
        start = minute + gaps[2 * index]
        end = start + gaps[2 * index + 1]
        minute = end
        result.append((start, end, True))
    if draw(st.booleans()):  # the newest broadcast may still be live
        start, end, _ = result[-1]
        result[-1] = (start, end, False)
    return result


def events_for(
    store: Store, streamer_id: int, plan: list[tuple[int, int, bool]]
) -> list[StatusChange]:
    base = store.clock.now() - timedelta(hours=10)
    changes = []
    for livestream, (start, end, ended) in enumerate(plan, start=1):
        started_at = base + timedelta(minutes=start)
        changes.append(
            StatusChange(
                streamer_id,
                EventType.STREAM_START,
                store.clock.now(),
                started_at,
                f"9:{livestream}:start",
                str(livestream),
                started_at,
            )
        )
        if ended:
            changes.append(
                StatusChange(
                    streamer_id,
                    EventType.STREAM_END,
                    store.clock.now(),
                    base + timedelta(minutes=end),
                    f"9:{livestream}:end",
                    str(livestream),
                )
            )
    return changes


def snapshot(store: Store) -> tuple[Any, ...]:
    streamer = Streamer.get()
    rows = StatusEvent.select().order_by(StatusEvent.event_timestamp, StatusEvent.event_type)
    history = [
        (
            r.event_type,
            r.previous_status,
            r.new_status,
            r.kick_event_id,
            r.event_timestamp,
            r.synthetic,
        )
        for r in rows
    ]
    state = (
        streamer.status,
        streamer.last_status_update,
        streamer.current_livestream_id,
        streamer.current_broadcast_started_at,
        streamer.last_seen_online,
    )
    return state, history


def reset(store: Store) -> int:
    StatusEvent.delete().execute()
    Streamer.delete().execute()
    return store.repository.add_streamer("alpha", 1, kick_channel_id=9).id


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=broadcasts(), data=st.data())
def test_final_state_and_history_do_not_depend_on_arrival(
    store: Store, plan: list[tuple[int, int, bool]], data: st.DataObject
) -> None:
    streamer_id = reset(store)
    ordered = events_for(store, streamer_id, plan)
    store.repository.apply_changes(ordered)
    expected = snapshot(store)
    assert not any(synthetic for *_, synthetic in expected[1])

    streamer_id = reset(store)
    ordered = events_for(store, streamer_id, plan)
    extra = data.draw(st.lists(st.sampled_from(ordered), max_size=len(ordered)))
    arrival = data.draw(st.permutations(ordered + extra))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(arrival)), max_size=4)))
    batches, previous = [], 0
    for cut in [*cuts, len(arrival)]:
        batches.append(arrival[previous:cut])
        previous = cut
    for batch in batches:
        store.repository.apply_changes(batch)
    state, history = snapshot(store)
    # last_seen_online depends on when a start was received (only the newest start counts).
    assert state[:4] == expected[0][:4]
    assert history == expected[1]
