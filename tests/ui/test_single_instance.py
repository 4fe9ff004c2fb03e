"""One kickwatch at a time: a second start asks the first to show itself, then exits."""

from __future__ import annotations

import uuid
from typing import Any

from kickwatch.ui.single_instance import SingleInstance, ask_running_instance, server_name


def unique_name() -> str:
    return f"kickwatch-test-{uuid.uuid4().hex[:12]}"


def test_a_second_start_reaches_the_first(qtbot: Any) -> None:
    name = unique_name()
    first = SingleInstance(name)
    assert first.listen()
    try:
        with qtbot.waitSignal(first.activation_requested, timeout=5000):
            assert ask_running_instance(name)
    finally:
        first.close()


def test_nobody_answers_when_no_instance_runs(qapp: Any) -> None:
    assert not ask_running_instance(unique_name(), timeout_ms=200)


def test_two_app_objects_one_listens_the_other_defers(qtbot: Any) -> None:
    name = unique_name()
    first, second = SingleInstance(name), SingleInstance(name)
    assert first.listen()
    try:
        with qtbot.waitSignal(first.activation_requested, timeout=5000):
            assert ask_running_instance(second.name)
    finally:
        first.close()
        second.close()
    # After the first quits (or crashed, leaving its socket), a new one can listen again.
    third = SingleInstance(name)
    assert third.listen()
    third.close()


def test_names_differ_per_data_folder() -> None:
    assert server_name("/a") != server_name("/b")
    assert server_name("/a") == server_name("/a")
