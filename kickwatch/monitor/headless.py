"""`kickwatch run`: the monitor in a terminal, one line per change, stopped by SIGINT/SIGTERM.

The composition root of the headless mode: it owns the event loop (`asyncio.run`), the HTTP
client and the monitor, prints what the monitor publishes, and on a signal stops within about
two seconds after flushing pending writes. Exit 0 on a requested stop, 1 when Kick refused the
connection for good (e.g. a rotated Pusher app key). On PostgreSQL it is one of any number of
workers: it watches the share of the streamers it holds leases on (`kickwatch.monitor.leasing`)
and prints a `leases` line whenever it gains or loses some.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import TextIO

from kickwatch.alerts.service import AlertService, health_printer
from kickwatch.context import open_context
from kickwatch.domain.records import StatusEventRecord, iso
from kickwatch.monitor import events as ev
from kickwatch.monitor.leasing import build_lease_keeper
from kickwatch.monitor.lookup import new_http_client
from kickwatch.monitor.monitor import build_monitor


class LinePrinter:
    """Formats monitor events as lines for people or as JSON lines."""

    def __init__(self, out: TextIO, json_lines: bool) -> None:
        self.out = out
        self.json_lines = json_lines

    def __call__(self, event: ev.MonitorEvent) -> None:
        line = self.format(event)
        if line is not None:
            self.out.write(line + "\n")
            self.out.flush()

    def format(self, event: ev.MonitorEvent) -> str | None:
        if isinstance(event, (ev.StreamStarted, ev.StreamEnded)):
            return self._change(event.event, event.streamer.display_name, event)
        if isinstance(event, ev.StreamDetailsChanged):
            return self._details(event)
        if isinstance(event, ev.LeasesChanged):
            return self._leases(event)
        if isinstance(event, ev.ConnectionStateChanged):
            if self.json_lines:
                return json.dumps(
                    {"event": "connection_state", "state": str(event.state), "detail": event.detail}
                )
            return f"connection: {event.state}" + (f" ({event.detail})" if event.detail else "")
        if isinstance(
            event,
            (ev.DatabaseUnavailable, ev.DatabaseRecovered, ev.ErrorOccurred, ev.ResumedFromSleep),
        ):
            text = {
                ev.DatabaseUnavailable: lambda e: (
                    f"database unavailable: {e.reason}; {e.pending} changes held"
                ),
                ev.DatabaseRecovered: lambda e: f"database available again; {e.flushed} stored",
                ev.ErrorOccurred: lambda e: f"error: {e.message}",
                ev.ResumedFromSleep: lambda e: f"resumed after {e.slept_seconds:.0f} s of sleep",
            }[type(event)](event)
            if self.json_lines:
                return json.dumps({"event": type(event).__name__, "message": text})
            return text
        return None

    def _details(self, event: ev.StreamDetailsChanged) -> str:
        """A live stream's new title or category (every change, whatever the rules say)."""
        if self.json_lines:
            return json.dumps(
                {
                    "event": "stream_changed",
                    "streamer": event.streamer.username,
                    "changes": [change.as_json() for change in event.changes],
                },
                ensure_ascii=False,
            )
        when = iso(event.changes[0].changed_at)
        said = "; ".join(f"{change.kind}: {change.value}" for change in event.changes)
        return f"{when}  {event.streamer.display_name} changed {said}"

    def _leases(self, event: ev.LeasesChanged) -> str:
        if self.json_lines:
            return json.dumps(
                {
                    "event": "leases",
                    "worker": event.worker_id,
                    "held": event.held,
                    "active": event.active,
                    "workers": event.workers,
                    "gained": list(event.gained),
                    "lost": list(event.lost),
                },
                ensure_ascii=False,
            )
        return (
            f"leases: worker {event.worker_id} watches {event.held} of {event.active} streamers"
            f" ({event.workers} worker{'s' if event.workers != 1 else ''} live;"
            f" +{len(event.gained)} -{len(event.lost)})"
        )

    def _change(
        self, record: StatusEventRecord, name: str, event: ev.StreamStarted | ev.StreamEnded
    ) -> str:
        if self.json_lines:
            return json.dumps(record.as_json(), ensure_ascii=False, default=str)
        when = iso(record.event_timestamp)
        if isinstance(event, ev.StreamStarted):
            title = event.streamer.current_title
            return f"{when}  {name} is live" + (f": {title}" if title else "")
        return f"{when}  {name} went offline"


async def monitor_until_stopped(
    db_url: str | None, json_lines: bool, out: TextIO, worker_name: str | None = None
) -> int:
    """Run the monitor until SIGINT/SIGTERM (exit 0) or a fatal connection error (exit 1);
    on PostgreSQL as a lease worker called `worker_name` (default: see `worker_name`)."""
    ctx = open_context(db_url)
    try:
        leases = build_lease_keeper(ctx, name=worker_name)
    except BaseException:
        ctx.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    fatal: list[str] = []

    def on_event(event: ev.MonitorEvent) -> None:
        if (
            isinstance(event, ev.ConnectionStateChanged)
            and event.state is ev.ConnectionState.STOPPED
        ):
            fatal.append(event.detail)
            stop.set()

    try:
        async with new_http_client() as http:
            # On PostgreSQL a worker shares the streamers with the others through leases.
            monitor = build_monitor(ctx, http, leases=leases)
            monitor.bus.subscribe(LinePrinter(out, json_lines))
            monitor.bus.subscribe(on_event)
            await monitor.start()
            ctx.database.release()  # the loop's thread is done reading: back to the pool
            alerts = await AlertService.started(
                ctx, monitor.bus, monitor.write, on_health=health_printer(out, json_lines)
            )
            try:
                await stop.wait()
            finally:
                await alerts.stop()  # sends in flight finish and are recorded
                await monitor.stop()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        ctx.close()
    if fatal:
        print(f"kickwatch: error: {fatal[0]}", file=sys.stderr)
        return 1
    return 0


def run(db_url: str | None, json_lines: bool, worker_name: str | None = None) -> int:
    """Entry of `kickwatch run`."""
    return asyncio.run(monitor_until_stopped(db_url, json_lines, sys.stdout, worker_name))
