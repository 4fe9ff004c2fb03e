"""The app shell with the recording notifier: policy through the UI, pause, mute, click, quit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from PySide6.QtCore import QUrl

from kickwatch.context import Context
from kickwatch.monitor.events import (
    ConnectionState,
    ConnectionStateChanged,
    DatabaseRecovered,
    DatabaseUnavailable,
    ErrorOccurred,
    ReconcileCompleted,
)
from kickwatch.platform.notifier import RecordingNotifier
from kickwatch.resources import TrayState
from kickwatch.ui.app import KickwatchApp
from kickwatch.ui.launch import NO_DISPLAY, has_display
from tests.ui.fakes import FakeAutostart, FakeMonitor


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def make_app(
    ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, *, tray: bool
) -> KickwatchApp:
    return KickwatchApp(
        ctx,
        monitor,
        notifier,
        tray_available=tray,
        autostart=FakeAutostart(),
        zone=UTC,
        group_window_seconds=0,
    )


@pytest.fixture
def app(
    ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qloop: Any, qtbot: Any
) -> Iterator[KickwatchApp]:
    kickwatch = make_app(ctx, monitor, notifier, tray=True)
    run(qtbot, kickwatch.start())
    yield kickwatch
    run(qtbot, kickwatch.shutdown())


def run(qtbot: Any, coroutine: Any) -> Any:
    """Run a coroutine on the attached qasync loop until it is done."""
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=5000)
    return task.result()


def add(ctx: Context, name: str, **prefs: object) -> None:
    record = ctx.repository.add_streamer(name, abs(hash(name)) % 10**6 + 1)
    if prefs:
        ctx.repository.update_streamer(record.username, **prefs)


def test_a_go_live_becomes_a_notification_with_buttons(
    app: KickwatchApp, ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qtbot: Any
) -> None:
    add(ctx, "alice")
    monitor.go_live("alice", title="Speedruns", category="Retro")
    qtbot.waitUntil(lambda: len(notifier.sent) == 1)
    sent = notifier.sent[0]
    assert sent.title == "alice is live"
    assert sent.body == "Speedruns · Retro"
    assert [b.label for b in sent.buttons] == ["Open", "Mute"]
    assert app.tray is not None and app.tray.state is TrayState.LIVE
    assert app.tray.badge == "1"


def test_streams_already_live_at_start_up_are_silent(
    app: KickwatchApp, ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qtbot: Any
) -> None:
    add(ctx, "alice")
    monitor.go_live("alice", initial=True)
    qtbot.waitUntil(lambda: app.tray is not None and app.tray.badge == "1")
    assert notifier.sent == []


def test_clicking_opens_the_stream_in_the_browser(
    app: KickwatchApp, ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qtbot: Any
) -> None:
    opened: list[QUrl] = []
    app.opener._open_url = lambda url: opened.append(url) or True
    add(ctx, "alice")
    monitor.go_live("alice")
    qtbot.waitUntil(lambda: len(notifier.sent) == 1)
    notifier.click()
    notifier.press("Open")
    assert [u.toString() for u in opened] == ["https://kick.com/alice"] * 2


def test_the_player_command_is_run_without_a_shell(
    app: KickwatchApp, ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qtbot: Any
) -> None:
    started: list[tuple[str, list[str]]] = []
    app.opener._start_detached = lambda program, args: started.append((program, args)) or True
    ctx.settings.set("system.player_command", "streamlink '{url}' best")
    add(ctx, "alice")
    monitor.go_live("alice")
    qtbot.waitUntil(lambda: len(notifier.sent) == 1)
    notifier.click()
    assert started == [("streamlink", ["https://kick.com/alice", "best"])]


def test_mute_button_mutes_the_streamer(
    app: KickwatchApp, ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qtbot: Any
) -> None:
    add(ctx, "alice")
    monitor.go_live("alice")
    qtbot.waitUntil(lambda: len(notifier.sent) == 1)
    with qtbot.waitSignal(app.controller.streamer_muted):
        notifier.press("Mute")
    record = ctx.repository.get_by_username("alice")
    assert record is not None and record.is_muted
    assert monitor.changed == 1


def test_offline_alert_only_for_streamers_that_want_it(
    app: KickwatchApp, ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qtbot: Any
) -> None:
    ctx.settings.set("system.offline_grace_seconds", "0")
    ctx.settings.set("system.restart_cooldown_seconds", "0")
    app.reload_settings()
    add(ctx, "alice", notify_on_end=True)
    add(ctx, "bob")
    for name in ("alice", "bob"):
        monitor.go_live(name)
    qtbot.waitUntil(lambda: len(notifier.sent) == 2)
    monitor.go_offline("alice")
    monitor.go_offline("bob")
    qtbot.waitUntil(lambda: len(notifier.sent) == 3)
    assert notifier.titles[-1] == "alice went offline"
    assert [b.label for b in notifier.sent[-1].buttons] == ["Open", "Mute"]


def test_pause_from_the_menu_silences_and_is_stored(
    app: KickwatchApp, ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qtbot: Any
) -> None:
    add(ctx, "alice")
    assert app.tray is not None
    app.tray.menu.rebuild()
    pause = next(a.menu() for a in app.tray.menu.actions() if a.text() == "Pause notifications")
    pause.actions()[0].trigger()
    qtbot.waitUntil(lambda: app.tray is not None and app.tray.state is TrayState.PAUSED)
    assert ctx.settings.get("system.paused_until") != ""
    monitor.go_live("alice")
    qtbot.waitUntil(lambda: app.tray is not None and "1 live" in app.tray.tray.toolTip())
    assert notifier.sent == []
    run(qtbot, app.set_pause(None))
    assert ctx.settings.get("system.paused_until") == ""
    assert app.tray.state is TrayState.LIVE


def test_monitor_state_reaches_the_tray(
    app: KickwatchApp, monitor: FakeMonitor, ctx: Context, qtbot: Any
) -> None:
    tray = app.tray
    assert tray is not None
    now = ctx.clock.now()
    monitor.bus.publish(
        ConnectionStateChanged(ConnectionState.RECONNECTING, "network down", since=now)
    )
    assert tray.state is TrayState.DEGRADED
    assert f"Kick unreachable since {now.astimezone(UTC):%H:%M}" in tray.tray.toolTip()
    monitor.bus.publish(ConnectionStateChanged(ConnectionState.CONNECTED))
    monitor.bus.publish(ReconcileCompleted(at=now, checked=3))
    assert f"Last checked {now.astimezone(UTC):%H:%M}" in tray.tray.toolTip()
    monitor.bus.publish(DatabaseUnavailable("disk full", pending=4))
    assert tray.state is TrayState.DEGRADED
    monitor.bus.publish(DatabaseRecovered(flushed=4))
    assert tray.state is TrayState.IDLE
    monitor.bus.publish(ErrorOccurred("credentials rejected", fatal=True))
    assert tray.state is TrayState.ERROR


def test_quit_stops_the_monitor_and_ends_the_wait(
    ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qloop: Any, qtbot: Any
) -> None:
    kickwatch = make_app(ctx, monitor, notifier, tray=True)
    run(qtbot, kickwatch.start())
    assert monitor.started
    waiting = asyncio.ensure_future(kickwatch.wait_for_quit())
    assert kickwatch.tray is not None
    kickwatch.tray.menu.rebuild()
    next(a for a in kickwatch.tray.menu.actions() if a.text() == "Quit").trigger()
    qtbot.waitUntil(waiting.done)
    assert waiting.result() == 0
    run(qtbot, kickwatch.shutdown())
    assert monitor.stopped


def test_without_a_system_tray_a_main_window_is_shown(
    ctx: Context, monitor: FakeMonitor, notifier: RecordingNotifier, qloop: Any, qtbot: Any
) -> None:
    kickwatch = make_app(ctx, monitor, notifier, tray=False)
    run(qtbot, kickwatch.start())
    window = kickwatch.window
    assert kickwatch.tray is None and window is not None and window.isVisible()
    add(ctx, "alice")
    monitor.go_live("alice")
    qtbot.waitUntil(lambda: window.live_list.count() == 1)
    assert window.live_list.item(0).text().startswith("alice · Just Chatting")
    with qtbot.waitSignal(kickwatch.quit_requested):
        window.close()
    run(qtbot, kickwatch.shutdown())
    assert monitor.stopped


def test_settings_and_history_windows_open_once(app: KickwatchApp, qtbot: Any) -> None:
    app.show_settings()
    first = app.settings_dialog
    app.show_settings()
    assert app.settings_dialog is first and first is not None and first.isVisible()
    app.show_history()
    assert app.history_window is not None and app.history_window.isVisible()


# -- launching without a display ------------------------------------------------------------


def test_display_detection() -> None:
    assert not has_display({}, "linux")
    assert has_display({"DISPLAY": ":0"}, "linux")
    assert has_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert has_display({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert has_display({}, "win32")


def test_without_a_display_kickwatch_says_so_and_never_imports_qt(tmp_path: Any) -> None:
    code = (
        "import sys\n"
        "from kickwatch.cli import main\n"
        "rc = main([])\n"
        "assert 'PySide6' not in sys.modules, 'Qt was imported'\n"
        "sys.exit(rc)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KICKWATCH_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == NO_DISPLAY
    assert NO_DISPLAY.startswith("kickwatch: no graphical display found")
