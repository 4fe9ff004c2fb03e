"""Decode JSON that Kick (or anything posing as Kick) sends, within bounds, raising one error.

Python's `json.loads` trusts its input more than a client of a public service should: deeply
nested arrays raise `RecursionError`, bytes in UTF-16 or UTF-32 are silently accepted, `NaN`
and `Infinity` become floats that strict JSON and databases refuse, and an integer of more than
4,300 digits raises a `ValueError` of its own. `loads` checks the nesting depth with a linear
scan before decoding (so nothing deeper than `MAX_DEPTH` ever reaches the recursive decoder),
accepts bytes only as UTF-8, turns non-finite numbers and integers longer than `MAX_INT_DIGITS`
into None, and raises only `JsonError` (a `ValueError`) with a short reason that never quotes
the input.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # Kick's deepest payloads nest about six levels
MAX_INT_DIGITS = 20  # a sign and 19 digits: every 64-bit integer, and nothing near int()'s limit

# One token at a time, left to right: a string (closed or running to the end, so a stray quote
# never causes a rescan) or a bracket; everything else is skipped.
_TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{}]', re.DOTALL)


class JsonError(ValueError):
    """The text is not JSON that kickwatch accepts: not UTF-8, nested too deeply, or invalid."""


def loads(data: str | bytes) -> Any:
    """The JSON value in `data`; raises `JsonError` for anything else.

    Non-finite numbers (`NaN`, `Infinity`, `1e999`) and integers of more than `MAX_INT_DIGITS`
    characters decode as None.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonError(f"not UTF-8 (invalid byte at position {exc.start})") from None
    else:
        text = data
    if nested_deeper_than(text, MAX_DEPTH):
        raise JsonError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:  # cannot happen below MAX_DEPTH; kept so the contract holds anyway
        raise JsonError("nested too deeply") from None
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        position = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise JsonError(f"not JSON: {reason}{position}") from None


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether the arrays and objects in the JSON `text` nest deeper than `limit`.

    Linear and non-recursive; brackets inside strings do not count. For text that is not JSON
    the answer is only an estimate, which is harmless: the decoder rejects such text anyway.
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case: too few brackets to nest that deep at all
    depth = 0
    for match in _TOKEN.finditer(text):
        char = text[match.start()]
        if char == "[" or char == "{":
            depth += 1
            if depth > limit:
                return True
        elif char == "]" or char == "}":
            depth -= 1
    return False


def _no_constant(_name: str) -> None:
    return None


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _bounded_int(text: str) -> int | None:
    return int(text) if len(text) <= MAX_INT_DIGITS else None
