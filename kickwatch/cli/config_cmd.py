"""`kickwatch config list/get/set/unset`: settings, with secrets masked unless revealed.

Every setting does what it says when it is set here: start at login writes or removes the login
entry at once (through the platform's `Autostart`), and a value that a running kickwatch reads
only when it starts says so. Endpoints overridden by an environment variable show the value in
force and the variable's name. The database is not a setting (it holds the settings): its URL
comes from `--db`, then `KICKWATCH_DB`, then the default file, and `list` shows the one in force.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import Any

from kickwatch.cli.output import print_table
from kickwatch.context import Context, database_url_and_source, open_context
from kickwatch.domain.errors import KickwatchError, NotFoundError, ValidationError
from kickwatch.domain.validation import is_sensitive, validate_config_key
from kickwatch.kick.endpoints import endpoint_origins
from kickwatch.paths import Paths
from kickwatch.platform.autostart import Autostart, autostart_for_platform
from kickwatch.store.database import mask_url
from kickwatch.store.secrets import mask
from kickwatch.store.settings import (
    RETIRED,
    SPECS,
    START_AT_LOGIN,
    Applies,
    SettingSpec,
    format_value,
    spec_for,
)

DESCRIPTION = """\
Show or change settings. They are stored in the database, so the database itself is not a
setting: it is the --db option, else the KICKWATCH_DB environment variable, else the default
file (`config list` shows the one in use). Monitoring, account and retention settings are read
when kickwatch starts: a tray app or `kickwatch run` that is already running uses a new value
after a restart, and `config set` says so. Setting system.start_at_login writes (or removes)
the login entry at once. An endpoint set by an environment variable (KICKWATCH_API_URL, ...)
wins over its setting; `config list` shows the source.
"""

RESTART_NOTES = {
    Applies.AT_START: "a tray app or `kickwatch run` already running uses it after a restart",
    Applies.BY_TRAY_APP: "a tray app already running uses it after a restart",
}


def register(commands: Any) -> None:
    """Add `config` and its verbs to the parser."""
    config = commands.add_parser("config", help="show or change settings", description=DESCRIPTION)
    verbs = config.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser(
        "list", help="every setting with its value and source, and the database in use"
    )
    listing.add_argument("--reveal", action="store_true", help="show secret values")
    listing.set_defaults(handler=run_list)
    get = verbs.add_parser("get", help="one setting's value")
    get.add_argument("key")
    get.add_argument("--reveal", action="store_true", help="show a secret value")
    get.set_defaults(handler=run_get)
    put = verbs.add_parser(
        "set", help="change a setting (says when a running kickwatch needs a restart)"
    )
    put.add_argument("key")
    put.add_argument("value")
    put.set_defaults(handler=run_set)
    unset = verbs.add_parser("unset", help="return a setting to its default")
    unset.add_argument("key")
    unset.set_defaults(handler=run_unset)


def autostart_here() -> Autostart:
    """Start at login for this platform and user (XDG_CONFIG_HOME, HOME are honoured)."""
    return autostart_for_platform(os.environ)


def _shown(key: str, value: Any, reveal: bool) -> str:
    text = format_value(value)
    return mask(text) if is_sensitive(key) and not reveal else text


def _known(key: str, db: str | None) -> SettingSpec:
    """The spec of `key`; a retired key is explained with the value in force."""
    validate_config_key(key)
    if key == "database.url":
        url, source = database_url_and_source(Paths.from_env(), os.environ, db)
        raise ValidationError(
            "key",
            f"{key} is not a setting: {RETIRED[key]} (in use: {mask_url(url)}, "
            f"{_source_words(source)})",
        )
    return spec_for(key)


def _source_words(source: str) -> str:
    return {"--db": "from --db", "KICKWATCH_DB": "from KICKWATCH_DB"}.get(source, "the default")


def _endpoint_sources(ctx: Context) -> dict[str, tuple[str, str]]:
    """monitoring.*_url key → (value in force, source) for endpoints."""
    overrides = {
        f"monitoring.{name}": str(ctx.settings.get(f"monitoring.{name}"))
        for name in ("pusher_url", "api_url", "auth_url", "web_url")
    }
    return {
        f"monitoring.{name}": found
        for name, found in endpoint_origins(ctx.environ, overrides).items()
    }


def run_list(args: argparse.Namespace) -> int:
    ctx = open_context(args.db, read_only_ok=True)
    try:
        stored = {entry.key: entry for entry in ctx.config.entries()}
        endpoints = _endpoint_sources(ctx)
        rows = []
        for spec in SPECS:
            entry = stored.get(spec.key)
            value = ctx.settings.get(spec.key) if entry is not None else spec.default
            source = "set" if entry is not None else "default"
            if spec.key in endpoints and endpoints[spec.key][1] not in ("setting", "default"):
                value, source = endpoints[spec.key][0], f"env {endpoints[spec.key][1]}"
            elif spec.key == START_AT_LOGIN:
                value, source = _autostart_state()
            rows.append(
                [
                    spec.key,
                    _shown(spec.key, value, args.reveal),
                    source,
                    entry.updated_by if entry is not None else "",
                ]
            )
        print_table(["key", "value", "source", "updated by"], rows)
        print(
            f"\ndatabase in use: {ctx.database.display_url()} "
            f"({_source_words(ctx.database_source)}; choose another with --db or KICKWATCH_DB)"
        )
        return 0
    finally:
        ctx.close()


def _autostart_state() -> tuple[Any, str]:
    """Whether the login entry exists, and the source column for it."""
    try:
        return autostart_here().is_enabled(), "login entry"
    except KickwatchError as exc:
        return "unknown", str(exc)


def run_get(args: argparse.Namespace) -> int:
    _known(args.key, args.db)
    if args.key == START_AT_LOGIN:
        print(format_value(autostart_here().is_enabled()))
        return 0
    ctx = open_context(args.db, read_only_ok=True)
    try:
        print(_shown(args.key, ctx.settings.get(args.key), args.reveal))
        return 0
    finally:
        ctx.close()


def run_set(args: argparse.Namespace) -> int:
    spec = _known(args.key, args.db)
    value = spec.parse(args.key, args.value)  # bad input is refused before anything opens
    ctx = open_context(args.db)
    try:
        note = ""
        if spec.key == START_AT_LOGIN:
            note = _apply_autostart(bool(value))
        ctx.settings.set(args.key, args.value, updated_by="cli")
        print(f"{args.key} = {_shown(args.key, value, False)}{_notes(ctx, spec, note)}")
        return 0
    finally:
        ctx.close()


def run_unset(args: argparse.Namespace) -> int:
    spec = _known(args.key, args.db)
    ctx = open_context(args.db)
    try:
        note = ""
        if spec.key == START_AT_LOGIN:
            note = _apply_autostart(bool(spec.default))
            with contextlib.suppress(NotFoundError):  # the login entry is what mattered
                ctx.config.unset(args.key)
        else:
            ctx.config.unset(args.key)
        default = _shown(args.key, spec.default, False) or "empty"
        print(f"{args.key} unset (default: {default}){_notes(ctx, spec, note)}")
        return 0
    finally:
        ctx.close()


def _apply_autostart(enabled: bool) -> str:
    """Write or remove the login entry (AutostartError when that fails: nothing is stored)."""
    autostart = autostart_here()
    if enabled:
        autostart.enable()
        return f"{autostart.describe()} written"
    autostart.disable()
    return f"{autostart.describe()} removed"


def _notes(ctx: Context, spec: SettingSpec, note: str) -> str:
    """What the user must know about a change: the login entry, a restart, an override."""
    notes = [note] if note else []
    if spec.applies in RESTART_NOTES:
        notes.append(RESTART_NOTES[spec.applies])
    in_force = _endpoint_sources(ctx).get(spec.key)
    if in_force is not None and in_force[1] not in ("setting", "default"):
        notes.append(f"{in_force[1]} is set and wins: {in_force[0]} stays in use")
    return "".join(f"\n  note: {text}" for text in notes)
