"""`kickwatch run`: the monitor in the terminal, one line per change, until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add `run` to the parser."""
    run = commands.add_parser(
        "run",
        help="monitor headless, printing each change",
        description="Monitor headless, one line per change, until SIGINT or SIGTERM. On a "
        "PostgreSQL database each run is a worker: the workers share the streamers through "
        "leases, and a leases line says what this one gained and lost.",
    )
    run.add_argument("--json", action="store_true", help="JSON lines with the history fields")
    run.add_argument(
        "--worker-name",
        metavar="NAME",
        help="PostgreSQL workers: this worker's name in its id NAME:pid:random (default: "
        "KICKWATCH_WORKER_NAME, the monitoring.worker_name setting, or the host name)",
    )
    run.set_defaults(handler=run_headless)


def run_headless(args: argparse.Namespace) -> int:
    from kickwatch.monitor.headless import run

    return run(db_url=args.db, json_lines=args.json, worker_name=args.worker_name)
