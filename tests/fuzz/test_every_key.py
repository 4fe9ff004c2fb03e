"""Systematic complement to the random fuzzing: every key of every recorded sample, in turn,
holds each value of the wrong type or shape, and the parser of that sample must neither raise
(beyond `MalformedFrame` for frames) nor produce a value a database refuses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kickwatch.kick import payloads
from kickwatch.kick.protocol import ChannelEvent, MalformedFrame, parse_frame, to_stream_event
from tests.fuzz import mutations
from tests.fuzz.checks import NOW, check_channel, check_snapshot, check_stream_event

WRONG: tuple[Any, ...] = (
    None,
    "",
    "²",
    "--5",
    "\ud800\x00",
    True,
    0,
    -1,
    2**63,
    float("nan"),
    float("inf"),
    [],
    {},
    [{"name": None}],
)


def variants(seed: str) -> Iterator[Any]:
    """The seed with one key replaced by one wrong value, for every key and every value."""
    count = sum(1 for _ in mutations.paths(json.loads(seed)))
    for index in range(count):
        for wrong in WRONG:
            value = json.loads(seed)
            container, key = list(mutations.paths(value))[index]
            container[key] = wrong
            yield value


def frame_check(value: Any) -> None:
    for as_string in (False, True):
        frame = dict(value)
        if as_string:
            frame["data"] = json.dumps(frame.get("data"))
        try:
            parsed = parse_frame(json.dumps(frame))
        except MalformedFrame:
            continue
        if isinstance(parsed, ChannelEvent) and (event := to_stream_event(parsed, NOW)):
            check_stream_event(event)


def rest_check(parse: Callable[[Any, Any], Any], check: Callable[[Any], None]) -> Any:
    def run(value: Any) -> None:
        if (result := parse(value, NOW)) is not None:
            check(result)

    return run


CASES: dict[str, tuple[list[str], Callable[[Any], None]]] = {
    "frames": (mutations.FRAME_SEEDS, frame_check),
    "official_livestream": (
        mutations.LIVESTREAM_ITEM_SEEDS,
        rest_check(payloads.official_livestream, check_snapshot),
    ),
    "official_channel": (
        mutations.CHANNEL_ITEM_SEEDS,
        rest_check(payloads.official_channel, check_channel),
    ),
    "unofficial_channel": (
        mutations.UNOFFICIAL_SEEDS,
        rest_check(payloads.unofficial_channel, check_channel),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_key_of_every_sample_survives_every_wrong_value(name: str) -> None:
    seeds, check = CASES[name]
    tried = 0
    for seed in seeds:
        for value in variants(seed):
            check(value)
            tried += 1
    assert tried >= len(seeds) * len(WRONG)
