"""What a target is sent for one change: title, text, the streamer's link, category and avatar.

A message is made once, when the policy decides, and stored with its outbox row as JSON, so a
message resent after a restart says what it said the first time. It holds nothing secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kickwatch.domain.records import StreamerRecord


class AlertKind(StrEnum):
    """Which change a message announces (the `--events` names)."""

    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One alert, as every target is sent it."""

    kind: AlertKind
    streamer: str  # username, for the target's streamer filter
    title: str
    link: str
    stream_title: str | None = None
    category: str | None = None
    avatar_url: str | None = None

    @classmethod
    def for_change(cls, streamer: StreamerRecord, kind: AlertKind) -> AlertMessage:
        """The message for `streamer` going live (START) or offline (END)."""
        picture = streamer.profile_picture_url or ""
        return cls(
            kind=kind,
            streamer=streamer.username,
            title=(
                f"{streamer.display_name} is live"
                if kind is AlertKind.START
                else f"{streamer.display_name} went offline"
            ),
            link=f"https://kick.com/{streamer.slug or streamer.username}",
            stream_title=streamer.current_title or None,
            category=streamer.current_category or None,
            avatar_url=picture if picture.startswith("https://") else None,
        )

    @property
    def body(self) -> str:
        """The text under the title: stream title, category, link, one a line."""
        lines = []
        if self.stream_title:
            lines.append(self.stream_title)
        if self.category:
            lines.append(f"Category: {self.category}")
        if not lines:
            lines.append(
                "Streaming now on Kick" if self.kind is AlertKind.START else "The stream has ended"
            )
        lines.append(self.link)
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "kind": str(self.kind),
            "streamer": self.streamer,
            "title": self.title,
            "link": self.link,
            "stream_title": self.stream_title,
            "category": self.category,
            "avatar_url": self.avatar_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertMessage:
        """A message from its stored form."""
        return cls(
            kind=AlertKind(data["kind"]),
            streamer=str(data["streamer"]),
            title=str(data["title"]),
            link=str(data["link"]),
            stream_title=data.get("stream_title"),
            category=data.get("category"),
            avatar_url=data.get("avatar_url"),
        )
