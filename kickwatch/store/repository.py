"""Every access pattern of the data model, and the one transactional write of status changes.

`Repository.apply_changes` is the heart of the store: a batch of observed starts and ends is
written in one transaction (streamer status, `last_status_update`, `last_seen_online` and the
`status_event` rows together, all or nothing). Duplicates are ignored, late events become
history without overwriting a newer status, and timestamps ahead of the local clock are clamped
to the receive time (see `kickwatch.store.timeline` for the ordering rules).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import peewee

from kickwatch.domain.clock import Clock
from kickwatch.domain.errors import AlreadyExistsError, NotFoundError, ValidationError
from kickwatch.domain.records import StatusEventRecord, StreamerRecord, iso
from kickwatch.domain.status import EventType, Status
from kickwatch.domain.text import storable_text
from kickwatch.domain.validation import (
    normalize_username,
    validate_display_name,
    validate_kick_id,
)
from kickwatch.store import partitions
from kickwatch.store.batch import (
    AppliedChange,
    Batch,
    BatchResult,
    StatusChange,
    StatusObservation,
)
from kickwatch.store.convert import to_event_record, to_streamer_record
from kickwatch.store.database import Database
from kickwatch.store.models import QuarantinedChange, StatusEvent, Streamer

log = logging.getLogger(__name__)

__all__ = [
    "AppliedChange",
    "BatchResult",
    "Repository",
    "StatusChange",
    "StatusObservation",
]


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
        inferred: bool = True,
    ) -> list[StatusEventRecord]:
        """Stored events filtered by streamer, time range and type (`inferred=False` leaves
        out the stand-ins for transitions Kick never sent)."""
        query = self._history_query(username, since, until, event_type, inferred)
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
        inferred: bool = True,
    ) -> int:
        """How many events match the filters of `event_history`."""
        return int(self._history_query(username, since, until, event_type, inferred).count())

    def _history_query(
        self,
        username: str | None,
        since: datetime | None,
        until: datetime | None,
        event_type: EventType | None,
        inferred: bool = True,
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
        if not inferred:
            query = query.where(StatusEvent.synthetic == False)  # noqa: E712
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
        handle = self.database.handle
        with handle.atomic():
            if self.database.dialect == "postgresql" and partitions.is_partitioned(handle):
                return partitions.drop_expired(handle, cutoff)
            return int(StatusEvent.delete().where(StatusEvent.event_timestamp < cutoff).execute())

    def prepare_partitions(self) -> int:
        """Upkeep on PostgreSQL: create the monthly `status_event` partitions from this month
        to `partitions.MONTHS_AHEAD` ahead (moving rows of those months out of the default
        partition); returns how many were created (always 0 on SQLite)."""
        handle = self.database.handle
        if self.database.dialect != "postgresql":
            return 0
        with handle.atomic():
            if not partitions.is_partitioned(handle):
                return 0
            return partitions.ensure_ahead(handle, self.clock.now())

    # -- the batch write -------------------------------------------------------------------

    def apply_changes(self, items: Sequence[StatusChange | StatusObservation]) -> BatchResult:
        """Record a batch of changes and observations in one transaction (all or nothing)."""
        result = BatchResult()
        if not items:
            return result
        self.database.check_file()
        with self.database.handle.atomic():
            batch = Batch(self.database, self.clock, items, result)
            try:
                for item in items:
                    if isinstance(item, StatusObservation):
                        batch.observe(item)
                    else:
                        batch.apply(item)
                batch.finish()
            finally:
                # No INSERT of the batch's may still run when its transaction ends.
                batch.rows.close()
            # Commit only into the file every later process opens.
            self.database.check_file()
        self.database.check_file()
        return result

    # -- quarantine ------------------------------------------------------------------------

    def quarantine(self, item: StatusChange | StatusObservation, reason: str) -> None:
        """Keep a change the database refused for good, with the reason, for the user to see."""
        kind = str(item.event_type) if isinstance(item, StatusChange) else "observation"
        data = {f.name: _plain(getattr(item, f.name)) for f in dataclasses.fields(item)}
        with self.database.handle.atomic():
            QuarantinedChange.create(
                streamer_id=item.streamer_id,
                change_kind=kind,
                reason=storable_text(reason, 500) or "refused",
                change_data=data,
                quarantined_at=self.clock.now(),
            )

    def quarantined_changes(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Changes set aside because they can never be written, newest first."""
        query = QuarantinedChange.select().order_by(QuarantinedChange.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return [
            {
                "id": row.id,
                "streamer_id": row.streamer_id,
                "change_kind": row.change_kind,
                "reason": row.reason,
                "quarantined_at": iso(row.quarantined_at),
                "change": row.change_data,
            }
            for row in query
        ]

    def count_quarantined(self) -> int:
        """How many changes are in quarantine."""
        return int(QuarantinedChange.select().count())


def _plain(value: Any) -> Any:
    """A field of a change as JSON: timestamps as ISO 8601 text, enums as their value."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, StrEnum):
        return str(value)
    return value
