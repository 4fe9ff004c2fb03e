"""The running app as a screen reader meets it, on the real test desktop (xcb, not offscreen).

The fixture starts Xvfb, a private session bus, the AT-SPI bus, dunst and xfce4-panel; kickwatch
runs as a subprocess with accessibility on and a few streamers (avatars in its cache, two live on
the fake Kick). The test opens the tray menu on the panel with a right click, chooses History…
there, opens the settings through a second start (as a user would), and reads the AT-SPI tree
with pyatspi (`atspi_tree.py`, run by the system Python). It fails on any control, tab, table or
menu entry without a name, on any column narrower than its header text, and on a Streamer
column narrower than the longest display name (measured with Qt's font metrics on the same
display). Screenshots are kept in tests/desktop/artifacts/; with KICKWATCH_UPDATE_SCREENSHOTS=1
they are also cropped into docs/screenshots/.
Debian packages: xvfb dbus dunst xfce4-panel imagemagick at-spi2-core python3-pyatspi.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kickwatch.alerts.targets import TargetStore
from kickwatch.context import open_context
from kickwatch.domain.status import EventType
from kickwatch.store.repository import StatusChange
from kickwatch.store.rules import RuleStore
from kickwatch.ui.avatars import AvatarCache
from tests.desktop.session import (
    VirtualDesktop,
    started_desktop,
    wait_until,
)
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeKick
from tests.fakekick.fixtures import fake_kick_thread
from tests.fakekick.home import NoKeyring

__all__ = ["fake_kick_thread"]

pytestmark = pytest.mark.desktop

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MASTER_KEY = "desktop-a11y-master-key"
# (username, display name, avatar colour, live on Kick at start)
STREAMERS = (
    ("xqc", "xQc", "#1e88e5", True),
    ("adinross", "AdinRoss", "#8e24aa", True),
    ("speedrunsarah_the_second", "SpeedrunSarah_The_Second", "#f4511e", False),
    ("trainwreckstv", "Trainwreckstv", "#43a047", False),
    ("latenightlofi", "LateNightLofi", "#3949ab", False),
    ("amouranth", "Amouranth", "#d81b60", False),
)
ANNOUNCED = "trainwreckstv"  # goes live while kickwatch runs: the notification
# Roles a screen reader lands on (AT-SPI role names as pyatspi prints them).
CONTROL_ROLES = {
    "push button",
    "toggle button",
    "text",
    "password text",
    "entry",
    "check box",
    "radio button",
    "combo box",
    "spin button",
    "page tab",
    "page tab list",
    "table",
    "tree table",
    "menu item",
    "check menu item",
    "radio menu item",
    "menu",
    "slider",
}
# Qt's font metrics on the desktop's display, with kickwatch's platform and style.
MEASURE = """
import json, sys
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QTableView
app = QApplication(sys.argv[:1])
table = QTableView()
cells = QFontMetrics(table.font())
header = QFontMetrics(table.horizontalHeader().font())
texts = json.loads(sys.stdin.read())
print(json.dumps({t: [cells.horizontalAdvance(t), header.horizontalAdvance(t)] for t in texts}))
"""


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualDesktop]:
    with started_desktop(tmp_path_factory.mktemp("a11y-desktop"), accessibility=True) as session:
        yield session


def avatar_url(username: str) -> str:
    return f"https://files.kick.com/images/user/{username}/profile_image/avatar.png"


def prepare_home(home: Path, kick: FakeKick, now: datetime) -> Path:
    """Streamers with avatars in the cache and some history; returns the database."""
    env = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": MASTER_KEY}
    ctx = open_context(None, environ=env, keyring_module=NoKeyring())
    cache = AvatarCache(None, ctx.paths.data_dir / "avatars", None)
    try:
        for number, (username, shown, colour, live) in enumerate(STREAMERS):
            channel = kick.add_channel(username, display_name=shown)
            channel.profile_pic = avatar_url(username)
            record = ctx.repository.add_streamer(
                username,
                channel.user_id,
                display_name=shown,
                kick_channel_id=channel.channel_id,
                profile_picture_url=avatar_url(username),
            )
            draw_avatar(cache, avatar_url(username), colour)
            seen = now - timedelta(hours=30 - number * 4)
            ctx.repository.apply_changes(
                [
                    StatusChange(record.id, EventType.STREAM_START, seen, seen, title="Hello"),
                    StatusChange(
                        record.id,
                        EventType.STREAM_END,
                        seen + timedelta(hours=2),
                        seen + timedelta(hours=2),
                    ),
                ]
            )
            if live:
                kick.go_live(username, push=False, title=f"{shown} live from the test desktop")
        ctx.repository.update_streamer("xqc", is_favorite=True)
        ctx.repository.update_streamer("latenightlofi", is_active=False)
        # A target on loopback for a streamer that stays off: its row is read, nothing is sent.
        TargetStore(ctx.database, ctx.secrets, ctx.clock).add(
            "json://127.0.0.1:9/kickwatch", name="phone", streamers=["latenightlofi"]
        )
        RuleStore(ctx.database, ctx.clock).set_rule(  # the first in the Rules tab's list
            "adinross",
            keywords=["irl", "road trip"],
            categories=["Just Chatting", "IRL"],
            title_changes=True,
        )
        ctx.settings.set_many(
            {
                "auth.client_id": CLIENT_ID,
                "auth.client_secret": CLIENT_SECRET,
                "system.offline_grace_seconds": "5",
            }
        )
        return ctx.paths.database_file
    finally:
        ctx.close()


def draw_avatar(cache: AvatarCache, url: str, colour: str) -> None:
    """A round avatar in the cache, as if it had been downloaded."""
    import hashlib

    cache.folder.mkdir(parents=True, exist_ok=True)
    target = cache.folder / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".png")
    subprocess.run(
        [
            "convert",
            "-size",
            "64x64",
            "xc:none",
            "-fill",
            colour,
            "-draw",
            "circle 32,32 32,2",
            "-fill",
            "white",
            "-draw",
            "circle 32,25 32,14",
            "-draw",
            "ellipse 32,58 18,16 180,360",
            str(target),
        ],
        check=True,
        timeout=30,
    )
    assert cache.cached(url) == target


def statuses(database: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        rows = connection.execute("SELECT username, status FROM streamer").fetchall()
    return {str(name): str(status) for name, status in rows}


# -- reading the AT-SPI tree -------------------------------------------------------------------


def tree(desktop: VirtualDesktop, app: str) -> list[dict[str, Any]]:
    result = desktop.atspi("tree", app)
    if result.returncode != 0:
        return []
    return list(json.loads(result.stdout))


def nodes(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from nodes(item["children"])


def window(desktop: VirtualDesktop, app: str, role: str, name: str) -> dict[str, Any] | None:
    for node in nodes(tree(desktop, app)):
        if node["role"] in role.split("|") and node["name"] == name and "showing" in node["states"]:
            return node
    return None


def wait_for_window(desktop: VirtualDesktop, app: str, role: str, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def shown() -> bool:
        node = window(desktop, app, role, name)
        if node is not None:
            found[:] = [node]
        return node is not None

    wait_until(shown, 60, f"{role} {name!r} of {app} on the accessibility bus")
    return found[0]


def unnamed_controls(root: dict[str, Any]) -> list[str]:
    """Controls a screen reader reaches (focusable, or showing for menus) without a name."""
    problems = []
    for node in nodes([root]):
        if node["role"] not in CONTROL_ROLES or node["name"].strip():
            continue
        reachable = "focusable" in node["states"] or (
            "showing" in node["states"] and node["role"].endswith("menu item")
        )
        if reachable:
            problems.append(f"{node['role']} at {node['extents']} ({node['description']!r})")
    return problems


def text_widths(desktop: VirtualDesktop, texts: list[str]) -> dict[str, list[int]]:
    env = desktop.env()
    result = subprocess.run(
        [sys.executable, "-c", MEASURE],
        input=json.dumps(texts),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {k: list(v) for k, v in json.loads(result.stdout).items()}


def narrow_columns(
    desktop: VirtualDesktop, root: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every column of the tables shown in `root`, and those narrower than their header text
    (a table on a tab not shown has no geometry to judge)."""
    columns = [
        c for node in nodes([root]) if "showing" in node["states"] for c in node.get("columns", [])
    ]
    widths = text_widths(desktop, [c["name"] for c in columns])
    narrow = [
        f"{c['name']!r} is {c['extents'][2]} px for {widths[c['name']][1]} px of text"
        for c in columns
        if c["extents"] is None or c["extents"][2] < widths[c["name"]][1]
    ]
    return columns, narrow


