"""The command line: argparse, one module per group of subcommands, no Qt.

`kickwatch` alone opens the tray app; every subcommand manages streamers, configuration and
history, or runs the monitor headless. A `KickwatchError` becomes one line on stderr (exit 2
for bad input, 1 otherwise); an unexpected exception is logged to a file and reported in one
line, never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

from kickwatch import __version__
from kickwatch.domain.errors import (
    AlreadyExistsError,
    KickwatchError,
    NotFoundError,
    ValidationError,
)

EXIT_FAILURE = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that prints one usage line and the error, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"kickwatch: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser (subcommand modules register themselves)."""
    from kickwatch.cli import (
        config_cmd,
        doctor_cmd,
        history_cmd,
        import_cmd,
        quarantine_cmd,
        rule_cmd,
        run_cmd,
        service_cmd,
        streamers_cmd,
        target_cmd,
    )

    parser = _Parser(
        prog="kickwatch",
        description="Know within seconds when Kick.com streamers go live or offline.",
        epilog="Without a command, kickwatch opens the tray app.",
    )
    parser.add_argument("--version", action="version", version=f"kickwatch {__version__}")
    parser.add_argument(
        "--db", metavar="URL", help="database: a SQLite path or postgresql://... (KICKWATCH_DB)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in (
        streamers_cmd,
        import_cmd,
        history_cmd,
        quarantine_cmd,
        config_cmd,
        doctor_cmd,
        run_cmd,
        service_cmd,
        rule_cmd,
        target_cmd,
    ):
        module.register(commands)
    return parser


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time for --since; a date alone is the start of that local day."""
    return _parse_time(text, end_of_day=False)


def parse_until(text: str) -> datetime:
    """An ISO 8601 date or time for --until; a date alone is the end of that local day."""
    return _parse_time(text, end_of_day=True)


def _parse_time(text: str, *, end_of_day: bool) -> datetime:
    """A time as aware UTC: a time without an offset is UTC, a date without a time is the
    whole day in the local time zone (its first or its last microsecond)."""
    value = text.strip()
    try:
        if _DATE_ONLY.match(value):
            day = date.fromisoformat(value)
            if end_of_day:
                start = datetime.combine(day + timedelta(days=1), time_of_day()).astimezone()
                return (start - timedelta(microseconds=1)).astimezone(UTC)
            return datetime.combine(day, time_of_day()).astimezone().astimezone(UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        from kickwatch.domain.validation import shorten

        raise argparse.ArgumentTypeError(
            f"{shorten(text)} is not an ISO 8601 date or time "
            "(e.g. 2026-11-25 or 2026-11-25T18:00Z)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def main(argv: Sequence[str]) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="kickwatch: %(levelname)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        from kickwatch.ui.launch import launch_gui

        return launch_gui(args)
    started = time.monotonic()
    try:
        return handler(args)
    except (ValidationError, NotFoundError, AlreadyExistsError) as exc:
        print(f"kickwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KickwatchError as exc:
        print(f"kickwatch: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if _is_database_error(exc):
            message = database_error_message(exc, time.monotonic() - started)
            print(f"kickwatch: error: {message}", file=sys.stderr)
            return EXIT_FAILURE
        report = _write_crash_report(exc)
        print(
            f"kickwatch: internal error: {type(exc).__name__}: {exc}"
            + (f" (details in {report})" if report else ""),
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _is_database_error(exc: BaseException) -> bool:
    import peewee

    return isinstance(exc, (peewee.OperationalError, peewee.InterfaceError))


def database_error_message(exc: BaseException, elapsed: float | None = None) -> str:
    """A sentence for a failing database operation, from the driver's error code (a failed
    rollback after a full disk says the disk is full). `elapsed`: seconds the command ran
    before it gave up, said for a lock (SQLite may refuse at once instead of waiting)."""
    from kickwatch.store.failures import FailureKind, classify

    failure = classify(exc)
    if failure.kind is FailureKind.BUSY:
        waited = f" (kickwatch gave up after {elapsed:.1f} s)" if elapsed is not None else ""
        return (
            f"the database is locked by another program{waited}; nothing was changed, "
            "try again when it is done"
        )
    return f"the database is unavailable: {failure.reason}; nothing was changed"


def _write_crash_report(exc: BaseException) -> Path | None:
    from kickwatch.paths import Paths, open_private

    try:
        paths = Paths.from_env()
        log_dir = paths.ensure(paths.log_dir)
        report = log_dir / "crash.log"
        with open_private(report) as handle:
            handle.write(f"--- {datetime.now(UTC).isoformat()}\n")
            handle.write("".join(traceback.format_exception(exc)))
        return report
    except OSError:
        return None
