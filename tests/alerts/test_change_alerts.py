"""Change alerts (a live stream's new title or category, for streamers whose rule asks for them)
through real Apprise to a real HTTP receiver on 127.0.0.1: each reaches each target that wants
it once, says what changed (before → after, and the link), follows each target's `--events`, and
one waiting when kickwatch stops is sent after the restart while one already sent never is."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from kickwatch.alerts.message import AlertKind
from kickwatch.domain.status import EventType
from kickwatch.store.models import AlertDelivery, AlertTarget
from kickwatch.store.rules import RuleStore
from tests.alerts.helpers import Alerts, add_target, open_store, restart_twice, wait_until
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock


def received(receiver: Receiver, path: str) -> list[tuple[str, str]]:
    """(title, message) of what reached `path`, in order."""
    return [
        (title, message)
        for sent_to, title, message in zip(
            receiver.paths, receiver.titles(), receiver.messages(), strict=True
        )
        if sent_to == path
    ]


def change_rows(target: str) -> list[tuple[int | None, int | None, str]]:
    """(status_event_id, stream_change_id, state) of a target's outbox rows, oldest first."""
    query = (
        AlertDelivery.select()
        .join(AlertTarget)
        .where(AlertTarget.name == target)
        .order_by(AlertDelivery.id)
    )
    return [(row.status_event_id, row.stream_change_id, str(row.state)) for row in query]


async def title_changes_on(alerts: Alerts, username: str) -> None:
    store = RuleStore(alerts.ctx.database, alerts.clock)
    await alerts.db(partial(store.set_rule, username, title_changes=True))


async def test_a_title_change_reaches_each_target_that_wants_it_once_saying_what_changed(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    add_target(db_path, clock, receiver.url("all"), name="all")  # the default: every alert
    add_target(
        db_path, clock, receiver.url("lives"), name="lives", events=[AlertKind.START, AlertKind.END]
    )
    add_target(db_path, clock, receiver.url("changes"), name="changes", events=[AlertKind.CHANGE])
    async with Alerts(open_store(db_path, clock), clock) as alerts:
        await alerts.record("alpha", EventType.STREAM_START)
        await alerts.record("beta", EventType.STREAM_START)
        await wait_until(lambda: len(receiver.posts) == 4, what="two go-lives at two targets")
        await title_changes_on(alerts, "alpha")
        title = await alerts.change_details("alpha", title="Ranked grind")
        await alerts.change_details("beta", title="Beta, part 2")  # beta's rule asks for none
        both = await alerts.change_details("alpha", title="Finals", category="Chess")
        await wait_until(lambda: len(receiver.posts) == 8, what="two changes at two targets")
        # The same changes heard again (another monitor on the database publishes them too):
        # the policy decides again, the outbox knows them.
        alerts.bus.publish(title)
        alerts.bus.publish(both)
        await alerts.record("gamma", EventType.STREAM_START)  # queued after the copies
        await wait_until(lambda: len(receiver.posts) == 10, what="gamma's go-live")
        rows = await alerts.read_until(
            partial(change_rows, "changes"), lambda rows: all(r[2] == "sent" for r in rows)
        )
    link = "https://kick.com/alpha"
    changes = [
        ("Alpha changed the stream title", f"Title: alpha plays → Ranked grind\n{link}"),
        (
            "Alpha now streams Chess",
            f"Title: Ranked grind → Finals\nCategory: Just Chatting → Chess\n{link}",
        ),
    ]
    assert received(receiver, "/changes") == changes
    lives = ["Alpha is live", "Beta is live", "Gamma is live"]
    assert [title for title, _ in received(receiver, "/lives")] == lives
    assert received(receiver, "/all") == [
        received(receiver, "/lives")[0],
        received(receiver, "/lives")[1],
        *changes,
        received(receiver, "/lives")[2],
    ]
    first_of_both = min(change.id for change in both.changes)
    assert rows == [(None, title.changes[0].id, "sent"), (None, first_of_both, "sent")]


async def test_a_change_alert_waiting_at_a_stop_is_sent_after_the_restart_and_a_sent_one_never(
    tmp_path: Path, receiver: Receiver
) -> None:
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    add_target(db_path, clock, receiver.url(), name="hook")
    async with Alerts(open_store(db_path, clock), clock) as first:
        await first.record("alpha", EventType.STREAM_START)
        await title_changes_on(first, "alpha")
        await first.change_details("alpha", title="Ranked grind")
        await wait_until(lambda: len(receiver.posts) == 2, what="the go-live and the change")
        receiver.down()
        await first.change_details("alpha", category="Chess")
        await wait_until(lambda: first.failures() >= 1, what="the second change refused")
    receiver.up()
    rows = await restart_twice(
        db_path,
        clock,
        receiver,
        sent=2,
        live=("beta", "gamma"),
        read=partial(change_rows, "hook"),
        done=lambda rows: all(r[2] == "sent" for r in rows),
    )
    assert rows is not None
    assert receiver.titles() == [
        "Alpha is live",
        "Alpha changed the stream title",
        "Alpha now streams Chess",
        "Beta is live",
        "Gamma is live",
    ]
    assert receiver.messages()[2] == "Category: Just Chatting → Chess\nhttps://kick.com/alpha"
    assert [state for _, _, state in rows] == ["sent"] * 5
    assert sum(1 for _, change_id, _ in rows if change_id is not None) == 2
