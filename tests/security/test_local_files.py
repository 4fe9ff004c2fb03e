"""What kickwatch leaves on the machine besides its home: the single-instance socket and
exports are the user's alone, even when the process umask would allow more."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kickwatch.context import Context
from kickwatch.paths import make_private_dirs, open_private
from kickwatch.ui.history_model import HistoryFilter, export_csv
from kickwatch.ui.single_instance import SingleInstance


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask (0o022), as a desktop session usually has."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_single_instance_socket_is_the_users_alone(qapp: Any, open_umask: None) -> None:
    instance = SingleInstance(f"kickwatch-test-{uuid.uuid4().hex[:12]}")
    try:
        assert instance.listen()
        socket = Path(instance.server.fullServerName())
        assert stat.S_ISSOCK(socket.stat().st_mode)
        assert mode(socket) & 0o077 == 0
    finally:
        instance.close()


def test_an_export_is_private(ctx: Context, tmp_path: Path, open_umask: None) -> None:
    target = tmp_path / "exports" / "history.csv"
    export_csv(ctx.repository, HistoryFilter(), target)
    assert mode(target) == 0o600


def test_private_helpers_make_0700_folders_and_0600_files(tmp_path: Path, open_umask: None) -> None:
    folder = make_private_dirs(tmp_path / "a" / "b")
    with open_private(folder / "log.txt") as handle:
        handle.write("one\n")
    with open_private(folder / "log.txt") as handle:
        handle.write("two\n")
    assert (folder / "log.txt").read_text() == "one\ntwo\n"
    assert [mode(p) for p in (tmp_path / "a", folder, folder / "log.txt")] == [0o700, 0o700, 0o600]
