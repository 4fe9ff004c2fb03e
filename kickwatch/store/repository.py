"""Every access pattern of the data model, and the one transactional write of status changes.

`Repository.apply_changes` is the heart of the store: a batch of observed starts and ends is
written in one transaction (streamer status, `last_status_update`, `last_seen_online` and the
`status_event` rows together, all or nothing). Duplicates are ignored, late events become
history without overwriting a newer status, and timestamps ahead of the local clock are clamped
to the receive time (see `kickwatch.store.timeline` for the ordering rules).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import peewee

from kickwatch.domain.clock import Clock, utc
from kickwatch.domain.errors import AlreadyExistsError, NotFoundError, ValidationError
from kickwatch.domain.records import StatusEventRecord, StreamerRecord, iso
from kickwatch.domain.status import EventType, Status
from kickwatch.domain.validation import (
    normalize_username,
    validate_display_name,
    validate_kick_id,
)
from kickwatch.store.database import Database
from kickwatch.store.models import StatusEvent, Streamer
from kickwatch.store.timeline import (
    Broadcast,
    status_of,
    synthetic_start_time,
)

log = logging.getLogger(__name__)

_ID_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An observed start or end of a broadcast of one streamer, to be recorded."""

    streamer_id: int
    event_type: EventType
    received_timestamp: datetime
    event_timestamp: datetime | None = None  # None: when it was received (Pusher stop events)
    kick_event_id: str | None = None
    livestream_id: str | None = None
    broadcast_started_at: datetime | None = None
    event_data: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    category: str | None = None
    viewers: int | None = None


@dataclass(frozen=True, slots=True)
class StatusObservation:
    """What a poll saw of a streamer, recorded without an event: live details, initial offline."""

    streamer_id: int
    is_live: bool
    observed_at: datetime
    title: str | None = None
    category: str | None = None
    viewers: int | None = None


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """A committed status change: the new row and the streamer as it is after the batch."""

    streamer: StreamerRecord
    event: StatusEventRecord


@dataclass
class BatchResult:
    """What a batch did: changes of the current status, late history, duplicates, no-ops."""

    applied: list[AppliedChange] = field(default_factory=list)
    history: list[StatusEventRecord] = field(default_factory=list)
    duplicates: int = 0
    unchanged: int = 0
    missing_streamers: int = 0


