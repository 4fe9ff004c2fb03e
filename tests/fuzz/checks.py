"""What the parsers produce from anything: integers that fit a BIGINT, text that every
database stores (no lone surrogate, no NUL) within its cap, and aware UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kickwatch.domain.events import ChannelInfo, LiveSnapshot, StreamEvent
from kickwatch.domain.text import MAX_CATEGORY, MAX_NAME, MAX_TITLE, MAX_URL
from kickwatch.kick.numeric import MAX_BIGINT, MIN_BIGINT
from kickwatch.kick.protocol import MAX_LIVESTREAM_ID

NOW = datetime(2025, 9, 15, 21, 12, 46, tzinfo=UTC)


def check_text(text: str | None, limit: int) -> None:
    if text is None:
        return
    text.encode("utf-8")  # no lone surrogate
    assert "\x00" not in text and len(text) <= limit


def check_int(number: int | None, minimum: int = MIN_BIGINT) -> None:
    assert number is None or (type(number) is int and minimum <= number <= MAX_BIGINT)


def check_time(when: datetime | None) -> None:
    assert when is None or when.utcoffset() == timedelta(0)


def check_stream_event(event: StreamEvent) -> None:
    check_int(event.channel_id, 1)
    check_int(event.viewers, 0)
    check_text(event.title, MAX_TITLE)
    check_text(event.category, MAX_CATEGORY)
    check_text(event.livestream_id, MAX_LIVESTREAM_ID)
    check_text(event.kick_event_id, 2 * MAX_LIVESTREAM_ID)
    check_time(event.started_at)


def check_snapshot(snapshot: LiveSnapshot) -> None:
    check_int(snapshot.user_id, 1)
    check_int(snapshot.channel_id, 1)
    check_int(snapshot.viewers, 0)
    check_text(snapshot.slug, MAX_NAME)
    check_text(snapshot.title, MAX_TITLE)
    check_text(snapshot.category, MAX_CATEGORY)
    check_text(snapshot.livestream_id, MAX_LIVESTREAM_ID)
    check_time(snapshot.started_at)


def check_channel(info: ChannelInfo) -> None:
    check_int(info.user_id, 1)
    check_int(info.channel_id, 1)
    check_text(info.slug, MAX_NAME)
    check_text(info.display_name, MAX_NAME)
    check_text(info.profile_picture_url, MAX_URL)
    if info.live is not None:
        check_snapshot(info.live)
