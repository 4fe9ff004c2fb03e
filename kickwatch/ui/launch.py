"""The entry point of the tray app, safe to import without Qt.

`launch_gui` checks that a graphical display exists before Qt is imported (Qt aborts the whole
process when it finds none), then hands over to `kickwatch.ui.startup.run`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

NO_DISPLAY = "kickwatch: no graphical display found; run `kickwatch run` for the headless monitor"


def has_display(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt can open a window: always on Windows/macOS, else DISPLAY/WAYLAND or a QPA set."""
    if platform in ("win32", "darwin"):
        return True
    return any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def launch_gui(args: argparse.Namespace) -> int:
    """Run the tray app; returns the exit code (1 without a display, before importing Qt)."""
    if not has_display(os.environ):
        print(NO_DISPLAY, file=sys.stderr)
        return 1
    from kickwatch.ui.startup import run

    return run(args)
