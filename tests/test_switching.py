"""The interpreter's switch interval: a thread waiting for the lock gets it within 1 ms."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kickwatch.switching import SWITCH_INTERVAL, tune_switch_interval
from tests.command import after_the_command


@pytest.fixture
def interval() -> Iterator[None]:
    """This process's switch interval, put back after the test."""
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def test_the_default_interval_is_shortened_once(interval: None) -> None:
    sys.setswitchinterval(0.005)  # CPython's default
    assert tune_switch_interval() == pytest.approx(0.005)
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    assert tune_switch_interval() == pytest.approx(SWITCH_INTERVAL)  # twice is once
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)


def test_a_shorter_interval_already_set_is_kept(interval: None) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL / 4)
    tune_switch_interval()
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL / 4)


def test_the_kickwatch_command_runs_with_the_interval_tuned(tmp_path: Path) -> None:
    setup = "import sys\nsys.setswitchinterval(0.005)"
    after = after_the_command(tmp_path, setup, "sys.getswitchinterval()")
    assert float(after) == pytest.approx(SWITCH_INTERVAL)
