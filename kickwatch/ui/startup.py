"""The tray app's composition root: the Qt app, the one loop, the core, and every way out.

`run(args)` creates the QApplication and shows the tray icon first (only Qt and light modules
are imported by then, so the icon appears quickly), then imports and opens the rest: the store,
the one HTTP client, the notifier, the monitor, and the `KickwatchApp` that wires them. It owns
the qasync loop. kickwatch exits by: Quit in the tray menu or the fallback window (closing it
too), SIGINT (exit 130) or SIGTERM (0), the session ending (Qt's commitDataRequest), or a failure
to open the database at start-up or to follow it in the shared mode (one line on stderr, exit 1).
A second start exits 0 after asking the running one to show its settings. Every way out goes
through `KickwatchApp.shutdown`, which awaits `monitor.stop()` so that pending writes are flushed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from kickwatch.paths import Paths
from kickwatch.resources import DESKTOP_FILE, icon_path
from kickwatch.ui.qtloop import SignalWaker, create_loop, run_main
from kickwatch.ui.single_instance import SingleInstance, ask_running_instance, server_name
from kickwatch.ui.tray import TrayIcon
from kickwatch.ui.tray_model import TrayViewModel

log = logging.getLogger(__name__)


def _app_icon(qapp: QApplication) -> Path | None:
    try:
        path = icon_path()
    except FileNotFoundError:
        log.warning("kickwatch's icons are missing from this installation")
        return None
    qapp.setWindowIcon(QIcon(str(path)))
    return path


def run(args: argparse.Namespace) -> int:
    """Run the tray app until it quits; returns the exit code."""
    qapp = QApplication(sys.argv[:1])
    qapp.setApplicationName("kickwatch")
    qapp.setDesktopFileName(DESKTOP_FILE.removesuffix(".desktop"))
    qapp.setQuitOnLastWindowClosed(False)
    app_icon = _app_icon(qapp)
    name = server_name(str(Paths.from_env().data_dir))
    if ask_running_instance(name):
        print("kickwatch is already running; its settings window was brought forward")
        return 0
    instance = SingleInstance(name)
    instance.listen()
    tray: TrayIcon | None = None
    if QSystemTrayIcon.isSystemTrayAvailable():
        from kickwatch.domain.clock import SystemClock
        from kickwatch.monitor.policy import local_timezone

        # Shown before the context (and its clock) exists: the same system clock it will use.
        tray = TrayIcon(TrayViewModel(lambda: [], local_timezone()), SystemClock().now)
        tray.show()
    loop = create_loop(qapp)

    async def main() -> int:
        import httpx

        from kickwatch.context import open_context
        from kickwatch.domain.errors import KickwatchError
        from kickwatch.monitor.shared import desktop_monitor
        from kickwatch.platform.notifier import notifier_for_platform
        from kickwatch.ui.app import KickwatchApp
        from kickwatch.ui.avatars import AvatarCache, AvatarPolicy

        try:
            ctx = open_context(args.db)
        except KickwatchError as exc:
            print(f"kickwatch: error: {exc}", file=sys.stderr)
            return 1
        http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
        try:
            monitor = desktop_monitor(ctx, http)  # in shared mode one that never calls Kick
        except KickwatchError as exc:
            print(f"kickwatch: error: {exc}", file=sys.stderr)
            await http.aclose()
            ctx.close()
            return 1
        app = KickwatchApp(
            ctx,
            monitor,
            notifier_for_platform("kickwatch", app_icon),
            tray_available=tray is not None,
            tray=tray,
            avatars=AvatarCache(
                http,
                ctx.paths.data_dir / "avatars",
                app_icon,
                lambda: AvatarPolicy.with_extra_hosts(ctx.settings.get("system.avatar_hosts")),
            ),
        )
        instance.activation_requested.connect(app.show_settings)
        qapp.commitDataRequest.connect(lambda _manager: app.request_quit())
        # Ctrl+C is an interruption (130); SIGTERM is the session or a service manager asking.
        waker = SignalWaker(lambda number: app.request_quit(130 if number == signal.SIGINT else 0))
        try:
            await app.start()
            return await app.wait_for_quit()
        finally:
            waker.close()
            await app.shutdown()
            await http.aclose()
            instance.close()
            ctx.close()

    return run_main(loop, main())
