"""Starting `kickwatch run` on a database of monitored fake channels, and waiting for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.chaos.runner import KickwatchRun, home_cli, seed_home
from tests.chaos.world import Broadcast, World, read_store
from tests.cli.helpers import Cli
from tests.fakekick import FakeChannel, FakeKick, wait_for_sync


@dataclass
class Monitoring:
    """A home whose database monitors `channels`, and the truth about them."""

    kick: FakeKick
    cli: Cli
    db_url: str
    channels: list[FakeChannel]
    world: World

    def start(self, timeout: float = 30.0) -> KickwatchRun:
        """`kickwatch run --json`, returned once it is subscribed to every channel and its
        start-up reconciliation is stored (no streamer's status is unknown any more)."""
        run = KickwatchRun(self.cli, self.db_url)
        try:
            wait_for_sync(
                lambda: (
                    (
                        all(
                            self.kick.pusher.subscribers(f"channel.{c.channel_id}")
                            for c in self.channels
                        )
                        and "unknown" not in read_store(self.db_url).status.values()
                    )
                    or not run.alive
                ),
                timeout,
                interval=0.1,
                what="kickwatch run subscribed and reconciled",
            )
        except BaseException:
            run.close()
            raise
        assert run.alive, run.stderr
        return run

    def go_live(self, channel: FakeChannel, title: str | None = None) -> None:
        """Start a broadcast on the fake Kick (pushed) and in the truth."""
        live = self.kick.go_live(channel.slug, title=title)
        self.world[channel.slug].broadcasts.append(Broadcast(live.id, live.started_at))

    def go_offline(self, channel: FakeChannel) -> None:
        """End the broadcast on the fake Kick (pushed) and in the truth."""
        self.kick.go_offline(channel.slug)
        self.world[channel.slug].broadcasts[-1].ended = True


def prepare(kick: FakeKick, tmp_path: Path, count: int, db_url: str, prefix: str) -> Monitoring:
    """`count` fake channels stored as monitored streamers in `db_url`."""
    channels = [kick.add_channel(f"{prefix}{i:03d}") for i in range(count)]
    cli = home_cli(kick, tmp_path / "home")
    seed_home(cli, channels, db_url=db_url)
    return Monitoring(kick, cli, db_url, channels, World(channels))
