"""The line every benchmark prints first: which machine, CPU, kernel and Python it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe(*extra: str) -> str:
    """Host, CPU model, cores, kernel, Python, then `extra` (library versions)."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [
        platform.node(),
        model,
        f"{os.cpu_count()} CPUs",
        f"Linux {platform.release()}",
        f"Python {platform.python_version()}",
        *extra,
    ]
    return " · ".join(parts)
