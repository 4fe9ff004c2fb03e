"""The benchmark figures as a Markdown table for BENCHMARKS.md: one row per quantity, one column
per subject (median and the spread of the runs), then kickwatch's ratio to each reference
subject measured in the same run. `load` reads a JSON file written by `report.save` back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import Measure, ratio


def load(path: Path) -> tuple[list[Measure], str]:
    """The measures and the machine line of a saved run."""
    saved = json.loads(path.read_text())
    fields = ("group", "name", "subject", "unit", "higher_is_better", "note", "extra")
    measures = [
        Measure(values=tuple(m["values"]), **{k: m[k] for k in fields}) for m in saved["measures"]
    ]
    return measures, str(saved["machine"])


def _number(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2g}" if abs(value) < 0.1 else f"{value:.2f}"


def _cell(measure: Measure | None) -> str:
    if measure is None:
        return ""
    if not measure.values:
        return "failed"
    low, high = measure.spread
    if len(measure.values) == 1 or low == high:
        return _number(measure.median)
    return f"{_number(measure.median)} ({_number(low)}-{_number(high)})"


def summary(measures: Sequence[Measure], subject: str, references: Sequence[str]) -> str:
    """A Markdown table; ratios are `subject`'s median over each reference's."""
    subjects: list[str] = []
    rows: list[tuple[str, str]] = []
    index: dict[tuple[str, str, str], Measure] = {}
    for m in measures:
        if m.subject not in subjects:
            subjects.append(m.subject)
        if (m.group, m.name) not in rows:
            rows.append((m.group, m.name))
        index[(m.group, m.name, m.subject)] = m
    header = ["group", "measure", "unit", *subjects, *(f"{subject} ÷ {r}" for r in references)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group, name in rows:
        own = index.get((group, name, subject))
        unit = next(index[(group, name, s)].unit for s in subjects if (group, name, s) in index)
        cells = [group, name, unit, *(_cell(index.get((group, name, s))) for s in subjects)]
        for reference in references:
            value = ratio(own, index.get((group, name, reference))) if own else None
            cells.append("" if value is None or value != value else f"{value:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
