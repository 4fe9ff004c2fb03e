"""Pure parsers for Kick's REST answers: official livestreams and channels, unofficial channels.

Every field is optional (Kick changes payloads without notice): a missing or mistyped field
becomes None instead of an error, except the ids without which an answer is useless. The
official API has no Pusher livestream id, so its snapshots carry `livestream_id=None` and are
matched to pushes by start time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kickwatch.domain.events import ChannelInfo, LiveSnapshot
from kickwatch.domain.status import EventSource
from kickwatch.kick.timestamps import parse_kick_time


def as_int(value: Any) -> int | None:
    """An int from an int or a string of digits; anything else (bools included) is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _category_name(value: Any) -> str | None:
    return _text(_obj(value).get("name"))


def envelope_items(body: Any) -> list[dict[str, Any]] | None:
    """The object items of `{"data": [...]}`, or None when the body has no such list."""
    data = _obj(body).get("data")
    if not isinstance(data, list):
        return None
    return [item for item in data if isinstance(item, dict)]


def official_livestream(item: dict[str, Any], observed_at: datetime) -> LiveSnapshot | None:
    """A live snapshot from one `/public/v1/users/livestreams` (or `/livestreams`) item."""
    user = _obj(item.get("broadcaster_user"))
    user_id = as_int(user.get("id"))
    if user_id is None:
        user_id = as_int(item.get("broadcaster_user_id"))
    if user_id is None:
        return None
    slug = _text(_obj(item.get("channel")).get("slug")) or _text(item.get("slug"))
    return LiveSnapshot(
        is_live=True,
        observed_at=observed_at,
        source=EventSource.OFFICIAL_API,
        user_id=user_id,
        slug=slug.lower() if slug else None,
        channel_id=as_int(item.get("channel_id")),
        started_at=parse_kick_time(item.get("started_at") or item.get("start_time")),
        title=_text(item.get("title")) or _text(item.get("stream_title")),
        category=_category_name(item.get("category")),
        viewers=as_int(item.get("viewer_count")),
        raw=item,
    )


def offline_snapshot(user_id: int, observed_at: datetime, source: EventSource) -> LiveSnapshot:
    """What a poll that does not list a user means: that user is offline."""
    return LiveSnapshot(is_live=False, observed_at=observed_at, source=source, user_id=user_id)


def official_channel(item: dict[str, Any], observed_at: datetime) -> ChannelInfo | None:
    """Channel info from one `/public/v1/channels` item (no channel id, no display name)."""
    user_id = as_int(item.get("broadcaster_user_id"))
    slug = _text(item.get("slug"))
    if user_id is None or slug is None:
        return None
    stream = _obj(item.get("stream"))
    is_live = stream.get("is_live") is True
    live = LiveSnapshot(
        is_live=is_live,
        observed_at=observed_at,
        source=EventSource.OFFICIAL_API,
        user_id=user_id,
        slug=slug.lower(),
        started_at=parse_kick_time(stream.get("start_time")) if is_live else None,
        title=_text(item.get("stream_title")) or _text(stream.get("stream_title")),
        category=_category_name(item.get("category")) or _category_name(stream.get("category")),
        viewers=as_int(stream.get("viewer_count")) if is_live else None,
        raw=item,
    )
    return ChannelInfo(user_id=user_id, slug=slug.lower(), display_name=slug, live=live)


def unofficial_channel(body: Any, observed_at: datetime) -> ChannelInfo | None:
    """Channel info from `kick.com/api/v2/channels/{slug}`; None when the ids are missing."""
    item = _obj(body)
    channel_id = as_int(item.get("id"))
    user = _obj(item.get("user"))
    user_id = as_int(item.get("user_id"))
    if user_id is None:
        user_id = as_int(user.get("id"))
    slug = _text(item.get("slug"))
    if channel_id is None or user_id is None or slug is None:
        return None
    livestream = item.get("livestream")
    if isinstance(livestream, dict):
        categories = livestream.get("categories")
        first = categories[0] if isinstance(categories, list) and categories else None
        live = LiveSnapshot(
            is_live=livestream.get("is_live") is not False,
            observed_at=observed_at,
            source=EventSource.UNOFFICIAL_API,
            user_id=user_id,
            slug=slug.lower(),
            channel_id=channel_id,
            livestream_id=str(lid) if (lid := as_int(livestream.get("id"))) is not None else None,
            started_at=parse_kick_time(
                livestream.get("created_at") or livestream.get("start_time")
            ),
            title=_text(livestream.get("session_title")),
            category=_category_name(first) or _category_name(livestream.get("category")),
            viewers=as_int(livestream.get("viewer_count", livestream.get("viewers"))),
            raw=livestream,
        )
    else:
        live = LiveSnapshot(
            is_live=False,
            observed_at=observed_at,
            source=EventSource.UNOFFICIAL_API,
            user_id=user_id,
            slug=slug.lower(),
            channel_id=channel_id,
        )
    return ChannelInfo(
        user_id=user_id,
        slug=slug.lower(),
        display_name=_text(user.get("username")) or slug,
        channel_id=channel_id,
        profile_picture_url=_text(user.get("profile_pic")),
        live=live,
    )
