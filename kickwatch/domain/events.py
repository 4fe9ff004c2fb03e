"""What the sources tell us: a start or end of a broadcast, and a live snapshot from a poll.

Parsers (`kickwatch.kick.protocol`, `kickwatch.kick.rest`) produce these; the monitor maps them
to streamers and hands them to the store, which decides whether they change anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from kickwatch.domain.status import EventSource, EventType


class StreamEvent(NamedTuple):
    """One observed start or end of a broadcast.

    A streamer is identified by whichever of `channel_id` (Pusher), `user_id` (official API) or
    `slug` (unofficial API) the source knows. A broadcast is identified by `livestream_id` when
    the source has Kick's numeric one, else by `started_at`.

    A named tuple rather than a frozen dataclass: one is made for every pushed frame, and a
    frozen dataclass of this many fields takes three times as long to build; it is as immutable.
    `raw` is the decoded frame, which the parser hands over and nobody changes.
    """

    event_type: EventType
    source: EventSource
    received_at: datetime
    raw: Mapping[str, Any]
    kick_event_id: str | None = None
    channel_id: int | None = None
    user_id: int | None = None
    slug: str | None = None
    livestream_id: str | None = None
    started_at: datetime | None = None
    occurred_at: datetime | None = None
    title: str | None = None
    category: str | None = None
    viewers: int | None = None


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """What a REST poll says about one streamer at `observed_at`."""

    is_live: bool
    observed_at: datetime
    source: EventSource
    user_id: int | None = None
    slug: str | None = None
    channel_id: int | None = None
    livestream_id: str | None = None
    started_at: datetime | None = None
    title: str | None = None
    category: str | None = None
    viewers: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """Everything kickwatch learns about a Kick channel when a streamer is added."""

    user_id: int
    slug: str
    display_name: str
    channel_id: int | None = None
    profile_picture_url: str | None = None
    live: LiveSnapshot | None = None
