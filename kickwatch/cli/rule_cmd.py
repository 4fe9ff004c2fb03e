"""`kickwatch rule show|set|clear`: the per-streamer rules of alerts.

`rule set NAME` changes only the options given: `--keywords`/`--categories` take a
comma-separated list (an empty one clears it), `--title-changes/--no-title-changes` and
`--open/--no-open` switch, `--sound PATH` names a sound file (checked: it exists, can be read and
is a sound) and `--no-sound` drops it. `rule show` lists every rule, `rule show NAME` one, as a
table or JSON; `rule clear NAME` deletes a streamer's rule.
"""

from __future__ import annotations

import argparse
from typing import Any

from kickwatch.cli.output import print_json, print_table
from kickwatch.domain.errors import ValidationError
from kickwatch.domain.rules import StreamerRule, split_list
from kickwatch.domain.validation import normalize_username

RULE_DESCRIPTION = (
    "Per-streamer rules: alert only when the title has one of the keywords or the category is "
    "one of the categories (case-insensitive; either is enough), alert when a live stream's "
    "title or category changes, play a sound file of its own, open the stream when it goes "
    "live (the tray app). Options left out of `set` keep their value."
)


def register(commands: Any) -> None:
    """Add `rule` and its subcommands to the parser."""
    rule = commands.add_parser(
        "rule", help="per-streamer alert rules", description=RULE_DESCRIPTION
    )
    actions = rule.add_subparsers(dest="rule_command", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="show the rule of a streamer, or every rule")
    show.add_argument("name", nargs="?", metavar="USERNAME", help="one streamer (default: all)")
    show.add_argument("--json", action="store_true", help="JSON output")
    show.set_defaults(handler=run_show)

    change = actions.add_parser(
        "set", help="change a streamer's rule", description=RULE_DESCRIPTION
    )
    change.add_argument("name", metavar="USERNAME")
    change.add_argument(
        "--keywords",
        metavar="K1,K2",
        help="alert only for titles holding one of these words (empty: any title)",
    )
    change.add_argument(
        "--categories",
        metavar="C1,C2",
        help="alert only for these categories, e.g. 'Just Chatting,Chess' (empty: any)",
    )
    change.add_argument(
        "--title-changes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="alert when the title or category changes while live",
    )
    sound = change.add_mutually_exclusive_group()
    sound.add_argument("--sound", metavar="PATH", help="play this sound file with its alerts")
    sound.add_argument("--no-sound", action="store_true", help="use the default sound again")
    change.add_argument(
        "--open",
        action=argparse.BooleanOptionalAction,
        default=None,
        dest="open_on_live",
        help="open the stream when it goes live (tray app)",
    )
    change.set_defaults(handler=run_set)

    clear = actions.add_parser("clear", help="delete a streamer's rule")
    clear.add_argument("name", metavar="USERNAME")
    clear.set_defaults(handler=run_clear)


def _rows(pairs: list[tuple[str, StreamerRule]]) -> list[list[Any]]:
    return [
        [
            name,
            ", ".join(rule.keywords) or "-",
            ", ".join(rule.categories) or "-",
            rule.title_changes,
            rule.sound_path,
            rule.open_on_live,
        ]
        for name, rule in pairs
    ]


HEADERS = ["streamer", "keywords", "categories", "changes", "sound", "open"]


def run_show(args: argparse.Namespace) -> int:
    from kickwatch.context import open_context
    from kickwatch.store.rules import RuleStore

    ctx = open_context(args.db, read_only_ok=True)
    try:
        store = RuleStore(ctx.database, ctx.clock)
        if args.name is None:
            pairs = store.rules_by_username()
        else:
            rule = store.get_rule(args.name)  # NotFoundError for a streamer not monitored
            name = normalize_username(args.name)
            if rule is None and not args.json:
                print(f"{name} has no rule: every stream is announced as usual")
                return 0
            pairs = [] if rule is None else [(name, rule)]
    finally:
        ctx.close()
    if args.json:
        if args.name is not None:
            print_json(pairs[0][1].as_json() if pairs else None)
        else:
            print_json({name: rule.as_json() for name, rule in pairs})
    elif not pairs:
        print("no rules: every stream is announced as usual")
    else:
        print_table(HEADERS, _rows(pairs))
    return 0


def run_set(args: argparse.Namespace) -> int:
    from kickwatch.context import open_context
    from kickwatch.platform.sounds import check_sound_file
    from kickwatch.store.rules import RuleStore

    if (
        args.keywords is None
        and args.categories is None
        and args.title_changes is None
        and args.sound is None
        and not args.no_sound
        and args.open_on_live is None
    ):
        raise ValidationError(
            "rule set",
            "nothing to change: give --keywords, --categories, --title-changes, --sound or --open",
        )
    sound: str | None = None
    if args.no_sound:
        sound = ""
    elif args.sound is not None:
        if not args.sound.strip():
            raise ValidationError("--sound", "give a path, or --no-sound to drop the sound")
        sound = check_sound_file(args.sound)
    ctx = open_context(args.db)
    try:
        store = RuleStore(ctx.database, ctx.clock)
        rule = store.set_rule(
            args.name,
            keywords=None if args.keywords is None else split_list(args.keywords),
            categories=None if args.categories is None else split_list(args.categories),
            title_changes=args.title_changes,
            sound_path=sound,
            open_on_live=args.open_on_live,
        )
    finally:
        ctx.close()
    name = normalize_username(args.name)
    if rule == StreamerRule(rule.streamer_id):
        print(f"{name}: the rule asks for nothing now and was removed")
    else:
        print(f"{name}: {rule.describe()}")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    from kickwatch.context import open_context
    from kickwatch.store.rules import RuleStore

    ctx = open_context(args.db)
    try:
        removed = RuleStore(ctx.database, ctx.clock).clear_rule(args.name)
    finally:
        ctx.close()
    name = normalize_username(args.name)
    print(f"{name}: rule removed" if removed else f"{name} had no rule; nothing changed")
    return 0
