"""`kickwatch import FILE`: monitor every channel named in a list, a CSV file or a saved page.

The file (or stdin for `-`) is read as bytes, decoded and parsed by
`kickwatch.domain.follow_import`; the names found go through `kickwatch add`'s own lookup and
reporting (one line each: added, already monitored, or the lookup error), and a summary line
follows. Exit 0 when every name is monitored now, 1 when a lookup failed or an entry was not a
name, 2 when the file cannot be read or holds no names at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kickwatch.cli import EXIT_FAILURE, EXIT_USAGE
from kickwatch.domain.follow_import import (
    CSV_COLUMNS,
    MAX_NAMES,
    FollowList,
    ImportFileError,
    decode,
    parse_follow_list,
)

# Far more than MAX_NAMES lines or a saved following page need; stops a mistaken huge file early.
MAX_BYTES = 32 * 1024 * 1024

DESCRIPTION = (
    "Monitor every channel named in FILE: one name or kick.com URL a line (blank lines and "
    f"# comments ignored), CSV with a header row ({', '.join(CSV_COLUMNS)} column), or a saved "
    'copy of the kick.com "Following" page (HTML). Each name is looked up on Kick as '
    "`kickwatch add` does; names already monitored are left as they are. At most "
    f"{MAX_NAMES:,} names a file. FILE - reads stdin."
)


def register(commands: Any) -> None:
    """Add `import` to the parser."""
    command = commands.add_parser(
        "import", help="monitor the channels named in a file", description=DESCRIPTION
    )
    command.add_argument("file", metavar="FILE", help="a list, CSV or HTML file; - for stdin")
    command.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    label = "stdin" if args.file == "-" else args.file
    try:
        follow = read_follow_list(args.file)
    except ImportFileError as exc:
        print(f"kickwatch: error: {label}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for entry in follow.rejected:
        print(
            f"kickwatch: error: {label}, line {entry.line}: {entry.reason}; skipped",
            file=sys.stderr,
        )
    if not follow.names:
        print(f"kickwatch: error: {label}: no channel names to import", file=sys.stderr)
        return EXIT_USAGE

    from kickwatch.cli.streamers_cmd import run_add

    names = follow.names
    before = _monitored(args.db)
    run_add(
        argparse.Namespace(
            names=list(names), db=args.db, user_id=None, channel_id=None, display_name=None
        )
    )
    after = _monitored(args.db)
    already = sum(1 for name in names if name in before)
    added = sum(1 for name in names if name in after and name not in before)
    failed = len(names) - added - already
    skipped = len(follow.rejected)
    print(
        f"imported {label}: {len(names)} {'name' if len(names) == 1 else 'names'}, "
        f"{added} added, {already} already monitored, {failed} failed"
        + (f", {skipped} {'entry' if skipped == 1 else 'entries'} skipped" if skipped else "")
    )
    return EXIT_FAILURE if failed or skipped else 0


def read_follow_list(file: str) -> FollowList:
    """The names in FILE (or stdin for `-`); an ImportFileError when there are none to use."""
    try:
        if file == "-":
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with Path(file).open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ImportFileError(f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    follow = parse_follow_list(decode(data))
    if not follow.names and not follow.rejected:
        raise ImportFileError("holds no channel names")
    return follow


def _monitored(db: str | None) -> set[str]:
    from kickwatch.context import open_context

    ctx = open_context(db)
    try:
        return {record.username for record in ctx.repository.all_streamers()}
    finally:
        ctx.close()
