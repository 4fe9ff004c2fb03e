"""Fixtures of the Kick client tests: the fake Kick and the recorded sample payloads."""

from __future__ import annotations

from pathlib import Path

from tests.fakekick.fixtures import fake_kick, fake_kick_thread

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kick"

__all__ = ["FIXTURES", "fake_kick", "fake_kick_thread"]
