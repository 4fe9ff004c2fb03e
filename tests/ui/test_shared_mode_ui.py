"""The tray app in the shared mode, offscreen, on a real PostgreSQL that another writer fills: it
makes no connection to Kick at all (the fake Kick it is pointed at sees no Pusher connection and
no HTTP request), notifies once per committed change through the notification policy (a live
title or category change too, which also reaches its alert targets once), and says that it
follows the shared database, also while that link is down. The settings dialog shows and chooses
the mode; `shared` is refused on SQLite by the dialog and by start-up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from PySide6.QtWidgets import QComboBox

from kickwatch.alerts.targets import TargetStore
from kickwatch.context import Context, open_context
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import DetailsSeen
from kickwatch.domain.status import EventType
from kickwatch.monitor.events import ConnectionState
from kickwatch.monitor.shared import SharedMonitor, desktop_monitor
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.platform.notifier import RecordingNotifier
from kickwatch.store import StatusChange
from kickwatch.store.repository import Repository
from kickwatch.store.rules import RuleStore
from kickwatch.ui.app import KickwatchApp
from kickwatch.ui.settings.dialog import SettingsDialog
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeKick
from tests.fakekick.home import NoKeyring
from tests.ui.fakes import FakeAutostart, FakeMonitor

MASTER_KEY = "shared-mode-key"
REPO = Path(__file__).resolve().parents[2]


def run(qtbot: Any, coroutine: Any) -> Any:
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=10000)
    return task.result()


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    fake = FakeKick().start_in_thread()
    try:
        yield fake
    finally:
        fake.stop_thread()


def open_desktop_context(url: str, home: Path, kick: FakeKick) -> Context:
    """A desktop's context whose Kick endpoints all point at the fake."""
    environ = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": MASTER_KEY, **kick.env()}
    return open_context(url, environ=environ, keyring_module=NoKeyring(), clock=ManualClock())


def close(ctx: Context) -> None:
    """Close every connection of the context's pool, those the GUI's worker threads took too."""
    close_all = getattr(ctx.database.handle, "close_all", None)
    if close_all is not None:
        close_all()
    ctx.close()


@pytest.fixture
def desktop_ctx(pg_url: str, tmp_path: Path, kick: FakeKick) -> Iterator[Context]:
    """Shared mode on PostgreSQL, with the credentials a local monitor would connect with."""
    ctx = open_desktop_context(pg_url, tmp_path, kick)
    ctx.settings.set_many(
        {
            "auth.client_id": CLIENT_ID,
            "auth.client_secret": CLIENT_SECRET,
            "monitoring.mode": "shared",
            "system.offline_grace_seconds": "0",
        }
    )
    try:
        yield ctx
    finally:
        close(ctx)


@dataclass
class Desktop:
    app: KickwatchApp
    monitor: SharedMonitor
    notifier: RecordingNotifier

    def tooltip(self) -> str:
        assert self.app.tray is not None
        return str(self.app.tray.tray.toolTip())


@pytest.fixture
def desktop(desktop_ctx: Context, qloop: Any, qtbot: Any) -> Iterator[Desktop]:
    """The tray app wired as the composition root wires it, started and listening."""
    http = httpx.AsyncClient()
    monitor = desktop_monitor(desktop_ctx, http)
    assert isinstance(monitor, SharedMonitor)
    notifier = RecordingNotifier()
    app = KickwatchApp(
        desktop_ctx,
        monitor,
        notifier,
        tray_available=True,
        autostart=FakeAutostart(),
        zone=UTC,
        group_window_seconds=0,
    )
    run(qtbot, app.start())
    qtbot.waitUntil(lambda: monitor.connection_state is ConnectionState.CONNECTED, timeout=10000)
    try:
        yield Desktop(app, monitor, notifier)
    finally:
        run(qtbot, app.shutdown())
        run(qtbot, http.aclose())


