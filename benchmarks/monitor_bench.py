"""Monitor benchmark (not a test): push-to-commit latency, a burst of events, headless RSS.

With 1,000 monitored streamers on the fake Kick:

- latency: from a StreamerIsLive frame leaving the fake server's socket to the committed
  stream_start row and the bus listener's call, over `--golives` go-lives spaced apart;
- burst: `--burst` start/stop frames sent back to back, until every one is committed and
  published (SQLite, or `--db` PostgreSQL);
- RSS: peak resident memory (VmHWM) of the headless `kickwatch run` process with 1,000
  streamers, after it subscribed everything, reconciled, and recorded 2,000 changes.

For latency and burst the monitor runs in this process and the fake Kick in a process of its
own (`kick_process`), so that sending the frames is not charged to the monitor; for RSS the fake
serves a `kickwatch run` subprocess from a thread of this one. Prints a table with the machine
it ran on; figures are medians over `--repeats` runs. `commit_bench` runs the same measures on
both engines as part of the suite.

    .venv/bin/python benchmarks/monitor_bench.py [--repeats 3] [--golives 500] [--burst 10000]

Goals: latency p99 < 10 ms, burst >= 20,000 events/s, RSS < 120 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.kick_process import RemoteKick, frame  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from kickwatch.collector import tune_collector  # noqa: E402
from kickwatch.monitor import events as ev  # noqa: E402
from kickwatch.switching import tune_switch_interval  # noqa: E402
from tests.fakekick import FakeKick  # noqa: E402
from tests.monitor.helpers import make_harness, monitor_options, pusher_options  # noqa: E402

STREAMERS = 1000
BURST = 10_000


def machine() -> str:
    return describe(f"SQLite {sqlite3.sqlite_version}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Arrivals:
    """The bus listener: counts committed starts and ends and when the last one was published;
    `until(count)` waits (without polling the loop) until that many have been."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self._target = 0
        self._reached = asyncio.Event()

    def __call__(self, event: ev.MonitorEvent) -> None:
        if isinstance(event, (ev.StreamStarted, ev.StreamEnded)):
            self.count += 1
            self.last = time.monotonic()
            if self.count >= self._target:
                self._reached.set()

    async def until(self, count: int, timeout: float, what: str) -> None:  # noqa: ASYNC109
        self._target = count
        self._reached.clear()
        if self.count >= count:
            return
        try:
            await asyncio.wait_for(self._reached.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"{what}: {self.count} of {count} committed") from None


@dataclass
class Figures:
    """One run: go-live latencies (s) and, per burst size, first frame sent to last published."""

    latencies: list[float] = field(default_factory=list)
    bursts: dict[int, float] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # this process's CPU seconds per burst
    # Of that, the event loop's thread (reading, parsing, queueing, announcing); the rest is
    # the other threads', the writer's above all.
    loop_cpu: dict[int, float] = field(default_factory=dict)


async def in_process(
    db_url: str | None, golives: int, bursts: Sequence[int], streamers: int = STREAMERS
) -> Figures:
    """Latencies of `golives` spaced go-lives, then each burst in turn, on `db_url` (a fresh
    SQLite file when None; a PostgreSQL database must be empty)."""
    if golives > streamers:
        raise ValueError("at most one go-live per streamer")
    tune_collector()  # as the `kickwatch` command does before anything else
    tune_switch_interval()
    kick = RemoteKick(streamers)
    home = Path(tempfile.mkdtemp(prefix="kickwatch-bench-"))
    figures = Figures()
    try:
        options = monitor_options(
            watch_interval=2.0,
            sleep_check_interval=5.0,
            pusher=pusher_options(aliases=False),
            max_pending=max([100_000, *(2 * b for b in bursts)]),
        )
        harness = make_harness(
            kick,  # type: ignore[arg-type]  # env() and channels are all a harness uses
            db_url or str(home / "kickwatch.db"),
            home,
            options=options,
        )
        with harness.ctx.database.handle.atomic():
            for channel in kick.channels:
                harness.add(channel)  # type: ignore[arg-type]
        arrivals = Arrivals()
        harness.monitor.bus.subscribe(arrivals)
        await harness.monitor.start()
        await harness.until_connected(timeout=120)

        for index in range(golives):
            before = arrivals.count
            kick.send([(index, 10_000_000 + index, True)])
            await arrivals.until(before + 1, 10, "a go-live")
            figures.latencies.append(arrivals.last - kick.sent())
            await asyncio.sleep(0.002)  # spaced out, not a burst
        if golives:
            # Close the broadcasts just opened, so a burst starts from everyone offline.
            before = arrivals.count
            kick.send([(index, 10_000_000 + index, False) for index in range(golives)])
            await arrivals.until(before + golives, 60, "the closing ends")
            kick.sent()

        for number, count in enumerate(bursts):
            if count % (2 * streamers):
                raise ValueError("a burst is whole start-and-stop rounds of every streamer")
            kick.prepare(count, 100_000_000 * (number + 1))
            rows_before = harness.ctx.repository.count_events()
            before = arrivals.count
            cpu, loop_cpu = time.process_time(), time.thread_time()  # this coroutine: the loop's
            kick.fire()
            await arrivals.until(before + count, 60 + count / 200, f"the burst of {count}")
            figures.cpu[count] = time.process_time() - cpu
            figures.loop_cpu[count] = time.thread_time() - loop_cpu
            figures.bursts[count] = arrivals.last - kick.sent()
            harness.ctx.database.close()
            stored = harness.ctx.repository.count_events() - rows_before
            if stored != count:
                raise RuntimeError(f"the burst of {count} stored {stored} rows")
        harness.ctx.database.close()
        await harness.monitor.stop()
        await harness.http.aclose()
        harness.ctx.close()
        return figures
    finally:
        kick.close()
        shutil.rmtree(home, ignore_errors=True)


