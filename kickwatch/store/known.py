"""What one batch knows of the stored state of its streamers, read in three set-wise queries.

A batch needs, for every change, the streamer's row, whether Kick's event id is stored already,
whether a row of the same broadcast is stored, and sometimes the streamer's newest row. Asked
one change at a time that is a round trip or two per change; here it is read when the batch
begins, inside its transaction and under its lock (the streamer rows `FOR UPDATE` in id order on
PostgreSQL; the write lock of `BEGIN IMMEDIATE` on SQLite), so nothing another process commits
can make it stale:

- the streamers of the batch, one query;
- which of the batch's Kick event ids are stored, one query;
- per streamer, the events that could name a broadcast the batch will look for: those with one
  of its livestream ids, or a start time within the tolerance of one of its start times where
  `Broadcast.same_as` would compare start times (see `Wanted`); a superset, which the batch
  compares exactly, in one query.

The batch keeps this up to date with what it writes. Where it rebuilds a streamer's timeline
(a late event, a stand-in replaced) it `forget`s that streamer, whose questions then go to the
database again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import Status
from kickwatch.store.database import Database
from kickwatch.store.statements import (
    STREAMER_COLUMNS,
    Statements,
    StoredEvent,
    holding_nul,
    read_timestamp,
    timestamp_writer,
)
from kickwatch.store.timeline import BROADCAST_TOLERANCE, Broadcast


class StreamerState:
    """A streamer's row as the batch changes it (the attributes are its columns)."""

    __slots__ = STREAMER_COLUMNS

    def __init__(self, row: tuple[Any, ...]) -> None:
        # The columns in `STREAMER_COLUMNS` order, assigned one by one: a loop of `setattr`
        # costs more than the rest of loading a streamer.
        (
            self.id,
            self.kick_user_id,
            self.username,
            self.display_name,
            status,
            is_active,
            created_at,
            updated_at,
            self.kick_channel_id,
            self.slug,
            self.profile_picture_url,
            last_seen_online,
            last_status_update,
            current_broadcast_started_at,
            self.current_livestream_id,
            self.current_title,
            self.current_category,
            self.current_viewers,
            notify_on_start,
            notify_on_end,
            is_favorite,
            is_muted,
        ) = row
        self.status: Status = Status(status)
        self.is_active = bool(is_active)
        self.created_at: datetime = read_timestamp(created_at)  # type: ignore[assignment]
        self.updated_at: datetime = read_timestamp(updated_at)  # type: ignore[assignment]
        self.last_seen_online = read_timestamp(last_seen_online)
        self.last_status_update = read_timestamp(last_status_update)
        self.current_broadcast_started_at = read_timestamp(current_broadcast_started_at)
        self.notify_on_start = bool(notify_on_start)
        self.notify_on_end = bool(notify_on_end)
        self.is_favorite = bool(is_favorite)
        self.is_muted = bool(is_muted)

    def record(self) -> StreamerRecord:
        """An immutable snapshot, as `to_streamer_record` makes of a model."""
        return StreamerRecord(
            id=self.id,
            kick_user_id=self.kick_user_id,
            username=self.username,
            display_name=self.display_name,
            status=self.status,
            is_active=self.is_active,
            created_at=self.created_at,
            updated_at=self.updated_at,
            kick_channel_id=self.kick_channel_id,
            slug=self.slug,
            profile_picture_url=self.profile_picture_url,
            last_seen_online=self.last_seen_online,
            last_status_update=self.last_status_update,
            current_broadcast_started_at=self.current_broadcast_started_at,
            current_livestream_id=self.current_livestream_id,
            current_title=self.current_title,
            current_category=self.current_category,
            current_viewers=self.current_viewers,
            notify_on_start=self.notify_on_start,
            notify_on_end=self.notify_on_end,
            is_favorite=self.is_favorite,
            is_muted=self.is_muted,
        )


class Wanted:
    """The broadcasts a batch may look for, per streamer: livestream ids and start times.

    `Broadcast.same_as` compares livestream ids where both broadcasts have one, else start
    times. So a stored event can match a broadcast with an id only by that id or, if the event
    has no id, by its start time; only a broadcast without an id can match an event with one by
    start time. Keeping the two kinds of start times apart keeps a burst of pushes (every
    broadcast with its id, all within seconds) from reading every event of those seconds.
    """

    def __init__(self) -> None:
        self.livestream_ids: dict[int, set[str]] = {}
        self.started: dict[int, tuple[datetime, datetime]] = {}  # of broadcasts without an id
        self.started_with_id: dict[int, tuple[datetime, datetime]] = {}  # lowest, highest

    def add(self, streamer_id: int, broadcast: Broadcast) -> None:
        livestream_id, started = broadcast
        if livestream_id is not None:
            self.livestream_ids.setdefault(streamer_id, set()).add(livestream_id)
        if started is not None:
            ranges = self.started if livestream_id is None else self.started_with_id
            low, high = ranges.get(streamer_id, (started, started))
            ranges[streamer_id] = (min(low, started), max(high, started))

    def rows(self, dialect: str) -> list[list[Any]]:
        """One parameter row per streamer: [id, [livestream ids], start range of events of any
        kind, start range of events without an id], a range as [lowest, highest] or nulls."""
        write = timestamp_writer(dialect)

        def bounds(ranges: dict[int, tuple[datetime, datetime]], streamer_id: int) -> list[Any]:
            found = ranges.get(streamer_id)
            if found is None:
                return [None, None]
            low, high = found
            return [
                _text(write(low - BROADCAST_TOLERANCE)),
                _text(write(high + BROADCAST_TOLERANCE)),
            ]

        streamers = set(self.livestream_ids) | set(self.started) | set(self.started_with_id)
        return [
            [
                streamer_id,
                sorted(self.livestream_ids.get(streamer_id, ())),
                *bounds(self.started, streamer_id),
                *bounds(self.started_with_id, streamer_id),
            ]
            for streamer_id in sorted(streamers)
        ]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat(sep=" ")


