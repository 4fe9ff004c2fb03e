"""One shape for every benchmark figure, and the table and JSON they are printed as.

A `Measure` is one quantity for one subject (kickwatch, the bare floor, pusher-js, pysher)
with one value per run; the table prints its median and the spread (min-max) of the runs,
and, where the same quantity was measured for a reference subject in the same run, the ratio
to it. Benchmarks return lists of `Measure`s; `benchmarks/run.py` prints and saves them.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Measure:
    """One quantity measured for one subject, one value per run."""

    group: str  # what is measured: "receive", "subscribe", "reconnect", "commit", "scale", ...
    name: str  # the quantity, e.g. "events/s, 1,000 channels"
    subject: str  # "kickwatch", "floor", "pusher-js", "pysher", ...
    values: tuple[float, ...]
    unit: str  # "ev/s", "µs/ev", "s", "MB", "%", "attempts", ...
    higher_is_better: bool = False
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """The median of the runs."""
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest run."""
        return (min(self.values), max(self.values)) if self.values else (float("nan"),) * 2


def ratio(measure: Measure, reference: Measure | None) -> float | None:
    """`measure`'s median over `reference`'s (None when there is no reference or it is 0)."""
    if reference is None or not reference.values or reference.median == 0:
        return None
    return measure.median / reference.median


def _number(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(measures: Sequence[Measure], machine: str, references: Iterable[str] = ()) -> str:
    """A plain-text table: one row per measure, with the median, the spread of the runs and
    the ratio to each reference subject's median for the same group and name."""
    refs = list(references)
    index = {(m.group, m.name, m.subject): m for m in measures}
    header = ["group", "measure", "subject", "median", "runs (min-max)", "unit"]
    header += [f"x {r}" for r in refs]
    rows = [header]
    for m in measures:
        low, high = m.spread
        row = [m.group, m.name, m.subject, _number(m.median), f"{_number(low)}-{_number(high)}"]
        row.append(m.unit)
        for ref in refs:
            other = index.get((m.group, m.name, ref))
            value = ratio(m, other) if other is not m else None
            row.append("-" if value is None else f"{value:.2f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"machine: {machine}"]
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def save(measures: Sequence[Measure], machine: str, path: Path) -> None:
    """Write the measures (with their medians and spreads) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": machine,
        "measures": [{**asdict(m), "median": m.median, "spread": list(m.spread)} for m in measures],
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
