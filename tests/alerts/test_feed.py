"""Which policy decisions become alerts, and for which recorded change (the status_event id of a
start or end, the first stream_change id of a title/category change)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kickwatch.alerts.feed import AlertFeed
from kickwatch.alerts.message import AlertKind, AlertMessage
from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.rules import ChangeKind, StreamChange, StreamerRule
from kickwatch.domain.status import EventType, Status
from kickwatch.monitor.events import (
    ResumedFromSleep,
    StreamDetailsChanged,
    StreamEnded,
    StreamStarted,
)
from kickwatch.monitor.policy import NotificationPolicy, PolicySettings

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Feed:
    def __init__(self, **settings: object) -> None:
        self.now = T0
        self.sent: list[tuple[int, AlertMessage]] = []
        self.feed = AlertFeed(
            NotificationPolicy(PolicySettings(**settings)),  # type: ignore[arg-type]
            self.sent.extend,
            lambda: self.now,
        )
        self.ids = 0

    def streamer(self, sid: int, status: Status, **fields: object) -> StreamerRecord:
        return StreamerRecord(
            id=sid,
            kick_user_id=100 + sid,
            username=f"s{sid}",
            display_name=f"S{sid}",
            status=status,
            is_active=True,
            created_at=T0,
            updated_at=T0,
            current_title="a title",
            current_category="Games",
            **fields,  # type: ignore[arg-type]
        )

    def event(self, record: StreamerRecord, event_type: EventType) -> StatusEventRecord:
        self.ids += 1
        old, new = (Status.OFFLINE, Status.ONLINE)
        if event_type is EventType.STREAM_END:
            old, new = new, old
        return StatusEventRecord(
            self.ids,
            record.id,
            record.username,
            event_type,
            old,
            new,
            None,
            self.now,
            self.now,
            self.now,
        )

    def start(self, sid: int, *, after_resume: bool = False, **fields: object) -> int:
        record = self.streamer(sid, Status.ONLINE, **fields)
        event = self.event(record, EventType.STREAM_START)
        self.feed.on_event(StreamStarted(record, event, initial=False, after_resume=after_resume))
        return event.id

    def end(self, sid: int, **fields: object) -> int:
        record = self.streamer(sid, Status.OFFLINE, notify_on_end=True, **fields)
        event = self.event(record, EventType.STREAM_END)
        self.feed.on_event(StreamEnded(record, event, initial=False))
        return event.id

    def later(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.feed.tick()

    def kinds(self) -> list[tuple[int, AlertKind, str]]:
        return [(event_id, m.kind, m.streamer) for event_id, m in self.sent]


async def test_a_grouped_burst_is_sent_as_one_alert_per_change() -> None:
    feed = Feed(group_window_seconds=2.0, group_threshold=3)
    ids = [feed.start(sid) for sid in (1, 2, 3)]
    assert feed.sent == []
    feed.later(2)
    assert feed.kinds() == [
        (i, AlertKind.START, f"s{n}") for i, n in zip(ids, (1, 2, 3), strict=True)
    ]
    message = feed.sent[0][1]
    assert (message.title, message.link, message.category) == (
        "S1 is live",
        "https://kick.com/s1",
        "Games",
    )
    feed.feed.close()


async def test_an_offline_alert_waits_out_the_grace_period_and_a_quick_restart_sends_nothing() -> (
    None
):
    feed = Feed(group_window_seconds=0, offline_grace_seconds=90)
    feed.start(1)
    end = feed.end(1)
    feed.later(89)
    assert [k for _, k, _ in feed.kinds()] == [AlertKind.START]
    feed.later(1)
    assert feed.kinds()[-1] == (end, AlertKind.END, "s1")
    feed.end(2)
    feed.later(10)
    feed.start(2)  # back within the grace period: neither change is an alert
    feed.later(100)
    assert [s for _, _, s in feed.kinds()] == ["s1", "s1"]
    feed.feed.close()


async def test_suppressed_decisions_send_nothing() -> None:
    feed = Feed(group_window_seconds=0)
    feed.start(1, is_muted=True)
    feed.start(2, notify_on_start=False)
    assert feed.sent == []


async def test_the_summary_after_a_resume_is_sent_as_its_changes() -> None:
    feed = Feed(group_window_seconds=0)
    feed.feed.on_event(ResumedFromSleep(600))
    start = feed.start(1, after_resume=True)
    feed.later(5)
    assert feed.kinds() == [(start, AlertKind.START, "s1")]


def details(
    feed: Feed, sid: int, rule: StreamerRule | None, *values: tuple[ChangeKind, str]
) -> int:
    """Publish a change of `sid`'s live stream (one stream_change row per value); returns the
    first row's id."""
    record = feed.streamer(sid, Status.ONLINE)
    changes = []
    for kind, value in values:
        feed.ids += 1
        changes.append(
            StreamChange(feed.ids, sid, record.username, kind, "before", value, "pusher", T0, T0)
        )
    feed.feed.on_event(StreamDetailsChanged(record, tuple(changes), rule))
    return changes[0].id


async def test_a_change_alert_is_sent_for_the_first_row_of_the_change_only_where_a_rule_asks() -> (
    None
):
    feed = Feed(group_window_seconds=0)
    asks = StreamerRule(1, title_changes=True)
    first = details(feed, 1, asks, (ChangeKind.TITLE, "Ranked"), (ChangeKind.CATEGORY, "Chess"))
    details(feed, 2, StreamerRule(2, open_on_live=True), (ChangeKind.TITLE, "Other"))
    details(feed, 3, None, (ChangeKind.TITLE, "Another"))
    assert feed.kinds() == [(first, AlertKind.CHANGE, "s1")]
    message = feed.sent[0][1]
    assert message.change_ids == (first, first + 1)
    assert message.title == "S1 now streams Chess"
    assert message.body.splitlines() == [
        "Title: before → Ranked",
        "Category: before → Chess",
        "https://kick.com/s1",
    ]
    assert AlertMessage.from_json(message.as_json()) == message
    feed.feed.close()
