"""Per-streamer rules and live title/category changes: the values, their limits, the matching.

A `StreamerRule` narrows and extends what the notification policy does for one streamer: alert
only when the title contains one of its keywords or the category is one of its categories
(case-insensitive, any of them; no keyword and no category means every stream), alert when the
title or category changes while live, play its own sound, open the stream when it goes live.
`StreamChange` is one recorded change of a live stream's title or category. Everything here is
pure: no I/O, no clock; whether a sound file is usable is `kickwatch.platform.sounds`' business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from kickwatch.domain.errors import ValidationError
from kickwatch.domain.records import iso
from kickwatch.domain.text import MAX_CATEGORY, MAX_TITLE, storable_text
from kickwatch.domain.validation import shorten

MAX_KEYWORDS = 20
MAX_KEYWORD = 100
MAX_CATEGORIES = 20
MAX_SOUND_PATH = 1024
_SEPARATORS = re.compile(r"[,\n]")

# The columns of the changes in `kickwatch history --changes` and the history window's export.
CHANGE_FIELDS = (
    "id",
    "streamer",
    "streamer_id",
    "change_type",
    "previous_value",
    "new_value",
    "source",
    "livestream_id",
    "changed_at",
    "recorded_at",
)


class ChangeKind(StrEnum):
    """What changed while a stream was live."""

    TITLE = "title"
    CATEGORY = "category"

    @property
    def label(self) -> str:
        """The kind in words, as the history shows it."""
        return f"{self.value} change"


LIMITS = {ChangeKind.TITLE: MAX_TITLE, ChangeKind.CATEGORY: MAX_CATEGORY}


@dataclass(frozen=True, slots=True)
class StreamerRule:
    """What one streamer's alerts follow, besides the global settings."""

    streamer_id: int
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    title_changes: bool = False
    sound_path: str | None = None
    open_on_live: bool = False

    @property
    def filtered(self) -> bool:
        """Whether alerts depend on the title or category at all."""
        return bool(self.keywords or self.categories)

    def matches(self, title: str | None, category: str | None) -> bool:
        """Whether a stream with this title and category is announced (always, unfiltered)."""
        if not self.filtered:
            return True
        folded = (title or "").casefold()
        if any(keyword.casefold() in folded for keyword in self.keywords):
            return True
        wanted = {c.casefold() for c in self.categories}
        return category is not None and category.strip().casefold() in wanted

    def describe(self) -> str:
        """The rule in one line, for people."""
        parts = []
        if self.keywords:
            parts.append("title has " + " or ".join(repr(k) for k in self.keywords))
        if self.categories:
            parts.append("category is " + " or ".join(repr(c) for c in self.categories))
        condition = "; or ".join(parts) if parts else "every stream"
        extras = [
            text
            for on, text in (
                (self.title_changes, "title/category changes"),
                (self.sound_path is not None, f"sound {self.sound_path}"),
                (self.open_on_live, "opens the stream"),
            )
            if on
        ]
        return condition + (" · " + ", ".join(extras) if extras else "")

    def as_json(self) -> dict[str, Any]:
        """The rule's fields (without the streamer id)."""
        return {
            "keywords": list(self.keywords),
            "categories": list(self.categories),
            "title_changes": self.title_changes,
            "sound": self.sound_path,
            "open_on_live": self.open_on_live,
        }


def split_list(text: str) -> list[str]:
    """Items separated by commas or new lines, trimmed, empty ones left out."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def normalize_terms(
    field: str, values: Iterable[str], *, max_items: int, max_length: int
) -> tuple[str, ...]:
    """Keywords or categories: trimmed, inner spaces collapsed, repeats (in any case) dropped,
    each storable and at most `max_length` characters, at most `max_items` of them."""
    seen: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise ValidationError(field, f"{shorten(value)} is not text")
        term = " ".join(value.split())
        if not term:
            continue
        if len(term) > max_length:
            raise ValidationError(field, f"{shorten(term)} is longer than {max_length} characters")
        if storable_text(term) != term:
            raise ValidationError(field, f"{shorten(term)} holds control characters")
        seen.setdefault(term.casefold(), term)
    if len(seen) > max_items:
        raise ValidationError(field, f"at most {max_items} are allowed ({len(seen)} given)")
    return tuple(seen.values())


def normalize_keywords(values: Iterable[str]) -> tuple[str, ...]:
    """Title keywords as stored."""
    return normalize_terms("keywords", values, max_items=MAX_KEYWORDS, max_length=MAX_KEYWORD)


def normalize_categories(values: Iterable[str]) -> tuple[str, ...]:
    """Category names as stored."""
    return normalize_terms("categories", values, max_items=MAX_CATEGORIES, max_length=MAX_CATEGORY)


def validate_sound_path_text(value: str | None) -> str | None:
    """A sound path's text (not the file): None or empty means no sound of its own."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_SOUND_PATH:
        raise ValidationError("sound", f"the path is longer than {MAX_SOUND_PATH} characters")
    if storable_text(value) != value:
        raise ValidationError("sound", "the path holds control characters")
    return value


@dataclass(frozen=True, slots=True)
class DetailsSeen:
    """What a push or a poll says the live stream of one streamer is titled and filed under."""

    streamer_id: int
    seen_at: datetime
    source: str
    title: str | None = None
    category: str | None = None
    livestream_id: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StreamChange:
    """One recorded change of a live stream's title or category."""

    id: int
    streamer_id: int
    streamer: str  # the username, for display
    kind: ChangeKind
    previous: str
    value: str
    source: str
    changed_at: datetime
    recorded_at: datetime
    livestream_id: str | None = None
    broadcast_started_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored fields under `CHANGE_FIELDS`' names, timestamps in ISO 8601 UTC."""
        return {
            "id": self.id,
            "streamer": self.streamer,
            "streamer_id": self.streamer_id,
            "change_type": str(self.kind),
            "previous_value": self.previous,
            "new_value": self.value,
            "source": self.source,
            "livestream_id": self.livestream_id,
            "changed_at": iso(self.changed_at),
            "recorded_at": iso(self.recorded_at),
        }


def changed_details(
    known_title: str | None,
    known_category: str | None,
    seen_title: str | None,
    seen_category: str | None,
) -> list[tuple[ChangeKind, str, str]]:
    """(kind, before, after) for each detail that provably changed: both values known and
    different. A value that was unknown is learnt, not a change; one not seen is no news."""
    changes: list[tuple[ChangeKind, str, str]] = []
    for kind, before, after in (
        (ChangeKind.TITLE, known_title, seen_title),
        (ChangeKind.CATEGORY, known_category, seen_category),
    ):
        if before is not None and after is not None and before != after:
            changes.append((kind, before, after))
    return changes


def describe_changes(name: str, changes: Iterable[StreamChange]) -> tuple[str, str]:
    """The title and body of an alert for changes of one stream."""
    by_kind = {change.kind: change for change in changes}
    title_change = by_kind.get(ChangeKind.TITLE)
    category_change = by_kind.get(ChangeKind.CATEGORY)
    if category_change is not None and title_change is not None:
        return (
            f"{name} now streams {category_change.value}",
            f"New title: {title_change.value}",
        )
    if category_change is not None:
        return (
            f"{name} now streams {category_change.value}",
            f"Was {category_change.previous}",
        )
    if title_change is not None:
        return f"{name} changed the stream title", title_change.value
    return f"{name} changed the stream", ""
