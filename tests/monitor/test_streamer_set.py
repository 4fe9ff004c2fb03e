"""Another process (the `kickwatch` command) adds, disables, enables and removes streamers while
the monitor runs: it follows without a restart, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.cli.helpers import make_cli
from tests.fakekick import FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import MASTER_KEY, monitor_options


def subscribed(kick: FakeKick, channel_id: int) -> bool:
    return bool(kick.pusher.subscribers(f"channel.{channel_id}"))


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_streamer_changes_from_another_process_are_followed_without_restart(
    fake_kick: FakeKick,
    make_monitor: MakeMonitor,
    tmp_path: Path,
    engine: str,
    request: pytest.FixtureRequest,
) -> None:
    db_url = str(tmp_path / "kickwatch.db")
    if engine == "postgresql":
        db_url = request.getfixturevalue("pg_url")
    alpha = fake_kick.add_channel("alpha")
    beta = fake_kick.add_channel("beta")
    harness = make_monitor(db_url)
    harness.add(alpha)
    await harness.start()
    cli = make_cli(
        tmp_path / "home", KICKWATCH_DB=db_url, KICKWATCH_MASTER_KEY=MASTER_KEY, **fake_kick.env()
    )

    async def run(*args: str) -> None:
        result = await asyncio.to_thread(cli, *args)
        assert result.returncode == 0, result.stderr

    def follows(channel_id: int, watched: bool) -> bool:
        return (channel_id in harness.monitor.subscribed_channels) is watched and subscribed(
            fake_kick, channel_id
        ) is watched

    await run("add", "beta")  # looked up on the fake Kick by the command
    await wait_for(lambda: follows(beta.channel_id, True), what="beta subscribed")
    fake_kick.go_live("beta")
    await wait_for(lambda: harness.started("beta"))

    await run("disable", "alpha")
    await wait_for(lambda: follows(alpha.channel_id, False), what="alpha unsubscribed")
    assert f"channel.{alpha.channel_id}" in fake_kick.pusher.connections[-1].unsubscribe_log
    await run("enable", "alpha")
    await wait_for(lambda: follows(alpha.channel_id, True), what="alpha subscribed again")
    fake_kick.go_live("alpha")
    await wait_for(lambda: harness.started("alpha"))

    await run("remove", "beta", "--yes")
    await wait_for(lambda: follows(beta.channel_id, False), what="beta unsubscribed")
    assert {s.username for s in harness.monitor.streamers()} == {"alpha"}
    assert len(fake_kick.pusher.connections) == 1  # all of it on the first socket


async def test_a_change_of_a_streamer_just_disabled_elsewhere_is_recorded_but_not_announced(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    alpha = fake_kick.add_channel("alpha")
    # The watcher looks rarely here, so the push surely comes before it notices.
    harness = make_monitor(options=monitor_options(watch_interval=3600.0))
    harness.add(alpha)
    await harness.start()
    # `kickwatch disable alpha` from another process, and alpha goes live at once: before the
    # monitor's watcher has noticed, while it is still subscribed.
    harness.ctx.repository.set_active("alpha", False)
    fake_kick.go_live("alpha")
    await wait_for(lambda: harness.rows(username="alpha"), what="the start recorded")
    await wait_for(lambda: alpha.channel_id not in harness.monitor.subscribed_channels)
    assert harness.started("alpha") == []
    assert [s.username for s in harness.monitor.streamers()] == []
