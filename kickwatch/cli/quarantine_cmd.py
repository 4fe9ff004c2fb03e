"""`kickwatch quarantine`: the changes the database refused for good, and why.

A change that can never be stored (a value the database cannot hold, a broken rule) is set aside
by the writer instead of blocking every later change; this command shows what was set aside.
"""

from __future__ import annotations

import argparse
from typing import Any

from kickwatch.cli.output import print_json, print_table
from kickwatch.domain.errors import ValidationError


def register(commands: Any) -> None:
    """Add `quarantine` to the parser."""
    quarantine = commands.add_parser(
        "quarantine",
        help="show changes that could not be stored",
        description="Changes the database refused for good (each is set aside so that the "
        "changes after it are stored), newest first, with the reason.",
    )
    quarantine.add_argument(
        "--limit", type=int, default=50, metavar="N", help="at most N changes (default: 50)"
    )
    quarantine.add_argument("--json", action="store_true", help="JSON output, with each change")
    quarantine.set_defaults(handler=run_quarantine)


def run_quarantine(args: argparse.Namespace) -> int:
    from kickwatch.context import open_context

    if args.limit < 0:
        raise ValidationError("--limit", "must not be negative")
    ctx = open_context(args.db, read_only_ok=True)
    try:
        rows = ctx.repository.quarantined_changes(args.limit)
    finally:
        ctx.close()
    if args.json:
        print_json(rows)
    elif not rows:
        print("no changes were set aside")
    else:
        print_table(
            ["time (utc)", "streamer id", "change", "reason"],
            [
                [row["quarantined_at"], row["streamer_id"], row["change_kind"], row["reason"]]
                for row in rows
            ],
        )
    return 0
