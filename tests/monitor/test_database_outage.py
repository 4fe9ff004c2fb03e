"""The database goes away while changes arrive (SQLite locked by another program, PostgreSQL
restarting): the monitor says so, holds the changes, and stores each exactly once when it is
back, then says that too."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from kickwatch.domain.status import EventType
from kickwatch.monitor import events as ev
from tests.fakekick import FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import Harness
from tests.store.postgres import PostgresServer


def assert_each_change_once(harness: Harness) -> None:
    for name, types in (
        ("alpha", [EventType.STREAM_START, EventType.STREAM_END]),
        ("beta", [EventType.STREAM_START]),
    ):
        assert [r.event_type for r in harness.rows(username=name)] == types, name
        assert len(harness.started(name)) == 1
    assert len(harness.ended("alpha")) == 1 and harness.ended("beta") == []


async def test_a_locked_sqlite_database_holds_changes_and_stores_them_once_when_released(
    fake_kick: FakeKick, make_monitor: MakeMonitor, tmp_path: Path
) -> None:
    harness = make_monitor()
    harness.add(fake_kick.add_channel("alpha"))
    harness.add(fake_kick.add_channel("beta"))
    await harness.start()

    holder = sqlite3.connect(tmp_path / "kickwatch.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        fake_kick.go_live("alpha")
        fake_kick.go_live("beta")
        fake_kick.go_offline("alpha")
        # A busy wait is not an outage: the writer waits out SQLite's 5 s busy timeout twice
        # (past its grace), and only then reports the lock.
        await wait_for(lambda: harness.bus.of(ev.DatabaseUnavailable), 15.0)
        assert harness.bus.of(ev.StreamStarted) == []  # nothing announced before it is stored
    finally:
        holder.rollback()
        holder.close()
    await wait_for(lambda: harness.bus.of(ev.DatabaseRecovered), 5.0)
    await wait_for(lambda: harness.monitor.pending_writes == 0 and harness.ended("alpha"))

    unavailable = harness.bus.of(ev.DatabaseUnavailable)[0]
    assert "locked" in unavailable.reason and unavailable.pending >= 1
    recovered = harness.bus.of(ev.DatabaseRecovered)
    assert len(recovered) == 1
    assert harness.bus.events.index(recovered[0]) < harness.bus.events.index(
        harness.started("alpha")[0]
    )
    assert_each_change_once(harness)


@pytest.mark.postgres
async def test_a_postgresql_restart_holds_changes_and_stores_them_once_when_back(
    fake_kick: FakeKick, make_monitor: MakeMonitor, own_pg_server: PostgresServer
) -> None:
    own_pg_server.sql("CREATE DATABASE kw_outage")
    harness = make_monitor(own_pg_server.url("kw_outage"))
    harness.add(fake_kick.add_channel("alpha"))
    harness.add(fake_kick.add_channel("beta"))
    await harness.start()
    fake_kick.go_live("alpha")
    await wait_for(lambda: harness.started("alpha"))  # the writer has a live connection

    await asyncio.to_thread(own_pg_server.stop)
    fake_kick.go_live("beta")
    fake_kick.go_offline("alpha")
    await wait_for(lambda: harness.bus.of(ev.DatabaseUnavailable), 5.0)
    assert harness.started("beta") == [] and harness.ended("alpha") == []
    await asyncio.to_thread(own_pg_server.start)
    await wait_for(lambda: harness.bus.of(ev.DatabaseRecovered), 8.0)
    await wait_for(lambda: harness.monitor.pending_writes == 0 and harness.ended("alpha"))

    harness.ctx.database.close()  # the test's own connection died with the server
    assert_each_change_once(harness)

    # Reading goes on too: a streamer added now is picked up and watched.
    gamma = fake_kick.add_channel("gamma")
    harness.add(gamma)
    await wait_for(
        lambda: gamma.channel_id in harness.monitor.subscribed_channels,
        5.0,
        what="gamma subscribed after the restart",
    )
    fake_kick.go_live("gamma")
    await wait_for(lambda: harness.started("gamma"))
