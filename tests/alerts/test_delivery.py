"""Alerts through real Apprise to a real HTTP receiver on 127.0.0.1: once, in order, nothing lost
while the receiver is down, nothing sent again after a restart."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from kickwatch.alerts.dispatcher import DispatcherOptions, TargetState
from kickwatch.alerts.targets import Outbox
from kickwatch.domain.status import EventType
from kickwatch.store.models import AlertDelivery
from tests.alerts.helpers import Alerts, add_target, open_store, restart_twice, wait_until
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock


def deliveries(alerts: Alerts) -> list[tuple[str, int]]:
    """(state, attempts) of every outbox row, oldest first (read on the database thread)."""
    return [
        (str(row.state), int(row.attempts))
        for row in AlertDelivery.select().order_by(AlertDelivery.id)
    ]


async def test_a_go_live_reaches_the_receiver_once_with_title_link_and_category(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    add_target(db_path, clock, receiver.url(), name="hook")
    async with Alerts(open_store(db_path, clock), clock) as alerts:
        await alerts.record("alpha", EventType.STREAM_START)
        await wait_until(lambda: receiver.posts, what="the alert at the receiver")
        await alerts.record("alpha", EventType.STREAM_END)  # notify_on_end is off: no alert
        await alerts.record("beta", EventType.STREAM_START)
        await wait_until(lambda: len(receiver.posts) == 2, what="beta's alert")
    assert receiver.titles() == ["Alpha is live", "Beta is live"]
    [alpha, _] = receiver.messages()
    assert alpha.splitlines() == [
        "alpha plays",
        "Category: Just Chatting",
        "https://kick.com/alpha",
    ]
    assert receiver.paths == ["/hook/s3cr3t-t0ken"] * 2
    assert receiver.posts[0]["type"] == "success"
    summary = Outbox(alerts.ctx.database, clock).summary()
    assert [(s.pending, s.sent, s.failed) for s in summary.values()] == [(0, 2, 0)]


async def test_receiver_down_for_30_s_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    add_target(db_path, clock, receiver.url(), name="hook")
    async with Alerts(open_store(db_path, clock), clock) as alerts:
        receiver.down()
        await alerts.record("alpha", EventType.STREAM_START)
        await wait_until(lambda: alerts.failures() >= 1, what="the first failed attempt")
        await alerts.record("beta", EventType.STREAM_START)  # queued behind alpha
        # 30 s on the injected clock: back-off 5, 10, then 20 s (capped), each attempt refused.
        for step in (5, 10):
            attempts = alerts.failures()
            await alerts.advance(step)
            await wait_until(
                lambda n=attempts: alerts.failures() > n, what=f"a retry after {step} s"
            )
        await alerts.advance(15)  # 30 s down; the next try is 5 s away
        await alerts.record("gamma", EventType.STREAM_START)
        await wait_until(lambda: alerts.service.health()[0].waiting == 3, what="gamma queued")
        failing = alerts.service.health()
        assert [h.state for h in failing] == [TargetState.FAILING]
        assert "Connection error" in (failing[0].last_error or "")
        assert receiver.posts == []

        receiver.up()
        await alerts.advance(5)
        await wait_until(lambda: len(receiver.posts) == 3, what="every alert after the outage")
        await wait_until(
            lambda: alerts.health and alerts.health[-1].state is TargetState.OK,
            what="the target reported ok again",
        )
        rows = await alerts.read_until(
            partial(deliveries, alerts), lambda rows: all(r[0] == "sent" for r in rows)
        )
    assert receiver.titles() == ["Alpha is live", "Beta is live", "Gamma is live"]
    assert [state for state, _ in rows] == ["sent"] * 3
    assert rows[0][1] == 4  # three refused attempts and the one that was taken


async def test_a_restart_sends_what_was_pending_and_never_what_was_sent(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    add_target(db_path, clock, receiver.url(), name="hook")
    async with Alerts(open_store(db_path, clock), clock) as first:
        await first.record("alpha", EventType.STREAM_START)
        await wait_until(lambda: receiver.titles() == ["Alpha is live"], what="alpha sent")
        receiver.down()
        await first.record("beta", EventType.STREAM_START)
        await wait_until(lambda: first.failures() >= 1, what="beta refused")
    receiver.up()
    await restart_twice(db_path, clock, receiver, sent=1, live=("gamma", "delta"))
    assert receiver.titles() == ["Alpha is live", "Beta is live", "Gamma is live", "Delta is live"]


async def test_more_changes_than_the_queue_holds_wait_in_the_database_and_all_arrive_in_order(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    add_target(db_path, clock, receiver.url(), name="hook")
    names = [f"s{i}" for i in range(7)]
    options = DispatcherOptions(queue_size=2, retry_initial=5)
    async with Alerts(open_store(db_path, clock), clock, options=options) as alerts:
        receiver.down()
        for name in names:
            await alerts.record(name, EventType.STREAM_START)
        await wait_until(lambda: alerts.failures() >= 1, what="the first refused attempt")
        assert alerts.service.health()[0].waiting == 2  # the rest wait in the database
        receiver.up()
        await alerts.advance(5)
        await wait_until(lambda: len(receiver.posts) == 7, what="all seven alerts")
    assert receiver.titles() == [f"{name.capitalize()} is live" for name in names]


async def test_a_target_gets_only_its_streamers_and_events(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    add_target(db_path, clock, receiver.url("all"), name="all")
    add_target(db_path, clock, receiver.url("beta-ends"), name="beta-ends", streamers=["beta"])
    ctx = open_store(db_path, clock)
    async with Alerts(ctx, clock) as alerts:
        await alerts.record("alpha", EventType.STREAM_START)
        beta = await alerts.record("beta", EventType.STREAM_START)
        for name in ("alpha", "beta"):
            await alerts.db(partial(ctx.repository.update_streamer, name, notify_on_end=True))
        await wait_until(lambda: len(receiver.posts) == 3, what="three go-live alerts")
        assert beta.streamer.username == "beta"
        await alerts.record("beta", EventType.STREAM_END)
        await alerts.record("alpha", EventType.STREAM_END)
        await wait_until(lambda: len(receiver.posts) == 6, what="three offline alerts")
    sent = sorted(zip(receiver.paths, receiver.titles(), strict=True))
    assert sent == [
        ("/all", "Alpha is live"),
        ("/all", "Alpha went offline"),
        ("/all", "Beta is live"),
        ("/all", "Beta went offline"),
        ("/beta-ends", "Beta is live"),
        ("/beta-ends", "Beta went offline"),
    ]
