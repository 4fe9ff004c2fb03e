"""The cycle collector's setting: a writer batch is not walked again and again while it lives."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kickwatch.collector import YOUNG_GENERATION, tune_collector
from kickwatch.store import Repository, open_database
from tests.clock import ManualClock
from tests.command import after_the_command
from tests.store.workloads import broadcasts

BATCH = 10_000  # the writer's full batch (`writer.BATCH_SIZE`)


@pytest.fixture
def thresholds() -> Iterator[None]:
    """This process's thresholds, put back after the test."""
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_young_generation_waits_for_a_batch_and_the_older_ones_keep_their_rules(
    thresholds: None,
) -> None:
    gc.set_threshold(700, 10, 10)
    assert tune_collector() == (700, 10, 10)
    assert gc.get_threshold() == (YOUNG_GENERATION, 10, 10)
    assert tune_collector() == (YOUNG_GENERATION, 10, 10)  # twice is once
    assert gc.get_threshold() == (YOUNG_GENERATION, 10, 10)


@pytest.mark.parametrize("young", [0, YOUNG_GENERATION * 2])
def test_a_higher_threshold_or_a_collector_switched_off_is_kept(
    thresholds: None, young: int
) -> None:
    gc.set_threshold(young, 5, 20)
    tune_collector()
    assert gc.get_threshold() == (young, 5, 20)


def collections_during_a_batch(tmp_path: Path) -> int:
    """How many collections a full batch of go-lives and ends of 1,000 streamers runs."""
    clock = ManualClock()
    database = open_database(str(tmp_path / "kickwatch.db"))
    try:
        repository = Repository(database, clock)
        with database.handle.atomic():
            ids = [
                repository.add_streamer(f"s{n}", n + 1, kick_channel_id=1000 + n).id
                for n in range(1000)
            ]
        changes = broadcasts(clock.now() - timedelta(seconds=BATCH), ids, BATCH)
        counted: list[int] = []

        def count(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                counted.append(info["generation"])

        gc.collect()
        gc.callbacks.append(count)
        try:
            result = repository.apply_changes(changes)
        finally:
            gc.callbacks.remove(count)
        assert len(result.applied) == BATCH
        return len(counted)
    finally:
        database.close()


def test_a_full_writer_batch_runs_the_collector_once_at_most_where_it_ran_hundreds_of_times(
    thresholds: None, tmp_path: Path
) -> None:
    gc.set_threshold(700, 10, 10)  # CPython's default
    untuned = collections_during_a_batch(tmp_path / "default")
    tune_collector()
    tuned = collections_during_a_batch(tmp_path / "tuned")
    assert untuned > 100
    assert tuned <= 1


def test_the_kickwatch_command_runs_with_the_collector_tuned(tmp_path: Path) -> None:
    setup = "import gc\ngc.set_threshold(700, 10, 10)"
    after = after_the_command(tmp_path, setup, "*gc.get_threshold()")
    assert after == f"{YOUNG_GENERATION} 10 10"
