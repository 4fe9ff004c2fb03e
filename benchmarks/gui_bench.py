"""GUI benchmark (not a test): start-up to a visible tray icon, tray menu opening, idle RSS and CPU.

Runs the real `kickwatch` process on a private virtual desktop (Xvfb, session D-Bus, dunst,
xfce4-panel; see tests/desktop/session.py) against the fake Kick, with 1,000 streamers, and
measures the tray menu in-process with 200 live streamers. Prints a table with the machine it
ran on; figures are medians over `--repeats` runs.

    .venv/bin/python benchmarks/gui_bench.py [--repeats 5] [--idle-seconds 60]

Goals: start-up < 1.5 s, menu < 50 ms, RSS < 150 MB, idle CPU < 1 %.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe  # noqa: E402

STREAMERS = 1000
LIVE_IN_MENU = 200
TICKS = os.sysconf("SC_CLK_TCK")


def machine() -> str:
    from PySide6 import __version__ as pyside

    return describe(f"PySide6 {pyside}")


def prepare(home: Path, kick: object) -> None:
    """A store with STREAMERS streamers known to the fake Kick."""
    from kickwatch.context import open_context
    from tests.fakekick import CLIENT_ID, CLIENT_SECRET

    env = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": "bench"}
    ctx = open_context(None, environ=env)
    try:
        for number in range(STREAMERS):
            channel = kick.add_channel(f"streamer{number:04d}")  # type: ignore[attr-defined]
            ctx.repository.add_streamer(
                channel.slug, channel.user_id, kick_channel_id=channel.channel_id
            )
        ctx.settings.set_many({"auth.client_id": CLIENT_ID, "auth.client_secret": CLIENT_SECRET})
    finally:
        ctx.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait(predicate: Callable[[], object], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def desktop_runs(repeats: int, idle_seconds: float) -> dict[str, list[float]]:
    from tests.desktop.session import VirtualDesktop, missing_tools
    from tests.fakekick import FakeKick

    missing = missing_tools()
    if missing:
        print(f"skipping start-up, RSS and idle CPU: missing {', '.join(missing)}")
        return {}
    results: dict[str, list[float]] = {"startup": [], "rss": [], "cpu": []}
    with tempfile.TemporaryDirectory(prefix="kickwatch-bench-") as folder:
        root = Path(folder)
        desktop = VirtualDesktop(root / "desktop")
        kick = FakeKick().start_in_thread()
        try:
            desktop.start()
            prepare(root / "home", kick)
            env = desktop.env()
            env.update(kick.env())
            env.update(
                {
                    "KICKWATCH_HOME": str(root / "home"),
                    "KICKWATCH_MASTER_KEY": "bench",
                    "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                }
            )
            for run in range(repeats):
                started = time.perf_counter()
                app = subprocess.Popen(
                    [sys.executable, "-m", "kickwatch"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    if not wait(lambda: desktop.tray_items(), 30):
                        raise SystemExit("the tray icon never appeared")
                    results["startup"].append(time.perf_counter() - started)
                    if run == repeats - 1:
                        # Let start-up work (subscriptions, first reconciliation) finish.
                        time.sleep(5)
                        results["rss"].append(rss_mb(app.pid))
                        before, t0 = cpu_seconds(app.pid), time.perf_counter()
                        time.sleep(idle_seconds)
                        used = cpu_seconds(app.pid) - before
                        results["cpu"].append(100 * used / (time.perf_counter() - t0))
                        results["rss"].append(rss_mb(app.pid))
                finally:
                    app.send_signal(signal.SIGTERM)
                    app.wait(timeout=30)
                    wait(lambda: not desktop.tray_items(), 10, 0.02)
        finally:
            kick.stop_thread()
            desktop.stop()
    return results


def menu_runs(repeats: int) -> list[float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication

    from kickwatch.domain.records import StreamerRecord
    from kickwatch.domain.status import Status
    from kickwatch.ui.tray import TrayMenu
    from kickwatch.ui.tray_model import TrayViewModel

    app = QApplication.instance() or QApplication([])
    now = datetime.now(UTC)
    live = [
        StreamerRecord(
            id=n,
            kick_user_id=n,
            username=f"s{n:04d}",
            display_name=f"Streamer {n:04d}",
            status=Status.ONLINE,
            is_active=True,
            created_at=now,
            updated_at=now,
            current_title=f"Stream number {n} with a reasonably long title",
            current_category="Just Chatting",
            current_viewers=1000 + n,
            current_broadcast_started_at=now - timedelta(minutes=n),
        )
        for n in range(LIVE_IN_MENU)
    ]
    model = TrayViewModel(lambda: live, UTC)
    menu = TrayMenu(model, lambda: datetime.now(UTC))
    timings = []
    for _ in range(max(repeats, 20)):
        started = time.perf_counter()
        menu.popup(QPoint(10, 10))  # emits aboutToShow, which rebuilds the menu
        app.processEvents()
        timings.append(time.perf_counter() - started)
        menu.hide()
        app.processEvents()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    menu = menu_runs(args.repeats)
    desktop = desktop_runs(args.repeats, args.idle_seconds)
    rows = [
        (
            f"tray menu opens, {LIVE_IN_MENU} live",
            f"{statistics.median(menu) * 1000:.1f} ms",
            "< 50 ms",
            len(menu),
        ),
    ]
    if desktop:
        rows[:0] = [
            (
                f"start-up to visible tray icon, {STREAMERS} streamers",
                f"{statistics.median(desktop['startup']):.2f} s",
                "< 1.5 s",
                len(desktop["startup"]),
            ),
        ]
        rows += [
            (f"RSS idle, {STREAMERS} streamers", f"{max(desktop['rss']):.0f} MB", "< 150 MB", 1),
            (f"CPU idle over {args.idle_seconds:.0f} s", f"{desktop['cpu'][0]:.2f} %", "< 1 %", 1),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'result':>10}  {'goal':>9}  runs")
    for name, value, goal, runs in rows:
        print(f"{name.ljust(width)}  {value:>10}  {goal:>9}  {runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
