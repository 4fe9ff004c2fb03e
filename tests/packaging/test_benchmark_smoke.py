"""The benchmark suite cannot rot unnoticed: its ~10-second smoke run (`benchmarks/run.py
--smoke`: kickwatch's Pusher client and the bare floor client against the frame blaster, each in
its own process, on 127.0.0.1) prints its table and writes its JSON.

The suite itself runs on purpose, not here; the smoke needs only Python (no Node, no soketi).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_smoke_run_prints_the_table_and_writes_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "smoke.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", f"--output={output}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]

    saved = json.loads(output.read_text())
    assert saved["machine"] in result.stdout
    measures = saved["measures"]
    figures = {(m["group"], m["subject"]) for m in measures if m["values"]}
    assert figures == {
        (group, subject)
        for group in ("receive", "subscribe", "reconnect")
        for subject in ("kickwatch", "floor")
    }
    for measure in measures:
        assert measure["name"] in result.stdout
        if measure["unit"] == "ev/s":
            assert measure["median"] > 0
        if measure["name"].startswith("events lost"):
            assert measure["median"] == 0, f"{measure['subject']} lost events"
        if measure["name"].startswith("connections opened,"):
            assert measure["median"] >= 1  # at least the connection that came back
