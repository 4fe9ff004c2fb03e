"""The benchmark suite in one command: every suite in SUITES, one table, one JSON file.

    .venv/bin/python benchmarks/run.py [--repeats 3] [--quick] [--smoke] [--suite NAME ...]
    .venv/bin/python benchmarks/run.py --show benchmarks/results/FILE.json [--markdown]

It installs what the suites need when it is missing (the `bench` extra of pyproject.toml, i.e.
pysher and orjson, with pip; soketi and pusher-js with `npm ci` in `benchmarks/node`), runs each
suite `--repeats` times, prints one table (medians, the spread of the runs, and ratios to the
floor and to pusher-js measured in the same run) headed by the machine, and writes the measures
as JSON under `benchmarks/results/` (or `--output`). `--quick` runs smaller versions; `--smoke`
is the ~10-second check CI runs: only the Python parts (kickwatch's client and the floor against
the Python frame blaster), then it checks that the table printed and the JSON was written.
`--markdown` adds the summary table BENCHMARKS.md shows; `--show` prints a saved run again.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import commit_bench, markdown, pusher_bench, report, scale_bench  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from benchmarks.pusher.processes import NODE_DIR, BenchmarkError  # noqa: E402

Suite = Callable[[int, bool], list[report.Measure]]

# Every suite: measure(repeats, quick) -> list[Measure], run in this order. A new benchmark
# (e.g. commit_bench, the commits through the store) is imported above and added here.
SUITES: dict[str, Suite] = {
    "pusher": pusher_bench.measure,
    "scale": scale_bench.measure,
    "commit": commit_bench.measure,
}
REFERENCES = ["floor", "pusher-js"]


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def ensure_node_packages() -> None:
    """soketi and pusher-js, installed from package-lock.json when missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise BenchmarkError(
            "the benchmarks need Node 20 and npm (e.g. apt-get install nodejs npm)"
        )
    if (NODE_DIR / "node_modules").is_dir():
        return
    log("installing soketi and pusher-js (npm ci in benchmarks/node)")
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BenchmarkError(f"npm ci failed:\n{result.stderr[-3000:]}")


def ensure_python_packages() -> None:
    """The `bench` extra of pyproject.toml (pysher, orjson), installed with pip when missing."""
    import tomllib

    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = wanted["optional-dependencies"]["bench"]
    names = [re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0] for r in requirements]
    if all(_version(name) != "not installed" for name in names):
        return
    log(f"installing {', '.join(requirements)} (pip)")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", *requirements],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BenchmarkError(f"pip install failed:\n{result.stderr[-3000:]}")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _node_version(package: str) -> str:
    manifest = NODE_DIR / "node_modules" / package / "package.json"
    if not manifest.exists():
        return "not installed"
    return str(json.loads(manifest.read_text())["version"])


def _revision() -> str:
    """The commit measured, and whether kickwatch/ differed from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "kickwatch (not a git checkout)"
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--", "kickwatch"], capture_output=True, text=True
    ).stdout.strip()
    return f"kickwatch {head.stdout.strip()}" + (" with uncommitted changes" if changed else "")


def machine(with_node: bool) -> str:
    import sqlite3

    parts = [_revision(), f"websockets {_version('websockets')}"]
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    if with_node:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
        parts += [
            f"Node {node.strip().lstrip('v')}",
            f"soketi {_node_version('@soketi/soketi')}",
            f"pusher-js {_node_version('pusher-js')}",
            f"pysher {_version('pysher')}",
            f"orjson {_version('orjson')}",
        ]
    return describe(*parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="smaller versions of each suite")
    parser.add_argument("--smoke", action="store_true", help="the ~10-second CI check")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="only these")
    parser.add_argument("--output", type=Path, help="the JSON file (default: benchmarks/results/)")
    parser.add_argument("--markdown", action="store_true", help="also a Markdown summary table")
    parser.add_argument("--show", type=Path, help="print a saved JSON file's tables; run nothing")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.show is not None:
        measures, described = markdown.load(args.show)
        print(report.table(measures, described, references=REFERENCES))
        if args.markdown:
            print("\n" + markdown.summary(measures, "kickwatch", REFERENCES))
        return 0
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = (
        args.output
        or ROOT / "benchmarks" / "results" / f"{'smoke' if args.smoke else 'bench'}-{stamp}.json"
    )
    started = time.monotonic()
    failed: list[str] = []
    try:
        if args.smoke:
            runs = 1
            measures = pusher_bench.measure(1, quick=True, smoke=True, log=log)
        else:
            runs = args.repeats
            ensure_python_packages()
            ensure_node_packages()
            measures = []
            for name in args.suite or SUITES:
                log(f"== {name}")
                try:
                    measures += SUITES[name](args.repeats, args.quick)
                except Exception:  # the other suites' figures are still printed and saved
                    log(f"suite {name} failed:\n{traceback.format_exc()}")
                    failed.append(name)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    described = machine(with_node=not args.smoke)
    table = report.table(measures, described, references=REFERENCES)
    print(table)
    print(f"medians of {runs} run(s); {time.monotonic() - started:.0f} s in all")
    if args.markdown:
        print("\n" + markdown.summary(measures, "kickwatch", REFERENCES))
    report.save(measures, described, output)
    log(f"saved {output}")
    if args.smoke:
        return _check_smoke(table, output)
    if failed:
        log(f"failed suites (no figures above): {', '.join(failed)}")
        return 1
    return 0


def _check_smoke(table: str, output: Path) -> int:
    """The smoke passes when kickwatch and the floor have a figure in every smoke row."""
    saved = json.loads(output.read_text())
    rows = {(m["group"], m["subject"]) for m in saved["measures"] if m["values"]}
    wanted = {(g, s) for g in ("receive", "subscribe", "reconnect") for s in ("kickwatch", "floor")}
    missing = sorted(wanted - rows)
    if missing or "kickwatch" not in table:
        print(f"smoke: no figures for {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
