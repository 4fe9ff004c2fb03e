"""The tray and the fallback window tell the truth: since when Kick is unreachable and when the
next attempt is (counting down as the clock moves), when the last check ran and that it failed,
"status unknown" rather than "nobody live" when nothing is known; the window without a tray shows
a placeholder for an empty list, and the real app without a tray quits cleanly (Quit, SIGTERM).

The clock is a `ManualClock` and the countdown timer is fired by hand: nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import shiboken6

from kickwatch.context import Context, open_context
from kickwatch.monitor.events import (
    ConnectionState,
    ConnectionStateChanged,
    ReconcileCompleted,
    ReconcileFailed,
)
from kickwatch.platform.notifier import RecordingNotifier
from kickwatch.ui.app import KickwatchApp
from kickwatch.ui.main_window import MainWindow
from tests.clock import ManualClock
from tests.fakekick import FakeKick
from tests.fakekick.home import NoKeyring, home_watching
from tests.fakekick.waiting import wait_for_sync
from tests.ui.fakes import FakeAutostart, FakeMonitor

ZONE = timezone(timedelta(hours=1))  # local time is UTC+1: 09:02 UTC is shown as 10:02
OUTAGE = datetime(2026, 3, 2, 9, 2, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
MASTER_KEY = "tray-truth-key"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(OUTAGE)


@pytest.fixture
def clocked_ctx(tmp_path: Path, clock: ManualClock) -> Iterator[Context]:
    """A real SQLite store whose clock the test moves."""
    context = open_context(
        str(tmp_path / "k.db"),
        environ={"KICKWATCH_HOME": str(tmp_path), "KICKWATCH_MASTER_KEY": MASTER_KEY},
        keyring_module=NoKeyring(),
        clock=clock,
    )
    try:
        yield context
    finally:
        context.close()


def run(qtbot: Any, coroutine: Any) -> Any:
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=5000)
    return task.result()


@pytest.fixture
def make_app(
    clocked_ctx: Context, qloop: Any, qtbot: Any
) -> Iterator[tuple[KickwatchApp, FakeMonitor]]:
    made: list[KickwatchApp] = []

    def make(*, tray: bool) -> tuple[KickwatchApp, FakeMonitor]:
        monitor = FakeMonitor(clocked_ctx)
        monitor.connection_state = ConnectionState.CONNECTING
        app = KickwatchApp(
            clocked_ctx,
            monitor,
            RecordingNotifier(),
            tray_available=tray,
            autostart=FakeAutostart(),
            zone=ZONE,
            group_window_seconds=0,
        )
        made.append(app)
        run(qtbot, app.start())
        return app, monitor

    yield make  # type: ignore[misc]
    for app in made:
        run(qtbot, app.shutdown())


def tooltip(app: KickwatchApp) -> list[str]:
    assert app.tray is not None
    return app.tray.tray.toolTip().splitlines()


def tick(app: KickwatchApp, clock: ManualClock, seconds: float) -> None:
    """Time passes, and the countdown timer fires (by hand)."""
    assert app.countdown_timer.isActive()
    clock.advance(seconds)
    app.countdown_timer.timeout.emit()


def outage(since: datetime, retry_at: datetime) -> ConnectionStateChanged:
    """What the monitor publishes for each wait of one outage."""
    wait = (retry_at - since).total_seconds()
    return ConnectionStateChanged(
        ConnectionState.RECONNECTING,
        f"cannot reach Kick's Pusher (OSError); reconnecting in {wait:.1f} s",
        since=since,
        retry_at=retry_at,
    )


def after(seconds: float, start: datetime = OUTAGE) -> datetime:
    return start + timedelta(seconds=seconds)


def test_during_an_outage_the_tooltip_says_since_when_and_counts_down(
    make_app: Any, clocked_ctx: Context, clock: ManualClock
) -> None:
    app, monitor = make_app(tray=True)
    clocked_ctx.repository.add_streamer("alice", 11)
    monitor.bus.publish(ConnectionStateChanged(ConnectionState.CONNECTED, since=OUTAGE))
    monitor.bus.publish(ReconcileCompleted(at=OUTAGE - timedelta(minutes=1), checked=1))
    assert not app.countdown_timer.isActive()  # nothing counts down: the app stays idle

    monitor.bus.publish(outage(OUTAGE, after(12.0)))
    assert tooltip(app)[1:] == [
        "Kick unreachable since 10:02, retrying in 12 s",
        "Last checked 10:01",
    ]
    assert app.countdown_timer.isActive() and app.countdown_timer.isSingleShot()
    assert 1000 <= app.countdown_timer.interval() <= 1010  # the next change of the text
    for left in (11, 10, 9):
        tick(app, clock, 1.0)
        assert tooltip(app)[1] == f"Kick unreachable since 10:02, retrying in {left} s"
    tick(app, clock, 9.0)
    assert tooltip(app)[1] == "Kick unreachable since 10:02, retrying now"
    assert not app.countdown_timer.isActive()

    clock.advance(1.0)  # the next attempt fails too: same outage, a new wait
    monitor.bus.publish(outage(OUTAGE, after(4.5, clock.now())))
    assert tooltip(app)[1] == "Kick unreachable since 10:02, retrying in 5 s"
    assert 500 <= app.countdown_timer.interval() <= 510
    tick(app, clock, 0.5)
    assert tooltip(app)[1] == "Kick unreachable since 10:02, retrying in 4 s"

    monitor.bus.publish(ConnectionStateChanged(ConnectionState.CONNECTED, since=clock.now()))
    assert tooltip(app)[1] == "Connected"
    assert not app.countdown_timer.isActive()


def test_after_a_failed_check_the_tooltip_says_when_and_that_it_failed(
    make_app: Any, clocked_ctx: Context
) -> None:
    app, monitor = make_app(tray=True)
    clocked_ctx.repository.add_streamer("alice", 11)
    monitor.bus.publish(
        ReconcileFailed(at=OUTAGE - timedelta(minutes=1), reason="Kick answered 503")
    )
    assert tooltip(app)[0] == "kickwatch — status unknown"
    assert "Last checked 10:01: failed (Kick answered 503)" in tooltip(app)
    assert app.tray is not None and app.tray.state.value == "idle"

    monitor.bus.publish(ConnectionStateChanged(ConnectionState.CONNECTED, since=OUTAGE))
    monitor.bus.publish(ReconcileCompleted(at=OUTAGE, checked=1))
    assert tooltip(app)[0] == "kickwatch — nobody live"
    assert tooltip(app)[-1] == "Last checked 10:02"


def test_nobody_live_is_said_only_when_it_is_known(make_app: Any, clocked_ctx: Context) -> None:
    app, monitor = make_app(tray=True)
    assert tooltip(app)[0] == "kickwatch — no streamers to watch"
    clocked_ctx.repository.add_streamer("alice", 11)  # never seen: its status is unknown
    app.refresh()
    assert tooltip(app)[0] == "kickwatch — status unknown"
    assert tooltip(app)[-1] == "Not checked yet"
    monitor.bus.publish(ConnectionStateChanged(ConnectionState.CONNECTED, since=OUTAGE))
    assert tooltip(app)[0] == "kickwatch — status unknown"  # connected, but nothing checked
    monitor.bus.publish(ReconcileCompleted(at=OUTAGE, checked=1))
    assert tooltip(app)[0] == "kickwatch — nobody live"
    monitor.bus.publish(outage(OUTAGE, after(30.0)))  # disconnected, alice never seen
    assert tooltip(app)[0] == "kickwatch — status unknown"
    assert app.tray is not None
    app.tray.menu.rebuild()
    entries = [a.text() for a in app.tray.menu.actions() if not a.isSeparator()]
    assert entries[:2] == ["Status unknown", "Kick unreachable since 10:02, retrying in 30 s"]


def test_the_fallback_window_shows_a_placeholder_and_the_true_state(
    make_app: Any, clocked_ctx: Context, clock: ManualClock, qtbot: Any
) -> None:
    app, monitor = make_app(tray=False)
    window = app.window
    assert isinstance(window, MainWindow) and window.isVisible()
    clocked_ctx.repository.add_streamer("alice", 11)
    monitor.bus.publish(outage(OUTAGE, after(12.0)))
    assert window.live_list.isHidden() and not window.placeholder.isHidden()
    assert (
        window.placeholder.text() == "Status unknown: Kick has not been checked successfully yet."
    )
    assert "Kick unreachable since 10:02, retrying in 12 s" in window.status.text()
    tick(app, clock, 2.0)
    assert "Kick unreachable since 10:02, retrying in 10 s" in window.status.text()

    monitor.bus.publish(ConnectionStateChanged(ConnectionState.CONNECTED, since=clock.now()))
    monitor.bus.publish(ReconcileCompleted(at=clock.now(), checked=1))
    assert window.placeholder.text() == "Nobody is live right now."
    monitor.go_live("alice")
    qtbot.waitUntil(lambda: window.live_list.count() == 1)
    assert not window.live_list.isHidden() and window.placeholder.isHidden()


def test_the_monitor_closing_during_shutdown_redraws_nothing(make_app: Any, qtbot: Any) -> None:
    app, monitor = make_app(tray=False)
    window = app.window
    assert window is not None

    gone = asyncio.Event()
    window.destroyed.connect(lambda: gone.set())

    async def stop_as_the_monitor_does() -> None:
        # The real monitor publishes "closed" while it stops, after the window has gone.
        async with asyncio.timeout(5):
            await gone.wait()
        assert not shiboken6.isValid(window)
        monitor.bus.publish(ConnectionStateChanged(ConnectionState.CLOSED, "stopped"))
        monitor.stopped = True

    monitor.stop = stop_as_the_monitor_does  # type: ignore[method-assign]
    run(qtbot, app.shutdown())  # an exception in a slot would fail this test
    assert monitor.stopped and not app.countdown_timer.isActive()


# -- the real app without a system tray ------------------------------------------------------

QUIT_DRIVER = """
import sys

