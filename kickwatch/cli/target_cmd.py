"""`kickwatch target add|list|test|remove`: where alerts go besides the desktop (Apprise URLs).

A target URL is checked by Apprise before it is stored (an unknown scheme or a malformed URL is
refused with the reason), stored encrypted with the master key, and shown masked everywhere,
error messages included. `add -` reads the URL from standard input, so it stays out of the
shell's history. `test` sends a test alert at once and says whether the service took it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kickwatch.cli.output import print_json, print_table
from kickwatch.context import open_context
from kickwatch.domain.errors import KickwatchError

EXAMPLES = (
    "Examples: discord://WEBHOOK_ID/WEBHOOK_TOKEN, ntfy://TOPIC, ntfys://ntfy.example.org/TOPIC, "
    "tgram://BOT_TOKEN/CHAT_ID, json://HOST:PORT/PATH. Every service and its URL: "
    "https://github.com/caronc/apprise/wiki"
)


class AlertNotSentError(KickwatchError):
    """A test alert that the target did not accept (the reason is masked)."""


def register(commands: Any) -> None:
    """Add `target` and its subcommands to the parser."""
    target = commands.add_parser(
        "target",
        help="send alerts to Discord, Telegram, ntfy and more (Apprise URLs)",
        description="Manage alert targets: each go-live, went-offline and title/category change "
        "alert the notification policy decides is also sent to every matching target. " + EXAMPLES,
    )
    actions = target.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        help="add a target (its URL is validated, stored encrypted, shown masked)",
        description="Add an alert target. " + EXAMPLES,
    )
    add.add_argument("url", metavar="URL", help="an Apprise URL, or - to read it from stdin")
    add.add_argument("--name", metavar="NAME", help="what to call it (default: from the URL)")
    add.add_argument(
        "--streamers",
        metavar="A,B",
        default="",
        help="only these streamers (default: every streamer)",
    )
    add.add_argument(
        "--events",
        metavar="start,end,change",
        default="start,end,change",
        help="which alerts, comma-separated: start (went live), end (went offline), change (a "
        "live stream's new title or category); default: all three. The notification settings "
        "and rule of each streamer still decide whether an alert is made at all: offline alerts "
        "only for streamers with them on, change alerts only where a rule has --title-changes",
    )
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", help="list the targets (URLs masked)")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=run_list)

    test = actions.add_parser("test", help="send a test alert to a target now")
    test.add_argument("name", metavar="NAME")
    test.set_defaults(handler=run_test)

    remove = actions.add_parser("remove", help="remove a target (and what it was sent)")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=run_remove)


def run_add(args: argparse.Namespace) -> int:
    from kickwatch.alerts.targets import TargetStore, parse_events, parse_streamers

    url = sys.stdin.readline().strip() if args.url == "-" else args.url
    events = parse_events(args.events)
    streamers = parse_streamers(args.streamers)
    ctx = open_context(args.db)
    try:
        store = TargetStore(ctx.database, ctx.secrets, ctx.clock)
        record = store.add(url, name=args.name, streamers=streamers, events=events)
        known = {s.username for s in ctx.repository.all_streamers()}
    finally:
        ctx.close()
    print(f"added target {record.name}: {record.url_masked} ({record.describe()})")
    unknown = [name for name in record.streamers if name not in known]
    if unknown:
        print(f"note: not monitored (yet): {', '.join(unknown)}; kickwatch add NAME")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kickwatch.alerts.targets import Outbox, OutboxSummary, TargetStore

    ctx = open_context(args.db, read_only_ok=True)
    try:
        targets = TargetStore(ctx.database, ctx.secrets, ctx.clock).all()
        summary = Outbox(ctx.database, ctx.clock).summary()
    finally:
        ctx.close()
    if args.json:
        print_json(
            [
                {
                    "name": t.name,
                    "url": t.url_masked,
                    "streamers": list(t.streamers),
                    "events": [str(kind) for kind in t.events],
                    "pending": summary.get(t.id, OutboxSummary()).pending,
                    "sent": summary.get(t.id, OutboxSummary()).sent,
                    "failed": summary.get(t.id, OutboxSummary()).failed,
                    "last_error": summary.get(t.id, OutboxSummary()).last_error,
                }
                for t in targets
            ]
        )
        return 0
    if not targets:
        print("no targets yet: kickwatch target add URL")
        return 0
    rows = []
    for t in targets:
        state = summary.get(t.id, OutboxSummary())
        rows.append(
            [
                t.name,
                t.url_masked,
                ", ".join(t.streamers) or "all",
                ",".join(str(kind) for kind in t.events),
                state.pending,
                state.sent,
                state.failed,
                state.last_error,
            ]
        )
    print_table(
        ["name", "url", "streamers", "events", "pending", "sent", "failed", "last error"], rows
    )
    return 0


def run_test(args: argparse.Namespace) -> int:
    from kickwatch.alerts import apprise_io
    from kickwatch.alerts.message import AlertKind, AlertMessage
    from kickwatch.alerts.targets import TargetStore

    ctx = open_context(args.db, read_only_ok=True)
    try:
        store = TargetStore(ctx.database, ctx.secrets, ctx.clock)
        record = store.get(args.name)
        url = store.url(record.name)
    finally:
        ctx.close()
    message = AlertMessage(
        kind=AlertKind.START,
        streamer="kickwatch",
        title="kickwatch test alert",
        link="https://kick.com",
        stream_title=f"Alerts for {record.describe()} will arrive here.",
    )
    error = apprise_io.send(url, message)
    if error is not None:
        raise AlertNotSentError(f"target {record.name} ({record.url_masked}): {error}")
    print(f"sent a test alert to {record.name} ({record.url_masked})")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from kickwatch.alerts.targets import TargetStore

    ctx = open_context(args.db)
    try:
        record = TargetStore(ctx.database, ctx.secrets, ctx.clock).remove(args.name)
    finally:
        ctx.close()
    print(f"removed target {record.name} ({record.url_masked})")
    return 0
