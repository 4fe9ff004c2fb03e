"""Live title and category changes in the shared mode, on a real PostgreSQL: a desktop client
that LISTENs hears each `stream_change` a writer commits once, grouped and carrying the rule as
the writer's own monitor published it, nothing of a rolled-back transaction and nothing recorded
before it started; after its LISTEN connection is killed it reconnects and catches up on the
changes committed meanwhile, repeating none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import ChangeKind, DetailsSeen, StreamChange, StreamerRule
from kickwatch.domain.status import EventType
from kickwatch.kick.backoff import Backoff
from kickwatch.monitor import events as ev
from kickwatch.store.event_notify import CHANGE_CHANNEL, notify_events
from kickwatch.store.rules import RuleStore
from tests.fakekick import wait_for
from tests.monitor.test_shared_mode import (
    Client,
    Writer,
    shared_ctx,
    start_client,
    terminate,
    writer,
)

pytestmark = pytest.mark.postgres
__all__ = ["shared_ctx", "start_client", "writer"]  # the shared mode's fixtures, used below


def go_live(writer: Writer, streamer: StreamerRecord, title: str, category: str) -> None:
    start = writer.change(streamer, EventType.STREAM_START)
    writer.commit(replace(start, title=title, category=category))


def record(
    writer: Writer,
    streamer: StreamerRecord,
    *,
    title: str | None = None,
    category: str | None = None,
) -> tuple[StreamChange, ...]:
    """What a push with this title and/or category records, as the writer's monitor does."""
    writer.clock.advance(1)
    seen = DetailsSeen(streamer.id, writer.clock.now(), "pusher", title=title, category=category)
    [(_, changes)] = RuleStore(writer.ctx.database, writer.clock).record_details([seen])
    return changes


def heard(client: Client) -> list[ev.StreamDetailsChanged]:
    return client.bus.of(ev.StreamDetailsChanged)


async def test_a_client_hears_each_committed_stream_change_once_as_the_writer_published_it(
    writer: Writer, start_client: Callable[..., Any]
) -> None:
    alice, bob = writer.add("alice", 1), writer.add("bob", 2)
    rule = RuleStore(writer.ctx.database, writer.clock).set_rule("alice", title_changes=True)
    go_live(writer, alice, "Warm-up", "Just Chatting")
    go_live(writer, bob, "Drawing", "Art")
    record(writer, alice, title="Before the client")  # history: never announced
    client = await start_client(writer.ctx)

    recorded: list[tuple[StreamChange, ...]] = []

    def commit_changes() -> None:
        recorded.append(record(writer, alice, title="Ranked"))
        recorded.append(record(writer, alice, title="Finals", category="Chess"))

        class Abandoned(Exception):
            pass

        try:
            with writer.ctx.database.handle.atomic():
                record(writer, bob, category="Music")
                raise Abandoned
        except Abandoned:
            pass
        recorded.append(record(writer, bob, title="Drawing, part 2"))

    writer.in_thread(commit_changes, name="writer").join(30)
    await wait_for(lambda: len(heard(client)) >= 3, 10, what="the three changes")
    last = record(writer, bob, category="Painting")  # everything before it was read by then
    await wait_for(lambda: heard(client)[-1].changes == last, 10, what="the last change")

    events = heard(client)
    assert [e.changes for e in events] == [*recorded, last]
    assert [len(e.changes) for e in events] == [1, 2, 1, 1]  # a title and a category together
    assert [e.streamer.username for e in events] == ["alice", "alice", "bob", "bob"]
    assert [e.rule for e in events] == [rule, rule, None, None]
    assert not any(e.initial for e in events)
    # Each carries the streamer as it was right after its change, not as stored by now.
    assert [(e.streamer.current_title, e.streamer.current_category) for e in events] == [
        ("Ranked", "Just Chatting"),
        ("Finals", "Chess"),
        ("Drawing, part 2", "Art"),
        ("Drawing, part 2", "Painting"),
    ]
    assert {e.kind for e in events[1].changes} == {ChangeKind.TITLE, ChangeKind.CATEGORY}
    assert client.monitor.listener.change_cursor.newest == last[0].id
    assert any(CHANGE_CHANNEL in statement for statement in notify_events("postgresql"))


async def test_after_its_listen_connection_is_killed_the_client_catches_up_on_stream_changes(
    writer: Writer, start_client: Callable[..., Any], pg_url: str
) -> None:
    alice = writer.add("alice", 1)
    RuleStore(writer.ctx.database, writer.clock).set_rule("alice", title_changes=True)
    go_live(writer, alice, "Warm-up", "Just Chatting")
    client = await start_client(writer.ctx, backoff=Backoff(initial=1.5, maximum=1.5, jitter=0.0))
    listener = client.monitor.listener

    before = record(writer, alice, title="Ranked")
    await wait_for(lambda: len(heard(client)) == 1, 10, what="the first change")
    terminate(pg_url, listener.backend_pid)
    await wait_for(
        lambda: client.monitor.connection_state is ev.ConnectionState.RECONNECTING,
        10,
        what="the client noticing",
    )
    during = [record(writer, alice, title="Finals"), record(writer, alice, category="Chess")]
    assert listener.connections == 1, "the outage ended before the writes: nothing was proven"
    await wait_for(lambda: listener.connections == 2, 10, what="the reconnection")
    after = record(writer, alice, title="Finals, game 2")  # NOTIFYs again
    await wait_for(lambda: len(heard(client)) == 4, 10, what="every change")

    assert [e.changes for e in heard(client)] == [before, *during, after]
    # The two caught up together: the first carries the category it had then, not Chess.
    assert [(e.streamer.current_title, e.streamer.current_category) for e in heard(client)] == [
        ("Ranked", "Just Chatting"),
        ("Finals", "Just Chatting"),
        ("Finals", "Chess"),
        ("Finals, game 2", "Chess"),
    ]
    assert all(e.rule == StreamerRule(alice.id, title_changes=True) for e in heard(client))
