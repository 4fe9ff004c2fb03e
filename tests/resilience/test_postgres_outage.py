"""PostgreSQL dies (an immediate shutdown, as in a crash) and comes back while `kickwatch run`
records changes: it says the database is unavailable and that it holds the changes, then that
it is available again, and in the end every change is stored and printed exactly once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.chaos.world import compare, read_store
from tests.fakekick import FakeKick, wait_for_sync
from tests.resilience.helpers import prepare
from tests.store.postgres import PostgresServer


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_killed_and_restarted_loses_and_duplicates_nothing(
    fake_kick_thread: FakeKick, own_pg_server: PostgresServer, tmp_path: Path
) -> None:
    own_pg_server.sql("CREATE DATABASE kw_outage")
    url = own_pg_server.url("kw_outage")
    monitoring = prepare(fake_kick_thread, tmp_path, 20, url, "pg")
    channels = monitoring.channels
    run = monitoring.start()
    try:
        for channel in channels[:5]:
            monitoring.go_live(channel)
        wait_for_sync(lambda: len(run.changes()) == 5, 10, what="the first starts stored")

        own_pg_server.pg_ctl("-m", "immediate", "-w", "stop")
        for channel in channels[5:15]:
            monitoring.go_live(channel)
        for channel in channels[:3]:
            monitoring.go_offline(channel)
        wait_for_sync(lambda: run.messages("DatabaseUnavailable"), 20, what="the outage reported")
        assert len(run.changes()) == 5, "a change was announced while it could not be stored"

        own_pg_server.start()
        wait_for_sync(lambda: run.messages("DatabaseRecovered"), 30, what="the recovery reported")
        wait_for_sync(
            lambda: len(run.changes()) >= monitoring.world.changes,
            20,
            what="the held changes stored",
        )
        code = run.stop()
    finally:
        run.close()

    assert code == 0, run.stderr
    assert "Traceback" not in run.stderr
    unavailable = run.messages("DatabaseUnavailable")
    recovered = run.messages("DatabaseRecovered")
    assert re.fullmatch(r"database unavailable: .+; \d+ changes held", unavailable[0])
    assert re.fullmatch(r"database available again; \d+ stored", recovered[-1])
    lines = run.snapshot()
    first_down = next(
        i for i, line in enumerate(lines) if line.get("event") == "DatabaseUnavailable"
    )
    back = next(i for i, line in enumerate(lines) if line.get("event") == "DatabaseRecovered")
    assert first_down < back
    assert compare(monitoring.world, read_store(url), run.changes()) == []
