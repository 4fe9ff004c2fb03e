"""The real `kickwatch` on a real (virtual) desktop: tray item, notification in dunst, screenshots.

Xvfb, a private session bus, dunst and xfce4-panel (a StatusNotifier host) are started by the
fixture; the fake Kick runs in a thread. kickwatch runs as a subprocess with one streamer; the
streamer goes live on the fake Kick and the notification "<name> is live" must reach dunst.
Skips when a tool is missing, fails instead under `KICKWATCH_TEST_STRICT=1`.
Debian packages: xvfb dbus dunst xfce4-panel imagemagick.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.session import (
    VirtualDesktop,
    started_desktop,
    wait_until,
)
from tests.fakekick import FakeKick
from tests.fakekick.fixtures import fake_kick_thread
from tests.fakekick.home import home_watching

__all__ = ["fake_kick_thread"]

pytestmark = pytest.mark.desktop

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MASTER_KEY = "desktop-e2e-master-key"


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualDesktop]:
    with started_desktop(tmp_path_factory.mktemp("desktop")) as session:
        yield session


def streamer_status(database: Path, slug: str) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        row = connection.execute(
            "SELECT status FROM streamer WHERE username = ?", (slug,)
        ).fetchone()
    return str(row[0]) if row else ""


def test_go_live_reaches_dunst_and_the_tray_item_is_registered(
    desktop: VirtualDesktop, fake_kick_thread: FakeKick, tmp_path: Path
) -> None:
    home = tmp_path / "kickwatch"
    database = home_watching(
        home, fake_kick_thread, "alice", MASTER_KEY, settings={"system.offline_grace_seconds": "5"}
    )
    env = desktop.env()
    env.update(fake_kick_thread.env())
    env.update(
        {
            "KICKWATCH_HOME": str(home),
            "KICKWATCH_MASTER_KEY": MASTER_KEY,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
    )
    notify_log = tmp_path / "notify.log"
    with notify_log.open("wb") as out:
        watcher = subprocess.Popen(
            ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications'"],
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    app_log = tmp_path / "kickwatch.log"
    with app_log.open("wb") as out:
        app = subprocess.Popen([sys.executable, "-m", "kickwatch"], env=env, stdout=out, stderr=out)
    try:
        wait_until(lambda: desktop.tray_items(), 30, "kickwatch's tray item")
        channel = fake_kick_thread.state.channels["alice"]
        wait_until(
            lambda: fake_kick_thread.pusher.subscribers(f"channel.{channel.channel_id}"),
            30,
            "kickwatch to subscribe to alice's channel",
        )
        wait_until(
            lambda: streamer_status(database, "alice") == "offline",
            30,
            "the first reconciliation",
        )

        fake_kick_thread.go_live("alice", title="Speedrun marathon")
        wait_until(
            lambda: "Alice is live" in notify_log.read_text(errors="replace"),
            30,
            "the Notify call on D-Bus",
        )
        wait_until(lambda: int(desktop.dunst("count", "displayed") or 0) >= 1, 15, "dunst")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        desktop.screenshot(ARTIFACTS / "notification.png")
        assert streamer_status(database, "alice") == "online"

        second = subprocess.run(
            [sys.executable, "-m", "kickwatch"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0
        assert "already running" in second.stdout

        desktop.dunst("close-all")
        wait_until(
            lambda: any(n["summary"] == "Alice is live" for n in desktop.notification_history()),
            15,
            "the notification in dunst's history",
        )
        [shown] = [n for n in desktop.notification_history() if n["summary"] == "Alice is live"]
        assert "Speedrun marathon" in shown["body"]
        assert shown["appname"] == "kickwatch"
        assert desktop.tray_items()
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
        code = app.wait(timeout=30)
        watcher.terminate()
        watcher.wait(timeout=10)
    assert code == 0, app_log.read_text(errors="replace")
