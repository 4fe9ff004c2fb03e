"""Two writers on one database at once: a push and a poll of the same broadcast, the first
paused just before it commits. The second waits for it (a row lock on PostgreSQL, the write lock
on SQLite), then sees its row: one start is stored, and the streamer's fields are right."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from kickwatch.domain.status import EventType, Status
from kickwatch.store import StatusChange
from kickwatch.store import batch as batch_module
from kickwatch.store.repository import BatchResult
from tests.store.fixtures import Store


def test_a_push_and_a_poll_of_one_broadcast_racing_store_one_start(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = store.repository.add_streamer("alpha", 1, kick_channel_id=101)
    now = store.clock.now()
    started = now - timedelta(minutes=1)
    push = StatusChange(
        alpha.id,
        EventType.STREAM_START,
        now,
        started,
        "101:555:start",
        "555",
        broadcast_started_at=started,
        title="pushed",
    )
    poll = StatusChange(
        alpha.id,
        EventType.STREAM_START,
        now,
        started,
        f"u1:{int(started.timestamp())}:start",
        None,
        broadcast_started_at=started,
        title="polled",
    )
    first_ready, release_first = threading.Event(), threading.Event()
    finish = batch_module.Batch.finish

    def paused_finish(self: Any) -> None:
        finish(self)
        if threading.current_thread().name == "first":
            first_ready.set()
            release_first.wait(10)  # everything written, not yet committed

    monkeypatch.setattr(batch_module.Batch, "finish", paused_finish)
    results: dict[str, BatchResult] = {}
    errors: list[BaseException] = []

    def write(name: str, change: StatusChange) -> None:
        try:
            results[name] = store.repository.apply_changes([change])
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.database.close()  # this thread's connection

    first = threading.Thread(target=write, args=("first", push), name="first")
    second = threading.Thread(target=write, args=("second", poll), name="second")
    first.start()
    assert first_ready.wait(10)
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second writer must wait for the first to commit"
    release_first.set()
    first.join(10)
    second.join(10)
    assert errors == []
    assert len(results["first"].applied) == 1
    assert results["second"].applied == [] and results["second"].duplicates == 1
    events = store.repository.event_history()
    assert [(e.event_type, e.kick_event_id) for e in events] == [
        (EventType.STREAM_START, "101:555:start")
    ]
    record = store.repository.get_by_username("alpha")
    assert record is not None and record.status == Status.ONLINE
    assert record.current_livestream_id == "555" and record.current_title == "pushed"