_UNREAD: Any = object()


class Known:
    """The batch's knowledge of its streamers, their stored event ids and broadcasts."""

    def __init__(self, database: Database, sql: Statements) -> None:
        self._database = database
        self._sql = sql
        self.streamers: dict[int, StreamerState] = {}
        self.event_ids: set[str] = set()
        # Streamers whose candidates are complete; one that is absent asks the database.
        self._candidates: dict[int, list[StoredEvent]] = {}
        # A streamer's newest event (None: it has none) where known; absent: ask the database.
        self._newest: dict[int, StoredEvent | None] = {}

    def load_streamers(self, ids: Iterable[int]) -> None:
        """Read (and on PostgreSQL lock, in id order) the streamers of the batch."""
        wanted = sorted(set(ids))
        if not wanted:
            return
        handle = self._database.handle
        cursor = handle.execute_sql(self._sql.streamers, (self._sql.id_set(wanted),))
        for row in cursor.fetchall():
            state = StreamerState(row)
            self.streamers[state.id] = state

    def load_event_ids(self, keys: Iterable[str]) -> None:
        """Read which of these Kick event ids are stored already."""
        wanted = sorted(set(keys))
        if not wanted:
            return
        handle = self._database.handle
        sql = self._sql
        encoded = sql.id_set(wanted)
        if sql.dialect == "sqlite" and (odd := holding_nul(wanted, encoded)):
            for key in odd:
                if handle.execute_sql(sql.known_key, (key,)).fetchone() is not None:
                    self.event_ids.add(key)
            encoded = sql.id_set([key for key in wanted if "\x00" not in key])
        cursor = handle.execute_sql(sql.known_keys, (encoded,))
        self.event_ids.update(str(key) for (key,) in cursor.fetchall())

    def load_candidates(self, wanted: Wanted) -> None:
        """Read the stored events that may name a broadcast in `wanted` (plus each streamer's
        current broadcast); every loaded streamer is answered from memory from now on."""
        for state in self.streamers.values():
            current = Broadcast(state.current_livestream_id, state.current_broadcast_started_at)
            wanted.add(state.id, current)
            self._candidates[state.id] = []
        rows = [row for row in wanted.rows(self._sql.dialect) if row[0] in self._candidates]
        encoded = json.dumps(rows)
        if self._sql.dialect == "sqlite":
            # A streamer with a livestream id that SQLite would not find is asked of the
            # database, one broadcast at a time, instead.
            held = set(holding_nul((i for row in rows for i in row[1]), encoded))
            if held:
                odd = {row[0] for row in rows if not held.isdisjoint(row[1])}
                for streamer_id in odd:
                    del self._candidates[streamer_id]
                rows = [row for row in rows if row[0] not in odd]
                encoded = json.dumps(rows)
        if not rows:
            return
        cursor = self._database.handle.execute_sql(self._sql.candidates, (encoded,))
        started: dict[Any, datetime | None] = {None: None}  # one instant is often many rows
        for event_id, streamer_id, event_type, synthetic, livestream_id, text in sorted(
            cursor.fetchall()
        ):
            at = started.get(text, _UNREAD)
            if at is _UNREAD:
                at = started[text] = read_timestamp(text)
            self._candidates[streamer_id].append(
                StoredEvent(event_id, event_type, bool(synthetic), livestream_id, at)
            )

    def candidates(self, streamer_id: int) -> list[StoredEvent] | None:
        """The streamer's events that may hold a broadcast the batch looks for, as loaded by
        `load_candidates` and added to since, or None when only the database knows."""
        return self._candidates.get(streamer_id)

    def same_broadcast(
        self, streamer_id: int, event_type: str, broadcast: Broadcast
    ) -> list[StoredEvent] | None:
        """The stored events of this type and broadcast (`Broadcast.same_as`), or None when only
        the database knows."""
        candidates = self.candidates(streamer_id)
        if candidates is None:
            return None
        livestream_id, started = broadcast
        same = []
        for event in candidates:
            if event.event_type != event_type:
                continue
            if livestream_id is not None and event.livestream_id is not None:
                if livestream_id == event.livestream_id:
                    same.append(event)
            elif (
                started is not None
                and event.started_at is not None
                and abs(started - event.started_at) <= BROADCAST_TOLERANCE
            ):
                same.append(event)
        return same

    def newest(self, streamer_id: int) -> tuple[bool, StoredEvent | None]:
        """(known, the streamer's newest event) from memory."""
        if streamer_id in self._newest:
            return True, self._newest[streamer_id]
        return False, None

    def set_newest(self, streamer_id: int, event: StoredEvent | None) -> None:
        """Remember the streamer's newest event (read from the database, or just appended)."""
        self._newest[streamer_id] = event

    def inserted(self, streamer_id: int, event: StoredEvent) -> None:
        """The batch wrote this event (or queued it)."""
        candidates = self._candidates.get(streamer_id)
        if candidates is not None:
            candidates.append(event)

    def forget(self, streamer_id: int) -> None:
        """The streamer's timeline was rebuilt in the database: ask the database from now on."""
        self._candidates.pop(streamer_id, None)
        self._newest.pop(streamer_id, None)
