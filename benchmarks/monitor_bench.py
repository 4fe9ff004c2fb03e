"""Monitor benchmark (not a test): push-to-commit latency, a burst of events, headless RSS.

With 1,000 monitored streamers on the fake Kick (its servers in a thread of this process, or
serving a `kickwatch run` subprocess):

- latency: from a StreamerIsLive frame leaving the fake server's socket to the committed
  stream_start row and the bus listener's call, over `--golives` go-lives spaced apart;
- burst: 10,000 start/stop frames sent back to back, until every one is committed (SQLite);
- RSS: peak resident memory (VmHWM) of the headless `kickwatch run` process with 1,000
  streamers, after it subscribed everything, reconciled, and recorded 2,000 changes.

Prints a table with the machine it ran on; figures are medians over `--repeats` runs.

    .venv/bin/python benchmarks/monitor_bench.py [--repeats 3] [--golives 500]

Goals: latency p99 < 20 ms, burst < 2 s, RSS < 120 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe  # noqa: E402
from kickwatch.domain.status import EventType  # noqa: E402
from kickwatch.monitor import events as ev  # noqa: E402
from tests.fakekick import FakeKick  # noqa: E402
from tests.fakekick.pusher_server import STOP_STREAM_BROADCAST, STREAMER_IS_LIVE  # noqa: E402
from tests.monitor.helpers import make_harness, monitor_options, pusher_options  # noqa: E402

STREAMERS = 1000
BURST = 10_000


def machine() -> str:
    return describe(f"SQLite {sqlite3.sqlite_version}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def frame(channel_id: int, livestream_id: int, start: bool) -> tuple[str, str]:
    """A channel frame as Kick sends it. Starts carry a `created_at` ahead of the clock: the
    store clamps it to the receive time, so back-to-back broadcasts of one streamer stay in
    order (a real broadcast lasts longer than the second-precision timestamps Kick sends)."""
    name = f"channel.{channel_id}"
    if start:
        ahead = datetime.now(UTC) + timedelta(hours=1)
        data: dict[str, Any] = {
            "livestream": {
                "id": livestream_id,
                "channel_id": channel_id,
                "session_title": "bench",
                "created_at": ahead.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        }
        event = STREAMER_IS_LIVE
    else:
        data = {"livestream": {"id": livestream_id, "channel": {"id": channel_id}}}
        event = STOP_STREAM_BROADCAST
    return name, json.dumps({"event": event, "channel": name, "data": json.dumps(data)})


def send_frames(kick: FakeKick, frames: list[tuple[str, str]]) -> float:
    """Send frames from the fake's own loop, back to back; returns when the first one left."""

    async def run() -> float:
        first = 0.0
        for index, (name, text) in enumerate(frames):
            for conn in kick.pusher.subscribers(name):
                if index == 0:
                    first = time.perf_counter()
                await conn.ws.send(text)
        return first

    loop = kick._thread_loop
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=120)


def add_channels(kick: FakeKick) -> list[Any]:
    return [kick.add_channel(f"streamer{i:04d}") for i in range(STREAMERS)]


async def wait_until(predicate: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.001)


async def in_process(golives: int) -> tuple[list[float], float]:
    """Latencies (s) of `golives` spaced go-lives, and the time to commit a BURST burst."""
    kick = FakeKick().start_in_thread()
    home = Path(tempfile.mkdtemp(prefix="kickwatch-bench-"))
    try:
        channels = add_channels(kick)
        options = monitor_options(
            watch_interval=2.0, sleep_check_interval=5.0, pusher=pusher_options(aliases=False)
        )
        harness = make_harness(kick, str(home / "kickwatch.db"), home, options=options)
        with harness.ctx.database.handle.atomic():
            for channel in channels:
                harness.add(channel)
        arrivals: dict[int, float] = {}

        def listener(event: ev.MonitorEvent) -> None:
            if isinstance(event, (ev.StreamStarted, ev.StreamEnded)):
                arrivals[event.event.id] = time.perf_counter()

        harness.monitor.bus.subscribe(listener)
        await harness.monitor.start()
        await harness.until_connected(timeout=60)

        latencies = []
        for index in range(golives):
            channel = channels[index % STREAMERS]
            before = len(arrivals)
            sent = send_frames(kick, [frame(channel.channel_id, 10_000_000 + index, True)])
            await wait_until(lambda b=before: len(arrivals) > b, 5, "a go-live")
            latencies.append(max(arrivals.values()) - sent)
            await asyncio.sleep(0.002)  # spaced out, not a burst

        # Close the broadcasts just opened, so the burst starts from everyone offline.
        closing = [
            frame(channels[i].channel_id, 10_000_000 + i, False)
            for i in range(min(golives, STREAMERS))
        ]
        before = len(arrivals)
        send_frames(kick, closing)
        await wait_until(lambda: len(arrivals) >= before + len(closing), 30, "the closing ends")

        burst = []
        for index in range(BURST):
            channel = channels[index % STREAMERS]
            rnd = index // STREAMERS
            burst.append(
                frame(
                    channel.channel_id,
                    20_000_000 + (rnd // 2) * 10_000 + index % STREAMERS,
                    rnd % 2 == 0,
                )
            )
        rows_before = harness.ctx.repository.count_events()
        before = len(arrivals)
        first = send_frames(kick, burst)
        await wait_until(lambda: len(arrivals) >= before + BURST, 60, "the burst")
        burst_seconds = max(arrivals.values()) - first
        harness.ctx.database.close()
        assert harness.ctx.repository.count_events() - rows_before == BURST
        assert harness.ctx.repository.count_events(event_type=EventType.STREAM_START) > 0
        await harness.monitor.stop()
        await harness.http.aclose()
        harness.ctx.close()
        return latencies, burst_seconds
    finally:
        kick.stop_thread()


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--golives", type=int, default=500)
    args = parser.parse_args()

    p50s, p99s, bursts, rss = [], [], [], []
    for _ in range(args.repeats):
        latencies, burst = asyncio.run(in_process(args.golives))
        p50s.append(percentile(latencies, 0.50) * 1000)
        p99s.append(percentile(latencies, 0.99) * 1000)
        bursts.append(burst)
        rss.append(peak_rss_of_headless())

    print(f"machine: {machine()}")
    print(
        f"{STREAMERS} streamers, {args.golives} go-lives, burst of {BURST} events; "
        f"medians of {args.repeats} runs"
    )
    rows = [
        ("push → committed + listener, p50", f"{statistics.median(p50s):.2f} ms", "-"),
        ("push → committed + listener, p99", f"{statistics.median(p99s):.2f} ms", "< 20 ms"),
        (f"burst of {BURST} events committed", f"{statistics.median(bursts):.2f} s", "< 2 s"),
        ("kickwatch run peak RSS (VmHWM)", f"{statistics.median(rss):.1f} MB", "< 120 MB"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>10}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>10}  {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
