"""The garbage collector's setting for a kickwatch process.

CPython's cycle collector looks at the young generation after every 700 new container objects
(net of those freed), and at every object in the process now and then after that. A burst of
pushes makes about ten containers per change (the change, its data, the writer's records of it,
the events published) that stay alive until the batch is committed and announced. With the
default, writing one batch of 10,000 changes ran about 140 collections (`tests/test_collector.py`)
while the changes still queued were walked again and again: in a burst of 100,000 the collector
took 14-15 µs per change, more than a fifth of the monitor's CPU (`benchmarks/commit_bench.py`'s
burst). Almost none of it is garbage; it is freed by reference counting when the batch is done.

`tune_collector` lets the young generation grow to `YOUNG_GENERATION` objects, about one full
writer batch (`DbWriter`'s 10,000 changes), before it is collected: the same burst then spends
about 1.4 µs per change in the collector. Cyclic garbage waits a little longer to be freed, a
few megabytes at most; objects freed by reference counting (nearly all) are freed as before.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION = 100_000


def tune_collector() -> tuple[int, ...]:
    """Collect the young generation after `YOUNG_GENERATION` new objects (a higher threshold
    is kept, and 0, the collector switched off, too); returns the thresholds before."""
    before = gc.get_threshold()
    young, *older = before
    if 0 < young < YOUNG_GENERATION:
        gc.set_threshold(YOUNG_GENERATION, *older)
    return before
