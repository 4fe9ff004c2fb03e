"""Scale benchmark (not a test): the headless app with 50,000 monitored streamers.

The real `kickwatch run --json` process, on a SQLite database holding 50,000 active streamers,
talks to the fake Kick (`tests/fakekick`: OAuth and the official API, in a thread of this
process) and to soketi as its Pusher server. Measured per run:

- time from launching the process to its report that every channel is subscribed (then checked
  on soketi's side: 50,000 occupied channels);
- time from launching to settled: every streamer's status checked through the official API
  (live-status requests of 100 users each), no request for 3 s and under 2 % of a core used in
  the last second; and how many such requests it made until then;
- peak resident memory (VmHWM) by then;
- idle CPU % over the next 10 s, and the RSS at the end.

    .venv/bin/python benchmarks/scale_bench.py [--repeats 3] [--quick]

`--quick` monitors 5,000 streamers and idles 3 s. The fake's lookup of a channel by user id is a
linear scan, fine for tests and quadratic here; the benchmark indexes it.
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pusher.processes import BenchmarkError, Soketi, cpu_seconds, memory_mb  # noqa: E402
from benchmarks.report import Measure  # noqa: E402

CONNECTED = re.compile(r"subscribed to ([\d,]+) channels")
SETTLE_SECONDS = 3.0  # no new live-status request for this long ...
QUIET_CPU = 0.02  # ... and under 2 % of a core over the last second: start-up is over


def build_home(kick: Any, streamers: int, log: Callable[[str], None]) -> Path:
    """A kickwatch home whose database monitors `streamers` channels of the fake Kick."""
    from tests.fakekick import CLIENT_ID, CLIENT_SECRET
    from tests.monitor.helpers import open_test_context

    home = Path(tempfile.mkdtemp(prefix="kickwatch-scale-"))
    started = time.monotonic()
    channels = [kick.add_channel(f"scale{i:06d}") for i in range(streamers)]
    by_user = {c.user_id: c for c in channels}
    kick.state.by_user_id = by_user.get  # the fake scans linearly; index it for 50,000
    ctx = open_test_context(str(home / "kickwatch.db"), home, kick, credentials=False)
    ctx.settings.set("auth.client_id", CLIENT_ID)
    ctx.settings.set("auth.client_secret", CLIENT_SECRET)
    with ctx.database.handle.atomic():
        for c in channels:
            ctx.repository.add_streamer(
                c.slug, c.user_id, kick_channel_id=c.channel_id, slug=c.slug
            )
    ctx.close()
    log(f"scale: {streamers:,} streamers stored in {time.monotonic() - started:.0f} s")
    return home


def _lines(stream: IO[str], into: queue.Queue[dict[str, Any] | None]) -> None:
    for line in stream:
        try:
            into.put(json.loads(line))
        except ValueError:
            continue
    into.put(None)


def one_run(
    kick: Any, soketi: Soketi, pristine: Path, streamers: int, idle_seconds: float
) -> dict[str, float]:
    """Launch `kickwatch run --json` on a copy of `pristine`; its figures for this run."""
    from tests.cli.helpers import kickwatch_command, make_cli
    from tests.monitor.helpers import MASTER_KEY

    home = Path(tempfile.mkdtemp(prefix="kickwatch-scale-run-"))
    shutil.copytree(pristine, home, dirs_exist_ok=True)
    env = {**kick.env(), "KICKWATCH_PUSHER_URL": soketi.url}
    cli = make_cli(home, KICKWATCH_MASTER_KEY=MASTER_KEY, **env)
    polls_before = len(kick.control.requests_to("/public/v1/users/livestreams"))
    errors = (home / "stderr.txt").open("w+")
    launched = time.monotonic()
    process = subprocess.Popen(
        [*kickwatch_command(), "run", "--json"],
        env=cli.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        subscribed = _until_subscribed(lines, streamers, launched + 600) - launched
        occupied = soketi.channel_count()
        if occupied != streamers:
            raise BenchmarkError(f"soketi has {occupied} occupied channels, not {streamers}")
        polls = (streamers + 99) // 100
        settled = _until_settled(process.pid, lambda: _polls(kick) - polls_before, polls) - launched
        requests = _polls(kick) - polls_before
        peak = memory_mb(process.pid, "VmHWM")
        before = cpu_seconds(process.pid)
        time.sleep(idle_seconds)
        idle = (cpu_seconds(process.pid) - before) / idle_seconds * 100
        rss = memory_mb(process.pid)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        return {
            "subscribed": subscribed,
            "settled": settled,
            "requests": requests,
            "peak": peak,
            "idle": idle,
            "rss": rss,
        }
    except BenchmarkError as exc:
        errors.seek(0)
        said = errors.read()[-2000:]
        raise BenchmarkError(f"{exc}\n--- kickwatch run said:\n{said}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        errors.close()
        shutil.rmtree(home, ignore_errors=True)


def _polls(kick: Any) -> int:
    return len(kick.control.requests_to("/public/v1/users/livestreams"))


def _until_settled(pid: int, polls: Callable[[], int], least: int) -> float:
    """The monotonic time the process has made at least `least` live-status requests, made no
    more for SETTLE_SECONDS and used less than QUIET_CPU of a core over its last second."""
    deadline = time.monotonic() + 600
    last_change, seen = time.monotonic(), polls()
    cpu = cpu_seconds(pid)
    while True:
        time.sleep(1.0)
        now, count, used = time.monotonic(), polls(), cpu_seconds(pid)
        if count != seen:
            last_change, seen = now, count
        quiet = used - cpu < QUIET_CPU
        cpu = used
        if seen >= least and quiet and now - last_change >= SETTLE_SECONDS:
            return now
        if now > deadline:
            raise BenchmarkError("kickwatch run did not settle within 600 s of being subscribed")


def _until_subscribed(
    lines: queue.Queue[dict[str, Any] | None], streamers: int, deadline: float
) -> float:
    """The monotonic time `kickwatch run` says it is connected with every channel subscribed."""
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise BenchmarkError("kickwatch run did not report every channel subscribed") from None
        if line is None:
            raise BenchmarkError("kickwatch run exited before it subscribed every channel")
        if line.get("event") != "connection_state" or line.get("state") != "connected":
            continue
        match = CONNECTED.search(str(line.get("detail", "")))
        if match and int(match.group(1).replace(",", "")) >= streamers:
            return time.monotonic()


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def measure(repeats: int, quick: bool, log: Callable[[str], None] | None = None) -> list[Measure]:
    """The scale measures, `repeats` runs of the real process; `log` gets progress lines."""
    log = log or progress
    from tests.fakekick import FakeKick

    streamers = 5000 if quick else 50_000
    idle_seconds = 3.0 if quick else 10.0
    kick = FakeKick().start_in_thread()
    pristine: Path | None = None
    runs: list[dict[str, float]] = []
    try:
        pristine = build_home(kick, streamers, log)
        with Soketi() as soketi:
            for run in range(1, repeats + 1):
                log(f"scale: run {run} of {repeats}")
                runs.append(one_run(kick, soketi, pristine, streamers, idle_seconds))
    finally:
        kick.stop_thread()
        if pristine is not None:
            shutil.rmtree(pristine, ignore_errors=True)
    n = f"{streamers:,} streamers"
    rows = [
        ("subscribed", f"launch to all subscribed, {n}", "s"),
        ("settled", f"launch to settled (reconciled, quiet), {n}", "s"),
        ("requests", f"official API live-status requests until settled, {n}", "requests"),
        ("peak", f"peak RSS (VmHWM), {n}", "MB"),
        ("idle", f"idle CPU %, {n}, {idle_seconds:g} s", "%"),
        ("rss", f"RSS after idling, {n}", "MB"),
    ]
    return [
        Measure("scale", name, "kickwatch", tuple(r[key] for r in runs), unit)
        for key, name, unit in rows
    ]


def main() -> int:
    from benchmarks import report
    from benchmarks.machine import describe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    measures = measure(args.repeats, args.quick, log=lambda line: print(line, file=sys.stderr))
    print(report.table(measures, describe()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
