"""Every access pattern of the data model and the rules of the batch write, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kickwatch.domain.errors import AlreadyExistsError, NotFoundError, ValidationError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import EventType, Status
from kickwatch.store import StatusChange, StatusObservation
from kickwatch.store.models import StatusEvent
from tests.store.fixtures import Store

START, END = EventType.STREAM_START, EventType.STREAM_END


def add(
    store: Store, name: str = "alpha", user_id: int = 1, channel_id: int = 101
) -> StreamerRecord:
    return store.repository.add_streamer(name, user_id, kick_channel_id=channel_id)


def change(
    store: Store,
    streamer: StreamerRecord,
    event_type: EventType,
    minutes_ago: float,
    livestream: int | None = None,
    *,
    key: bool = True,
    started_minutes_ago: float | None = None,
) -> StatusChange:
    now = store.clock.now()
    kind = "start" if event_type is START else "end"
    return StatusChange(
        streamer_id=streamer.id,
        event_type=event_type,
        received_timestamp=now,
        event_timestamp=now - timedelta(minutes=minutes_ago),
        kick_event_id=f"{streamer.kick_channel_id}:{livestream}:{kind}"
        if key and livestream
        else None,
        livestream_id=str(livestream) if livestream is not None else None,
        broadcast_started_at=(
            now - timedelta(minutes=started_minutes_ago)
            if started_minutes_ago is not None
            else None
        ),
    )


# -- streamers ---------------------------------------------------------------------------


def test_add_streamer_normalises_the_name_and_starts_unknown_and_active(store: Store) -> None:
    record = store.repository.add_streamer("https://kick.com/Alpha_1", 7, display_name="Alpha 1")
    assert record.username == "alpha_1"
    assert record.display_name == "Alpha 1"
    assert record.status is Status.UNKNOWN
    assert record.is_active is True
    assert record.created_at == record.updated_at == store.clock.now()


def test_adding_an_existing_streamer_is_refused_and_changes_nothing(store: Store) -> None:
    add(store)
    with pytest.raises(AlreadyExistsError, match="already monitored"):
        store.repository.add_streamer("ALPHA", 2)
    with pytest.raises(AlreadyExistsError):
        store.repository.add_streamer("other", 1)
    assert [s.username for s in store.repository.all_streamers()] == ["alpha"]


@pytest.mark.parametrize(
    ("name", "user_id", "field"),
    [
        ("", 1, "username"),
        ("   ", 1, "username"),
        ("bad name!", 1, "username"),
        ("ok", 0, "kick_user_id"),
        ("ok", "x", "kick_user_id"),
        ("ok", None, "kick_user_id"),
    ],
)
def test_invalid_streamers_name_the_field_and_rule(
    store: Store, name: str, user_id: object, field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        store.repository.add_streamer(name, user_id)  # type: ignore[arg-type]
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_lookups_by_username_and_kick_user_id(store: Store) -> None:
    alpha = add(store)
    assert store.repository.get_by_username("https://kick.com/ALPHA") == alpha
    assert store.repository.get_by_kick_user_id(1) == alpha
    assert store.repository.get_by_username("nobody") is None
    assert store.repository.get_by_kick_user_id(99) is None


def test_deactivate_and_activate_change_the_active_list(store: Store) -> None:
    add(store, "alpha", 1, 101)
    add(store, "beta", 2, 102)
    store.clock.advance(5)
    disabled = store.repository.set_active("beta", False)
    assert disabled.updated_at > disabled.created_at
    assert [s.username for s in store.repository.active_streamers()] == ["alpha"]
    store.repository.set_active("beta", True)
    assert [s.username for s in store.repository.active_streamers()] == ["alpha", "beta"]
    with pytest.raises(NotFoundError, match="no streamer named ghost"):
        store.repository.set_active("ghost", True)


def test_removing_a_streamer_deletes_its_events(store: Store) -> None:
    alpha = add(store)
    store.repository.apply_changes([change(store, alpha, START, 10, 1)])
    store.repository.remove_streamer("alpha")
    assert StatusEvent.select().count() == 0
    with pytest.raises(NotFoundError):
        store.repository.remove_streamer("alpha")


# -- the batch write ---------------------------------------------------------------------


def test_start_then_end_updates_status_and_records_two_events(store: Store) -> None:
    alpha = add(store)
    result = store.repository.apply_changes([change(store, alpha, START, 60, 1)])
    assert [a.event.new_status for a in result.applied] == [Status.ONLINE]
    live = store.repository.get_by_username("alpha")
    assert live is not None and live.status is Status.ONLINE
    assert live.last_status_update == store.clock.now() - timedelta(minutes=60)
    assert live.current_livestream_id == "1"
    store.clock.advance(60)
    store.repository.apply_changes([change(store, alpha, END, 0, 1)])
    ended = store.repository.get_by_username("alpha")
    assert ended is not None and ended.status is Status.OFFLINE
    assert ended.last_seen_online == store.clock.now()
    history = store.repository.event_history(newest_first=False)
    assert [(e.event_type, e.previous_status, e.new_status) for e in history] == [
        (START, Status.UNKNOWN, Status.ONLINE),
        (END, Status.ONLINE, Status.OFFLINE),
    ]
    assert all(e.processed_timestamp >= e.received_timestamp >= e.event_timestamp for e in history)


def test_duplicate_kick_event_ids_are_ignored_not_errors(store: Store) -> None:
    alpha = add(store)
    first = change(store, alpha, START, 5, 1)
    result = store.repository.apply_changes([first, first])
    assert len(result.applied) == 1 and result.duplicates == 1
    again = store.repository.apply_changes([first])
    assert again.applied == [] and again.duplicates == 1
    assert StatusEvent.select().count() == 1


def test_a_start_of_the_same_broadcast_from_another_source_is_no_change(store: Store) -> None:
    alpha = add(store)
    store.repository.apply_changes([change(store, alpha, START, 30, 1)])
    official = change(store, alpha, START, 30 - 3 / 60, None, key=False)  # 3 s later, no id
    result = store.repository.apply_changes([official])
    assert result.applied == [] and result.duplicates == 1
    assert StatusEvent.select().count() == 1


def test_an_end_without_broadcast_applies_to_the_current_one_once(store: Store) -> None:
    alpha = add(store)
    store.repository.apply_changes([change(store, alpha, START, 30, 1)])
    polled_end = change(store, alpha, END, 1, None, key=False)
    pushed_end = change(store, alpha, END, 0.5, 1)
    result = store.repository.apply_changes([polled_end, pushed_end])
    assert len(result.applied) == 1 and result.duplicates == 1
    assert [e.event_type for e in store.repository.event_history()] == [END, START]


def test_a_late_event_is_history_and_does_not_overwrite_a_newer_status(store: Store) -> None:
    alpha = add(store)
    store.repository.apply_changes([change(store, alpha, START, 10, 2)])
    late = store.repository.apply_changes([change(store, alpha, END, 50, 1)])
    assert late.applied == [] and len(late.history) == 1
    current = store.repository.get_by_username("alpha")
    assert current is not None and current.status is Status.ONLINE
    history = store.repository.event_history(newest_first=False)
    assert [(e.event_type, e.previous_status) for e in history] == [
        (END, Status.UNKNOWN),
        (START, Status.OFFLINE),
    ]


def test_a_start_while_online_in_another_broadcast_records_a_stand_in_end(store: Store) -> None:
    alpha = add(store)
    store.repository.apply_changes([change(store, alpha, START, 60, 1)])
    store.repository.apply_changes([change(store, alpha, START, 10, 2)])
    rows = list(StatusEvent.select().order_by(StatusEvent.event_timestamp, StatusEvent.id))
    assert [(r.event_type, r.synthetic) for r in rows] == [
        ("stream_start", False),
        ("stream_end", True),
        ("stream_start", False),
    ]
    # The real end arrives late: it replaces the stand-in.
    store.repository.apply_changes([change(store, alpha, END, 30, 1)])
    rows = list(StatusEvent.select().order_by(StatusEvent.event_timestamp, StatusEvent.id))
    assert [(r.event_type, r.synthetic, r.kick_event_id) for r in rows] == [
        ("stream_start", False, "101:1:start"),
        ("stream_end", False, "101:1:end"),
        ("stream_start", False, "101:2:start"),
    ]


def test_a_timestamp_ahead_of_the_clock_is_clamped_and_the_raw_value_kept(store: Store) -> None:
    alpha = add(store)
    ahead = change(store, alpha, START, -5, 1)  # five minutes in the future
    store.repository.apply_changes([ahead])
    event = store.repository.event_history()[0]
    assert event.event_timestamp == event.received_timestamp == store.clock.now()
    assert event.event_data["raw_event_timestamp"].startswith(
        (store.clock.now() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    )


def test_a_failing_batch_writes_nothing(store: Store) -> None:
    alpha = add(store)
    beta = add(store, "beta", 2, 102)
    good = change(store, alpha, START, 5, 1)
    bad = StatusChange(beta.id, EventType.CONNECTION_TEST, store.clock.now())
    with pytest.raises(ValidationError, match="event_type"):
        store.repository.apply_changes([good, change(store, beta, START, 5, 9), bad])
    assert StatusEvent.select().count() == 0
    for name in ("alpha", "beta"):
        record = store.repository.get_by_username(name)
        assert record is not None and record.status is Status.UNKNOWN


def test_observations_set_initial_offline_and_live_details_without_events(store: Store) -> None:
    alpha = add(store)
    beta = add(store, "beta", 2, 102)
    store.repository.apply_changes([change(store, beta, START, 5, 1)])
    store.clock.advance(30)
    result = store.repository.apply_changes(
        [
            StatusObservation(alpha.id, False, store.clock.now()),
            StatusObservation(beta.id, True, store.clock.now(), title="hi", viewers=42),
        ]
    )
    assert sorted((s.username, s.status, s.current_title) for s in result.streamers) == [
        ("alpha", Status.OFFLINE, None),
        ("beta", Status.ONLINE, "hi"),
    ]
    a = store.repository.get_by_username("alpha")
    b = store.repository.get_by_username("beta")
    assert a is not None and a.status is Status.OFFLINE and a.last_status_update is None
    assert b is not None and b.current_title == "hi" and b.current_viewers == 42
    assert b.last_seen_online == store.clock.now()
    assert StatusEvent.select().count() == 1


def test_events_for_a_removed_streamer_are_counted_not_fatal(store: Store) -> None:
    alpha = add(store)
    pending = change(store, alpha, START, 5, 1)
    store.repository.remove_streamer("alpha")
    result = store.repository.apply_changes([pending])
    assert result.missing_streamers == 1 and result.applied == []


# -- reading history ---------------------------------------------------------------------


def test_history_filters_by_streamer_type_and_time(store: Store) -> None:
    alpha = add(store)
    beta = add(store, "beta", 2, 102)
    store.repository.apply_changes(
        [
            change(store, alpha, START, 120, 1),
            change(store, alpha, END, 90, 1),
            change(store, beta, START, 30, 5),
        ]
    )
    store.repository.record_connection_test(True, "token ok")
    repo = store.repository
    now = store.clock.now()
    assert len(repo.event_history()) == 4
    assert [e.streamer for e in repo.event_history(username="beta")] == ["beta"]
    assert len(repo.event_history(event_type=START)) == 2
    assert [e.event_type for e in repo.event_history(event_type=EventType.CONNECTION_TEST)] == [
        EventType.CONNECTION_TEST
    ]
    recent = repo.recent_events(now - timedelta(minutes=100), now - timedelta(minutes=10))
    assert [(e.streamer, e.event_type) for e in recent] == [("alpha", END), ("beta", START)]
    assert len(repo.event_history(limit=1)) == 1
    assert repo.count_events(username="alpha") == 2


def test_retention_deletes_only_old_events(store: Store) -> None:
    alpha = add(store)
    store.repository.apply_changes(
        [
            change(store, alpha, START, 60 * 24 * 100, 1),
            change(store, alpha, END, 60 * 24 * 95, 1),
            change(store, alpha, START, 60, 2),
        ]
    )
    assert store.repository.delete_events_older_than(90) == 2
    assert [e.kick_event_id for e in store.repository.event_history()] == ["101:2:start"]
    with pytest.raises(ValidationError):
        store.repository.delete_events_older_than(0)


def test_an_end_before_its_start_for_a_streamer_known_offline_is_history(store: Store) -> None:
    alpha = add(store)
    store.repository.apply_changes([StatusObservation(alpha.id, False, store.clock.now())])
    store.repository.apply_changes([change(store, alpha, END, 1, 4)])
    late_start = store.repository.apply_changes([change(store, alpha, START, 30, 4)])
    assert late_start.applied == []  # no go-live alert for a stream that is already over
    record = store.repository.get_by_username("alpha")
    assert record is not None and record.status is Status.OFFLINE
    rows = list(StatusEvent.select().order_by(StatusEvent.event_timestamp, StatusEvent.id))
    assert [(r.event_type, r.synthetic, r.kick_event_id) for r in rows] == [
        ("stream_start", False, "101:4:start"),
        ("stream_end", False, "101:4:end"),
    ]


def test_a_new_broadcast_stamped_by_a_slow_kick_clock_before_the_last_end_is_current(
    store: Store,
) -> None:
    """Kick's clock 120 s behind ours: an end stamped when we saw it (local clock), then a new
    broadcast whose start Kick stamps before that end. It is a later broadcast, so it is the
    current status: online, applied (alerted), and no inferred row is made up."""
    alpha = add(store)
    now = store.clock.now()
    kick = timedelta(seconds=120)  # Kick's clock lags ours by this
    first_start = now - timedelta(minutes=30)
    store.repository.apply_changes(
        [
            StatusChange(
                alpha.id,
                START,
                first_start + kick,
                first_start,
                "101:1:start",
                "1",
                broadcast_started_at=first_start,
            ),
            # Pusher's stop event has no time: stamped when received, on the local clock.
            StatusChange(alpha.id, END, now - timedelta(seconds=60), None, "101:1:end", "1"),
        ]
    )
    second_start_local = now - timedelta(seconds=20)
    stamped = second_start_local - kick  # 140 s ago: before the end we saw 60 s ago
    result = store.repository.apply_changes(
        [
            StatusChange(
                alpha.id,
                START,
                second_start_local,
                stamped,
                "101:2:start",
                "2",
                broadcast_started_at=stamped,
            )
        ]
    )
    assert [a.event.event_type for a in result.applied] == [START]
    record = store.repository.get_by_username("alpha")
    assert record is not None and record.status == Status.ONLINE
    assert record.current_livestream_id == "2"
    events = store.repository.event_history(newest_first=False)
    assert [(e.event_type, bool(e.event_data.get("synthetic"))) for e in events] == [
        (START, False),
        (END, False),
        (START, False),
    ]
    assert (
        events[2]
        .event_data["raw_event_timestamp"]
        .startswith(stamped.strftime("%Y-%m-%dT%H:%M:%S"))
    )
    # A restart's poll of the same broadcast (no livestream id, Kick's start time) changes nothing.
    again = store.repository.apply_changes(
        [
            StatusChange(
                alpha.id, START, now, stamped, "u1:x:start", None, broadcast_started_at=stamped
            )
        ]
    )
    assert again.applied == [] and again.duplicates == 1
    assert len(store.repository.event_history()) == 3


def test_a_late_end_of_an_earlier_broadcast_leaves_the_current_one_live(store: Store) -> None:
    """Broadcast 1 started and ended (seen by polls, no livestream id), broadcast 2 started
    (pushed, id 2542000); then Pusher's stop event of broadcast 1 (id 2224000) arrives late.
    It ended before broadcast 2 began: no second end, and the streamer stays online."""
    alpha = add(store)
    store.repository.apply_changes(
        [
            change(store, alpha, START, 30, key=False, started_minutes_ago=30),
            change(store, alpha, END, 20, key=False, started_minutes_ago=30),
            change(store, alpha, START, 10, 2542000, started_minutes_ago=10),
        ]
    )
    late = change(store, alpha, END, 0, 2224000)
    result = store.repository.apply_changes([late])
    assert result.applied == [] and result.duplicates == 1
    record = store.repository.get_by_username("alpha")
    assert record is not None and record.status == Status.ONLINE
    assert record.current_livestream_id == "2542000"
    assert [e.event_type for e in store.repository.event_history(newest_first=False)] == [
        START,
        END,
        START,
    ]
    # The end of the current broadcast still ends it.
    ended = store.repository.apply_changes([change(store, alpha, END, 0, 2542000)])
    assert [a.event.event_type for a in ended.applied] == [END]


def test_a_broadcast_restarted_within_a_second_follows_the_end_of_the_last_one(
    store: Store,
) -> None:
    """Broadcast 2563000 starts at :35 and ends (seen at :36.5, local clock); 2566000 starts at
    :36 by Kick's clock. The ids say which came later, whatever the clocks say."""
    alpha = add(store)
    now = store.clock.now()
    first = now - timedelta(seconds=3)
    second = now - timedelta(seconds=2)
    ended_seen = now - timedelta(seconds=1.5)
    store.repository.apply_changes(
        [
            StatusChange(
                alpha.id,
                START,
                first,
                first,
                "101:2563000:start",
                "2563000",
                broadcast_started_at=first,
            ),
            StatusChange(alpha.id, END, ended_seen, None, "101:2563000:end", "2563000"),
        ]
    )
    result = store.repository.apply_changes(
        [
            StatusChange(
                alpha.id,
                START,
                now - timedelta(seconds=1),
                second,
                "101:2566000:start",
                "2566000",
                broadcast_started_at=second,
            ),
            StatusChange(alpha.id, END, now, None, "101:2566000:end", "2566000"),
        ]
    )
    assert [a.event.event_type for a in result.applied] == [START, END]
    events = store.repository.event_history(newest_first=False)
    assert [(e.event_type, e.kick_event_id) for e in events] == [
        (START, "101:2563000:start"),
        (END, "101:2563000:end"),
        (START, "101:2566000:start"),
        (END, "101:2566000:end"),
    ]


def test_an_inferred_end_is_stamped_when_the_broadcast_was_last_seen_live(store: Store) -> None:
    alpha = add(store)
    now = store.clock.now()
    began = now - timedelta(minutes=120)
    store.repository.apply_changes(
        [StatusChange(alpha.id, START, began, began, "101:1:start", "1")]
    )
    # A poll saw it live 90 minutes ago; then a start of broadcast 2 arrives, 10 minutes ago.
    store.repository.apply_changes([StatusObservation(alpha.id, True, now - timedelta(minutes=90))])
    store.repository.apply_changes([change(store, alpha, START, 10, 2)])
    events = store.repository.event_history(newest_first=False)
    assert [(e.event_type, e.inferred) for e in events] == [
        (START, False),
        (END, True),
        (START, False),
    ]
    assert events[1].event_timestamp == now - timedelta(minutes=90)
    assert [e.kick_event_id for e in store.repository.event_history(inferred=False)] == [
        "101:2:start",
        "101:1:start",
    ]
    assert store.repository.count_events(inferred=False) == 2
