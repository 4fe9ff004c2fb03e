"""The core (domain, kick, store, monitor) and the command line never import Qt or the UI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kickwatch"
CORE = ("domain", "kick", "store", "monitor")
QT_FREE = (*CORE, "cli")
# `kickwatch` with no command hands over to the GUI through this module, which imports Qt only
# after it has checked for a display.
GUI_DOOR = "kickwatch.ui.launch"


def modules_of(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", QT_FREE)
def test_no_module_of_the_core_or_the_cli_names_qt_or_the_ui(folder: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name
            for name in imported_names(path)
            if name.split(".")[0] in ("PySide6", "shiboken6", "qasync")
            or (name.startswith("kickwatch.ui") and (folder in CORE or name != GUI_DOOR))
        )
        for path in modules_of(folder)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_core_module_and_the_parser_loads_no_qt() -> None:
    modules = [
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for folder in QT_FREE
        for path in modules_of(folder)
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "from kickwatch.cli import build_parser\n"
        "build_parser()\n"
        "qt = ('PySide6', 'shiboken6', 'qasync')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(qt))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
