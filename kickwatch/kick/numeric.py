"""Numbers from Kick's payloads, read strictly: ids, counts, codes and timeouts.

Kick sends ids as JSON numbers or as strings of digits, and a hostile or broken server can send
anything in their place. These readers accept an int, an integral float or a string of ASCII
digits (`str.isdigit` would also take '²' or '٣', which `int` then refuses), bound the result to
what a PostgreSQL BIGINT holds, and return None for everything else. They never raise.
"""

from __future__ import annotations

import math
import re

MAX_BIGINT = 2**63 - 1
MIN_BIGINT = -(2**63)

# At most 19 digits: every BIGINT fits, and no string reaches int()'s 4,300-digit limit.
_INTEGER = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?", re.ASCII)


def as_int(value: object, minimum: int = MIN_BIGINT, maximum: int = MAX_BIGINT) -> int | None:
    """`value` as an int within [minimum, maximum], from an int, an integral float or a string
    of ASCII digits with an optional leading minus; bools and anything else are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        # Compare as floats first: int() of a huge float is exact but needlessly large.
        if not minimum <= value <= maximum:
            return None
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text):
            return None
        number = int(text)
    else:
        return None
    return number if minimum <= number <= maximum else None


def as_id(value: object) -> int | None:
    """A Kick id: a positive integer that fits a BIGINT, else None."""
    return as_int(value, 1, MAX_BIGINT)


def as_count(value: object) -> int | None:
    """A count such as viewers: a non-negative integer that fits a BIGINT, else None."""
    return as_int(value, 0, MAX_BIGINT)


def as_seconds(value: object, maximum: float) -> float | None:
    """A positive, finite number of seconds at most `maximum`, from a number or a string of
    ASCII digits with an optional fraction; anything else (zero, negative, NaN, infinite, too
    big, bools) is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if 0 < value <= maximum else None
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) and 0 < number <= maximum else None
