"""The outbox: one row per (target, change), claims that keep two monitors on one database from
both sending a row, and a change given up on once it is too old (marked failed, never sent late)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from kickwatch.alerts.dispatcher import DispatcherOptions
from kickwatch.alerts.message import AlertKind, AlertMessage
from kickwatch.alerts.targets import Outbox, TargetStore
from kickwatch.context import open_context
from kickwatch.domain.status import EventType
from tests.alerts.helpers import MASTER_KEY, Alerts, NoKeyring, open_store, wait_until
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock

MESSAGE = AlertMessage(AlertKind.START, "alpha", "Alpha is live", "https://kick.com/alpha")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.down()


def test_a_change_is_queued_once_per_target_and_claimed_by_one_process(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    ctx = open_context(
        db_url,
        environ={"KICKWATCH_HOME": str(tmp_path), "KICKWATCH_MASTER_KEY": MASTER_KEY},
        clock=clock,
        keyring_module=NoKeyring(),
    )
    try:
        target = TargetStore(ctx.database, ctx.secrets, clock).add("ntfy://topic-one")
        outbox = Outbox(ctx.database, clock)
        [made] = outbox.enqueue([(target.id, 41, MESSAGE)])
        assert outbox.enqueue([(target.id, 41, MESSAGE), (target.id + 99, 42, MESSAGE)]) == []
        until = clock.now() + timedelta(seconds=120)
        assert outbox.claim(made.id, "first", until)
        assert not outbox.claim(made.id, "second", until)
        clock.advance(121)  # the first process died holding it
        assert outbox.claim(made.id, "second", clock.now() + timedelta(seconds=120))
        outbox.mark_sent(made.id)
        assert not outbox.claim(made.id, "first", clock.now() + timedelta(seconds=120))
        assert outbox.pending(target.id, 10) == []
        assert outbox.prune(keep_days=30) == 1  # status_event 41 is not in the history
    finally:
        ctx.close()


async def test_a_change_not_delivered_in_time_is_given_up_and_never_sent_late(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    ctx = open_store(db_path, clock)
    TargetStore(ctx.database, ctx.secrets, clock).add(receiver.url(), name="hook")
    ctx.close()
    options = DispatcherOptions(retry_initial=5, retry_max=5, give_up_after=12)
    alerts = Alerts(open_store(db_path, clock), clock, options=options)
    await alerts.start()
    try:
        receiver.down()
        await alerts.record("alpha", EventType.STREAM_START)
        await wait_until(lambda: alerts.failures() >= 1, what="the first refused attempt")
        for _ in range(3):  # tries at 5 and 10 s, then past 12 s: given up
            seen = alerts.failures()
            await alerts.advance(5)
            await wait_until(lambda n=seen: alerts.failures() > n, what="a retry")
        receiver.up()
        await alerts.record("beta", EventType.STREAM_START)
        await alerts.advance(5)
        await wait_until(lambda: receiver.posts, what="beta's alert")
        summary = await alerts.read_until(
            Outbox(alerts.ctx.database, clock).summary,
            lambda found: all(s.sent for s in found.values()),
        )
    finally:
        await alerts.stop()
    assert receiver.titles() == ["Beta is live"]
    [state] = summary.values()
    assert (state.pending, state.sent, state.failed) == (0, 1, 1)
    assert "Connection error" in (state.last_error or "")