def open_tab(desktop: VirtualDesktop, name: str, shown: tuple[str, str, str]) -> dict[str, Any]:
    """Press the settings tab `name` and wait until a node (role, name, state) shows it was
    opened; returns the settings dialog as read then."""
    pressed = desktop.atspi("action", "kickwatch", "page tab", name, "Press")
    assert pressed.returncode == 0, pressed.stderr
    role, label, state = shown
    wait_until(
        lambda: any(
            n["role"] == role and n["name"] == label and state in n["states"]
            for n in nodes(tree(desktop, "kickwatch"))
        ),
        30,
        f"the {name} tab",
    )
    return wait_for_window(desktop, "kickwatch", "dialog", "kickwatch settings")


# -- screenshots -------------------------------------------------------------------------------


def shoot(
    desktop: VirtualDesktop, name: str, box: list[int] | None = None, margin: int = 0
) -> Path:
    """A screenshot in the artefacts, cropped to `box` (x, y, w, h); copied to the docs if asked."""
    full = ARTIFACTS / f"{name}-screen.png"
    desktop.screenshot(full)
    target = ARTIFACTS / f"{name}.png"
    if box is None:
        target.write_bytes(full.read_bytes())
    else:
        x, y, w, h = box
        x, y = max(0, x - margin), max(0, y - margin)
        w, h = w + 2 * margin, h + 2 * margin
        subprocess.run(
            ["convert", str(full), "-crop", f"{w}x{h}+{x}+{y}", "+repage", str(target)],
            check=True,
            timeout=30,
        )
    if os.environ.get("KICKWATCH_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(target.read_bytes())
    return target


TRAY_MENU_BOX = (640, 290)  # the bottom left corner of the 1280x800 screen: panel and menu


def clear_notifications(desktop: VirtualDesktop) -> None:
    """No notification over the windows about to be shot."""
    desktop.dunst("close-all")
    wait_until(lambda: int(desktop.dunst("count", "displayed") or 0) == 0, 15, "dunst to clear")


def menu_is_open(desktop: VirtualDesktop) -> bool:
    """Whether something is drawn above the panel in the bottom left corner (the menu)."""
    probe = ARTIFACTS / "probe.png"
    desktop.screenshot(probe)
    result = subprocess.run(
        ["convert", str(probe), "-crop", "150x40+20+700", "+repage", "-format", "%[mean]", "info:"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    probe.unlink()
    return float(result.stdout) > 1000  # the desktop is black; a menu is light


# -- the test ----------------------------------------------------------------------------------


def test_a_screen_reader_finds_every_control_named_and_every_column_readable(
    desktop: VirtualDesktop, fake_kick_thread: FakeKick, tmp_path: Path
) -> None:
    home = tmp_path / "kickwatch"
    now = datetime.now(UTC)  # clock-ok: sample data only, nothing compared
    database = prepare_home(home, fake_kick_thread, now)
    env = desktop.env()
    env.update(fake_kick_thread.env())
    env.update(
        {
            "KICKWATCH_HOME": str(home),
            "KICKWATCH_MASTER_KEY": MASTER_KEY,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
    )
    app_log = tmp_path / "kickwatch.log"
    with app_log.open("wb") as out:
        app = subprocess.Popen([sys.executable, "-m", "kickwatch"], env=env, stdout=out, stderr=out)
    try:
        wait_until(lambda: desktop.tray_items(), 30, "kickwatch's tray item")
        wait_until(
            lambda: (
                statuses(database).get("xqc") == "online"
                and statuses(database).get("amouranth") == "offline"
            ),
            60,
            "the first reconciliation",
        )

        # The two live ones count as going live (their stored status is offline): announced.
        wait_until(lambda: int(desktop.dunst("count", "displayed") or 0) >= 1, 30, "dunst")
        clear_notifications(desktop)
        # A notification on screen.
        fake_kick_thread.go_live(ANNOUNCED, title="Slots with the boys")
        wait_until(lambda: int(desktop.dunst("count", "displayed") or 0) >= 1, 30, "dunst")
        shoot(desktop, "notification", [805, 10, 470, 100])
        clear_notifications(desktop)

        # The tray menu, opened on the panel with a right click, as the panel draws it. The
        # panel's menu is not on the accessibility bus, so History… is chosen with the keyboard
        # (Up from the top of a menu goes to its last entry, Quit; once more is History…).
        tray = next(
            n
            for n in nodes(tree(desktop, "xfce4-panel"))
            if n["role"] == "filler" and n["extents"] and n["extents"][2] > 0
        )
        x, y, w, h = tray["extents"]
        assert desktop.atspi("mouse", str(x + w // 2), str(y + h // 2), "b3c").returncode == 0
        wait_until(lambda: menu_is_open(desktop), 30, "the tray menu on screen")
        shoot(desktop, "tray-menu", [0, 800 - TRAY_MENU_BOX[1], *TRAY_MENU_BOX])
        assert desktop.atspi("keys", "Up", "Up", "Return").returncode == 0
        history = wait_for_window(
            desktop, "kickwatch", "frame|window|dialog|filler", "kickwatch history"
        )
        wait_until(
            lambda: any(
                n["role"] == "table cell" and n["name"] == "stream end"
                for n in nodes(tree(desktop, "kickwatch"))
            ),
            30,
            "the history's first page",
        )
        history = wait_for_window(
            desktop, "kickwatch", "frame|window|dialog|filler", "kickwatch history"
        )
        assert unnamed_controls(history) == []
        columns, narrow = narrow_columns(desktop, history)
        assert [c["name"] for c in columns][:4] == ["Time", "Streamer", "Event", "Change"]
        assert narrow == []
        cell_widths = text_widths(desktop, ["2026-12-31 23:59:59", "unknown → online"])
        by_name = {c["name"]: c["extents"][2] for c in columns}
        assert by_name["Time"] >= cell_widths["2026-12-31 23:59:59"][0]
        assert by_name["Change"] >= cell_widths["unknown → online"][0]
        clear_notifications(desktop)
        shoot(desktop, "history", history["extents"])

        # A second start brings the settings forward.
        second = subprocess.run(
            [sys.executable, "-m", "kickwatch"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0, second.stderr
        settings = wait_for_window(desktop, "kickwatch", "dialog", "kickwatch settings")
        wait_until(
            lambda: any(
                n["role"] == "table cell" and n["name"] == "SpeedrunSarah_The_Second"
                for n in nodes(tree(desktop, "kickwatch"))
            ),
            30,
            "the streamer rows",
        )
        settings = wait_for_window(desktop, "kickwatch", "dialog", "kickwatch settings")
        assert unnamed_controls(settings) == []
        named = {n["name"] for n in nodes([settings]) if n["role"] == "table"}
        assert named == {"Monitored streamers", "Alert targets"}
        assert {n["name"] for n in nodes([settings]) if n["role"] == "page tab"} == {
            "Streamers",
            "Rules",
            "Notifications",
            "Account",
            "Advanced",
            "Targets",
        }
        text_boxes = {n["name"] for n in nodes([settings]) if n["role"] == "text"}
        assert {"Streamers to add", "Filter streamers by name"} <= text_boxes
        columns, narrow = narrow_columns(desktop, settings)
        assert narrow == []
        longest = max((shown for _u, shown, _c, _l in STREAMERS), key=len)
        name_width = text_widths(desktop, [longest])[longest][0]
        streamer = next(c for c in columns if c["name"] == "Streamer")
        assert streamer["extents"][2] >= name_width + 20  # the text and its avatar
        clear_notifications(desktop)
        shoot(desktop, "settings", settings["extents"])

        targets_tab = open_tab(desktop, "Targets", ("table", "Alert targets", "showing"))
        assert unnamed_controls(targets_tab) == []
        target_columns, narrow = narrow_columns(desktop, targets_tab)
        assert target_columns and narrow == []
        clear_notifications(desktop)
        shoot(desktop, "settings-targets", targets_tab["extents"])

        rules_tab = open_tab(desktop, "Rules", ("page tab", "Rules", "selected"))
        assert unnamed_controls(rules_tab) == []
        shoot(desktop, "settings-rules", rules_tab["extents"])

        pressed = desktop.atspi("action", "kickwatch", "page tab", "Notifications", "Press")
        assert pressed.returncode == 0, pressed.stderr
        wait_until(
            lambda: window(desktop, "kickwatch", "check box", "Quiet hours") is not None,
            30,
            "the Notifications tab",
        )
        notifications_tab = wait_for_window(desktop, "kickwatch", "dialog", "kickwatch settings")
        assert unnamed_controls(notifications_tab) == []
        clear_notifications(desktop)
        shoot(desktop, "settings-notifications", notifications_tab["extents"])
        desktop.atspi("action", "kickwatch", "page tab", "Streamers", "Press")

    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
        code = app.wait(timeout=30)
    assert code == 0, app_log.read_text(errors="replace")
    assert "Traceback" not in app_log.read_text(errors="replace")
