"""kill -9 of `kickwatch run` in the middle of a burst of changes, then a restart: the SQLite file
is sound, no batch is half written, every change printed before the kill is stored, and the
restart's reconciliation brings the database to the truth with nothing recorded twice."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tests.chaos.world import compare, read_store
from tests.fakekick import FakeKick, wait_for_sync
from tests.resilience.helpers import prepare

STREAMERS = 300


def half_batches(db: Path) -> list[str]:
    """Streamers whose row disagrees with their newest stored start/end (a batch updates both in
    one transaction, so a torn batch shows here)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT s.username, s.status, s.current_broadcast_started_at, e.event_type,"
            " e.new_status, e.broadcast_started_at FROM streamer s LEFT JOIN status_event e"
            " ON e.id = (SELECT max(id) FROM status_event x WHERE x.streamer_id = s.id"
            " AND x.event_type IN ('stream_start', 'stream_end'))"
        ).fetchall()
    finally:
        connection.close()
    torn = []
    for username, status, current_start, event_type, new_status, started in rows:
        if event_type is None:
            if status not in ("unknown", "offline"):
                torn.append(f"{username}: {status} without any stored change")
        elif new_status != status:
            torn.append(f"{username}: status {status}, newest change to {new_status}")
        elif event_type == "stream_start" and current_start != started:
            torn.append(f"{username}: broadcast {current_start}, newest start {started}")
    return torn


@pytest.mark.slow
def test_kill_9_mid_burst_leaves_a_sound_database_that_the_restart_reconciles(
    fake_kick_thread: FakeKick, tmp_path: Path
) -> None:
    db = tmp_path / "kickwatch.db"
    monitoring = prepare(fake_kick_thread, tmp_path, STREAMERS, str(db), "crash")
    first = monitoring.start()
    pushing = threading.Thread(
        target=lambda: [monitoring.go_live(c, f"burst {c.slug}") for c in monitoring.channels],
        name="burst",
    )
    try:
        pushing.start()
        wait_for_sync(lambda: len(first.changes()) >= 40, 30, what="the burst half recorded")
        first.kill9()
    finally:
        first.close()
        pushing.join(timeout=60)
    printed = first.changes()
    assert len(printed) < STREAMERS, "the burst ended before the kill: nothing was tested"

    after_kill = read_store(str(db))
    assert after_kill.integrity == "ok"
    assert half_batches(db) == []
    stored_ids = {e.id for e in after_kill.events}
    assert {line["id"] for line in printed} <= stored_ids, "a change was printed, not stored"
    # Behind the truth is expected after a kill; ahead of it or twice is not.
    wrong = [p for p in compare(monitoring.world, after_kill, None) if "status" not in p]
    assert [p for p in wrong if "missing" not in p] == []

    second = monitoring.start()
    try:
        wait_for_sync(
            lambda: not compare(monitoring.world, read_store(str(db)), None),
            30,
            interval=0.2,
            what="the restart reconciled the database to the truth",
        )
        code = second.stop()
    finally:
        second.close()
    assert code == 0, second.stderr
    assert "Traceback" not in second.stderr
    final = read_store(str(db))
    assert final.integrity == "ok"
    assert compare(monitoring.world, final, None) == []
    reprinted = {line["id"] for line in second.changes()} & {line["id"] for line in printed}
    assert reprinted == set(), "changes notified again after the restart"
    assert len(second.changes()) == len(final.events) - len(after_kill.events)
