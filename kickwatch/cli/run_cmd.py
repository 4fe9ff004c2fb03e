"""`kickwatch run`: the monitor in the terminal, one line per change, until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add `run` to the parser."""
    run = commands.add_parser("run", help="monitor headless, printing each change")
    run.add_argument("--json", action="store_true", help="JSON lines with the history fields")
    run.set_defaults(handler=run_headless)


def run_headless(args: argparse.Namespace) -> int:
    from kickwatch.monitor.headless import run

    return run(db_url=args.db, json_lines=args.json)
