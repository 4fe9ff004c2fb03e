"""Three real `kickwatch run` workers share thousands of streamers on one PostgreSQL database
against the fake Kick, with pushes and polls racing; one is killed with -9 mid-run and another
started. In the end every change is stored once (the database equals the truth), no change is
printed twice, each channel is held by exactly one live worker and subscribed exactly once,
and the killed worker's streamers were taken over within the lease time. A tray-app desktop in
the shared mode (its own process, offscreen: `desktop_client`) follows the same database and
announces every committed change once, each as one notification by the policy. The figures are
printed (run with -s to see them).

The count of streamers is a parameter: KICKWATCH_WORKERS_STREAMERS (default 5000).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.chaos.runner import KickwatchRun
from tests.chaos.world import compare, read_store
from tests.fakekick import FakeKick, wait_for_sync
from tests.resilience.fleet import Fleet, Racer, Worker, seed

STREAMERS = int(os.environ.get("KICKWATCH_WORKERS_STREAMERS", "5000"))
LEASE_SECONDS = 9
RECONCILE_SECONDS = 10
SEED = 20260511


def settled(fleet: Fleet, workers: list[Worker]) -> bool:
    """Every streamer held by one of `workers` (no more than its share), each worker's own
    account of what it holds equal to the lease table, and every channel subscribed once."""
    ids = {w.worker_id for w in workers}
    if None in ids:
        return False
    holders = fleet.holders()
    if len(holders) != len(fleet.channels) or set(holders.values()) != ids:
        return False
    share = math.ceil(len(fleet.channels) / len(workers))
    by_worker = Counter(holders.values())
    if max(by_worker.values()) > share:
        return False
    for worker in workers:
        if worker.held_by_lines() != {u for u, w in holders.items() if w == worker.worker_id}:
            return False
    return fleet.subscribers() == [1] * len(fleet.channels)


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_share_the_streamers_and_a_killed_one_is_covered_within_the_lease_time(
    fake_kick_thread: FakeKick, pg_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    fleet = seed(
        fake_kick_thread,
        tmp_path / "home",
        pg_url,
        STREAMERS,
        **{
            "monitoring.lease_seconds": str(LEASE_SECONDS),
            "monitoring.reconcile_interval": str(RECONCILE_SECONDS),
            # The desktop follows the database; the workers write it whatever the mode says.
            "monitoring.mode": "shared",
            # Every change its own alert, so that alerts can be counted against changes.
            "system.offline_grace_seconds": "0",
            "system.restart_cooldown_seconds": "0",
        },
    )
    fleet.sql("UPDATE streamer SET notify_on_end = TRUE")
    desktop: KickwatchRun | None = None
    racer = Racer(fleet, rate=40, spacing=3 * LEASE_SECONDS, seed=SEED)
    figures = {"streamers": str(STREAMERS), "seeded, seconds": f"{time.monotonic() - began:.1f}"}
    try:
        first = [fleet.start(name) for name in ("w1", "w2", "w3")]
        wait_for_sync(
            lambda: settled(fleet, first) and "unknown" not in read_store(pg_url).status.values(),
            60 + STREAMERS / 100,
            interval=1.0,
            what="three workers sharing every streamer, reconciled",
        )
        figures["start-up, seconds"] = f"{time.monotonic() - began:.1f}"

        baseline = int(fleet.sql("SELECT coalesce(max(id), 0) FROM status_event")[0][0])
        desktop = KickwatchRun(
            fleet.cli, argv=[sys.executable, "-m", "tests.resilience.desktop_client", pg_url]
        )
        wait_for_sync(
            lambda: any(line.get("event") == "ready" for line in desktop.snapshot()),
            30,
            what="the shared-mode desktop listening",
        )

        # Committed events a second with three workers: a burst of pushed starts.
        burst = fleet.channels[: min(1000, STREAMERS // 5)]
        stored = fleet.stored_changes()
        started = time.perf_counter()
        for channel in burst:
            fleet.go_live(channel)
        publishing = time.perf_counter() - started
        wait_for_sync(
            lambda: fleet.stored_changes() >= stored + len(burst),
            60,
            interval=0.05,
            what="the burst stored",
        )
        rate = len(burst) / (time.perf_counter() - started)
        figures["committed events/s, three workers"] = (
            f"{rate:.0f} ({len(burst)} pushed starts; the fake Kick took {publishing:.2f} s"
            " to publish them)"
        )

        racer.start()
        wait_for_sync(lambda: racer.changes >= 200, 30, what="changes racing")
        connections = {w.name: fleet.connections(w.pid) for w in first}
        figures["server connections per worker"] = ", ".join(
            f"{name} {count}" for name, count in connections.items()
        )
        victim = first[2]
        held_at_kill = {u for u, w in fleet.holders().items() if w == victim.worker_id}
        victim.run.kill9()
        killed_at = time.monotonic()
        joined = fleet.start("w4")
        victim_id = victim.worker_id

        def taken_over() -> bool:
            holders = fleet.holders()
            return all(holders.get(u) not in (None, victim_id) for u in held_at_kill)

        wait_for_sync(
            taken_over,
            2 * LEASE_SECONDS,
            interval=0.05,
            what="the killed worker's streamers held by live workers",
        )
        takeover = time.monotonic() - killed_at
        victim_channels = [c for c in fleet.channels if c.slug in held_at_kill]
        wait_for_sync(
            lambda: all(
                len(fleet.kick.pusher.subscribers(f"channel.{c.channel_id}")) == 1
                for c in victim_channels
            ),
            2 * LEASE_SECONDS,
            interval=0.05,
            what="the killed worker's channels subscribed again",
        )
        covered = time.monotonic() - killed_at
        figures["take-over, seconds"] = (
            f"{takeover:.1f} held, {covered:.1f} subscribed"
            f" ({len(held_at_kill)} streamers, lease {LEASE_SECONDS} s)"
        )
        assert covered <= LEASE_SECONDS, f"not covered in time: {figures['take-over, seconds']}"

        wait_for_sync(lambda: racer.changes >= 600, 60, what="more changes racing")
        racer.stop()
        live = [first[0], first[1], joined]
        wait_for_sync(
            lambda: not compare(fleet.world, read_store(pg_url), None) and settled(fleet, live),
            RECONCILE_SECONDS * 4,
            interval=1.0,
            what="the database equal to the truth, three live workers sharing",
        )
        assert set(fleet.live_workers()) == {w.worker_id for w in live}

        doctor = fleet.cli("--db", pg_url, "doctor")
        assert "workers      ok    3 live; all" in doctor.stdout, doctor.stdout
        for worker in live:
            assert f"worker       ok    {worker.worker_id} holds " in doctor.stdout

        final = read_store(pg_url)
        lines = [line for w in fleet.workers for line in w.run.changes()]
        printed = Counter(line["id"] for line in lines)
        assert [i for i, n in printed.items() if n > 1] == [], "a change printed twice"
        stored_ids = {e.id for e in final.events}
        assert set(printed) <= stored_ids, "a change printed but not stored"
        # Only the killed worker can have stored a change it had no time to print.
        unprinted = {e.username for e in final.events if e.id not in printed}
        assert unprinted <= held_at_kill, unprinted
        duplicates = [p for p in compare(fleet.world, final, None) if "times" in p]
        figures["changes (truth)"] = str(fleet.world.changes)
        figures["changes stored"] = str(len(final.events))
        figures["duplicates"] = str(len(duplicates))
        figures["changes left to the polls"] = str(racer.polled_only)
        figures["quarantined"] = str(final.quarantined)
        assert duplicates == [] and final.quarantined == 0

        # The desktop: every change committed since it started announced once, none invented,
        # and each announced change one notification.
        after = {e.id for e in final.events if e.id > baseline}
        expected = {i for i in printed if i > baseline}

        def announced() -> list[dict[str, object]]:
            assert desktop is not None
            return [line for line in desktop.snapshot() if line.get("event") == "published"]

        wait_for_sync(
            lambda: {line["id"] for line in announced()} >= expected,
            30,
            interval=0.2,
            what="the desktop caught up with the workers",
        )
        ids = Counter(line["id"] for line in announced())
        assert [i for i, n in ids.items() if n > 1] == [], "the desktop announced a change twice"
        assert set(ids) <= after, "the desktop announced a change that is not stored"

        def notified() -> Counter[tuple[object, str]]:
            assert desktop is not None
            return Counter(
                (line["tag"], "start" if str(line["title"]).endswith(" is live") else "end")
                for line in desktop.snapshot()
                if line.get("event") == "notified"
            )

        wanted = Counter(
            (line["username"], "start" if line["event_type"] == "stream_start" else "end")
            for line in announced()
            if not line["initial"]
        )
        # A notification is shown a moment after its change is announced: wait for the last.
        wait_for_sync(
            lambda: notified() >= wanted, 10, interval=0.2, what="every announced change notified"
        )
        shown = notified()
        assert shown == wanted, (shown - wanted, wanted - shown)
        figures["desktop: changes announced / notified"] = (
            f"{len(ids)} / {sum(shown.values())} ({len(expected)} printed by workers)"
        )
        assert desktop.stop() == 0, desktop.stderr
        assert "Traceback" not in desktop.stderr

        for worker in live:
            code = worker.run.stop()
            assert code == 0, worker.run.stderr
            assert "Traceback" not in worker.run.stderr
        figures["whole run, seconds"] = f"{time.monotonic() - began:.1f}"
    finally:
        racer.stopped.set()
        if desktop is not None:
            desktop.close()
        fleet.close()
        print("\n".join(f"{name:>36}: {value}" for name, value in figures.items()))
