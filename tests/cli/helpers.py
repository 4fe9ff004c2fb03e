"""Run the real `kickwatch` command in a subprocess against a private KICKWATCH_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def kickwatch_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m kickwatch`."""
    script = Path(sys.executable).with_name("kickwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kickwatch"]


@dataclass
class Cli:
    """A kickwatch home and the environment to run the command in."""

    home: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*kickwatch_command(), *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def make_cli(home: Path, **extra: str) -> Cli:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KICKWATCH_") and key != "PYTHON_KEYRING_BACKEND"
    }
    env.update(
        {
            "KICKWATCH_HOME": str(home),
            "KICKWATCH_MASTER_KEY": "cli-test-key",
            "DBUS_SESSION_BUS_ADDRESS": "disabled:",
        }
    )
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(extra)
    return Cli(home, env)
