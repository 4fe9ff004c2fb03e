"""The built bundle sends alerts: Apprise's plugins (found by listing its folder) are in it.

Checked when `KICKWATCH_BUNDLE_DIR` names a built bundle (check-bundle.sh, CI); the bundled
`kickwatch target add` must accept a json:// URL and refuse an unknown scheme, both through
Apprise's plugin table, which is empty when the plugin files are missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

BUNDLE_DIR = os.environ.get("KICKWATCH_BUNDLE_DIR")


@pytest.mark.skipif(not BUNDLE_DIR, reason="KICKWATCH_BUNDLE_DIR is not set (no built bundle)")
def test_the_bundle_checks_target_urls_with_apprise(tmp_path: Path) -> None:
    assert BUNDLE_DIR is not None
    program = Path(BUNDLE_DIR).resolve() / "kickwatch"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "KICKWATCH_HOME": str(tmp_path),
        "KICKWATCH_MASTER_KEY": "bundle-test-key",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(program), *args], env=env, capture_output=True, text=True, timeout=60
        )

    added = run("target", "add", "json://127.0.0.1:9/bundle-token", "--name", "hook")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("added target hook: json://127.0.0.1:9/****")
    refused = run("target", "add", "nosuch://host/path")
    assert refused.returncode == 2
    assert "unknown scheme nosuch://" in refused.stderr
