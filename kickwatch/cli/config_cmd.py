"""`kickwatch config list/get/set/unset`: settings, with secrets masked unless revealed."""

from __future__ import annotations

import argparse
from typing import Any

from kickwatch.cli.output import print_table
from kickwatch.context import open_context
from kickwatch.domain.validation import is_sensitive
from kickwatch.store.secrets import mask
from kickwatch.store.settings import SPECS, format_value, spec_for


def register(commands: Any) -> None:
    """Add `config` and its verbs to the parser."""
    config = commands.add_parser("config", help="show or change settings")
    verbs = config.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="every setting with its value")
    listing.add_argument("--reveal", action="store_true", help="show secret values")
    listing.set_defaults(handler=run_list)
    get = verbs.add_parser("get", help="one setting's value")
    get.add_argument("key")
    get.add_argument("--reveal", action="store_true", help="show a secret value")
    get.set_defaults(handler=run_get)
    put = verbs.add_parser("set", help="change a setting")
    put.add_argument("key")
    put.add_argument("value")
    put.set_defaults(handler=run_set)
    unset = verbs.add_parser("unset", help="return a setting to its default")
    unset.add_argument("key")
    unset.set_defaults(handler=run_unset)


def _shown(key: str, value: Any, reveal: bool) -> str:
    text = format_value(value)
    return mask(text) if is_sensitive(key) and not reveal else text


def run_list(args: argparse.Namespace) -> int:
    ctx = open_context(args.db)
    try:
        stored = {entry.key: entry for entry in ctx.config.entries()}
        rows = []
        for spec in SPECS:
            entry = stored.get(spec.key)
            value = ctx.settings.get(spec.key) if entry is not None else spec.default
            rows.append(
                [
                    spec.key,
                    _shown(spec.key, value, args.reveal),
                    "set" if entry is not None else "default",
                    entry.updated_by if entry is not None else "",
                ]
            )
        print_table(["key", "value", "source", "updated by"], rows)
        return 0
    finally:
        ctx.close()


def run_get(args: argparse.Namespace) -> int:
    spec_for(args.key)
    ctx = open_context(args.db)
    try:
        print(_shown(args.key, ctx.settings.get(args.key), args.reveal))
        return 0
    finally:
        ctx.close()


def run_set(args: argparse.Namespace) -> int:
    spec_for(args.key)
    ctx = open_context(args.db)
    try:
        value = ctx.settings.set(args.key, args.value, updated_by="cli")
        print(f"{args.key} = {_shown(args.key, value, False)}")
        return 0
    finally:
        ctx.close()


def run_unset(args: argparse.Namespace) -> int:
    spec = spec_for(args.key)
    ctx = open_context(args.db)
    try:
        ctx.config.unset(args.key)
        print(f"{args.key} unset (default: {_shown(args.key, spec.default, False) or 'empty'})")
        return 0
    finally:
        ctx.close()