class Writer:
    """Another process's writes, on its own thread and connection, a second apart."""

    def __init__(self, ctx: Context) -> None:
        self.clock = ManualClock()
        self.repository = Repository(ctx.database, self.clock)
        self.database = ctx.database

    def commit(
        self,
        streamer: StreamerRecord,
        kind: EventType,
        reason: str | None = None,
        title: str | None = None,
        category: str | None = None,
    ) -> None:
        self.clock.advance(1)
        at = self.clock.now()
        start = kind is EventType.STREAM_START
        change = StatusChange(
            streamer.id,
            kind,
            at,
            at,
            kick_event_id=f"{streamer.username}:{at.timestamp()}:{kind}",
            livestream_id=str(int(at.timestamp())) if start else None,
            broadcast_started_at=at if start else None,
            event_data={"reconcile": reason} if reason else {},
            reconcile_reason=reason,
            title=title,
            category=category,
        )
        self._in_thread(self.repository.apply_changes, [change])

    def record(
        self, streamer: StreamerRecord, *, title: str | None = None, category: str | None = None
    ) -> None:
        """A new title and/or category of the live stream, as the writer's monitor records it."""
        self.clock.advance(1)
        seen = DetailsSeen(streamer.id, self.clock.now(), "pusher", title=title, category=category)
        self._in_thread(RuleStore(self.database, self.clock).record_details, [seen])

    def _in_thread(self, function: Any, *args: Any) -> None:
        def write() -> None:
            try:
                function(*args)
            finally:
                self.database.close()

        thread = threading.Thread(target=write, name="writer")
        thread.start()
        thread.join(10)


def test_the_shared_tray_app_never_calls_kick_and_notifies_once_per_change_by_the_policy(
    desktop: Desktop, desktop_ctx: Context, kick: FakeKick, qtbot: Any
) -> None:
    repository = desktop_ctx.repository
    people = {
        name: repository.add_streamer(name, number, display_name=name.capitalize())
        for number, name in enumerate(["alice", "bob", "carol", "dave"], 1)
    }
    repository.update_streamer("alice", notify_on_end=True)
    writer = Writer(desktop_ctx)
    writer.commit(people["alice"], EventType.STREAM_START)
    writer.commit(people["bob"], EventType.STREAM_START)
    writer.commit(people["carol"], EventType.STREAM_START, "startup")  # already live: silent
    writer.commit(people["alice"], EventType.STREAM_END)
    writer.commit(people["bob"], EventType.STREAM_END)  # bob wants no offline alerts
    writer.commit(people["dave"], EventType.STREAM_START)
    qtbot.waitUntil(lambda: "Dave is live" in desktop.notifier.titles, timeout=10000)

    assert desktop.notifier.titles == [
        "Alice is live",
        "Bob is live",
        "Alice went offline",
        "Dave is live",
    ]
    assert kick.requests == []
    assert kick.pusher.attempts == 0
    assert "Connected (listening to the shared database)" in desktop.tooltip()
    assert [s.username for s in desktop.monitor.live_streamers()] == ["carol", "dave"]


def test_the_shared_tray_app_announces_a_live_title_change_once_and_sends_it_to_a_target(
    desktop: Desktop, desktop_ctx: Context, qtbot: Any
) -> None:
    receiver = Receiver()
    try:
        repository = desktop_ctx.repository
        alice = repository.add_streamer("alice", 1, display_name="Alice")
        bob = repository.add_streamer("bob", 2, display_name="Bob")
        RuleStore(desktop_ctx.database, desktop_ctx.clock).set_rule("alice", title_changes=True)
        store = TargetStore(desktop_ctx.database, desktop_ctx.secrets, desktop_ctx.clock)
        store.add(receiver.url("hook"), name="hook")
        assert desktop.app.alerts is not None
        run(qtbot, desktop.app.alerts.reload())
        run(qtbot, desktop.monitor.reconcile_now())  # the streamers and rules added just now
        writer = Writer(desktop_ctx)
        writer.commit(alice, EventType.STREAM_START, title="Warm-up", category="Just Chatting")
        writer.commit(bob, EventType.STREAM_START, title="Drawing", category="Art")
        writer.record(alice, title="Ranked")
        writer.record(bob, title="Drawing, part 2")  # bob's rule asks for no change alerts
        writer.record(alice, category="Chess")
        qtbot.waitUntil(lambda: "Alice now streams Chess" in desktop.notifier.titles, timeout=10000)
        qtbot.waitUntil(lambda: len(receiver.posts) == 4, timeout=10000)
    finally:
        receiver.down()
    announced = ["Alice is live", "Bob is live", "Alice changed the stream title"]
    announced.append("Alice now streams Chess")
    assert desktop.notifier.titles == announced
    assert receiver.titles() == announced
    assert receiver.messages()[2:] == [
        "Title: Warm-up → Ranked\nhttps://kick.com/alice",
        "Category: Just Chatting → Chess\nhttps://kick.com/alice",
    ]


