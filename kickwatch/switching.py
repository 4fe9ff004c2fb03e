"""The interpreter's switch interval for a kickwatch process.

A thread that waits for the interpreter lock asks the thread holding it to let go after the
switch interval, 5 ms by default. A batch of more than `SQLITE_HANDED_ROWS` rows keeps three
threads busy (`kickwatch.store.statements.EventRows`): the event loop's, reading and parsing
frames; the writer's, working out the next rows in Python; and the batch's INSERT thread, which
needs the lock only to bind each INSERT and to take the next, and then steps it in SQLite
without the lock. With 5 ms, the INSERT thread waited up to that long twice per INSERT while the
others ran Python, and the overlap it brings was lost to the waits: in a 100,000-frame burst
(`benchmarks/commit_bench.py`), 16,597 events/s without the thread against 16,474 with it. With
1 ms it was ahead in 17 of 20 interleaved rounds and level in the other three (0.99-1.37 times
the rate before, per round; `benchmarks/README.md`). Where nothing waits for the lock, the
interval costs nothing.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL = 0.001  # seconds


def tune_switch_interval() -> float:
    """Let a thread waiting for the interpreter lock have it after `SWITCH_INTERVAL` (a shorter
    interval already set is kept); returns the interval before."""
    before = sys.getswitchinterval()
    if before > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    return before
