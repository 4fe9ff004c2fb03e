"""The alert modules are core code: they never import Qt, so `kickwatch run` and the command line
load no GUI library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ALERTS = Path(__file__).resolve().parents[2] / "kickwatch" / "alerts"


def test_importing_every_alert_module_loads_no_qt() -> None:
    modules = sorted(f"kickwatch.alerts.{path.stem}" for path in ALERTS.glob("*.py"))
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "qt = ('PySide6', 'shiboken6', 'qasync')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(qt))\n"
        "assert not loaded, loaded\n"
        "print(len(" + repr(modules) + "))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(modules) >= 8
