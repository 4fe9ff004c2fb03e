"""The outbox: one row per (target, change), a start or end (status_event) or a title/category
change (stream_change) and never both, claims that keep two monitors on one database from both
sending a row, and a change given up on once it is too old (marked failed, never sent late)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import peewee
import pytest

from kickwatch.alerts.dispatcher import DispatcherOptions
from kickwatch.alerts.message import AlertKind, AlertMessage
from kickwatch.alerts.targets import Outbox, TargetRecord, TargetStore
from kickwatch.context import Context, open_context
from kickwatch.domain.status import EventType
from kickwatch.store.models import AlertDelivery, StreamChangeRow
from kickwatch.store.rules import to_change
from tests.alerts.helpers import MASTER_KEY, Alerts, NoKeyring, open_store, wait_until
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock

MESSAGE = AlertMessage(AlertKind.START, "alpha", "Alpha is live", "https://kick.com/alpha")


@dataclass
class Stored:
    """A database with one target, and its outbox."""

    ctx: Context
    clock: ManualClock
    target: TargetRecord
    outbox: Outbox


@pytest.fixture
def stored(db_url: str, tmp_path: Path) -> Iterator[Stored]:
    """A database (each engine) with one ntfy target, closed after the test."""
    clock = ManualClock()
    ctx = open_context(
        db_url,
        environ={"KICKWATCH_HOME": str(tmp_path), "KICKWATCH_MASTER_KEY": MASTER_KEY},
        clock=clock,
        keyring_module=NoKeyring(),
    )
    try:
        target = TargetStore(ctx.database, ctx.secrets, clock).add("ntfy://topic-one")
        yield Stored(ctx, clock, target, Outbox(ctx.database, clock))
    finally:
        ctx.close()


def test_a_change_is_queued_once_per_target_and_claimed_by_one_process(stored: Stored) -> None:
    clock, target, outbox = stored.clock, stored.target, stored.outbox
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


async def test_a_change_not_delivered_in_time_is_given_up_and_never_sent_late(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    ctx = open_store(db_path, clock)
    TargetStore(ctx.database, ctx.secrets, clock).add(receiver.url(), name="hook")
    ctx.close()
    options = DispatcherOptions(retry_initial=5, retry_max=5, give_up_after=12)
    async with Alerts(open_store(db_path, clock), clock, options=options) as alerts:
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
    assert receiver.titles() == ["Beta is live"]
    [state] = summary.values()
    assert (state.pending, state.sent, state.failed) == (0, 1, 1)
    assert "Connection error" in (state.last_error or "")


def test_a_change_alert_is_queued_once_per_target_for_all_the_rows_it_announces(
    stored: Stored,
) -> None:
    ctx, clock, target, outbox = stored.ctx, stored.clock, stored.target, stored.outbox
    streamer = ctx.repository.add_streamer("alpha", 1)
    clock.advance(1)
    rows = [
        StreamChangeRow.create(
            streamer=streamer.id,
            change_type=kind,
            previous_value="before",
            new_value=value,
            source="pusher",
            changed_at=clock.now(),
            recorded_at=clock.now(),
        )
        for kind, value in (("title", "Ranked"), ("category", "Chess"))
    ]
    changes = tuple(to_change(row, "alpha") for row in rows)
    changed = AlertMessage.for_details(streamer, changes)
    first, second = (int(row.id) for row in rows)
    [made] = outbox.enqueue([(target.id, first, changed)])
    assert made.change_id == first and made.message == changed
    # Again, or keyed on the other row of the same change: nothing new.
    assert outbox.enqueue([(target.id, first, changed), (target.id, second, changed)]) == []
    # A status_event with the same id is another change.
    assert len(outbox.enqueue([(target.id, first, MESSAGE)])) == 1
    stored = AlertDelivery.get_by_id(made.id)
    assert (stored.status_event_id, stored.stream_change_id) == (None, first)

    for both_or_neither in ({"status_event_id": 5, "stream_change_id": 6}, {}):
        with pytest.raises(peewee.IntegrityError), ctx.database.handle.atomic():
            AlertDelivery.create(
                target=target.id,
                message=MESSAGE.as_json(),
                created_at=clock.now(),
                updated_at=clock.now(),
                **both_or_neither,
            )
    # Retention removed the change: its delivery goes with it (so does the start's, whose
    # status_event never existed).
    StreamChangeRow.delete().execute()
    assert outbox.prune(keep_days=30) == 2
    assert outbox.pending(target.id, 10) == []