def test_the_tray_says_when_the_shared_database_is_unreachable_and_reconnects(
    desktop: Desktop, pg_url: str, qtbot: Any
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(%s)", [desktop.monitor.listener.backend_pid]
        )
    qtbot.waitUntil(
        lambda: "The shared database unreachable since" in desktop.tooltip(), timeout=10000
    )
    qtbot.waitUntil(
        lambda: "Connected (listening to the shared database)" in desktop.tooltip(),
        timeout=10000,
    )
    assert desktop.monitor.listener.connections == 2


def dialog_for(ctx: Context, qtbot: Any) -> tuple[SettingsDialog, Supervisor]:
    tasks = Supervisor()
    window = SettingsDialog(ctx, FakeMonitor(ctx), FakeAutostart(), tasks.spawn, None, UTC)
    qtbot.addWidget(window)
    qtbot.waitUntil(window.save_button.isEnabled, timeout=5000)  # loaded
    return window, tasks


def choose(window: SettingsDialog, mode: str) -> QComboBox:
    combo = window.advanced.findChild(QComboBox, "monitoring.mode")
    assert combo is not None
    combo.setCurrentIndex(combo.findData(mode))
    return combo


def test_the_settings_dialog_chooses_the_shared_mode_on_postgresql(
    pg_url: str, tmp_path: Path, kick: FakeKick, qloop: Any, qtbot: Any
) -> None:
    ctx = open_desktop_context(pg_url, tmp_path, kick)
    try:
        window, tasks = dialog_for(ctx, qtbot)
        combo = choose(window, "shared")
        assert combo.accessibleName() == "Monitoring mode"
        assert "never connects to Kick" in combo.toolTip()
        assert not window.advanced.fields["monitoring.mode"].message.isVisible()
        assert run(qtbot, window.save()) is True
        assert ctx.settings.get("monitoring.mode") == "shared"
        run(qtbot, tasks.cancel_all())
    finally:
        close(ctx)


def test_the_settings_dialog_refuses_the_shared_mode_on_sqlite(
    ctx: Context, qloop: Any, qtbot: Any
) -> None:
    window, tasks = dialog_for(ctx, qtbot)
    combo = window.advanced.findChild(QComboBox, "monitoring.mode")
    assert combo is not None and combo.currentData() == "local"
    choose(window, "shared")
    message = window.advanced.fields["monitoring.mode"].message.text()
    assert "shared needs a PostgreSQL database, not SQLite" in message
    assert run(qtbot, window.save()) is False
    assert ctx.settings.get("monitoring.mode") == "local"
    run(qtbot, tasks.cancel_all())


def test_the_tray_app_in_shared_mode_on_sqlite_exits_1_with_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ctx = open_context(
        None,
        environ={"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": MASTER_KEY},
        keyring_module=NoKeyring(),
    )
    try:  # stored behind the settings' back: they refuse it on SQLite
        ctx.config.set("monitoring.mode", "shared", updated_by="test")
    finally:
        ctx.close()
    env = {
        "KICKWATCH_HOME": str(home),
        "KICKWATCH_MASTER_KEY": MASTER_KEY,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "DBUS_SESSION_BUS_ADDRESS": "disabled:",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run(
        [sys.executable, "-m", "kickwatch"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("kickwatch:")]
    assert errors == [
        "kickwatch: error: monitoring.mode is shared, which needs a PostgreSQL database, and "
        f"{home / 'kickwatch.db'} is not one: start with --db postgresql://... or "
        "KICKWATCH_DB, or run `kickwatch config set monitoring.mode local`"
    ]
    assert "Traceback" not in result.stderr
