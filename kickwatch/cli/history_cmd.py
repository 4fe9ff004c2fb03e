"""`kickwatch history`: the recorded status changes, as a table, JSON or CSV.

With `--changes` it lists instead the changes of live streams' titles and categories, which are
kept apart from the status events.
"""

from __future__ import annotations

import argparse
from typing import Any

from kickwatch.cli.output import print_csv, print_json, print_table
from kickwatch.domain.errors import ValidationError
from kickwatch.domain.records import HISTORY_FIELDS
from kickwatch.domain.rules import CHANGE_FIELDS
from kickwatch.domain.status import EventType


def register(commands: Any) -> None:
    """Add `history` to the parser."""
    from kickwatch.cli import parse_time, parse_until

    history = commands.add_parser(
        "history",
        help="show recorded status changes",
        description="Recorded status changes, newest first. A time without an offset is UTC; "
        "a date without a time is the whole day in your local time zone.",
    )
    history.add_argument(
        "name", nargs="?", metavar="USERNAME", help="only this streamer (default: everyone)"
    )
    history.add_argument(
        "--since",
        type=parse_time,
        metavar="ISO8601",
        help="from this time on; a date alone: from the start of that local day",
    )
    history.add_argument(
        "--until",
        type=parse_until,
        metavar="ISO8601",
        help="up to this time; a date alone: to the end of that local day (inclusive)",
    )
    history.add_argument(
        "--type",
        choices=[t.value for t in EventType],
        dest="event_type",
        help="only events of this type",
    )
    history.add_argument(
        "--no-inferred",
        action="store_false",
        dest="inferred",
        help="leave out inferred rows (stand-ins for a start or end Kick never sent)",
    )
    history.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="at most N events (default: 50 in the table, all with --json or --csv)",
    )
    history.add_argument(
        "--changes",
        action="store_true",
        help="list the changes of live streams' titles and categories instead",
    )
    fmt = history.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output (one array)")
    fmt.add_argument("--csv", action="store_true", help="CSV output with a header row")
    history.set_defaults(handler=run_history)


def run_history(args: argparse.Namespace) -> int:
    from kickwatch.context import open_context

    if args.limit is not None and args.limit < 0:
        raise ValidationError("--limit", "must not be negative")
    if args.since and args.until and args.since > args.until:
        raise ValidationError("--since", "must not be after --until")
    if args.changes:
        if args.event_type or not args.inferred:
            raise ValidationError("--changes", "cannot be combined with --type or --no-inferred")
        return _run_changes(args)
    ctx = open_context(args.db, read_only_ok=True)
    try:
        events = ctx.repository.event_history(
            username=args.name,
            since=args.since,
            until=args.until,
            event_type=EventType(args.event_type) if args.event_type else None,
            inferred=args.inferred,
            limit=args.limit if args.limit is not None else (None if args.json or args.csv else 50),
        )
    finally:
        ctx.close()
    if args.json:
        print_json([event.as_json() for event in events])
    elif args.csv:
        print_csv(
            HISTORY_FIELDS, [[event.as_json()[f] for f in HISTORY_FIELDS] for event in events]
        )
    elif not events:
        print("no events recorded for this filter")
    else:
        print_table(
            ["time (utc)", "streamer", "event", "change"],
            [
                [
                    e.event_timestamp,
                    e.streamer or "-",
                    f"{e.event_type} (inferred)" if e.inferred else e.event_type,
                    f"{e.previous_status} → {e.new_status}",
                ]
                for e in events
            ],
        )
    return 0


def _run_changes(args: argparse.Namespace) -> int:
    from kickwatch.context import open_context
    from kickwatch.store.rules import RuleStore

    ctx = open_context(args.db, read_only_ok=True)
    try:
        changes = RuleStore(ctx.database, ctx.clock).changes(
            username=args.name,
            since=args.since,
            until=args.until,
            limit=args.limit if args.limit is not None else (None if args.json or args.csv else 50),
        )
    finally:
        ctx.close()
    if args.json:
        print_json([change.as_json() for change in changes])
    elif args.csv:
        print_csv(CHANGE_FIELDS, [[c.as_json()[f] for f in CHANGE_FIELDS] for c in changes])
    elif not changes:
        print("no title or category changes recorded for this filter")
    else:
        print_table(
            ["time (utc)", "streamer", "change", "from", "to"],
            [[c.changed_at, c.streamer, c.kind.label, c.previous, c.value] for c in changes],
        )
    return 0
