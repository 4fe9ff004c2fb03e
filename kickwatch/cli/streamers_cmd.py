"""`kickwatch add/remove/enable/disable/list`: managing the monitored streamers.

`add` can be repeated safely: a streamer that is already monitored is reported and left as it
is (exit 0), whether it was looked up on Kick or given with `--user-id`; only ids that clash
with a different stored streamer are an error (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from kickwatch.cli.output import print_json, print_table, streamer_json
from kickwatch.context import open_context
from kickwatch.domain.errors import AlreadyExistsError, ValidationError
from kickwatch.domain.validation import (
    MAX_DISPLAY_NAME,
    normalize_username,
    validate_display_name,
    validate_kick_id,
)

ADD_DESCRIPTION = (
    "Monitor streamers, looked up on Kick by name (or kick.com URL). With --user-id (and "
    "--channel-id for the live socket) no lookup is made: use it when the lookup fails. A "
    "streamer that is already monitored is reported and left unchanged (exit 0), so add can be "
    "repeated safely; an id that belongs to a different stored streamer is an error (exit 2)."
)


def _kick_id(field: str) -> Callable[[str], int]:
    """An argparse type for a Kick id (positive, fits a 64-bit integer; bad input shortened)."""

    def parse(text: str) -> int:
        try:
            return validate_kick_id(field, text)
        except ValidationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _display_name(text: str) -> str:
    try:
        return validate_display_name(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(commands: Any) -> None:
    """Add the streamer subcommands to the parser."""
    add = commands.add_parser(
        "add", help="monitor one or more streamers", description=ADD_DESCRIPTION
    )
    add.add_argument("names", nargs="+", metavar="USERNAME_OR_URL")
    add.add_argument(
        "--user-id",
        type=_kick_id("kick_user_id"),
        metavar="ID",
        help="Kick user id (skips the Kick lookup)",
    )
    add.add_argument(
        "--channel-id",
        type=_kick_id("kick_channel_id"),
        metavar="ID",
        help="Kick channel id (for the live socket)",
    )
    add.add_argument(
        "--display-name",
        type=_display_name,
        metavar="NAME",
        help=f"name to show instead of the username (at most {MAX_DISPLAY_NAME} characters)",
    )
    add.set_defaults(handler=run_add)

    remove = commands.add_parser("remove", help="stop monitoring a streamer and delete its history")
    remove.add_argument("name", metavar="USERNAME")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(handler=run_remove)

    for verb, active in (("enable", True), ("disable", False)):
        sub = commands.add_parser(verb, help=f"{verb} monitoring of a streamer")
        sub.add_argument("name", metavar="USERNAME")
        sub.set_defaults(handler=run_set_active, active=active)

    listing = commands.add_parser("list", help="show the monitored streamers")
    listing.add_argument("--json", action="store_true", help="JSON output")
    listing.set_defaults(handler=run_list)


def run_add(args: argparse.Namespace) -> int:
    names = [normalize_username(name) for name in args.names]
    by_hand = args.user_id is not None or args.channel_id is not None or args.display_name
    if by_hand and len(names) != 1:
        raise ValidationError(
            "names", "--user-id/--channel-id/--display-name need exactly one name"
        )
    ctx = open_context(args.db)
    try:
        if args.user_id is not None:
            existing = ctx.repository.get_by_username(names[0])
            if existing is not None:
                same = existing.kick_user_id == args.user_id and args.channel_id in (
                    None,
                    existing.kick_channel_id,
                )
                if not same:
                    raise AlreadyExistsError(
                        f"{existing.username} is already monitored with Kick user id "
                        f"{existing.kick_user_id}"
                        + (
                            f" and channel id {existing.kick_channel_id}"
                            if existing.kick_channel_id
                            else ""
                        )
                        + "; nothing changed"
                    )
                print(f"{names[0]}: {existing.username} is already monitored; nothing changed")
                return 0
            record = ctx.repository.add_streamer(
                names[0],
                args.user_id,
                kick_channel_id=args.channel_id,
                display_name=args.display_name,
                notify_on_end=bool(ctx.settings.get("system.notify_on_end")),
            )
            print(f"added {record.username} (Kick user id {record.kick_user_id})")
            return 0
        from kickwatch.monitor.lookup import add_by_names

        failures = 0
        for outcome in add_by_names(ctx, names, display_name=args.display_name):
            if outcome.record is not None:
                channel = outcome.record.kick_channel_id
                print(
                    f"added {outcome.record.username} ({outcome.record.display_name}, "
                    f"Kick user id {outcome.record.kick_user_id}"
                    + (f", channel {channel}" if channel else ", no channel id: live push off")
                    + ")"
                )
            elif isinstance(outcome.error, AlreadyExistsError):
                print(f"{outcome.name}: {outcome.error}; nothing changed")
            else:
                failures += 1
                print(
                    f"kickwatch: error: {outcome.name}: {outcome.error}; to add it without a "
                    f"lookup: kickwatch add {outcome.name} --user-id ID [--channel-id ID]",
                    file=sys.stderr,
                )
        return 1 if failures else 0
    finally:
        ctx.close()


def run_remove(args: argparse.Namespace) -> int:
    ctx = open_context(args.db)
    try:
        record = ctx.repository.get_by_username(args.name)
        if record is None:
            ctx.repository.remove_streamer(args.name)  # raises NotFoundError with the message
            return 0
        events = ctx.repository.count_events(username=record.username)
        if not args.yes:
            if not sys.stdin.isatty():
                raise ValidationError(
                    "--yes", f"removing {record.username} deletes {events} events: add --yes"
                )
            answer = input(f"Remove {record.username} and its {events} events? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing removed")
                return 1
        ctx.repository.remove_streamer(record.username)
        print(f"removed {record.username} and {events} events")
        return 0
    finally:
        ctx.close()


def run_set_active(args: argparse.Namespace) -> int:
    ctx = open_context(args.db)
    try:
        record = ctx.repository.set_active(args.name, args.active)
        print(f"{record.username}: monitoring {'enabled' if record.is_active else 'disabled'}")
        return 0
    finally:
        ctx.close()


def run_list(args: argparse.Namespace) -> int:
    ctx = open_context(args.db, read_only_ok=True)
    try:
        records = ctx.repository.all_streamers()
        if args.json:
            print_json([streamer_json(r) for r in records])
            return 0
        if not records:
            print("no streamers yet: kickwatch add NAME")
            return 0
        print_table(
            [
                "username",
                "display name",
                "status",
                "active",
                "last seen online",
                "user id",
                "channel id",
            ],
            [
                [
                    r.username,
                    r.display_name,
                    r.status,
                    r.is_active,
                    r.last_seen_online,
                    r.kick_user_id,
                    r.kick_channel_id,
                ]
                for r in records
            ],
        )
        return 0
    finally:
        ctx.close()
