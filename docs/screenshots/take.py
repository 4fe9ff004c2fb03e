"""Render the README's screenshots of the tray menu and the settings dialog with Qt's `grab()`.

Run from the repository root (any Qt platform works; offscreen is used when there is no
display):  .venv/bin/python docs/screenshots/take.py
Writes docs/screenshots/tray-menu.png and settings.png from sample data in a temporary store.
notification.png comes from the desktop end-to-end test (KICKWATCH_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from kickwatch.context import open_context
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import EventType
from kickwatch.monitor.events import ConnectionState, EventBus
from kickwatch.platform.autostart import NullAutostart
from kickwatch.store.repository import StatusChange
from kickwatch.ui.qtloop import TaskSupervisor, create_loop
from kickwatch.ui.settings.dialog import SettingsDialog
from kickwatch.ui.tray import TrayMenu
from kickwatch.ui.tray_model import TrayViewModel

OUT = Path(__file__).resolve().parent
SAMPLE = [
    ("xqc", "xQc", "JUST CHATTING → GAMES", "Just Chatting", 48210, 185),
    ("adinross", "Adin Ross", "Brand risk stream", "Just Chatting", 31877, 72),
    ("trainwreckstv", "Trainwreckstv", "Slots w/ the boys", "Slots & Casino", 12044, 240),
    ("amouranth", "Amouranth", "cozy morning", "Pools, Hot Tubs & Beaches", 6120, 35),
    ("speedrunsarah", "SpeedrunSarah", "Any% world record attempts", "Retro", 842, 12),
]
OFFLINE = ["coolgamer", "latenightlofi", "mapmaker", "nightowl"]


class SampleMonitor:
    """Just enough of the Monitor for the dialog."""

    def __init__(self) -> None:
        self.bus = EventBus()
        self.connection_state = ConnectionState.CONNECTED
        self.last_check = datetime.now(UTC)

    def streamers_changed(self) -> None:
        return None

    async def test_connection(self) -> tuple[bool, str]:
        return True, "connected"


def sample_store(home: Path) -> tuple[object, list[StreamerRecord]]:
    env = {"KICKWATCH_HOME": str(home), "KICKWATCH_MASTER_KEY": "screenshots"}
    ctx = open_context(None, environ=env)
    now = datetime.now(UTC)
    live: list[StreamerRecord] = []
    for number, (name, shown, title, category, viewers, minutes) in enumerate(SAMPLE, 1):
        record = ctx.repository.add_streamer(name, 1000 + number, display_name=shown)
        started = now - timedelta(minutes=minutes)
        ctx.repository.apply_changes(
            [
                StatusChange(
                    record.id,
                    EventType.STREAM_START,
                    started,
                    started,
                    title=title,
                    category=category,
                    viewers=viewers,
                )
            ]
        )
        stored = ctx.repository.get_by_username(name)
        assert stored is not None
        live.append(replace(stored, current_broadcast_started_at=started))
    for number, name in enumerate(OFFLINE, 100):
        record = ctx.repository.add_streamer(name, 1000 + number)
        seen = now - timedelta(hours=number - 90)
        ctx.repository.apply_changes(
            [
                StatusChange(record.id, EventType.STREAM_START, seen, seen),
                StatusChange(
                    record.id,
                    EventType.STREAM_END,
                    seen + timedelta(hours=2),
                    seen + timedelta(hours=2),
                ),
            ]
        )
    ctx.repository.update_streamer("xqc", is_favorite=True)
    ctx.repository.update_streamer("speedrunsarah", notify_on_end=True, is_favorite=True)
    ctx.repository.update_streamer("mapmaker", is_active=False)
    return ctx, live


def main() -> int:
    app = QApplication(sys.argv[:1])
    loop = create_loop(app)
    with tempfile.TemporaryDirectory() as home:
        ctx, live = sample_store(Path(home))
        model = TrayViewModel(lambda: live, datetime.now().astimezone().tzinfo or UTC)
        model.connection_state = ConnectionState.CONNECTED
        menu = TrayMenu(model, lambda: datetime.now(UTC))
        menu.popup(QPoint(0, 0))
        menu.grab().save(str(OUT / "tray-menu.png"))
        menu.hide()

        tasks = TaskSupervisor()
        dialog = SettingsDialog(ctx, SampleMonitor(), NullAutostart(), tasks.spawn)  # type: ignore[arg-type]
        dialog.resize(820, 520)

        loaded = asyncio.Event()
        dialog.loaded.connect(loaded.set)

        async def shoot() -> None:
            await loaded.wait()
            dialog.show()
            for column, width in ((0, 40), (2, 80), (3, 130), (4, 80), (5, 90), (6, 80)):
                dialog.streamers.table.setColumnWidth(column, width)
            await asyncio.sleep(0.2)
            dialog.grab().save(str(OUT / "settings.png"))
            dialog.tabs.setCurrentIndex(1)
            await asyncio.sleep(0.1)
            dialog.grab().save(str(OUT / "settings-notifications.png"))

        with loop:
            loop.run_until_complete(shoot())
        ctx.close()  # type: ignore[attr-defined]
    print(f"wrote {OUT / 'tray-menu.png'}, {OUT / 'settings.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
