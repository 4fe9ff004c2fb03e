"""Re-take the README's screenshots from the real test desktop (Xvfb, xfce4-panel, dunst, AT-SPI).

Run from the repository root:  .venv/bin/python docs/screenshots/take.py
It runs tests/desktop/test_accessibility.py with KICKWATCH_UPDATE_SCREENSHOTS=1, which starts the
real kickwatch on that desktop with sample streamers, opens the tray menu on the panel, a
notification, the history window and the settings dialog, and writes tray-menu.png,
notification.png, history.png, settings.png, settings-rules.png, settings-targets.png and
settings-notifications.png here (and keeps the
whole screens in tests/desktop/artifacts/). Needs the Debian packages named in that test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    env = {**os.environ, "KICKWATCH_UPDATE_SCREENSHOTS": "1", "KICKWATCH_TEST_STRICT": "1"}
    test = "tests/desktop/test_accessibility.py"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env
    ).returncode


if __name__ == "__main__":
    raise SystemExit(main())
