"""Fuzz every parser of what Kick sends with mutations of the recorded samples.

Each test runs `KICKWATCH_FUZZ_EXAMPLES` Hypothesis examples (10,000 in CI, about 40 s on one
core); every example draws one seeded `random.Random`, and `tests.fuzz.mutations.Mutator` makes
every mutation choice with it, which keeps Hypothesis's overhead per input small. Every example
gives each parser at least one input: `parse_frame` two (any mutated frame, and a mutated
channel event), `to_stream_event` one, each REST payload parser one, `parse_kick_time` one;
the counts are asserted. For every input the tests prove two things: the only exception that
escapes is the documented one (`MalformedFrame` from `parse_frame`, `JsonError` from the REST
client's JSON decoding; nothing at all from `to_stream_event`, the REST payload parsers and
`parse_kick_time`), and no single input takes more than `LIMIT_SECONDS` (10 ms). What the
parsers produce is checked too (`tests.fuzz.checks`): integers fit a BIGINT, text is storable
and capped.

The run is deterministic (`derandomize=True`): CI sees the same inputs every time. For a longer
hunt on purpose, raise the count, and set `KICKWATCH_FUZZ_SEED=<any integer>` to explore inputs
other than CI's:

    KICKWATCH_FUZZ_EXAMPLES=1000000 KICKWATCH_FUZZ_SEED=1 .venv/bin/pytest tests/fuzz

A failure names the parser and the input, and Hypothesis prints the `Random` that made it.
Timing is the thread's CPU time (`time.thread_time`) around the parser call alone; an input
over the limit is run again once after a garbage collection, so a collector pause or a noisy
neighbour is not reported as a slow parser.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from kickwatch.domain.text import MAX_NAME, MAX_URL
from kickwatch.kick import bounded_json, payloads
from kickwatch.kick.protocol import (
    MAX_ERROR_MESSAGE,
    ChannelEvent,
    ConnectionEstablished,
    MalformedFrame,
    PusherError,
    parse_frame,
    to_stream_event,
)
from kickwatch.kick.timestamps import parse_kick_time
from tests.fuzz import mutations
from tests.fuzz.checks import (
    NOW,
    check_channel,
    check_int,
    check_snapshot,
    check_stream_event,
    check_text,
    check_time,
)
from tests.fuzz.mutations import Mutator

EXAMPLES = int(os.environ.get("KICKWATCH_FUZZ_EXAMPLES", "10000"))
SEED = os.environ.get("KICKWATCH_FUZZ_SEED")
LIMIT_SECONDS = 0.010


def fuzz_settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        derandomize=SEED is None,
        deadline=None,  # timed per input below, around the parser alone
        database=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow],
    )


def run(check: Callable[[Mutator], None]) -> None:
    """Run `check` on EXAMPLES examples, each with its own seeded `Mutator`."""

    @fuzz_settings()
    @given(st.randoms(use_true_random=True))
    def each(rng: random.Random) -> None:
        check(Mutator(rng))

    if SEED is not None:
        each = seed(int(SEED))(each)
    each()


class Counted:
    """A parser that counts its calls and fails on an input that takes over LIMIT_SECONDS
    twice in a row, or that raises anything but `allowed`."""

    def __init__(self, name: str, parse: Callable[..., Any], *allowed: type[Exception]) -> None:
        self.name = name
        self.parse = parse
        self.allowed = allowed
        self.calls = 0

    def __call__(self, value: Any, *args: Any) -> Any:
        self.calls += 1
        try:
            # CPU time of this thread: what the parser costs, whatever else the machine runs.
            started = time.thread_time()
            result = self.parse(value, *args)
            elapsed = time.thread_time() - started
            if elapsed > LIMIT_SECONDS:
                gc.collect()
                started = time.thread_time()
                result = self.parse(value, *args)
                again = time.thread_time() - started
                assert again <= LIMIT_SECONDS, (
                    f"{self.name} took {elapsed * 1000:.1f} ms, then {again * 1000:.1f} ms, "
                    f"on {describe(value)}"
                )
        except self.allowed:
            raise
        except Exception as exc:
            raise AssertionError(f"{self.name} raised {exc!r} on {describe(value)}") from exc
        return result


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 400 else f"{text[:300]}...{text[-60:]} ({len(text)} characters)"


def rest_body(mutator: Mutator, seeds: list[str], loads: Counted) -> Any:
    """A mutated REST body as the client holds it after decoding. Text the decoder rejects
    (with its documented `JsonError`) never reaches a parser, so a mutated object is used
    instead: every example gives every parser one input."""
    kind, value = mutator.body(seeds)
    if kind == "object":
        return value
    try:
        return loads(value)
    except bounded_json.JsonError:
        return mutator.structural(mutator.rng.choice(seeds))


# --- the fuzz tests ------------------------------------------------------------------------


def test_frames_raise_only_malformed_frame_and_stream_events_never_raise() -> None:
    parse = Counted("parse_frame", parse_frame, MalformedFrame)
    stream_event = Counted("to_stream_event", to_stream_event)

    def check(mutator: Mutator) -> None:
        try:
            frame = parse(mutator.frame())
        except MalformedFrame:
            pass
        else:
            if isinstance(frame, ConnectionEstablished):
                assert frame.activity_timeout is None or 0 < frame.activity_timeout <= 86400
            elif isinstance(frame, PusherError):
                check_int(frame.code, 0)
                check_text(frame.message, MAX_ERROR_MESSAGE)
        event_frame = parse(mutator.channel_frame())
        assert isinstance(event_frame, ChannelEvent)
        event = stream_event(event_frame, NOW)
        if event is not None:
            check_stream_event(event)

    run(check)
    assert parse.calls >= 2 * EXAMPLES and stream_event.calls >= EXAMPLES


def test_rest_payload_parsers_never_raise() -> None:
    loads = Counted("bounded_json.loads", bounded_json.loads, bounded_json.JsonError)
    envelope = Counted("envelope_items", payloads.envelope_items)
    user_id = Counted("official_user_id", payloads.official_user_id)
    livestream = Counted("official_livestream", payloads.official_livestream)
    channel = Counted("official_channel", payloads.official_channel)
    unofficial = Counted("unofficial_channel", payloads.unofficial_channel)

    def check(mutator: Mutator) -> None:
        for item in envelope(rest_body(mutator, mutations.ENVELOPE_SEEDS, loads)) or []:
            check_int(user_id(item), 1)
            check_text(payloads.name_text(item), MAX_NAME)
            check_text(payloads.url_text(item), MAX_URL)
        body = rest_body(mutator, mutations.LIVESTREAM_ITEM_SEEDS, loads)
        if (snapshot := livestream(body, NOW)) is not None:
            check_snapshot(snapshot)
        body = rest_body(mutator, mutations.CHANNEL_ITEM_SEEDS, loads)
        if (info := channel(body, NOW)) is not None:
            check_channel(info)
        body = rest_body(mutator, mutations.UNOFFICIAL_SEEDS, loads)
        if (info := unofficial(body, NOW)) is not None:
            check_channel(info)

    run(check)
    for parser in (loads, envelope, livestream, channel, unofficial):
        assert parser.calls >= EXAMPLES, parser.name


def test_parse_kick_time_never_raises() -> None:
    parse = Counted("parse_kick_time", parse_kick_time)
    run(lambda mutator: check_time(parse(mutator.time_value())))
    assert parse.calls >= EXAMPLES


@pytest.mark.parametrize(
    "data",
    ['"' + "x" * 1_000_000 + '"', "[" * 500_000 + "]" * 500_000, "[[]]," * 200_000 + "1"],
    ids=["long_string", "deep", "many_brackets"],
)
def test_frames_near_the_size_limit_are_parsed_quickly(data: str) -> None:
    # Not 10 ms (decoding a whole MiB takes longer), but no pathological slowness either.
    text = '{"event":"x","data":[' + data + "]}"
    started = time.thread_time()
    with contextlib.suppress(MalformedFrame):
        parse_frame(text)
    # About 0.2 s of CPU here; quadratic work would take minutes.
    assert time.thread_time() - started < 5.0