from kickwatch.ui import app as app_module

start = app_module.KickwatchApp.start


async def start_then_press_quit(self):
    await start(self)

    def press_quit(_event):  # after the first check of Kick, as a person would
        self.bridge.reconciled.disconnect(press_quit)
        print("placeholder:", self.window.placeholder.text(), flush=True)
        self.window.quit_button.click()

    self.bridge.reconciled.connect(press_quit)


app_module.KickwatchApp.start = start_then_press_quit
from kickwatch.cli import main

sys.exit(main([]))
"""


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    fake = FakeKick().start_in_thread()
    try:
        yield fake
    finally:
        fake.stop_thread()


@pytest.fixture
def app_env(kick: FakeKick, tmp_path: Path) -> dict[str, str]:
    """The environment of a `kickwatch` process without a tray: offscreen, one streamer."""
    home = tmp_path / "home"
    home_watching(home, kick, "alice", MASTER_KEY)
    env = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": MASTER_KEY}
    env.update(kick.env())
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
    )
    return env


def streamer_status(env: dict[str, str]) -> str:
    database = Path(env["KICKWATCH_HOME"]) / "kickwatch.db"
    if not database.exists():
        return ""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        row = connection.execute("SELECT status FROM streamer WHERE username = 'alice'").fetchone()
    return str(row[0]) if row else ""


@pytest.mark.slow
def test_quit_in_the_window_exits_0_without_a_traceback(app_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", QUIT_DRIVER],
        env=app_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "placeholder: Nobody is live right now." in result.stdout


@pytest.mark.slow
def test_sigterm_exits_0_without_a_traceback(app_env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "kickwatch"],
        env=app_env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_sync(
            lambda: streamer_status(app_env) == "offline", 30, what="the first check of Kick"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err


def test_a_failing_alert_target_is_in_the_tooltip_and_the_menu_until_it_works_again(
    make_app: Any, clocked_ctx: Context
) -> None:
    from kickwatch.alerts.dispatcher import TargetHealth, TargetState

    app, monitor = make_app(tray=True)
    monitor.bus.publish(ConnectionStateChanged(ConnectionState.CONNECTED, since=OUTAGE))
    failing = TargetHealth(
        "phone",
        "ntfy://ntfy.example/****",
        TargetState.FAILING,
        waiting=2,
        failures=3,
        last_error="connection refused",
    )
    app.on_alerts_health(failing)
    assert "Alert target phone failing: connection refused" in tooltip(app)
    assert "Alert target phone failing: connection refused" in app.model.problem_lines(OUTAGE)

    app.on_alerts_health(TargetHealth("phone", "ntfy://ntfy.example/****", TargetState.OK, 0))
    assert not any("Alert target" in line for line in tooltip(app))
    assert app.model.problem_lines(OUTAGE) == []
