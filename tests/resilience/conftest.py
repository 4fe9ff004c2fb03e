"""Fixtures of the crash and outage tests: the fake Kick in a thread, a PostgreSQL server of the
test's own (`own_pg_server`, shared with the store tests; it is killed on purpose), and a 2 MiB
file system that fills up."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakekick.fixtures import fake_kick_thread
from tests.services import require

__all__ = ["fake_kick_thread", "small_disk"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (mounting needs root: CI has it; elsewhere the test skips, unless
    KICKWATCH_TEST_STRICT=1 makes that a failure)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    reason = (mounted.stderr or mounted.stdout).strip()
    require(mounted.returncode == 0, f"cannot mount a 2 MiB tmpfs here: {reason}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30)
