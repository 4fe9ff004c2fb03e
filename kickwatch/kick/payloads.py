"""Pure parsers for Kick's REST answers: official livestreams and channels, unofficial channels.

Every field is optional (Kick changes payloads without notice): a missing or mistyped field
becomes None instead of an error, except the ids without which an answer is useless, and then
the parser returns None. No parser here raises, whatever JSON value it is given. Numbers are
read strictly (`numeric`), and every title, category, slug, name and URL is made storable and
length-capped (`domain.text`). The official API has no Pusher livestream id, so its snapshots
carry `livestream_id=None` and are matched to pushes by start time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kickwatch.domain.events import ChannelInfo, LiveSnapshot
from kickwatch.domain.status import EventSource
from kickwatch.domain.text import MAX_CATEGORY, MAX_NAME, MAX_TITLE, MAX_URL, optional_text
from kickwatch.kick.numeric import as_count, as_id
from kickwatch.kick.timestamps import parse_kick_time


def _title(value: Any) -> str | None:
    return optional_text(value, MAX_TITLE)


def _slug(value: Any) -> str | None:
    """A slug, lowercased (before capping: lowercasing can lengthen a string)."""
    return optional_text(value.lower(), MAX_NAME) if isinstance(value, str) else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _category_name(value: Any) -> str | None:
    return optional_text(_obj(value).get("name"), MAX_CATEGORY)


def url_text(value: Any) -> str | None:
    """A URL as Kick sent it, or None when it is not one storable string of at most `MAX_URL`
    characters (a URL cut short or with characters replaced would point elsewhere)."""
    if not isinstance(value, str) or len(value) > MAX_URL:
        return None
    text = optional_text(value)
    return text if text == value else None


def name_text(value: Any) -> str | None:
    """A display name or username, storable and capped at `MAX_NAME`; None if there is none."""
    return optional_text(value, MAX_NAME)


def envelope_items(body: Any) -> list[Any] | None:
    """The items of `{"data": [...]}` (of any type: the parsers reject what is not an object),
    or None when the body has no such list."""
    data = _obj(body).get("data")
    return data if isinstance(data, list) else None


def official_user_id(item: Any) -> int | None:
    """The `user_id` of one `/public/v1/users` item."""
    return as_id(_obj(item).get("user_id"))


def official_livestream(item: Any, observed_at: datetime) -> LiveSnapshot | None:
    """A live snapshot from one `/public/v1/users/livestreams` (or `/livestreams`) item; None
    when the item is not an object with a broadcaster's user id."""
    item = _obj(item)
    user = _obj(item.get("broadcaster_user"))
    user_id = as_id(user.get("id"))
    if user_id is None:
        user_id = as_id(item.get("broadcaster_user_id"))
    if user_id is None:
        return None
    return LiveSnapshot(
        is_live=True,
        observed_at=observed_at,
        source=EventSource.OFFICIAL_API,
        user_id=user_id,
        slug=_slug(_obj(item.get("channel")).get("slug")) or _slug(item.get("slug")),
        channel_id=as_id(item.get("channel_id")),
        started_at=parse_kick_time(item.get("started_at") or item.get("start_time")),
        title=_title(item.get("title")) or _title(item.get("stream_title")),
        category=_category_name(item.get("category")),
        viewers=as_count(item.get("viewer_count")),
        raw=item,
    )


def offline_snapshot(user_id: int, observed_at: datetime, source: EventSource) -> LiveSnapshot:
    """What a poll that does not list a user means: that user is offline."""
    return LiveSnapshot(is_live=False, observed_at=observed_at, source=source, user_id=user_id)


def official_channel(item: Any, observed_at: datetime) -> ChannelInfo | None:
    """Channel info from one `/public/v1/channels` item (no channel id, no display name); None
    when the item is not an object with a user id and a slug."""
    item = _obj(item)
    user_id = as_id(item.get("broadcaster_user_id"))
    slug = _slug(item.get("slug"))
    display_name = name_text(item.get("slug"))
    if user_id is None or slug is None or display_name is None:
        return None
    stream = _obj(item.get("stream"))
    is_live = stream.get("is_live") is True
    live = LiveSnapshot(
        is_live=is_live,
        observed_at=observed_at,
        source=EventSource.OFFICIAL_API,
        user_id=user_id,
        slug=slug,
        started_at=parse_kick_time(stream.get("start_time")) if is_live else None,
        title=_title(item.get("stream_title")) or _title(stream.get("stream_title")),
        category=_category_name(item.get("category")) or _category_name(stream.get("category")),
        viewers=as_count(stream.get("viewer_count")) if is_live else None,
        raw=item,
    )
    return ChannelInfo(user_id=user_id, slug=slug, display_name=display_name, live=live)


def unofficial_channel(body: Any, observed_at: datetime) -> ChannelInfo | None:
    """Channel info from `kick.com/api/v2/channels/{slug}`; None when the ids are missing."""
    item = _obj(body)
    channel_id = as_id(item.get("id"))
    user = _obj(item.get("user"))
    user_id = as_id(item.get("user_id"))
    if user_id is None:
        user_id = as_id(user.get("id"))
    slug = _slug(item.get("slug"))
    display_name = name_text(user.get("username")) or name_text(item.get("slug"))
    if channel_id is None or user_id is None or slug is None or display_name is None:
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
            slug=slug,
            channel_id=channel_id,
            livestream_id=str(lid) if (lid := as_id(livestream.get("id"))) is not None else None,
            started_at=parse_kick_time(
                livestream.get("created_at") or livestream.get("start_time")
            ),
            title=_title(livestream.get("session_title")),
            category=_category_name(first) or _category_name(livestream.get("category")),
            viewers=as_count(livestream.get("viewer_count", livestream.get("viewers"))),
            raw=livestream,
        )
    else:
        live = LiveSnapshot(
            is_live=False,
            observed_at=observed_at,
            source=EventSource.UNOFFICIAL_API,
            user_id=user_id,
            slug=slug,
            channel_id=channel_id,
        )
    return ChannelInfo(
        user_id=user_id,
        slug=slug,
        display_name=display_name,
        channel_id=channel_id,
        profile_picture_url=url_text(user.get("profile_pic")),
        live=live,
    )
