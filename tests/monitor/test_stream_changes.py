"""A live stream's new title or category, pushed by Kick or found by a poll, is recorded once in
`stream_change`, published once, and announced once by the policy when the streamer's rule asks;
duplicate frames, later polls and a restart announce nothing again."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kickwatch.domain.rules import ChangeKind, StreamChange, StreamerRule
from kickwatch.monitor import events as ev
from kickwatch.monitor.headless import LinePrinter
from kickwatch.monitor.policy import Decision, DecisionKind, NotificationPolicy, PolicySettings
from kickwatch.store.rules import RuleStore
from tests.fakekick import FakeChannel, FakeKick, FakeLivestream, wait_for
from tests.fakekick.pusher_server import LIVESTREAM_UPDATED
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import Harness, make_harness
from tests.monitor.test_shared_mode import Writer, shared_ctx, start_client, writer
from tests.policy.factories import streamer

__all__ = ["shared_ctx", "start_client", "writer"]  # the shared mode's fixtures, used below


class Alerts:
    """The notification policy fed with everything the monitor publishes."""

    def __init__(self, harness: Harness) -> None:
        self.policy = NotificationPolicy(PolicySettings(group_window_seconds=0))
        self.shown: list[Decision] = []
        self.clock = harness.ctx.clock
        harness.monitor.bus.subscribe(self)

    def __call__(self, event: ev.MonitorEvent) -> None:
        self.shown.extend(d for d in self.policy.decide(event, self.clock.now()) if d.shown)

    def of(self, kind: DecisionKind) -> list[Decision]:
        return [d for d in self.shown if d.kind is kind]


def push_update(
    kick: FakeKick, channel: FakeChannel, live: FakeLivestream, copies: int = 2
) -> None:
    """`LivestreamUpdated` for a broadcast that is live, as Kick sends it, on both aliases."""
    data = {
        "livestream": {
            "id": live.id,
            "channel_id": channel.channel_id,
            "created_at": live.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            "session_title": live.title,
            "is_live": True,
            "viewer_count": live.viewers,
            "category": {"id": 15, "name": live.category},
        }
    }
    for _ in range(copies):
        for name in ("channel.{id}", "channel_{id}"):
            kick.pusher.push(name.format(id=channel.channel_id), LIVESTREAM_UPDATED, data)


def changed(harness: Harness, username: str) -> list[ev.StreamDetailsChanged]:
    return [e for e in harness.bus.of(ev.StreamDetailsChanged) if e.streamer.username == username]


def stored(harness: Harness) -> list[tuple[str, ChangeKind, str, str]]:
    store = RuleStore(harness.ctx.database, harness.ctx.clock)
    return [(c.streamer, c.kind, c.previous, c.value) for c in store.changes(newest_first=False)]


async def test_a_pushed_title_change_is_announced_once_across_duplicates_polls_and_a_restart(
    fake_kick: FakeKick, make_monitor: MakeMonitor, tmp_path: Path
) -> None:
    alpha = fake_kick.add_channel("alpha")
    quiet = fake_kick.add_channel("quiet")
    db_url = str(tmp_path / "kickwatch.db")
    first = make_harness(fake_kick, db_url, tmp_path)
    first.add(alpha)
    first.add(quiet)
    RuleStore(first.ctx.database, first.ctx.clock).set_rule("alpha", title_changes=True)
    alerts = Alerts(first)
    await first.start()
    try:
        live = fake_kick.go_live("alpha", title="Warm-up")
        quiet_live = fake_kick.go_live("quiet", title="Reading")
        await wait_for(lambda: first.started("alpha") and first.started("quiet"))
        assert first.started("alpha")[0].rule is not None
        # StreamerIsLive names no category: the next poll's is learnt, which is no change.
        await first.monitor.reconcile_now()
        assert first.bus.of(ev.StreamDetailsChanged) == []

        live.title, live.category = "Ranked grind", "Chess"
        push_update(fake_kick, alpha, live)
        quiet_live.title = "Reading, part 2"
        push_update(fake_kick, quiet, quiet_live)
        await wait_for(lambda: changed(first, "alpha") and changed(first, "quiet"))
        await fake_kick.pusher.drain()
        await first.monitor.reconcile_now()  # the poll sees the same new title
        push_update(fake_kick, alpha, live)
        await fake_kick.pusher.drain()
        await first.monitor.reconcile_now()

        [event] = changed(first, "alpha")
        assert {(c.kind, c.previous, c.value, c.source) for c in event.changes} == {
            (ChangeKind.TITLE, "Warm-up", "Ranked grind", "pusher"),
            (ChangeKind.CATEGORY, "Just Chatting", "Chess", "pusher"),
        }
        assert len(changed(first, "quiet")) == 1
        [alert] = alerts.of(DecisionKind.CHANGED)  # quiet has no rule asking for it
        assert (alert.title, alert.body) == ("alpha now streams Chess", "New title: Ranked grind")
        tracked = {s.username: s for s in first.monitor.live_streamers()}
        assert tracked["alpha"].current_title == "Ranked grind"
        assert len(stored(first)) == 3
    finally:
        await first.monitor.stop()
        await first.http.aclose()
        first.ctx.close()

    # kickwatch starts again: the poll and a repeated frame hold nothing new.
    second = make_monitor(db_url)
    second_alerts = Alerts(second)
    await second.start()
    push_update(fake_kick, alpha, live)
    await fake_kick.pusher.drain()
    await second.monitor.reconcile_now()
    assert second.bus.of(ev.StreamDetailsChanged) == []
    assert second_alerts.of(DecisionKind.CHANGED) == []
    assert len(stored(second)) == 3

    # A change while running again is news once more.
    live.title = "Ranked grind, game 2"
    push_update(fake_kick, alpha, live)
    await wait_for(lambda: changed(second, "alpha"))
    [again] = second_alerts.of(DecisionKind.CHANGED)
    assert again.title == "alpha changed the stream title"
    assert again.body == "Ranked grind, game 2"


@pytest.mark.parametrize("credentials", [True, False], ids=["official", "unofficial"])
async def test_a_title_change_seen_only_by_a_poll_is_recorded_and_announced_once(
    fake_kick: FakeKick, make_monitor: MakeMonitor, credentials: bool
) -> None:
    alpha = fake_kick.add_channel("alpha")
    harness = make_monitor(credentials=credentials)
    harness.add(alpha)
    RuleStore(harness.ctx.database, harness.ctx.clock).set_rule(
        "alpha", title_changes=True, keywords=["ranked"]
    )
    alerts = Alerts(harness)
    await harness.start()
    live = fake_kick.go_live("alpha", title="Ranked warm-up")
    await wait_for(lambda: harness.started("alpha"))
    live.title = "Ranked finals"  # Kick pushes nothing: only a poll can tell
    for _ in range(2):
        await harness.monitor.reconcile_now()
    [event] = changed(harness, "alpha")
    [change] = event.changes
    assert (change.previous, change.value) == ("Ranked warm-up", "Ranked finals")
    assert change.source == ("official_api" if credentials else "unofficial_api")
    [alert] = alerts.of(DecisionKind.CHANGED)
    assert alert.body == "Ranked finals"
    # A title the rule's keywords do not want is recorded, and not announced.
    live.title = "Lunch break"
    await harness.monitor.reconcile_now()
    assert len(changed(harness, "alpha")) == 2
    assert len(alerts.of(DecisionKind.CHANGED)) == 1


async def test_a_switched_off_streamer_records_and_announces_nothing(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    alpha = fake_kick.add_channel("alpha")
    harness = make_monitor()
    harness.add(alpha, active=False)
    RuleStore(harness.ctx.database, harness.ctx.clock).set_rule(
        "alpha", title_changes=True, open_on_live=True
    )
    alerts = Alerts(harness)
    await harness.start()
    live = fake_kick.go_live("alpha", title="Warm-up")
    live.title = "Ranked"
    push_update(fake_kick, alpha, live)
    await fake_kick.pusher.drain()
    await harness.monitor.reconcile_now()
    assert harness.bus.of(ev.StreamDetailsChanged) == [] and alerts.shown == []
    assert stored(harness) == []


async def test_a_rule_written_by_another_connection_is_followed(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    alpha = fake_kick.add_channel("alpha")
    harness = make_monitor()
    harness.add(alpha)
    await harness.start()
    refreshed = len(harness.bus.of(ev.StreamersChanged))
    rule = RuleStore(harness.ctx.database, harness.ctx.clock).set_rule(
        "alpha", categories=["Chess"], open_on_live=True
    )
    await wait_for(lambda: len(harness.bus.of(ev.StreamersChanged)) > refreshed)
    fake_kick.go_live("alpha")
    await wait_for(lambda: harness.started("alpha"))
    assert harness.started("alpha")[0].rule == rule


def test_kickwatch_run_prints_a_line_for_each_change_of_a_live_stream() -> None:
    when = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    alice = streamer(1, "alice", current_title="Blitz", current_category="Chess")
    event = ev.StreamDetailsChanged(
        alice,
        (
            StreamChange(1, 1, "alice", ChangeKind.TITLE, "Coffee", "Blitz", "pusher", when, when),
            StreamChange(
                2, 1, "alice", ChangeKind.CATEGORY, "Chatting", "Chess", "pusher", when, when
            ),
        ),
    )
    people, programs = io.StringIO(), io.StringIO()
    LinePrinter(people, json_lines=False)(event)
    LinePrinter(programs, json_lines=True)(event)
    assert (
        people.getvalue() == "2026-03-02T12:00:00Z  Alice changed title: Blitz; category: Chess\n"
    )
    line = json.loads(programs.getvalue())
    assert line["event"] == "stream_changed" and line["streamer"] == "alice"
    assert [c["new_value"] for c in line["changes"]] == ["Blitz", "Chess"]


@pytest.mark.postgres
async def test_a_go_live_heard_in_shared_mode_carries_the_streamers_rule(
    writer: Writer, start_client: Callable[..., Any]
) -> None:
    alice = writer.add("alice", 1)
    RuleStore(writer.ctx.database, writer.ctx.clock).set_rule(
        "alice", keywords=["ranked"], open_on_live=True
    )
    client = await start_client(writer.ctx)
    await writer.last_one(client, alice)
    [started] = [e for e in client.bus.events if isinstance(e, ev.StreamStarted)]
    assert started.rule == StreamerRule(alice.id, ("ranked",), open_on_live=True)
