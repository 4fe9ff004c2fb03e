"""Decode JSON that Kick (or anything posing as Kick) sends, within bounds, raising one error.

Python's `json.loads` trusts its input more than a client of a public service should: deeply
nested arrays raise `RecursionError`, bytes in UTF-16 or UTF-32 are silently accepted, `NaN`
and `Infinity` (and `1e999`) become floats that strict JSON and databases refuse, and an
integer of more than 4,300 digits raises a `ValueError` of its own. `loads` checks the nesting
depth with a linear scan before decoding (so nothing deeper than `MAX_DEPTH` ever reaches the
recursive decoder), accepts bytes only as UTF-8, turns non-finite numbers into None, and raises
only `JsonError` (a `ValueError`) with a short reason that never quotes the input. Integers that
fit are left to the readers in `numeric`, which bound them.

Most text is decoded by orjson, several times faster than the standard library, and only when
the result is certain to be the same: orjson turns an integer beyond 64 bits into a float, so
text with a run of 19 or more digits goes to the standard library, and so does text with more
brackets than `MAX_DEPTH` (after the depth scan) and everything orjson refuses (NaN, `1e999`,
escaped lone surrogates, invalid UTF-8, invalid JSON): the standard library then decides, and
words the error. The value, or the error, is the same as from the standard library alone.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_DEPTH = 32  # Kick's deepest payloads nest about six levels

# What is not a bracket of the structure: a string (closed or running to the end, so a stray
# quote never causes a rescan) or a run of anything else.
_NOT_BRACKET = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[^"\[\]{}]++', re.DOTALL)
_SQUARE = str.maketrans("{}", "[]")
# One pass folds every digit into "0" and "{" into "[": a run of 19 zeros then marks a number
# orjson may not read as an int, and the "[" count bounds the nesting depth.
_FOLD = bytes.maketrans(b"123456789{", b"000000000[")
_LONG_DIGIT_RUN = b"0" * 19
_BOM = "\ufeff"


class JsonError(ValueError):
    """The text is not JSON that kickwatch accepts: not UTF-8, nested too deeply, or invalid."""


def _no_constant(_name: str) -> None:
    return None


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


# One decoder for every call: `json.loads` with hooks would build a new one each time.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def loads(data: str | bytes, *, screened: bool = False) -> Any:
    """The JSON value in `data`; raises `JsonError` for anything else.

    Non-finite numbers (`NaN`, `Infinity`, `1e999`) decode as None; an integer too long for
    Python's `int` makes the text invalid. `screened`: the caller knows the text has neither a
    run of 19 digits nor more than `MAX_DEPTH` brackets (it is a string of a `loads_screened`
    value that said so), and the check is skipped.
    """
    if screened:
        try:
            return orjson.loads(data)
        except ValueError:
            return standard_loads(data)
    return loads_screened(data)[0]


def loads_screened(data: str | bytes) -> tuple[Any, bool]:
    """`loads`, and whether every string in the value is screened (see `loads`): true when the
    text passed the check and holds no `\\u` escape, the only way a string can hide a digit or
    a bracket from it. JSON inside such a string (Pusher's `data`) needs no check of its own."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    folded = raw.translate(_FOLD)
    if folded.count(b"[") <= MAX_DEPTH and _LONG_DIGIT_RUN not in folded:
        try:
            return orjson.loads(raw), b"\\u" not in raw
        except ValueError:
            pass  # the standard library decides, and says why
    return standard_loads(data), False


def standard_loads(data: str | bytes) -> Any:
    """`loads` by the standard library alone (what `loads` falls back to)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonError(f"not UTF-8 (invalid byte at position {exc.start})") from None
    else:
        text = data
    if nested_deeper_than(text, MAX_DEPTH):
        raise JsonError(f"nested deeper than {MAX_DEPTH} levels")
    if text.startswith(_BOM):  # what `json.loads` says; the decoder alone would not
        raise JsonError("not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at position 0")
    try:
        return _DECODER.decode(text)
    except RecursionError:  # cannot happen below MAX_DEPTH; kept so the contract holds anyway
        raise JsonError("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise JsonError(f"not JSON: {exc.msg} at position {exc.pos}") from None
    except ValueError:  # the only other one: an integer literal of more than 4,300 digits
        raise JsonError("not JSON kickwatch can read: a number too long") from None


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether the arrays and objects in the JSON `text` nest deeper than `limit`.

    Non-recursive, and every step runs at C speed: strings and everything else but brackets
    are removed, then each round removes the innermost pairs; brackets left after `limit`
    rounds nest deeper than that. Brackets inside strings do not count. For text that is not
    JSON (unbalanced brackets) the answer may be True at any depth, which is harmless: the
    decoder would reject such text anyway.
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case: too few brackets to nest that deep at all
    brackets = _NOT_BRACKET.sub("", text).translate(_SQUARE)
    for _ in range(limit):
        inner = brackets.replace("[]", "")
        if not inner or inner == brackets:
            break
        brackets = inner
    else:
        return bool(brackets)
    return bool(inner)