class Repository:
    """Reads and writes of streamers, status events and their history (not configuration)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    # -- streamers -------------------------------------------------------------------------

    def add_streamer(
        self,
        username: str,
        kick_user_id: int | str,
        *,
        display_name: str | None = None,
        kick_channel_id: int | str | None = None,
        slug: str | None = None,
        profile_picture_url: str | None = None,
        is_active: bool = True,
        notify_on_end: bool = False,
    ) -> StreamerRecord:
        """Insert a new streamer (status unknown). Raises AlreadyExistsError if one matches."""
        name = normalize_username(username)
        user_id = validate_kick_id("kick_user_id", kick_user_id)
        channel_id = (
            None
            if kick_channel_id is None
            else validate_kick_id("kick_channel_id", kick_channel_id)
        )
        shown = validate_display_name(display_name if display_name is not None else name)
        now = self.clock.now()
        with self.database.handle.atomic():
            clash = Streamer.select().where(
                (Streamer.username == name)
                | (Streamer.kick_user_id == user_id)
                | ((Streamer.kick_channel_id == channel_id) if channel_id else False)
            )
            existing = clash.first()
            if existing is not None:
                raise AlreadyExistsError(
                    f"{existing.username} is already monitored"
                    + ("" if existing.username == name else f" (Kick user id {user_id})")
                )
            row = Streamer.create(
                kick_user_id=user_id,
                kick_channel_id=channel_id,
                username=name,
                slug=(slug or name).lower(),
                display_name=shown,
                profile_picture_url=profile_picture_url,
                status=Status.UNKNOWN,
                created_at=now,
                updated_at=now,
                is_active=is_active,
                notify_on_end=notify_on_end,
            )
        return to_streamer_record(row)

    def remove_streamer(self, username: str) -> StreamerRecord:
        """Delete a streamer and, by cascade, all its events."""
        row = self._streamer_row(username)
        record = to_streamer_record(row)
        with self.database.handle.atomic():
            row.delete_instance()
        return record

    def set_active(self, username: str, active: bool) -> StreamerRecord:
        """Enable or disable monitoring of a streamer."""
        return self.update_streamer(username, is_active=active)

    def update_streamer(self, username: str, **fields: Any) -> StreamerRecord:
        """Change preferences or Kick details of a streamer (only known, settable fields)."""
        allowed = {
            "is_active",
            "notify_on_start",
            "notify_on_end",
            "is_favorite",
            "is_muted",
            "display_name",
            "kick_channel_id",
            "slug",
            "profile_picture_url",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValidationError(", ".join(sorted(unknown)), "cannot be changed here")
        if "display_name" in fields:
            fields["display_name"] = validate_display_name(fields["display_name"])
        if fields.get("kick_channel_id") is not None:
            fields["kick_channel_id"] = validate_kick_id(
                "kick_channel_id", fields["kick_channel_id"]
            )
        row = self._streamer_row(username)
        with self.database.handle.atomic():
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = max(self.clock.now(), row.created_at)
            row.save()
        return to_streamer_record(row)

    def get_by_username(self, username: str) -> StreamerRecord | None:
        """The streamer with this username (a kick.com URL or any case is accepted)."""
        row = Streamer.get_or_none(Streamer.username == normalize_username(username))
        return None if row is None else to_streamer_record(row)

    def get_by_kick_user_id(self, kick_user_id: int) -> StreamerRecord | None:
        """The streamer with this Kick user id."""
        row = Streamer.get_or_none(Streamer.kick_user_id == kick_user_id)
        return None if row is None else to_streamer_record(row)

    def get_by_id(self, streamer_id: int) -> StreamerRecord | None:
        """The streamer with this record id."""
        row = Streamer.get_or_none(Streamer.id == streamer_id)
        return None if row is None else to_streamer_record(row)

    def active_streamers(self) -> list[StreamerRecord]:
        """All streamers whose monitoring is enabled, by username."""
        query = Streamer.select().where(Streamer.is_active == True).order_by(Streamer.username)  # noqa: E712
        return [to_streamer_record(row) for row in query]

    def all_streamers(self) -> list[StreamerRecord]:
        """Every streamer, by username."""
        return [to_streamer_record(row) for row in Streamer.select().order_by(Streamer.username)]

    def live_streamers(self) -> list[StreamerRecord]:
        """Active streamers that are online now."""
        query = (
            Streamer.select()
            .where((Streamer.status == Status.ONLINE) & (Streamer.is_active == True))  # noqa: E712
            .order_by(Streamer.username)
        )
        return [to_streamer_record(row) for row in query]

    def _streamer_row(self, username: str) -> Streamer:
        name = normalize_username(username)
        row = Streamer.get_or_none(Streamer.username == name)
        if row is None:
            raise NotFoundError(f"no streamer named {name} is monitored")
        return row

    # -- events ----------------------------------------------------------------------------

    def recent_events(
        self, since: datetime, until: datetime | None = None
    ) -> list[StatusEventRecord]:
        """Events whose event_timestamp lies in [since, until], oldest first."""
        return self.event_history(since=since, until=until, newest_first=False)

    def event_history(
        self,
        *,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        event_type: EventType | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[StatusEventRecord]:
        """Stored events filtered by streamer, time range and type."""
        query = self._history_query(username, since, until, event_type)
        order = (
            (StatusEvent.event_timestamp.desc(), StatusEvent.id.desc())
            if newest_first
            else (StatusEvent.event_timestamp.asc(), StatusEvent.id.asc())
        )
        query = query.order_by(*order).offset(offset)
        if limit is not None:
            if limit < 0:
                raise ValidationError("limit", "must not be negative")
            query = query.limit(limit)
        return [to_event_record(row) for row in query.iterator()]

    def count_events(
        self,
        *,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        event_type: EventType | None = None,
    ) -> int:
        """How many events match the filters of `event_history`."""
        return int(self._history_query(username, since, until, event_type).count())

    def _history_query(
        self,
        username: str | None,
        since: datetime | None,
        until: datetime | None,
        event_type: EventType | None,
    ) -> peewee.ModelSelect[StatusEvent]:
        query = StatusEvent.select(StatusEvent, Streamer).join(
            Streamer, peewee.JOIN.LEFT_OUTER, on=(StatusEvent.streamer == Streamer.id)
        )
        if username is not None:
            query = query.where(Streamer.id == self._streamer_row(username).id)
        if since is not None:
            query = query.where(StatusEvent.event_timestamp >= since)
        if until is not None:
            query = query.where(StatusEvent.event_timestamp <= until)
        if event_type is not None:
            query = query.where(StatusEvent.event_type == EventType(event_type))
        return query

    def record_connection_test(self, ok: bool, detail: str) -> StatusEventRecord:
        """Store the result of a user's connection test so that it shows in the history."""
        now = self.clock.now()
        status = Status.ONLINE if ok else Status.OFFLINE
        with self.database.handle.atomic():
            row = StatusEvent.create(
                streamer=None,
                event_type=EventType.CONNECTION_TEST,
                previous_status=status,
                new_status=status,
                event_timestamp=now,
                received_timestamp=now,
                processed_timestamp=now,
                event_data={"ok": ok, "detail": detail},
            )
        return to_event_record(row)

    def delete_events_older_than(self, days: int) -> int:
        """Retention: delete events whose event_timestamp is more than `days` days old."""
        if days <= 0:
            raise ValidationError("database.retention_days", "must be a positive integer")
        cutoff = self.clock.now() - timedelta(days=days)
        with self.database.handle.atomic():
            return int(StatusEvent.delete().where(StatusEvent.event_timestamp < cutoff).execute())

    # -- the batch write -------------------------------------------------------------------

    def apply_changes(self, items: Sequence[StatusChange | StatusObservation]) -> BatchResult:
        """Record a batch of changes and observations in one transaction (all or nothing)."""
        result = BatchResult()
        if not items:
            return result
        with self.database.handle.atomic():
            batch = _Batch(self, items, result)
            for item in items:
                if isinstance(item, StatusObservation):
                    batch.observe(item)
                else:
                    batch.apply(item)
            batch.finish()
        return result


