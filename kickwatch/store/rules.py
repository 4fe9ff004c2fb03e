"""Reads and writes of per-streamer rules and of the changes of live titles and categories.

`RuleStore.set_rule` validates what it stores (the database checks it again); a rule that asks
for nothing is removed rather than kept empty. `record_details` is the one place where a change
of a live stream's title or category is decided and recorded: in one transaction it compares
what a push or poll saw with the last value known for the streamer's current broadcast (the
newest recorded change of it, else the streamer's stored title and category) and writes a
`stream_change` row only for a value that provably differs, so a duplicate frame, a repeated
poll or a restart records nothing twice. Writes run on the monitor's writer thread (or in the
command line's own process); `RuleWatcher` tells the monitor that another process edited rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import peewee

from kickwatch.domain.clock import Clock, utc
from kickwatch.domain.errors import NotFoundError, ValidationError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import (
    LIMITS,
    ChangeKind,
    DetailsSeen,
    StreamChange,
    StreamerRule,
    changed_details,
    normalize_categories,
    normalize_keywords,
    validate_sound_path_text,
)
from kickwatch.domain.status import EventSource, Status
from kickwatch.domain.text import storable_text
from kickwatch.domain.validation import normalize_username
from kickwatch.store.convert import to_streamer_record
from kickwatch.store.database import Database
from kickwatch.store.models import StreamChangeRow, Streamer, StreamerRuleRow
from kickwatch.store.timeline import Broadcast

_SOURCES = frozenset(source.value for source in EventSource)
_FINGERPRINT = (
    "SELECT COUNT(*), COALESCE(SUM(streamer_id), 0), MAX(updated_at),"
    " COALESCE(SUM(CASE WHEN title_changes THEN 1 ELSE 0 END"
    " + CASE WHEN open_on_live THEN 2 ELSE 0 END), 0) FROM streamer_rule"
)


def to_rule(row: StreamerRuleRow) -> StreamerRule:
    """An immutable snapshot of a rule row."""
    return StreamerRule(
        streamer_id=int(row.__data__["streamer"]),
        keywords=tuple(str(k) for k in row.keywords or ()),
        categories=tuple(str(c) for c in row.categories or ()),
        title_changes=bool(row.title_changes),
        sound_path=row.sound_path,
        open_on_live=bool(row.open_on_live),
    )


def to_change(row: StreamChangeRow, username: str) -> StreamChange:
    """An immutable snapshot of a stream_change row."""
    return StreamChange(
        id=row.id,
        streamer_id=int(row.__data__["streamer"]),
        streamer=username,
        kind=ChangeKind(row.change_type),
        previous=row.previous_value,
        value=row.new_value,
        source=row.source,
        changed_at=row.changed_at,
        recorded_at=row.recorded_at,
        livestream_id=row.livestream_id,
        broadcast_started_at=row.broadcast_started_at,
    )


class RuleStore:
    """Per-streamer rules and recorded stream changes (see the module docstring)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    # -- rules ------------------------------------------------------------------------------

    def get_rule(self, username: str) -> StreamerRule | None:
        """The rule of a streamer, or None. Raises NotFoundError for an unknown streamer."""
        streamer = self._streamer(username)
        row = StreamerRuleRow.get_or_none(StreamerRuleRow.streamer == streamer.id)
        return None if row is None else to_rule(row)

    def all_rules(self) -> dict[int, StreamerRule]:
        """Every stored rule, by streamer id."""
        return {rule.streamer_id: rule for rule in map(to_rule, StreamerRuleRow.select())}

    def rules_by_username(self) -> list[tuple[str, StreamerRule]]:
        """Every stored rule with its streamer's username, by username."""
        query = (
            StreamerRuleRow.select(StreamerRuleRow, Streamer)
            .join(Streamer)
            .order_by(Streamer.username)
        )
        return [(row.streamer.username, to_rule(row)) for row in query]

    def set_rule(
        self,
        username: str,
        *,
        keywords: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        title_changes: bool | None = None,
        sound_path: str | None = None,
        open_on_live: bool | None = None,
    ) -> StreamerRule:
        """Change a streamer's rule; None leaves a field as it is, an empty list or sound path
        clears it. A rule that asks for nothing is deleted. Returns the rule now in force.

        The sound path's text is checked here; whether the file is a sound is the caller's
        check (`kickwatch.platform.sounds.check_sound_file`), made where the file is."""
        new_keywords = None if keywords is None else normalize_keywords(keywords)
        new_categories = None if categories is None else normalize_categories(categories)
        new_sound = None if sound_path is None else validate_sound_path_text(sound_path) or ""
        streamer = self._streamer(username)
        with self.database.handle.atomic():
            row = StreamerRuleRow.get_or_none(StreamerRuleRow.streamer == streamer.id)
            current = StreamerRule(streamer.id) if row is None else to_rule(row)
            rule = StreamerRule(
                streamer_id=streamer.id,
                keywords=current.keywords if new_keywords is None else new_keywords,
                categories=current.categories if new_categories is None else new_categories,
                title_changes=(
                    current.title_changes if title_changes is None else bool(title_changes)
                ),
                sound_path=current.sound_path if new_sound is None else (new_sound or None),
                open_on_live=current.open_on_live if open_on_live is None else bool(open_on_live),
            )
            if rule == StreamerRule(streamer.id):
                StreamerRuleRow.delete().where(StreamerRuleRow.streamer == streamer.id).execute()
                return rule
            values = {
                "keywords": list(rule.keywords),
                "categories": list(rule.categories),
                "title_changes": rule.title_changes,
                "sound_path": rule.sound_path,
                "open_on_live": rule.open_on_live,
                "updated_at": self.clock.now(),
            }
            if row is None:
                StreamerRuleRow.insert(streamer=streamer.id, **values).execute()
            else:
                StreamerRuleRow.update(**values).where(
                    StreamerRuleRow.streamer == streamer.id
                ).execute()
        return rule

    def clear_rule(self, username: str) -> bool:
        """Delete a streamer's rule; False when it had none."""
        streamer = self._streamer(username)
        with self.database.handle.atomic():
            deleted = (
                StreamerRuleRow.delete().where(StreamerRuleRow.streamer == streamer.id).execute()
            )
        return bool(deleted)

    def _streamer(self, username: str) -> Streamer:
        name = normalize_username(username)
        row = Streamer.get_or_none(Streamer.username == name)
        if row is None:
            raise NotFoundError(f"no streamer named {name} is monitored")
        return row

    # -- changes of live streams ------------------------------------------------------------

    def record_details(
        self, seen: Sequence[DetailsSeen]
    ) -> list[tuple[StreamerRecord, tuple[StreamChange, ...]]]:
        """Record what changed in each live stream seen; returns each streamer that changed,
        as stored after the change, with its new rows (see the module docstring)."""
        out: list[tuple[StreamerRecord, tuple[StreamChange, ...]]] = []
        if not seen:
            return out
        now = self.clock.now()
        with self.database.handle.atomic():
            for item in seen:
                if item.source not in _SOURCES:
                    raise ValidationError("source", f"{item.source!r} is not a known source")
                row = Streamer.get_or_none(Streamer.id == item.streamer_id)
                if row is None or row.status != Status.ONLINE:
                    continue  # not live (any more): a start or end is on its way
                current = Broadcast(row.current_livestream_id, row.current_broadcast_started_at)
                if Broadcast(item.livestream_id, item.started_at).differs_from(current):
                    continue  # another broadcast: its start is news, not a change
                title = self._known(row, ChangeKind.TITLE, current, row.current_title)
                category = self._known(row, ChangeKind.CATEGORY, current, row.current_category)
                at = min(utc(item.seen_at), now)
                changes = tuple(
                    self._insert(row, kind, before, after, item, current, at, now)
                    for kind, before, after in changed_details(
                        title,
                        category,
                        _fit(item.title, ChangeKind.TITLE),
                        _fit(item.category, ChangeKind.CATEGORY),
                    )
                )
                learnt = {
                    "current_title": _fit(item.title, ChangeKind.TITLE),
                    "current_category": _fit(item.category, ChangeKind.CATEGORY),
                }
                update = {
                    name: value
                    for name, value in learnt.items()
                    if value is not None and value != getattr(row, name)
                }
                if update:
                    for name, value in update.items():
                        setattr(row, name, value)
                    row.updated_at = max(now, row.created_at)
                    row.save(only=[getattr(Streamer, name) for name in (*update, "updated_at")])
                if changes:
                    out.append((to_streamer_record(row), changes))
        return out

    def _known(
        self, row: Streamer, kind: ChangeKind, current: Broadcast, stored: str | None
    ) -> str | None:
        """The last value of `kind` known for the current broadcast."""
        newest = (
            StreamChangeRow.select()
            .where(
                (StreamChangeRow.streamer == row.id) & (StreamChangeRow.change_type == kind.value)
            )
            .order_by(StreamChangeRow.id.desc())
            .first()
        )
        if newest is not None:
            broadcast = Broadcast(newest.livestream_id, newest.broadcast_started_at)
            if not broadcast.differs_from(current):
                return str(newest.new_value)
        return stored

    def _insert(
        self,
        row: Streamer,
        kind: ChangeKind,
        before: str,
        after: str,
        item: DetailsSeen,
        current: Broadcast,
        at: datetime,
        now: datetime,
    ) -> StreamChange:
        broadcast = current.merged(Broadcast(item.livestream_id, item.started_at))
        created = StreamChangeRow.create(
            streamer=row.id,
            change_type=kind.value,
            previous_value=before,
            new_value=after,
            source=item.source,
            livestream_id=broadcast.livestream_id,
            broadcast_started_at=broadcast.started_at,
            changed_at=at,
            recorded_at=now,
        )
        return to_change(created, row.username)

    def changes(
        self,
        *,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: ChangeKind | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[StreamChange]:
        """Recorded changes filtered by streamer, time range and kind."""
        query = self._changes_query(username, since, until, kind)
        order = (
            (StreamChangeRow.changed_at.desc(), StreamChangeRow.id.desc())
            if newest_first
            else (StreamChangeRow.changed_at.asc(), StreamChangeRow.id.asc())
        )
        query = query.order_by(*order).offset(offset)
        if limit is not None:
            if limit < 0:
                raise ValidationError("limit", "must not be negative")
            query = query.limit(limit)
        return [to_change(row, row.streamer.username) for row in query]

    def count_changes(
        self,
        *,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: ChangeKind | None = None,
    ) -> int:
        """How many changes match the filters of `changes`."""
        return int(self._changes_query(username, since, until, kind).count())

    def _changes_query(
        self,
        username: str | None,
        since: datetime | None,
        until: datetime | None,
        kind: ChangeKind | None,
    ) -> peewee.ModelSelect[StreamChangeRow]:
        query = StreamChangeRow.select(StreamChangeRow, Streamer).join(Streamer)
        if username is not None:
            query = query.where(StreamChangeRow.streamer == self._streamer(username).id)
        if since is not None:
            query = query.where(StreamChangeRow.changed_at >= since)
        if until is not None:
            query = query.where(StreamChangeRow.changed_at <= until)
        if kind is not None:
            query = query.where(StreamChangeRow.change_type == ChangeKind(kind).value)
        return query

    def delete_changes_older_than(self, days: int) -> int:
        """Retention: delete changes more than `days` days old."""
        if days <= 0:
            raise ValidationError("database.retention_days", "must be a positive integer")
        cutoff = self.clock.now() - timedelta(days=days)
        with self.database.handle.atomic():
            query = StreamChangeRow.delete().where(StreamChangeRow.changed_at < cutoff)
            return int(query.execute())


def _fit(value: str | None, kind: ChangeKind) -> str | None:
    """A seen value as it would be stored (storable, capped), or None when unknown."""
    if value is None or not value.strip():
        return None
    return storable_text(value, LIMITS[kind])


class RuleWatcher:
    """Tells whether the stored rules changed since the last call (run it in a worker thread)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._fingerprint: tuple[object, ...] | None = None

    def changed(self) -> bool:
        """True when the rule table differs from the previous call's view."""
        fingerprint = tuple(self._database.handle.execute_sql(_FINGERPRINT).fetchone())
        previous, self._fingerprint = self._fingerprint, fingerprint
        return previous is not None and previous != fingerprint
