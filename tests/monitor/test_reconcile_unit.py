"""`changes_from_snapshots`: what a poll turns into, without any I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kickwatch.domain.events import LiveSnapshot
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import EventSource, EventType, Status
from kickwatch.monitor.reconcile import ReconcileReason, changes_from_snapshots
from kickwatch.store.repository import StatusChange, StatusObservation

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(hours=1)


def streamer(status: Status = Status.OFFLINE, **changes: object) -> StreamerRecord:
    record = StreamerRecord(
        id=7,
        kick_user_id=70,
        username="alpha",
        display_name="Alpha",
        status=status,
        is_active=True,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def live(started_at: datetime | None = STARTED, **changes: object) -> LiveSnapshot:
    snapshot = LiveSnapshot(
        is_live=True,
        observed_at=NOW,
        source=EventSource.OFFICIAL_API,
        user_id=70,
        started_at=started_at,
        title="hello",
        viewers=5,
        raw={"id": "uuid"},
    )
    return replace(snapshot, **changes)  # type: ignore[arg-type]


def test_absent_means_offline_and_an_unknown_or_offline_streamer_is_only_observed() -> None:
    for status in (Status.UNKNOWN, Status.OFFLINE):
        items = changes_from_snapshots([streamer(status)], {}, NOW, ReconcileReason.STARTUP)
        assert items == [StatusObservation(7, False, NOW)]


def test_a_live_snapshot_of_an_offline_streamer_is_a_start_keyed_by_user_and_start_time() -> None:
    items = changes_from_snapshots([streamer()], {70: live()}, NOW, ReconcileReason.RECONNECT)
    start, observation = items
    assert isinstance(start, StatusChange) and isinstance(observation, StatusObservation)
    assert start.event_type is EventType.STREAM_START
    assert start.kick_event_id == f"u70:{int(STARTED.timestamp())}:start"
    assert start.event_timestamp == STARTED == start.broadcast_started_at
    assert start.received_timestamp == NOW
    # The history keeps the parsed fields, not the whole (unbounded) snapshot.
    assert start.event_data == {
        "source": "official_api",
        "reconcile": "reconnect",
        "title": "hello",
        "viewers": 5,
    }
    assert start.reconcile_reason == "reconnect"
    assert (start.title, start.viewers) == ("hello", 5)
    assert observation == StatusObservation(7, True, NOW, "hello", None, 5)


def test_the_same_broadcast_within_the_tolerance_is_no_change() -> None:
    online = streamer(Status.ONLINE, current_broadcast_started_at=STARTED)
    later = live(STARTED + timedelta(seconds=3))  # formats and sources round differently
    items = changes_from_snapshots([online], {70: later}, NOW, ReconcileReason.PERIODIC)
    assert [type(i) for i in items] == [StatusObservation]


def test_another_broadcast_of_an_online_streamer_is_a_new_start() -> None:
    online = streamer(Status.ONLINE, current_broadcast_started_at=STARTED - timedelta(hours=5))
    items = changes_from_snapshots([online], {70: live()}, NOW, ReconcileReason.RESUME)
    assert isinstance(items[0], StatusChange) and items[0].event_type is EventType.STREAM_START
    assert items[0].event_data["reconcile"] == "resume"


def test_a_start_without_any_broadcast_identity_starts_at_the_poll_and_has_no_key() -> None:
    items = changes_from_snapshots([streamer()], {70: live(None)}, NOW, ReconcileReason.PERIODIC)
    start = items[0]
    assert isinstance(start, StatusChange)
    assert start.kick_event_id is None and start.event_timestamp == NOW


def test_an_online_streamer_missing_from_the_poll_ends_its_current_broadcast() -> None:
    online = streamer(
        Status.ONLINE, current_broadcast_started_at=STARTED, current_livestream_id="99"
    )
    offline = LiveSnapshot(False, NOW, EventSource.UNOFFICIAL_API, user_id=70)
    for snapshots in ({}, {70: offline}):
        [end] = changes_from_snapshots([online], snapshots, NOW, ReconcileReason.PERIODIC)
        assert isinstance(end, StatusChange) and end.event_type is EventType.STREAM_END
        assert end.kick_event_id == f"u70:{int(STARTED.timestamp())}:end"
        assert (end.livestream_id, end.broadcast_started_at) == ("99", STARTED)
        assert end.event_timestamp == NOW
        assert end.event_data["observed_offline_at"] == "2026-03-01T12:00:00Z"


def test_an_end_of_an_unidentified_broadcast_has_no_key() -> None:
    [end] = changes_from_snapshots([streamer(Status.ONLINE)], {}, NOW, ReconcileReason.PERIODIC)
    assert isinstance(end, StatusChange) and end.kick_event_id is None


def test_every_streamer_polled_gets_its_own_items_in_order() -> None:
    others = [streamer(), streamer(id=8, kick_user_id=80, username="beta")]
    items = changes_from_snapshots(others, {80: live(user_id=80)}, NOW, ReconcileReason.PERIODIC)
    assert [(i.streamer_id, type(i).__name__) for i in items] == [
        (7, "StatusObservation"),
        (8, "StatusChange"),
        (8, "StatusObservation"),
    ]


def test_at_start_up_a_stream_begun_since_the_last_offline_check_is_news() -> None:
    # Seen offline 30 s before a restart; Kick's clock says the stream began 2 minutes before
    # that (its clock runs behind): the start counts as missed while reconnecting, not as a
    # stream that was already live.
    seen_offline = streamer(Status.OFFLINE, updated_at=NOW - timedelta(seconds=30))
    skewed = live(started_at=NOW - timedelta(seconds=150))
    start, _ = changes_from_snapshots([seen_offline], {70: skewed}, NOW, ReconcileReason.STARTUP)
    assert isinstance(start, StatusChange)
    assert start.reconcile_reason == ReconcileReason.RECONNECT


def test_at_start_up_a_stream_of_a_streamer_not_seen_for_long_is_already_live() -> None:
    long_ago = streamer(Status.OFFLINE, updated_at=NOW - timedelta(hours=5))
    unknown = replace(streamer(Status.UNKNOWN, updated_at=NOW), id=8, kick_user_id=80)
    items = changes_from_snapshots(
        [long_ago, unknown], {70: live(), 80: live(user_id=80)}, NOW, ReconcileReason.STARTUP
    )
    starts = [i for i in items if isinstance(i, StatusChange)]
    assert [s.reconcile_reason for s in starts] == ["startup", "startup"]
