"""`bounded_json.loads` decodes with orjson where that gives the standard library's value: the
same value (types, order and all) or the same error, for every input of the fuzz corpus and for
each kind of text orjson reads differently or refuses."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kickwatch.kick import bounded_json
from tests.fuzz import mutations
from tests.fuzz.mutations import Mutator

EXAMPLES = 3000


def outcome(load: Any, data: str | bytes, **kwargs: Any) -> tuple[str, str]:
    """What decoding `data` gives, comparable across decoders: the value's repr (which tells
    1 from 1.0, -0.0 from 0.0 and keeps key order) or the error's words."""
    try:
        return "value", repr(load(data, **kwargs))
    except bounded_json.JsonError as exc:
        return "error", str(exc)


def same_as_standard(data: str | bytes) -> None:
    assert outcome(bounded_json.loads, data) == outcome(bounded_json.standard_loads, data), data


def screened_strings(data: str | bytes) -> list[str]:
    """Every string in the value of `data` (Pusher's `data` among them) when `loads_screened`
    says they are screened; else none."""
    try:
        value, screened = bounded_json.loads_screened(data)
    except bounded_json.JsonError:
        return []
    if not screened:
        return []
    found = [value] if isinstance(value, str) else []
    for container, key in mutations.paths(value):
        if isinstance(container[key], str):
            found.append(container[key])
    return found


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.randoms(use_true_random=True))
def test_every_fuzzed_frame_and_body_decodes_as_the_standard_library_decodes_it(
    rng: random.Random,
) -> None:
    mutator = Mutator(rng)
    frames = [mutator.frame(), mutator.channel_frame()]
    kind, body = mutator.body(rng.choice([mutations.ENVELOPE_SEEDS, mutations.UNOFFICIAL_SEEDS]))
    texts: list[str | bytes] = [*frames, body] if kind == "text" else frames
    for text in texts:
        same_as_standard(text)
        # A string of a screened frame (Pusher's `data`) decodes the same without the screen.
        for inner in screened_strings(text):
            assert outcome(bounded_json.loads, inner, screened=True) == outcome(
                bounded_json.standard_loads, inner
            )


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 18446744073709551616}',  # 2**64: orjson would make it a float
        '{"n": -9223372036854775809}',
        '{"n": 9223372036854775808}',
        "[" + "9" * 19 + "]",
        '{"n": 1e999, "m": NaN, "i": -Infinity}',
        '"\\ud800 lone"',
        '{"a": 1, "a": 2}',
        '{"f": 1.0, "z": -0.0, "e": 5e-324, "big": 1.7976931348623157e308}',
        "\ufeff[1]",
        "[1,]",
        "[" * 33 + "]" * 33,
        "[" * 32 + "]" * 32,
        json.dumps([{"x": [i]} for i in range(40)]),  # many brackets, shallow
        '"\\u005b\\u0039"',
        " [1] ",
        "",
    ],
)
def test_texts_orjson_reads_differently_or_refuses_decode_as_the_standard_library(
    text: str,
) -> None:
    same_as_standard(text)
    same_as_standard(text.encode("utf-8", "surrogatepass"))


def test_huge_integers_stay_integers_and_non_finite_numbers_become_none() -> None:
    assert bounded_json.loads(b'{"n": 18446744073709551616}') == {"n": 2**64}
    assert type(bounded_json.loads(b"[" + b"9" * 30 + b"]")[0]) is int
    assert bounded_json.loads(b"[NaN, 1e999, 2.5]") == [None, None, 2.5]
    with pytest.raises(bounded_json.JsonError, match="number too long"):
        bounded_json.loads(b"[" + b"9" * 5000 + b"]")
    with pytest.raises(bounded_json.JsonError, match="not UTF-8"):
        bounded_json.loads(b'{"a": "\xff"}')


def test_a_string_can_hide_digits_and_brackets_only_behind_a_unicode_escape() -> None:
    plain = json.dumps({"event": "x", "data": json.dumps({"id": 123})}).encode()
    escaped = b'{"event":"x","data":"[\\u0031\\u0032]"}'
    assert bounded_json.loads_screened(plain)[1] is True
    value, screened = bounded_json.loads_screened(escaped)
    assert value["data"] == "[12]" and screened is False