class _Batch:
    """The state of one `apply_changes` transaction: loaded streamers, seen ids, results."""

    def __init__(
        self,
        repo: Repository,
        items: Sequence[StatusChange | StatusObservation],
        result: BatchResult,
    ) -> None:
        self.now = repo.clock.now()
        self.result = result
        ids = {item.streamer_id for item in items}
        self.streamers: dict[int, Streamer] = {}
        for chunk in _chunks(sorted(ids)):
            for row in Streamer.select().where(Streamer.id.in_(chunk)):
                self.streamers[row.id] = row
        event_ids = sorted(
            {i.kick_event_id for i in items if isinstance(i, StatusChange) and i.kick_event_id}
        )
        self.known_event_ids: set[str] = set()
        for chunk in _chunks(event_ids):
            query = StatusEvent.select(StatusEvent.kick_event_id).where(
                StatusEvent.kick_event_id.in_(chunk)
            )
            self.known_event_ids.update(str(row.kick_event_id) for row in query)
        self.touched: set[int] = set()
        self.fresh: list[tuple[int, StatusEvent]] = []

    def observe(self, item: StatusObservation) -> None:
        row = self.streamers.get(item.streamer_id)
        if row is None:
            self.result.missing_streamers += 1
            return
        observed = min(utc(item.observed_at), self.now)
        if item.is_live:
            if row.last_seen_online is None or observed > row.last_seen_online:
                row.last_seen_online = observed
            for name in ("title", "category", "viewers"):
                value = getattr(item, name)
                if value is not None:
                    setattr(row, f"current_{name}", value)
        elif row.status == Status.UNKNOWN:
            # Initial detection of an offline streamer: a status, not a stream that ended, so
            # no event row; last_status_update stays with the newest recorded event.
            row.status = Status.OFFLINE
        self.touched.add(row.id)

    def apply(self, change: StatusChange) -> None:
        if change.event_type not in (EventType.STREAM_START, EventType.STREAM_END):
            raise ValidationError("event_type", f"{change.event_type} is not a status change")
        row = self.streamers.get(change.streamer_id)
        if row is None:
            self.result.missing_streamers += 1
            return
        if change.kick_event_id and change.kick_event_id in self.known_event_ids:
            self.result.duplicates += 1
            return
        change = self._clamped(change)
        at = change.event_timestamp
        assert at is not None
        broadcast = Broadcast(change.livestream_id, change.broadcast_started_at)
        if change.event_type is EventType.STREAM_START and broadcast.started_at is None:
            broadcast = replace(broadcast, started_at=at)
        if change.event_type is EventType.STREAM_END:
            resolved = self._end_broadcast(row, broadcast, at)
            if resolved is None:
                return
            broadcast = resolved
        if self._is_duplicate(row, change.event_type, broadcast, at):
            self.result.duplicates += 1
            return
        if change.kick_event_id:
            self.known_event_ids.add(change.kick_event_id)
        self.touched.add(row.id)
        newest = row.last_status_update is None or at > row.last_status_update
        if newest:
            self._append(row, change, broadcast)
        else:
            self._insert_late(row, change, broadcast)
        # Online until an end, and seen online when a current start arrives.
        seen = (
            change.received_timestamp
            if newest and change.event_type is EventType.STREAM_START
            else at
        )
        if row.last_seen_online is None or seen > row.last_seen_online:
            row.last_seen_online = seen

    def _clamped(self, change: StatusChange) -> StatusChange:
        received = min(utc(change.received_timestamp), self.now)
        at = utc(change.event_timestamp) if change.event_timestamp is not None else received
        data = dict(change.event_data)
        if at > received:
            data["raw_event_timestamp"] = iso(at)
            at = received
        started = change.broadcast_started_at
        started = None if started is None else min(utc(started), received)
        return replace(
            change,
            received_timestamp=received,
            event_timestamp=at,
            broadcast_started_at=started,
            event_data=data,
        )

    def _end_broadcast(self, row: Streamer, broadcast: Broadcast, at: datetime) -> Broadcast | None:
        """Which broadcast an end applies to, or None when it changes nothing.

        An end applies to the current broadcast unless it provably names another one.
        """
        if row.status == Status.ONLINE:
            current = current_broadcast(row)
            if not broadcast.known or not broadcast.differs_from(current):
                return broadcast.merged(current)
            return broadcast
        if not broadcast.known:
            self._observe_offline(row)
            return None
        newest = row.last_status_update is None or at > row.last_status_update
        if newest:
            last = self._newest_row(row)
            if last is None and row.status == Status.OFFLINE and broadcast.livestream_id is None:
                # Offline since the first poll, and no broadcast on record: nothing ended.
                # An end naming Kick's livestream id is a real end (Pusher has no replay) whose
                # start is missing or still on its way: record it, with a stand-in start that
                # the real one replaces, so that arrival order does not decide the status.
                self._observe_offline(row)
                return None
            if last is None:
                return broadcast
            if not broadcast.differs_from(row_broadcast(last)):
                self.result.duplicates += 1
                return None
        return broadcast

    def _newest_row(self, row: Streamer) -> StatusEvent | None:
        newest: StatusEvent | None = (
            StatusEvent.select()
            .where(StatusEvent.streamer == row.id)
            .order_by(*_timeline_order(descending=True))
            .first()
        )
        return newest

    def _observe_offline(self, row: Streamer) -> None:
        if row.status == Status.UNKNOWN:
            row.status = Status.OFFLINE
            self.touched.add(row.id)
        self.result.unchanged += 1

    def _is_duplicate(
        self, row: Streamer, event_type: EventType, broadcast: Broadcast, at: datetime
    ) -> bool:
        """A real row of this type and broadcast exists; a synthetic stand-in is removed."""
        if (
            event_type is EventType.STREAM_START
            and row.status == Status.ONLINE
            and current_broadcast(row).same_as(broadcast)
        ):
            return True
        if row.last_status_update is None:
            return False
        conditions = []
        if broadcast.livestream_id is not None:
            conditions.append(StatusEvent.livestream_id == broadcast.livestream_id)
        if broadcast.started_at is not None:
            conditions.append(
                StatusEvent.broadcast_started_at.between(
                    broadcast.started_at - timedelta(seconds=10),
                    broadcast.started_at + timedelta(seconds=10),
                )
            )
        if not conditions:
            return False
        condition = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
        candidates = StatusEvent.select().where(
            (StatusEvent.streamer == row.id) & (StatusEvent.event_type == event_type) & condition
        )
        for candidate in candidates:
            if not broadcast.same_as(row_broadcast(candidate)):
                continue
            if not candidate.synthetic:
                return True
            candidate.delete_instance()
            # The stand-in is gone: rebuild the timeline from where it stood.
            self._relink(row, min(candidate.event_timestamp, at))
        return False

    def _append(self, row: Streamer, change: StatusChange, broadcast: Broadcast) -> None:
        """The common case: the event is newer than everything stored for this streamer."""
        at = change.event_timestamp
        assert at is not None
        target = status_of(change.event_type)
        if target == row.status:
            if change.event_type is EventType.STREAM_START:
                self._insert(row, EventType.STREAM_END, Status.ONLINE, at, current_broadcast(row))
            else:
                when = synthetic_start_time(at, broadcast, row.last_status_update)
                self._insert(row, EventType.STREAM_START, Status.OFFLINE, when, broadcast)
            previous = Status.OFFLINE if target == Status.ONLINE else Status.ONLINE
        else:
            previous = Status(row.status)
        event = self._insert(
            row, change.event_type, previous, at, broadcast, change=change, synthetic=False
        )
        self._set_current(row, change.event_type, at, broadcast, change)
        self.fresh.append((row.id, event))

    def _insert_late(self, row: Streamer, change: StatusChange, broadcast: Broadcast) -> None:
        """An event older than the newest stored one: history, then re-derive the timeline."""
        at = change.event_timestamp
        assert at is not None
        natural = Status.OFFLINE if change.event_type is EventType.STREAM_START else Status.ONLINE
        event = self._insert(
            row, change.event_type, natural, at, broadcast, change=change, synthetic=False
        )
        self._relink(row, at)
        event = StatusEvent.get_by_id(event.id)  # re-read: the relink changed it
        event.streamer = row
        self.result.history.append(to_event_record(event))

    def _relink(self, row: Streamer, since: datetime) -> None:
        """Recompute previous statuses and stand-ins of every row from `since` on."""
        before = (
            StatusEvent.select()
            .where((StatusEvent.streamer == row.id) & (StatusEvent.event_timestamp < since))
            .order_by(*_timeline_order(descending=True))
            .first()
        )
        StatusEvent.delete().where(
            (StatusEvent.streamer == row.id)
            & (StatusEvent.event_timestamp >= since)
            & (StatusEvent.synthetic == True)  # noqa: E712
        ).execute()
        rows = list(
            StatusEvent.select()
            .where((StatusEvent.streamer == row.id) & (StatusEvent.event_timestamp >= since))
            .order_by(*_timeline_order(descending=False))
        )
        running = Status.UNKNOWN if before is None else Status(before.new_status)
        running_broadcast = Broadcast() if before is None else row_broadcast(before)
        last_at = None if before is None else before.event_timestamp
        for event in rows:
            target = status_of(event.event_type)
            broadcast = row_broadcast(event)
            if target == running:
                if target == Status.ONLINE:
                    self._insert(
                        row,
                        EventType.STREAM_END,
                        Status.ONLINE,
                        event.event_timestamp,
                        running_broadcast,
                    )
                    running = Status.OFFLINE
                else:
                    when = synthetic_start_time(event.event_timestamp, broadcast, last_at)
                    self._insert(row, EventType.STREAM_START, running, when, broadcast)
                    running = Status.ONLINE
            if event.previous_status != running:
                event.previous_status = running
                event.save(only=[StatusEvent.previous_status])
            running, running_broadcast, last_at = target, broadcast, event.event_timestamp

    def _insert(
        self,
        row: Streamer,
        event_type: EventType,
        previous: Status,
        at: datetime,
        broadcast: Broadcast,
        *,
        change: StatusChange | None = None,
        synthetic: bool = True,
    ) -> StatusEvent:
        received = change.received_timestamp if change is not None else self.now
        data: dict[str, Any] = dict(change.event_data) if change is not None else {}
        if synthetic:
            data = {"synthetic": True, "reason": "the matching event was never received"}
        return StatusEvent.create(
            streamer=row.id,
            event_type=event_type,
            previous_status=previous,
            new_status=status_of(event_type),
            kick_event_id=change.kick_event_id if change is not None else None,
            event_timestamp=at,
            received_timestamp=max(received, at),
            processed_timestamp=max(self.now, received, at),
            event_data=data,
            livestream_id=broadcast.livestream_id,
            broadcast_started_at=broadcast.started_at,
            synthetic=synthetic,
        )

    def _set_current(
        self,
        row: Streamer,
        event_type: EventType,
        at: datetime,
        broadcast: Broadcast,
        change: StatusChange,
    ) -> None:
        row.status = status_of(event_type)
        row.last_status_update = at
        if event_type is EventType.STREAM_START:
            row.current_broadcast_started_at = broadcast.started_at
            row.current_livestream_id = broadcast.livestream_id
            row.current_title = change.title
            row.current_category = change.category
            row.current_viewers = change.viewers
        else:
            row.current_broadcast_started_at = None
            row.current_livestream_id = None
            row.current_viewers = None

    def finish(self) -> None:
        """Save every touched streamer and build the records of the committed changes."""
        for streamer_id in self.touched:
            row = self.streamers[streamer_id]
            row.updated_at = max(self.now, row.created_at)
            row.save()
        records = {sid: to_streamer_record(self.streamers[sid]) for sid in self.touched}
        for streamer_id, event in self.fresh:
            event.streamer = self.streamers[streamer_id]
            self.result.applied.append(
                AppliedChange(streamer=records[streamer_id], event=to_event_record(event))
            )


