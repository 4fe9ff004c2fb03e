"""What a target is sent for one change: title, text, the streamer's link, category and avatar.

A message is made once, when the policy decides, and stored with its outbox row as JSON, so a
message resent after a restart says what it said the first time. A change alert (a live stream's
new title or category) also holds what changed, each as before → after, and the ids of the
`stream_change` rows it announces. It holds nothing secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import ChangeKind, StreamChange, describe_changes


class AlertKind(StrEnum):
    """Which change a message announces (the `--events` names)."""

    START = "start"
    END = "end"
    CHANGE = "change"  # a live stream's title or category changed


@dataclass(frozen=True, slots=True)
class DetailChange:
    """One changed detail of a live stream, as a change alert states it."""

    kind: ChangeKind
    previous: str
    value: str
    change_id: int  # the `stream_change` row

    def line(self) -> str:
        """`Title: before → after`."""
        return f"{self.kind.value.capitalize()}: {self.previous} → {self.value}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "previous": self.previous,
            "value": self.value,
            "id": self.change_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DetailChange:
        return cls(
            ChangeKind(data["kind"]), str(data["previous"]), str(data["value"]), int(data["id"])
        )


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
    changes: tuple[DetailChange, ...] = ()  # what changed (CHANGE only)

    @classmethod
    def for_change(cls, streamer: StreamerRecord, kind: AlertKind) -> AlertMessage:
        """The message for `streamer` going live (START) or offline (END)."""
        return cls(
            kind=kind,
            streamer=streamer.username,
            title=(
                f"{streamer.display_name} is live"
                if kind is AlertKind.START
                else f"{streamer.display_name} went offline"
            ),
            link=streamer.url,
            stream_title=streamer.current_title or None,
            category=streamer.current_category or None,
            avatar_url=_avatar(streamer),
        )

    @classmethod
    def for_details(cls, streamer: StreamerRecord, changes: Iterable[StreamChange]) -> AlertMessage:
        """The message for a live stream of `streamer` whose title or category changed."""
        recorded = sorted(changes, key=lambda change: change.id)
        title, _ = describe_changes(streamer.display_name, recorded)
        return cls(
            kind=AlertKind.CHANGE,
            streamer=streamer.username,
            title=title,
            link=streamer.url,
            avatar_url=_avatar(streamer),
            changes=tuple(
                DetailChange(change.kind, change.previous, change.value, change.id)
                for change in recorded
            ),
        )

    @property
    def change_ids(self) -> tuple[int, ...]:
        """The `stream_change` rows a change alert announces."""
        return tuple(change.change_id for change in self.changes)

    @property
    def body(self) -> str:
        """The text under the title: what changed, or the stream title and category; then the
        link; one a line."""
        lines = [change.line() for change in self.changes]
        if not lines:
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
        data: dict[str, Any] = {
            "kind": str(self.kind),
            "streamer": self.streamer,
            "title": self.title,
            "link": self.link,
            "stream_title": self.stream_title,
            "category": self.category,
            "avatar_url": self.avatar_url,
        }
        if self.changes:
            data["changes"] = [change.as_json() for change in self.changes]
        return data

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
            changes=tuple(DetailChange.from_json(item) for item in data.get("changes") or ()),
        )


def _avatar(streamer: StreamerRecord) -> str | None:
    picture = streamer.profile_picture_url or ""
    return picture if picture.startswith("https://") else None
