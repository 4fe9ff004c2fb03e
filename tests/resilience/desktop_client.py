"""A tray-app desktop in the shared mode, as a process of its own, for the several-monitors proof.

    python -m tests.resilience.desktop_client POSTGRESQL_URL

It is wired as `kickwatch.ui.startup` wires the tray app (the qasync loop, `desktop_monitor`,
`KickwatchApp` with the notification policy), offscreen, with a notifier that prints each
notification instead of showing it. It prints one JSON line per thing the proof checks:
`{"event": "ready"}` once it listens to the shared database, `{"event": "published", ...}` for
each start or end it announces on its bus (with the status_event id), and
`{"event": "notified", "title": ..., "tag": ...}` for each notification. SIGTERM or SIGINT ends
it through `KickwatchApp.shutdown`, exit code 0. The environment is a kickwatch home's (see
`tests.chaos.runner.home_cli`); the grouping window is 0 so that every alert is its own.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import UTC
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from kickwatch.platform.notifier import Notification
from kickwatch.ui.qtloop import SignalWaker, create_loop, run_main


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class PrintingNotifier:
    """Prints each notification as a JSON line."""

    async def notify(self, notification: Notification) -> str:
        emit(event="notified", title=notification.title, tag=notification.tag)
        return notification.tag

    async def close(self) -> None:
        return None


async def main(url: str) -> int:
    import httpx

    from kickwatch.context import open_context
    from kickwatch.monitor import events as ev
    from kickwatch.monitor.shared import SharedMonitor, desktop_monitor
    from kickwatch.ui.app import KickwatchApp
    from tests.fakekick.home import NoKeyring
    from tests.ui.fakes import FakeAutostart

    ctx = open_context(url, environ=dict(os.environ), keyring_module=NoKeyring())
    http = httpx.AsyncClient()
    monitor = desktop_monitor(ctx, http)
    if not isinstance(monitor, SharedMonitor):
        print("desktop_client: monitoring.mode is not shared", file=sys.stderr)
        return 2

    ready = False

    def say_ready() -> None:
        nonlocal ready
        if not ready and monitor.connection_state is ev.ConnectionState.CONNECTED:
            ready = True
            emit(event="ready")

    def published(event: ev.MonitorEvent) -> None:
        if isinstance(event, ev.ConnectionStateChanged):
            say_ready()
        elif isinstance(event, ev.StreamStarted | ev.StreamEnded):
            emit(
                event="published",
                id=event.event.id,
                username=event.streamer.username,
                event_type=str(event.event.event_type),
                initial=event.initial,
            )

    monitor.bus.subscribe(published)
    app = KickwatchApp(
        ctx,
        monitor,
        PrintingNotifier(),
        tray_available=True,
        autostart=FakeAutostart(),
        zone=UTC,
        group_window_seconds=0,
    )
    waker = SignalWaker(lambda _number: app.request_quit(0))
    try:
        await app.start()
        say_ready()
        return await app.wait_for_quit()
    finally:
        waker.close()
        await app.shutdown()
        await http.aclose()
        ctx.close()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # until the waker takes over
    qapp = QApplication(sys.argv[:1])
    qapp.setQuitOnLastWindowClosed(False)
    sys.exit(run_main(create_loop(qapp), main(sys.argv[1])))
