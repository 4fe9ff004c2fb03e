"""Skip a test when a system service is missing, or fail under KICKWATCH_TEST_STRICT=1 (CI)."""

from __future__ import annotations

import os

import pytest


def strict() -> bool:
    """Whether a missing service is a failure (CI) instead of a skip."""
    return os.environ.get("KICKWATCH_TEST_STRICT") == "1"


def require(available: bool, reason: str) -> None:
    """Skip (or fail under strict mode) with `reason` unless `available`."""
    if available:
        return
    if strict():
        pytest.fail(f"KICKWATCH_TEST_STRICT=1 but {reason}", pytrace=False)
    pytest.skip(reason)