def add_channels(kick: FakeKick) -> list[Any]:
    return [kick.add_channel(f"streamer{i:04d}") for i in range(STREAMERS)]


def send_frames(kick: FakeKick, frames: list[tuple[str, str]]) -> None:
    """Send frames from the fake's own loop (a thread of this process), back to back."""

    async def run() -> None:
        for name, text in frames:
            for conn in kick.pusher.subscribers(name):
                await conn.ws.send(text)

    loop = kick._thread_loop
    assert loop is not None
    asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=120)


def peak_rss_of_headless() -> float:
    """VmHWM (MB) of `kickwatch run` with STREAMERS streamers after 2,000 recorded changes."""
    from tests.cli.helpers import kickwatch_command, make_cli
    from tests.fakekick import CLIENT_ID, CLIENT_SECRET
    from tests.monitor.helpers import MASTER_KEY, open_test_context

    kick = FakeKick().start_in_thread()
    home = Path(tempfile.mkdtemp(prefix="kickwatch-bench-rss-"))
    process = None
    try:
        channels = add_channels(kick)
        ctx = open_test_context(str(home / "kickwatch.db"), home, kick, credentials=False)
        ctx.settings.set("auth.client_id", CLIENT_ID)
        ctx.settings.set("auth.client_secret", CLIENT_SECRET)
        with ctx.database.handle.atomic():
            for c in channels:
                ctx.repository.add_streamer(
                    c.slug, c.user_id, kick_channel_id=c.channel_id, slug=c.slug
                )
        ctx.close()
        cli = make_cli(home, KICKWATCH_MASTER_KEY=MASTER_KEY, **kick.env())
        process = subprocess.Popen(
            [*kickwatch_command(), "run", "--json"],
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while sum(len(c.subscriptions) for c in kick.pusher.open_connections) < STREAMERS:
            if time.monotonic() > deadline or process.poll() is not None:
                raise TimeoutError("kickwatch run did not subscribe every channel")
            time.sleep(0.05)
        while len(kick.control.requests_to("/public/v1/users/livestreams")) < STREAMERS // 100:
            time.sleep(0.05)
        frames = [frame(c.channel_id, 30_000_000 + i, True) for i, c in enumerate(channels)]
        frames += [frame(c.channel_id, 30_000_000 + i, False) for i, c in enumerate(channels)]
        send_frames(kick, frames)
        database = sqlite3.connect(home / "kickwatch.db")
        try:
            while (
                database.execute("SELECT COUNT(*) FROM status_event").fetchone()[0] < 2 * STREAMERS
            ):
                if time.monotonic() > deadline + 60:
                    raise TimeoutError("kickwatch run did not record the changes")
                time.sleep(0.05)
        finally:
            database.close()
        status = Path(f"/proc/{process.pid}/status").read_text()
        peak_kb = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
        )
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        return peak_kb / 1024
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        kick.stop_thread()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--golives", type=int, default=500)
    parser.add_argument("--burst", type=int, default=BURST)
    parser.add_argument("--db", default=None, help="a postgresql:// URL of an empty database")
    parser.add_argument("--no-rss", action="store_true", help="skip the kickwatch run RSS")
    args = parser.parse_args()

    p50s, p99s, rates, rss = [], [], [], []
    for _ in range(args.repeats):
        figures = asyncio.run(in_process(args.db, args.golives, [args.burst]))
        p50s.append(percentile(figures.latencies, 0.50) * 1000)
        p99s.append(percentile(figures.latencies, 0.99) * 1000)
        rates.append(args.burst / figures.bursts[args.burst])
        if not args.no_rss:
            rss.append(peak_rss_of_headless())

    print(f"machine: {machine()}")
    print(
        f"{STREAMERS} streamers, {args.golives} go-lives, burst of {args.burst} events; "
        f"medians of {args.repeats} runs"
    )
    rows = [
        ("push → committed + listener, p50", f"{statistics.median(p50s):.2f} ms", "-"),
        ("push → committed + listener, p99", f"{statistics.median(p99s):.2f} ms", "< 10 ms"),
        (
            f"burst of {args.burst} events committed",
            f"{statistics.median(rates):,.0f} ev/s",
            ">= 20,000 ev/s",
        ),
    ]
    if rss:
        rows.append(
            ("kickwatch run peak RSS (VmHWM)", f"{statistics.median(rss):.1f} MB", "< 120 MB")
        )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>12}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>12}  {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
