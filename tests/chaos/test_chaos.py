"""Chaos: the real `kickwatch run --json` against the fake Kick, 500 streamers changing state
while everything that can go wrong does (see `tests/chaos/script.py`), and at the end the database
equals the fake's truth: each final status right, every broadcast start and end recorded once,
none missing, no change printed (notified) twice.

The short run (about 25 s of chaos, under a minute in all) is part of the normal test suite. The
long run is started on purpose, with longer blackouts (up to 30 s) and database locks (up to
10 s):

    KICKWATCH_CHAOS_SECONDS=300 .venv/bin/pytest tests/chaos -s

`KICKWATCH_CHAOS_SEED=<n>` replays a run's decisions (the seed is printed with the figures; the
short run uses a fixed seed, the long one a new seed each time unless given).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.chaos.runner import KickwatchRun, home_cli, seed_home
from tests.chaos.script import ChaosScript, Figures, Scale
from tests.chaos.world import Broadcast, Stored, World, compare, read_store
from tests.fakekick import FakeKick, wait_for_sync
from tests.fakekick.faulty_pusher import FaultyPusherServer

STREAMERS = 500
INITIALLY_LIVE = 100
CI_SEED = 20260508
ACTIVITY_TIMEOUT = 10


def chaos_scale() -> tuple[Scale, int]:
    """The scale and seed: the short CI run unless KICKWATCH_CHAOS_SECONDS asks for more."""
    given_seed = os.environ.get("KICKWATCH_CHAOS_SEED")
    seconds = os.environ.get("KICKWATCH_CHAOS_SECONDS")
    if not seconds:
        return Scale(seconds=25.0), int(given_seed or CI_SEED)
    seed = int(given_seed) if given_seed else random.SystemRandom().randrange(2**32)
    long_run = Scale(
        seconds=float(seconds),
        fault_every=2.5,
        blackout=(1.0, 30.0),
        restart_down=(0.2, 5.0),
        db_lock=(2.0, 10.0),
        storm=(3, 60),
    )
    return long_run, seed


@pytest.fixture
def chaos_kick() -> Iterator[FakeKick]:
    kick = FakeKick()
    kick.pusher = FaultyPusherServer(activity_timeout=ACTIVITY_TIMEOUT)
    kick.start_in_thread()
    try:
        yield kick
    finally:
        kick.stop_thread()


def summary(figures: Figures, world: World, stored: Stored, reconnects: int, lost: int) -> str:
    rows = len(stored.events)
    faults = ", ".join(f"{kind} {n}" for kind, n in sorted(figures.faults.items()))
    table = [
        ("seed", str(figures.seed)),
        ("changes sent (truth)", str(world.changes)),
        ("change frames sent", str(figures.frames)),
        ("changes recorded", str(rows)),
        ("duplicate frames sent (dropped)", str(figures.duplicate_frames)),
        ("odd payloads (real changes)", str(figures.odd_payloads)),
        ("quarantined", str(stored.quarantined)),
        ("reconnects", str(reconnects)),
        ("malformed frames sent", str(figures.noise_frames)),
        ("frames lost to faults", str(lost)),
        ("quick start+end bursts", f"{figures.bursts} ({world.uncertain} unconfirmed)"),
        ("faults", faults),
    ]
    width = max(len(name) for name, _ in table)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in table)


@pytest.mark.slow
def test_chaos_run_ends_with_the_database_equal_to_the_truth_and_each_change_notified_once(
    chaos_kick: FakeKick, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    scale, seed = chaos_scale()
    kick = chaos_kick
    assert isinstance(kick.pusher, FaultyPusherServer)
    channels = [kick.add_channel(f"chaos{i:03d}") for i in range(STREAMERS)]
    world = World(channels)
    now = datetime.now(UTC).replace(microsecond=0)  # clock-ok: start times of earlier streams
    for i, channel in enumerate(channels[:INITIALLY_LIVE]):
        live = kick.state.start_stream(channel.slug, started_at=now - timedelta(minutes=i + 1))
        world[channel.slug].broadcasts.append(Broadcast(live.id, live.started_at))

    db = tmp_path / "chaos.db"
    cli = home_cli(kick, tmp_path / "home")
    seed_home(cli, channels, db_url=str(db), reconcile_interval=10)
    run = KickwatchRun(cli, str(db))
    script = ChaosScript(kick, run, world, db, scale, seed)
    problems: list[str] = []
    try:
        wait_for_sync(
            lambda: (
                len(run.changes()) >= INITIALLY_LIVE
                and all(kick.pusher.subscribers(f"channel.{c.channel_id}") for c in channels)
            ),
            30,
            what="kickwatch run subscribed to every channel and recorded the live ones",
        )
        first_connections = len(kick.pusher.connections)
        script.play()
        try:
            wait_for_sync(
                lambda: script.all_printed() or not run.alive,
                max(60.0, scale.seconds / 2),
                interval=0.1,
                what="every change of the truth printed",
            )
        except AssertionError as exc:
            problems.append(f"{exc}; not yet printed: {', '.join(script.unprinted()[:20])}")
        code = run.stop(timeout=15)
    finally:
        run.close()
    (tmp_path / "kickwatch-run.stderr").write_text(run.stderr, "utf-8", "surrogateescape")
    stored = read_store(str(db))
    reconnects = len(kick.pusher.connections) - first_connections
    report = summary(script.figures, world, stored, reconnects, kick.pusher.lost_frames)
    with capsys.disabled():
        print(f"\nchaos run, {time.monotonic() - began:.1f} s wall time:\n{report}")

    assert code == 0, f"seed {seed}: exit {code}\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr, f"seed {seed}:\n{run.stderr[-5000:]}"
    assert stored.integrity == "ok"
    problems += compare(world, stored, run.changes())
    assert not problems, f"seed {seed}: {len(problems)} problems:\n" + "\n".join(problems[:40])
