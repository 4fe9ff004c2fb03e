"""Fixtures of the GUI tests: offscreen Qt, a qasync loop on pytest-qt's app, a real SQLite store.

`QT_QPA_PLATFORM=offscreen` is set here, before anything imports Qt (a QApplication without a
display aborts the process). Async work of the widgets runs on a qasync loop attached to the
QApplication, so `qtbot.waitUntil` (which processes Qt events) also drives asyncio tasks and
finished worker-thread jobs.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no real notifications from the tests

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kickwatch.context import Context, open_context
from tests.ui.fakes import FakeAutostart, FakeMonitor


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    """A real SQLite store in a temporary folder."""
    context = open_context(
        str(tmp_path / "k.db"),
        environ={"KICKWATCH_HOME": str(tmp_path), "KICKWATCH_MASTER_KEY": "test-key"},
        keyring_module=_NoKeyring(),
    )
    try:
        yield context
    finally:
        context.close()


class _NoKeyring:
    """A keyring module stand-in that has no backend (the environment key is used)."""

    def get_keyring(self) -> Any:
        raise RuntimeError("no keyring in tests")


@pytest.fixture
def qloop(qapp: Any) -> Iterator[Any]:
    """A qasync loop on pytest-qt's QApplication, driven by `qtbot.waitUntil`."""
    from kickwatch.ui.qtloop import attach_loop, detach_loop

    loop = attach_loop(qapp)
    try:
        yield loop
    finally:
        detach_loop(loop)


@pytest.fixture
def monitor(ctx: Context) -> FakeMonitor:
    """A fake monitor with the real Monitor's surface, over the real store."""
    return FakeMonitor(ctx)


@pytest.fixture
def autostart() -> FakeAutostart:
    """Start at login kept in memory."""
    return FakeAutostart()
