"""The world of the fake Kick: which channels exist and which are live.

Both fake servers read this one object: the Pusher server pushes StreamerIsLive /
StopStreamBroadcast when a channel changes, the HTTP servers answer polls and lookups from it.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class FakeLivestream:
    """One broadcast of a fake channel."""

    id: int
    started_at: datetime
    title: str = "Fake stream"
    category: str = "Just Chatting"
    viewers: int = 100


@dataclass
class FakeChannel:
    """One Kick channel: its ids, names and current broadcast (None when offline)."""

    channel_id: int
    user_id: int
    slug: str
    display_name: str
    profile_pic: str | None = None
    live: FakeLivestream | None = None


@dataclass
class FakeKickState:
    """Channels by slug; thread-safe because the HTTP servers run in their own threads."""

    channels: dict[str, FakeChannel] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def add_channel(
        self,
        slug: str,
        *,
        channel_id: int | None = None,
        user_id: int | None = None,
        display_name: str | None = None,
    ) -> FakeChannel:
        """Create a channel (ids allocated unless given) and return it."""
        with self.lock:
            channel = FakeChannel(
                channel_id=channel_id if channel_id is not None else next(self._ids),
                user_id=user_id if user_id is not None else next(self._ids),
                slug=slug.lower(),
                display_name=display_name or slug,
                profile_pic=f"https://files.kick.invalid/{slug}.webp",
            )
            self.channels[channel.slug] = channel
            return channel

    def by_user_id(self, user_id: int) -> FakeChannel | None:
        """The channel of a Kick user id, if any."""
        with self.lock:
            return next((c for c in self.channels.values() if c.user_id == user_id), None)

    def by_channel_id(self, channel_id: int) -> FakeChannel | None:
        """The channel with a Pusher channel id, if any."""
        with self.lock:
            return next((c for c in self.channels.values() if c.channel_id == channel_id), None)

    def start_stream(self, slug: str, *, started_at: datetime | None = None) -> FakeLivestream:
        """Mark a channel live with a new broadcast (without pushing anything)."""
        with self.lock:
            live = FakeLivestream(
                id=next(self._ids) * 1000,
                started_at=(started_at or datetime.now(UTC)).replace(microsecond=0),  # clock-ok
            )
            self.channels[slug.lower()].live = live
            return live

    def end_stream(self, slug: str) -> FakeLivestream | None:
        """Mark a channel offline (without pushing anything); returns the broadcast that ended."""
        with self.lock:
            channel = self.channels[slug.lower()]
            live, channel.live = channel.live, None
            return live
