"""`kickwatch service install|status|uninstall`: `kickwatch run` as a systemd user service.

The work is done by `kickwatch.cli.systemd_service`; this module adds the arguments and prints
the report. `status` exits 1 when the service is missing or runs another installation.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from kickwatch.cli import EXIT_FAILURE

DESCRIPTION = (
    "Run `kickwatch run` as a systemd user service that restarts on failure and logs to the "
    "journal. install writes ~/.config/systemd/user/kickwatch.service (under $XDG_CONFIG_HOME "
    "when set) with KICKWATCH_HOME and KICKWATCH_DB as they are set now; secrets "
    "(KICKWATCH_MASTER_KEY, a database password) go in a file given with --environment-file. "
    "On macOS and Windows use the start-at-login setting instead."
)


def register(commands: Any) -> None:
    """Add `service` and its actions to the parser."""
    service = commands.add_parser(
        "service", help="run kickwatch as a systemd user service", description=DESCRIPTION
    )
    actions = service.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser("install", help="write the unit for this installation")
    install.add_argument(
        "--environment-file",
        type=Path,
        metavar="FILE",
        help="a file (mode 600) of NAME=value lines with the secrets, e.g. KICKWATCH_MASTER_KEY",
    )
    install.set_defaults(handler=run_install)
    status = actions.add_parser("status", help="whether the unit is there and running")
    status.set_defaults(handler=run_status)
    uninstall = actions.add_parser("uninstall", help="stop and remove the unit")
    uninstall.set_defaults(handler=run_uninstall)


def run_install(args: argparse.Namespace) -> int:
    from kickwatch.cli.systemd_service import service_for_platform

    report = service_for_platform(os.environ).install(os.environ, args.db, args.environment_file)
    print("\n".join(report.lines))
    return 0 if report.ok else EXIT_FAILURE


def run_status(args: argparse.Namespace) -> int:
    from kickwatch.cli.systemd_service import service_for_platform

    report = service_for_platform(os.environ).status()
    print("\n".join(report.lines))
    return 0 if report.ok else EXIT_FAILURE


def run_uninstall(args: argparse.Namespace) -> int:
    from kickwatch.cli.systemd_service import service_for_platform

    report = service_for_platform(os.environ).uninstall()
    print("\n".join(report.lines))
    return 0 if report.ok else EXIT_FAILURE
