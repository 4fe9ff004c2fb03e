"""Batches of changes the store tests write: back-to-back broadcasts of many streamers."""

from __future__ import annotations

from datetime import datetime, timedelta

from kickwatch.domain.status import EventType
from kickwatch.store import StatusChange


def broadcasts(first: datetime, ids: list[int], count: int) -> list[StatusChange]:
    """`count` starts and ends of back-to-back broadcasts of `ids` in turn, a millisecond apart
    from `first` on, each with its livestream id and Kick event id."""
    changes = []
    for number in range(count):
        turn, index = divmod(number, len(ids))
        streamer = ids[index]
        at = first + timedelta(milliseconds=number)
        start = turn % 2 == 0
        livestream = str(1_000_000 * (turn // 2 + 1) + streamer)
        kind = EventType.STREAM_START if start else EventType.STREAM_END
        changes.append(
            StatusChange(
                streamer_id=streamer,
                event_type=kind,
                received_timestamp=at,
                event_timestamp=at if start else None,
                kick_event_id=f"{streamer}:{livestream}:{kind}",
                livestream_id=livestream,
                broadcast_started_at=at if start else None,
                event_data={"source": "pusher", "livestream_id": livestream},
            )
        )
    return changes
