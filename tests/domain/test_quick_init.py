"""`quick_init`: the faster `__init__` of frozen, slotted dataclasses behaves as the generated
one (parameters, defaults, factories, errors, immutability, replace, equality, hashing)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from kickwatch.domain.quick_init import quick_init
from kickwatch.domain.records import StatusEventRecord, StreamerRecord
from kickwatch.domain.status import EventType
from kickwatch.monitor.events import StreamEnded, StreamStarted
from kickwatch.store.changes import AppliedChange, StatusChange, StatusObservation

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Plain:
    name: str
    count: int = 3
    tags: list[str] = field(default_factory=list)


@quick_init
@dataclass(frozen=True, slots=True)
class Quick:
    name: str
    count: int = 3
    tags: list[str] = field(default_factory=list)


def test_arguments_defaults_and_factories_are_those_of_the_generated_init() -> None:
    for args, kwargs in [(("a",), {}), (("a", 5), {}), ((), {"name": "a", "tags": ["x"]})]:
        quick, plain = Quick(*args, **kwargs), Plain(*args, **kwargs)
        assert (quick.name, quick.count, quick.tags) == (plain.name, plain.count, plain.tags)
    first, second = Quick("a"), Quick("b")
    first.tags.append("x")
    assert second.tags == []  # a fresh list from the factory each time
    with pytest.raises(TypeError):
        Quick()
    with pytest.raises(TypeError):
        Quick("a", nope=1)


def test_the_instance_stays_frozen_and_replace_equality_and_hash_still_work() -> None:
    change = StatusChange(7, EventType.STREAM_START, AT, kick_event_id="1:2:start", title="t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.title = "u"  # type: ignore[misc]
    assert dataclasses.replace(change, title="u").title == "u"
    assert change == StatusChange(
        7, EventType.STREAM_START, AT, kick_event_id="1:2:start", title="t"
    )
    assert (
        change.event_data == {}
        and change.event_data is not StatusChange(1, EventType.STREAM_END, AT).event_data
    )
    observation = StatusObservation(7, True, AT)
    assert hash(observation) == hash(StatusObservation(7, True, AT))
    assert "StatusChange(streamer_id=7" in repr(change)


def test_only_frozen_slotted_dataclasses_without_post_init_are_accepted() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, NotFrozen, PostInit):
        with pytest.raises(TypeError):
            quick_init(cls)


def test_the_records_of_a_burst_use_it() -> None:
    for cls in (
        StatusChange,
        StatusObservation,
        AppliedChange,
        StreamerRecord,
        StatusEventRecord,
        StreamStarted,
        StreamEnded,
    ):
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
        assert any(name.startswith("_set_") for name in cls.__init__.__code__.co_names), cls
