"""The `kickwatch` command: the tray app with no arguments, the command line otherwise.

The process's umask is made private (0o077) before anything else runs, so every file and folder
kickwatch or a library it uses creates (database, -wal and -shm, key file, logs, exports, the
single-instance socket) is readable by the user alone. The cycle collector is set for bursts of
changes (`kickwatch.collector`), and the interpreter's switch interval for the threads that share
a burst (`kickwatch.switching`), before anything else runs either.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    from kickwatch.paths import private_umask

    private_umask()
    from kickwatch.collector import tune_collector

    tune_collector()
    from kickwatch.switching import tune_switch_interval

    tune_switch_interval()
    from kickwatch.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
