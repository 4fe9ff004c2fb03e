"""The `kickwatch` command's entry point run in a fresh interpreter, for the process settings it
makes before anything else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def after_the_command(tmp_path: Path, setup: str, expression: str) -> str:
    """Run `setup`, then `kickwatch --help` through `kickwatch.__main__.main`, in a fresh
    interpreter; the value of `expression` there afterwards, as printed."""
    script = (
        f"{setup}\n"
        "from kickwatch.__main__ import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('after', {expression})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("after "), done.stdout
    return last.removeprefix("after ")
