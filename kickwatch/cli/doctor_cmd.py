"""`kickwatch doctor`: is the database reachable and current, where is the key, which paths.

Every problem is one `FAIL` (or `warn`) line and the checks go on: a file that is not a
kickwatch database, a read-only database, a locked one. On PostgreSQL it says which `kickwatch
run` worker holds how many streamers. Doctor changes nothing: the database is opened read-only
when it cannot be written, and the master key is only looked for, never made.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import peewee

from kickwatch import __version__
from kickwatch.context import Context, open_context
from kickwatch.domain.errors import KickwatchError
from kickwatch.domain.records import iso
from kickwatch.paths import Paths
from kickwatch.store.leases import DatabaseClock, overview
from kickwatch.store.schema import SCHEMA_VERSION
from kickwatch.store.secrets import ENV_MASTER_KEY, KeyLocation, KeySource, locate_master_key


def register(commands: Any) -> None:
    """Add `doctor` to the parser."""
    doctor = commands.add_parser(
        "doctor",
        help="check the database, the key and the paths",
        description="Check the database, the master key and the paths, one line each "
        "(ok, warn or FAIL); exit 1 when any check fails. Nothing is changed.",
    )
    doctor.add_argument(
        "--connection",
        action="store_true",
        help="also test the connection to Kick (recorded in the history)",
    )
    doctor.set_defaults(handler=run_doctor)


def _line(name: str, state: str, text: str) -> None:
    print(f"{name:<12} {state:<4}  {text}")


def run_doctor(args: argparse.Namespace) -> int:
    print(f"kickwatch {__version__}")
    ctx: Context | None = None
    try:
        ctx = open_context(args.db, read_only_ok=True)
    except KickwatchError as exc:
        _line("database", "FAIL", str(exc))
    ok = ctx is not None
    try:
        if ctx is not None:
            ok = _check_database(ctx)
            _check_targets(ctx)
            location = ctx.secrets.location()
            paths = ctx.paths
        else:
            paths = Paths.from_env()
            location = locate_master_key(paths.key_file, os.environ)
        ok = _check_key(location) and ok
        print(f"data dir     {paths.data_dir}")
        print(f"config dir   {paths.config_dir}")
        print(f"log dir      {paths.log_dir}")
        if args.connection and ctx is not None and ctx.database.read_only is not None:
            ok = False
            _line(
                "kick",
                "FAIL",
                "not tested: the result is recorded in the database, which is read-only",
            )
        elif args.connection and ctx is not None:
            from kickwatch.monitor.lookup import test_connection

            passed, detail = test_connection(ctx)
            ok = ok and passed
            _line("kick", "ok" if passed else "FAIL", f"{detail} (recorded in history)")
        return 0 if ok else 1
    finally:
        if ctx is not None:
            ctx.close()


def _check_database(ctx: Context) -> bool:
    """The database, schema, streamer and quarantine lines; False when one failed."""
    from kickwatch.cli import database_error_message

    database = ctx.database
    ok = database.read_only is None
    if database.read_only is None:
        _line("database", "ok", f"{database.dialect} {database.display_url()}")
    else:
        _line(
            "database",
            "FAIL",
            f"{database.dialect} {database.display_url()} is read-only ({database.read_only}): "
            "reading works, changes are refused",
        )
    try:
        version = database.schema_version()
        current = version == SCHEMA_VERSION
        state = "current" if current else f"expected {SCHEMA_VERSION}"
        _line("schema", "ok" if current else "FAIL", f"version {version} ({state})")
        streamers = ctx.repository.all_streamers()
        active = sum(1 for s in streamers if s.is_active)
        _line("streamers", "ok", f"{len(streamers)} ({active} active)")
        quarantined = ctx.repository.count_quarantined()
        if quarantined:
            _line(
                "quarantine",
                "warn",
                f"{quarantined} changes could not be stored (kickwatch quarantine)",
            )
        else:
            _line("quarantine", "ok", "no changes set aside")
        _check_workers(ctx)
    except KickwatchError as exc:
        _line("database", "FAIL", str(exc))
        return False
    except (peewee.OperationalError, peewee.InterfaceError) as exc:
        _line("database", "FAIL", database_error_message(exc))
        return False
    return ok and current


def _check_targets(ctx: Context) -> None:
    """One line per alert target: its URL masked and how its alerts are doing. A target that
    fails is a warning: monitoring goes on, and the alerts wait in the outbox."""
    from kickwatch.alerts.targets import Outbox, OutboxSummary, TargetStore

    try:
        targets = TargetStore(ctx.database, ctx.secrets, ctx.clock).all()
        summary = Outbox(ctx.database, ctx.clock).summary()
    except (KickwatchError, peewee.OperationalError, peewee.InterfaceError) as exc:
        _line("targets", "warn", f"not read: {exc}")
        return
    if not targets:
        _line("targets", "ok", "none (kickwatch target add URL sends alerts elsewhere)")
        return
    for target in targets:
        state = summary.get(target.id, OutboxSummary())
        text = f"{target.name} {target.url_masked}: {state.sent} sent"
        problem = bool(state.failed or (state.pending and state.last_error))
        if state.pending:
            text += f", {state.pending} waiting"
        if state.failed:
            text += f", {state.failed} given up"
        if problem and state.last_error:
            text += f" (last error: {state.last_error})"
        _line("target", "warn" if problem else "ok", text)


def _check_workers(ctx: Context) -> None:
    """Which `kickwatch run` worker holds how many streamers (PostgreSQL), one line each."""
    database = ctx.database
    if database.dialect != "postgresql":
        _line("workers", "ok", "SQLite: no leases, a monitor watches every active streamer")
        return
    seen = overview(database, DatabaseClock(database, ctx.clock))
    held = seen.active - seen.unheld
    if not seen.workers:
        _line("workers", "ok", f"no kickwatch run worker is running ({seen.active} active)")
    elif seen.unheld:
        _line(
            "workers",
            "warn",
            f"{len(seen.workers)} live; {seen.unheld} of {seen.active} active streamers held by "
            "no live worker (taken over at the next lease round)",
        )
    else:
        _line("workers", "ok", f"{len(seen.workers)} live; all {held} active streamers held")
    for worker in seen.workers:
        age = max(0.0, (seen.at - worker.heartbeat_at).total_seconds())
        _line(
            "worker",
            "ok",
            f"{worker.worker_id} holds {worker.held} (heartbeat {age:.0f} s ago, "
            f"running since {iso(worker.started_at)})",
        )


def _check_key(location: KeyLocation) -> bool:
    """The master key line (nothing is created to find it); False when it failed."""
    if location.source is KeySource.KEYRING:
        note = f"OS keyring ({location.detail}, service 'kickwatch')"
        if not location.exists:
            note += "; no key yet: one is made there when a secret is first stored"
        _line("master key", "ok", note)
    elif location.source is KeySource.ENVIRONMENT:
        _line("master key", "ok", f"environment variable {location.detail}")
    elif location.exists:
        _line("master key", "warn", f"key file {location.detail} (no OS keyring available)")
    else:
        _line(
            "master key",
            "warn",
            f"no OS keyring available: a key file {location.detail} will be made when a "
            f"secret is first stored (set {ENV_MASTER_KEY} or install a keyring to avoid it)",
        )
    return True
