"""The tray item's tooltip on the real test desktop while Kick's Pusher keeps refusing: it says
since when Kick is unreachable and counts the next attempt down, as the panel reads it.

Xvfb, a private session bus, dunst and xfce4-panel (a StatusNotifier host) come from
`session.VirtualDesktop`; the fake Kick runs in a thread and answers every Pusher connection with
error 4200 (reconnect), while its REST side answers the checks. The tooltip is read the way the
panel reads it: the StatusNotifierItem's `ToolTip` property over D-Bus. The app runs with
`TZ=UTC`, so the times it shows can be compared with the test's own clock.
Debian packages: xvfb dbus dunst xfce4-panel imagemagick.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.desktop.session import (
    VirtualDesktop,
    started_desktop,
    wait_until,
)
from tests.fakekick import FakeKick
from tests.fakekick.home import home_watching

pytestmark = pytest.mark.desktop

MASTER_KEY = "tray-tooltip-key"
OUTAGE_LINE = re.compile(r"Kick unreachable since (\d\d:\d\d), retrying (?:in (\d+) s|now)")


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualDesktop]:
    with started_desktop(tmp_path_factory.mktemp("tooltip-desktop")) as session:
        yield session


@pytest.fixture
def refusing_kick() -> Iterator[FakeKick]:
    kick = FakeKick().start_in_thread()
    kick.pusher.refuse_connections(600)
    try:
        yield kick
    finally:
        kick.stop_thread()


def tooltip_of(desktop: VirtualDesktop, item: str) -> str:
    """The `ToolTip` (title and text) of a StatusNotifierItem named `service/path`."""
    service, _, path = item.partition("/")
    reply = desktop.dbus_send(
        f"--dest={service}",
        "/" + path,
        "org.freedesktop.DBus.Properties.Get",
        "string:org.kde.StatusNotifierItem",
        "string:ToolTip",
    )
    strings = re.findall(r'string "((?:[^"\\]|\\.)*)"', reply, flags=re.S)
    return "\n".join(strings)


def test_the_tooltip_says_since_when_kick_is_unreachable_and_counts_down(
    desktop: VirtualDesktop, refusing_kick: FakeKick, tmp_path: Path
) -> None:
    home = tmp_path / "kickwatch"
    home_watching(home, refusing_kick, "alice", MASTER_KEY)
    env = desktop.env()
    env.update(refusing_kick.env())
    env.update(
        {
            "KICKWATCH_HOME": str(home),
            "KICKWATCH_MASTER_KEY": MASTER_KEY,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "TZ": "UTC",
        }
    )
    started = datetime.now(UTC)  # clock-ok: the real app in a subprocess reads this clock too
    app_log = tmp_path / "kickwatch.log"
    with app_log.open("wb") as out:
        app = subprocess.Popen([sys.executable, "-m", "kickwatch"], env=env, stdout=out, stderr=out)
    seen: list[tuple[str, int | None]] = []
    try:
        wait_until(lambda: desktop.tray_items(), 30, "kickwatch's tray item")
        [item] = desktop.tray_items()

        def outage_shown() -> bool:
            text = tooltip_of(desktop, item)
            match = OUTAGE_LINE.search(text)
            if match and "Last checked" in text:
                left = int(match.group(2)) if match.group(2) else None
                if not seen or seen[-1] != (match.group(1), left):
                    seen.append((match.group(1), left))
            counted = [left for _since, left in seen if left is not None]
            return len(counted) >= 2  # the countdown moved while the panel watched

        wait_until(outage_shown, 60, "a tooltip counting down to the next attempt")
        text = tooltip_of(desktop, item)
        assert "kickwatch — " in text and "Last checked " in text, text
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
        code = app.wait(timeout=30)
    log = app_log.read_text(errors="replace")
    assert code == 0, log
    assert "Traceback" not in log, log
    since = {s for s, _left in seen}
    assert len(since) == 1, seen  # one outage, one start, through every attempt
    hours, minutes = map(int, since.pop().split(":"))
    shown, expected = hours * 60 + minutes, started.hour * 60 + started.minute
    assert min((shown - expected) % 1440, (expected - shown) % 1440) <= 1, (seen, started)