def _timeline_order(*, descending: bool) -> list[peewee.Ordering]:
    """(event_timestamp, end-before-start, id): the order of one streamer's history."""
    rank = peewee.Case(StatusEvent.event_type, [(EventType.STREAM_END.value, 0)], 1)
    columns = [StatusEvent.event_timestamp, rank, StatusEvent.id]
    return [c.desc() if descending else c.asc() for c in columns]


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _ID_CHUNK):
        yield values[start : start + _ID_CHUNK]


def current_broadcast(row: Streamer) -> Broadcast:
    """The broadcast a streamer is in now, as stored."""
    return Broadcast(row.current_livestream_id, row.current_broadcast_started_at)


def row_broadcast(event: StatusEvent) -> Broadcast:
    """The broadcast a stored event belongs to."""
    return Broadcast(event.livestream_id, event.broadcast_started_at)


def to_streamer_record(row: Streamer) -> StreamerRecord:
    """An immutable snapshot of a streamer row."""
    return StreamerRecord(
        id=row.id,
        kick_user_id=row.kick_user_id,
        username=row.username,
        display_name=row.display_name,
        status=Status(row.status),
        is_active=bool(row.is_active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        kick_channel_id=row.kick_channel_id,
        slug=row.slug,
        profile_picture_url=row.profile_picture_url,
        last_seen_online=row.last_seen_online,
        last_status_update=row.last_status_update,
        current_broadcast_started_at=row.current_broadcast_started_at,
        current_livestream_id=row.current_livestream_id,
        current_title=row.current_title,
        current_category=row.current_category,
        current_viewers=row.current_viewers,
        notify_on_start=bool(row.notify_on_start),
        notify_on_end=bool(row.notify_on_end),
        is_favorite=bool(row.is_favorite),
        is_muted=bool(row.is_muted),
    )


def to_event_record(row: StatusEvent) -> StatusEventRecord:
    """An immutable snapshot of a status event row (with its streamer's username)."""
    streamer = row.__data__.get("streamer")
    username = ""
    if streamer is not None:
        related = row.__rel__.get("streamer")
        if related is None:
            related = Streamer.get_or_none(Streamer.id == streamer)
        username = related.username if related is not None else ""
    return StatusEventRecord(
        id=row.id,
        streamer_id=streamer,
        streamer=username,
        event_type=EventType(row.event_type),
        previous_status=Status(row.previous_status),
        new_status=Status(row.new_status),
        kick_event_id=row.kick_event_id,
        event_timestamp=row.event_timestamp,
        received_timestamp=row.received_timestamp,
        processed_timestamp=row.processed_timestamp,
        event_data=row.event_data or {},
    )
