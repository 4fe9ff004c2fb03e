"""Several real `kickwatch run` workers on one PostgreSQL database against the fake Kick, the
truth they are held to, and what the database says about them (read with plain SQL).

`Fleet` seeds the database with many monitored fake channels in one statement, starts named
workers, and reads the lease table, the worker table and `pg_stat_activity` (each kickwatch
process names its connections `kickwatch:<pid>`). `Racer` changes channels on a background
thread, some pushed and some left for the polls to find, never changing one channel again
within `spacing` seconds (so no broadcast both starts and ends while its channel is being handed
from one worker to another, when neither pushes nor polls could see it).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from kickwatch.context import open_context
from kickwatch.store.models import Streamer
from tests.chaos.runner import KickwatchRun, home_cli
from tests.chaos.world import Broadcast, World
from tests.cli.helpers import Cli
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeChannel, FakeKick
from tests.fakekick.home import NoKeyring

_NOW = "(now() AT TIME ZONE 'UTC')"
_HOLDERS = (
    "SELECT s.username, l.worker_id FROM streamer_lease l JOIN worker w ON w.id = l.worker_id"
    f" JOIN streamer s ON s.id = l.streamer_id WHERE l.expires_at >= {_NOW}"
    f" AND w.expires_at >= {_NOW}"
)


@dataclass
class Worker:
    """One `kickwatch run --json` process and the name it was started with."""

    name: str
    run: KickwatchRun

    @property
    def pid(self) -> int:
        return self.run.process.pid

    def lease_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.run.snapshot() if line.get("event") == "leases"]

    @property
    def worker_id(self) -> str | None:
        lines = self.lease_lines()
        return str(lines[0]["worker"]) if lines else None

    def held_by_lines(self) -> set[str]:
        """What this worker says it holds, from its `leases` lines."""
        held: set[str] = set()
        for line in self.lease_lines():
            held |= set(line["gained"])
            held -= set(line["lost"])
        return held


@dataclass
class Fleet:
    """The fake Kick, a PostgreSQL database of `channels`, the truth, and the workers."""

    kick: FakeKick
    url: str
    cli: Cli
    channels: list[FakeChannel]
    world: World
    workers: list[Worker] = field(default_factory=list)

    def start(self, name: str) -> Worker:
        cli = Cli(self.cli.home, {**self.cli.env, "KICKWATCH_WORKER_NAME": name})
        worker = Worker(name, KickwatchRun(cli, self.url))
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.run.close()

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description is not None else []

    def holders(self) -> dict[str, str]:
        """Username -> the live worker holding it."""
        return {str(user): str(worker) for user, worker in self.sql(_HOLDERS)}

    def live_workers(self) -> set[str]:
        return {str(r[0]) for r in self.sql(f"SELECT id FROM worker WHERE expires_at >= {_NOW}")}

    def connections(self, pid: int) -> int:
        """Server connections of the kickwatch process `pid`."""
        rows = self.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (f"kickwatch:{pid}",),
        )
        return int(rows[0][0])

    def stored_changes(self) -> int:
        rows = self.sql(
            "SELECT count(*) FROM status_event WHERE event_type IN ('stream_start', 'stream_end')"
        )
        return int(rows[0][0])

    def subscribers(self) -> list[int]:
        """How many Pusher connections subscribe to each channel."""
        return [len(self.kick.pusher.subscribers(f"channel.{c.channel_id}")) for c in self.channels]

    def go_live(self, channel: FakeChannel, push: bool = True) -> None:
        live = self.kick.go_live(channel.slug, push)
        self.world[channel.slug].broadcasts.append(Broadcast(live.id, live.started_at))

    def go_offline(self, channel: FakeChannel, push: bool = True) -> None:
        self.kick.go_offline(channel.slug, push)
        self.world[channel.slug].broadcasts[-1].ended = True


def seed(kick: FakeKick, home: Path, url: str, count: int, **settings: str) -> Fleet:
    """`count` fake channels stored as monitored streamers (one statement), the fake's app
    credentials (the secret encrypted with the home's master key) and `settings`."""
    channels = [kick.add_channel(f"fleet{i:05d}") for i in range(count)]
    cli = home_cli(kick, home)
    ctx = open_context(url, environ=cli.env, keyring_module=NoKeyring())
    try:
        ctx.settings.set_many(
            {"auth.client_id": CLIENT_ID, "auth.client_secret": CLIENT_SECRET, **settings}
        )
        now = ctx.clock.now()
        Streamer.insert_many(
            [
                {
                    "kick_user_id": c.user_id,
                    "kick_channel_id": c.channel_id,
                    "username": c.slug,
                    "slug": c.slug,
                    "display_name": c.display_name,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in channels
            ]
        ).execute()
    finally:
        ctx.close()
    return Fleet(kick, url, cli, channels, World(channels))


class Racer(threading.Thread):
    """Changes random channels `rate` times a second until stopped (see the module docstring)."""

    def __init__(self, fleet: Fleet, rate: float, spacing: float, seed: int) -> None:
        super().__init__(name="racer", daemon=True)
        self.fleet = fleet
        self.rate = rate
        self.spacing = spacing
        self.random = random.Random(seed)
        self.stopped = threading.Event()
        self.changes = 0
        self.polled_only = 0
        self.error: BaseException | None = None
        self._last: dict[str, float] = {}

    def run(self) -> None:
        try:
            while not self.stopped.wait(1 / self.rate):
                self._change_one()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _change_one(self) -> None:
        now = time.monotonic()
        for _ in range(20):
            channel = self.random.choice(self.fleet.channels)
            if now - self._last.get(channel.slug, -self.spacing) >= self.spacing:
                break
        else:
            return
        self._last[channel.slug] = now
        push = self.random.random() >= 0.2  # one in five is left for the polls
        self.polled_only += not push
        if self.fleet.world[channel.slug].live:
            self.fleet.go_offline(channel, push)
        else:
            self.fleet.go_live(channel, push)
        self.changes += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(10)
        if self.error is not None:
            raise self.error
