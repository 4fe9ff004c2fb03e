"""Make values from Kick storable: text every database accepts, numbers JSON can carry.

Kick's payloads are written by streamers and by Kick's own servers, and both can hold what a
database refuses: a lone UTF-16 surrogate (valid JSON `"\\ud800"`, but not encodable as UTF-8),
a NUL character (PostgreSQL's text type has no room for it), `NaN` or `Infinity` (Python's json
reads them, strict JSON and PostgreSQL's jsonb do not). These functions are the boundary: what
passes through them can always be stored, and they never raise.
"""

from __future__ import annotations

import math
import re
from typing import Any

REPLACEMENT = "\ufffd"
MAX_TITLE = 300  # Kick caps a stream title well below this
MAX_CATEGORY = 100
MAX_NAME = 100  # display names and usernames echoed back
MAX_URL = 2048
MAX_DEPTH = 8  # nesting kept by `storable_json`; deeper values become null

# Lone surrogates, and C0 controls other than tab/newline/carriage return (NUL included).
_UNSTORABLE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable_text(value: str, limit: int | None = None) -> str:
    """`value` without lone surrogates and control characters (replaced by U+FFFD, NUL
    removed), cut to `limit` characters with an ellipsis when it is longer."""
    if _UNSTORABLE.search(value):
        value = _UNSTORABLE.sub(_replacement, value)
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + "…"
    return value


def optional_text(value: object, limit: int | None = None) -> str | None:
    """`storable_text` of a non-empty string; anything else (and what becomes empty) is None."""
    if not isinstance(value, str) or not value:
        return None
    text = storable_text(value, limit)
    return text if text.strip() else None


def storable_json(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON-like value that strict JSON and every database accept.

    Strings go through `storable_text` (keys too), non-finite floats become None, containers
    nested deeper than `MAX_DEPTH` become None, and anything that is not a JSON type becomes its
    `repr` as text.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return None
        return {storable_text(str(k)): storable_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return None
        return [storable_json(v, depth + 1) for v in value]
    return storable_text(repr(value))


def _replacement(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else REPLACEMENT
