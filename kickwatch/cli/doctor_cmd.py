"""`kickwatch doctor`: is the database reachable and current, where is the key, which paths."""

from __future__ import annotations

import argparse
from typing import Any

from kickwatch import __version__
from kickwatch.context import open_context
from kickwatch.domain.errors import KickwatchError
from kickwatch.store.schema import SCHEMA_VERSION
from kickwatch.store.secrets import KeySource


def register(commands: Any) -> None:
    """Add `doctor` to the parser."""
    doctor = commands.add_parser("doctor", help="check the database, the key and the paths")
    doctor.add_argument(
        "--connection",
        action="store_true",
        help="also test the connection to Kick (recorded in the history)",
    )
    doctor.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    ok = True
    print(f"kickwatch {__version__}")
    try:
        ctx = open_context(args.db)
    except KickwatchError as exc:
        print(f"database     FAIL  {exc}")
        return 1
    try:
        version = ctx.database.schema_version()
        state = "current" if version == SCHEMA_VERSION else f"expected {SCHEMA_VERSION}"
        streamers = ctx.repository.all_streamers()
        active = sum(1 for s in streamers if s.is_active)
        print(f"database     ok    {ctx.database.dialect} {ctx.database.display_url()}")
        print(
            f"schema       {'ok  ' if version == SCHEMA_VERSION else 'FAIL'}  "
            f"version {version} ({state})"
        )
        print(f"streamers    ok    {len(streamers)} ({active} active)")
        quarantined = ctx.repository.count_quarantined()
        if quarantined:
            print(
                f"quarantine   warn  {quarantined} changes could not be stored "
                "(kickwatch quarantine)"
            )
        else:
            print("quarantine   ok    no changes set aside")
        try:
            master = ctx.secrets.master
            note = {
                KeySource.KEYRING: f"OS keyring ({master.detail}, service 'kickwatch')",
                KeySource.ENVIRONMENT: "environment variable KICKWATCH_MASTER_KEY",
                KeySource.KEY_FILE: f"key file {master.detail} (no OS keyring available)",
            }[master.source]
            print(
                f"master key   {'ok  ' if master.source != KeySource.KEY_FILE else 'warn'}  {note}"
            )
        except KickwatchError as exc:
            ok = False
            print(f"master key   FAIL  {exc}")
        print(f"data dir     {ctx.paths.data_dir}")
        print(f"config dir   {ctx.paths.config_dir}")
        print(f"log dir      {ctx.paths.log_dir}")
        if args.connection:
            from kickwatch.monitor.lookup import test_connection

            passed, detail = test_connection(ctx)
            ok = ok and passed
            print(f"kick         {'ok  ' if passed else 'FAIL'}  {detail} (recorded in history)")
        return 0 if ok and version == SCHEMA_VERSION else 1
    finally:
        ctx.close()
