"""Fixtures of the security tests: a real SQLite store in a temporary kickwatch home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kickwatch.context import Context, open_context
from kickwatch.store.settings import Settings


class NoKeyring:
    """A keyring module stand-in with no backend (the environment's master key is used)."""

    def get_keyring(self) -> Any:
        raise RuntimeError("no keyring in tests")


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = open_context(
        None,
        environ={"KICKWATCH_HOME": str(tmp_path / "home"), "KICKWATCH_MASTER_KEY": "test-key"},
        keyring_module=NoKeyring(),
    )
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def ctx_settings(ctx: Context) -> Settings:
    return ctx.settings
