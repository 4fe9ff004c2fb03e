"""Alert targets and the outbox, in the database: what is stored, and the queries on it.

A target's URL is stored only as a Fernet token (the master key of `kickwatch.store.secrets`)
beside its masked form, so listing targets, `kickwatch doctor` and the Targets tab never need
the key. The outbox (`alert_delivery`) has one row per (target, change), the change being the
`status_event` a start or end alert announces or the `stream_change` a change alert announces
(the message's kind says which): `enqueue` inserts what is missing and returns only the rows it
made, so one change is queued for one target once however often it is decided; a row is
`pending` until it is `sent`, or `failed` when the dispatcher gave up on it. Every function here
blocks: the monitor runs them on its writer thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from kickwatch.alerts.message import AlertKind, AlertMessage
from kickwatch.alerts.urls import default_name, mask_target_url, validate_name
from kickwatch.domain.clock import Clock
from kickwatch.domain.errors import AlreadyExistsError, NotFoundError, ValidationError
from kickwatch.domain.validation import normalize_username
from kickwatch.store.database import Database
from kickwatch.store.models import AlertDelivery, AlertTarget, StatusEvent, StreamChangeRow
from kickwatch.store.secrets import SecretBox

PENDING, SENT, FAILED = "pending", "sent", "failed"
# What a new target is sent unless told otherwise: every alert the policy decides. A change alert
# is made only for streamers whose rule asks for one, as an offline alert only for streamers with
# offline alerts on, so a target that follows them all follows those choices.
DEFAULT_EVENTS = (AlertKind.START, AlertKind.END, AlertKind.CHANGE)


@dataclass(frozen=True, slots=True)
class TargetRecord:
    """A stored target, without its URL (only the masked form)."""

    id: int
    name: str
    url_masked: str
    streamers: tuple[str, ...] = ()  # empty: every streamer
    events: tuple[AlertKind, ...] = DEFAULT_EVENTS

    def matches(self, message: AlertMessage) -> bool:
        """Whether this target wants `message` (its event kind and its streamer)."""
        if message.kind not in self.events:
            return False
        return not self.streamers or message.streamer in self.streamers

    def describe(self) -> str:
        """The filters in words: which streamers, which events."""
        who = ", ".join(self.streamers) if self.streamers else "every streamer"
        return f"{who}; {','.join(str(kind) for kind in self.events)}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: a message for one target, announcing a status_event or a stream_change."""

    id: int
    target_id: int
    change_id: int  # of the status_event (start, end) or the stream_change (change) announced
    state: str
    attempts: int
    message: AlertMessage
    created_at: datetime
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """How far one target's alerts are: counts by state and the latest error."""

    pending: int = 0
    sent: int = 0
    failed: int = 0
    last_error: str | None = None


def parse_events(text: str | Iterable[str]) -> tuple[AlertKind, ...]:
    """`start`, `end`, `change` or several of them (comma-separated), as alert kinds in that
    order."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    wanted = {part.strip().lower() for part in parts if part.strip()}
    unknown = sorted(wanted - {kind.value for kind in AlertKind})
    if unknown or not wanted:
        raise ValidationError(
            "events",
            f"{', '.join(unknown) or 'nothing'} given; use start, end and change, one or more "
            "of them comma-separated (start,end,change)",
        )
    return tuple(kind for kind in AlertKind if kind.value in wanted)


def parse_streamers(text: str | Iterable[str]) -> tuple[str, ...]:
    """Usernames (comma-separated), normalised, each once, in the order given."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    names = [normalize_username(part) for part in parts if part.strip()]
    return tuple(dict.fromkeys(names))


def _record(row: AlertTarget) -> TargetRecord:
    flags = (
        (AlertKind.START, row.on_start),
        (AlertKind.END, row.on_end),
        (AlertKind.CHANGE, row.on_change),
    )
    events = tuple(kind for kind, on in flags if on)
    streamers = tuple(name for name in str(row.streamers).split(",") if name)
    return TargetRecord(int(row.id), str(row.name), str(row.url_masked), streamers, events)


def _delivery(row: AlertDelivery) -> Delivery:
    change_id = row.stream_change_id if row.stream_change_id is not None else row.status_event_id
    assert change_id is not None  # chk_alert_delivery_one_change: exactly one is set
    return Delivery(
        id=int(row.id),
        target_id=int(row.target_id),  # type: ignore[attr-defined]
        change_id=int(change_id),
        state=str(row.state),
        attempts=int(row.attempts),
        message=AlertMessage.from_json(row.message),
        created_at=row.created_at,
        last_error=row.last_error,
    )


class TargetStore:
    """Adds, lists and removes targets; decrypts a URL only to send or test."""

    def __init__(self, database: Database, secrets: SecretBox, clock: Clock) -> None:
        self.database = database
        self.secrets = secrets
        self.clock = clock

    def add(
        self,
        url: str,
        *,
        name: str | None = None,
        streamers: Sequence[str] = (),
        events: Sequence[AlertKind] = DEFAULT_EVENTS,
    ) -> TargetRecord:
        """Store a new target once Apprise accepts its URL; AlreadyExistsError for a taken name."""
        from kickwatch.alerts.apprise_io import check_url  # Apprise only when a URL is checked

        self.database.require_writable()
        text = check_url(url)
        chosen = validate_name(name) if name is not None else None
        kinds = parse_events([str(kind) for kind in events])
        users = parse_streamers(streamers)
        token = self.secrets.encrypt(text)  # may ask the keyring: before the transaction
        now = self.clock.now()
        with self.database.handle.atomic():
            taken = {str(row.name) for row in AlertTarget.select(AlertTarget.name)}
            if chosen is None:
                chosen = default_name(text, taken)
            elif chosen.lower() in {t.lower() for t in taken}:
                raise AlreadyExistsError(f"a target named {chosen!r} exists already")
            row = AlertTarget.create(
                name=chosen,
                url_token=token,
                url_masked=mask_target_url(text),
                streamers=",".join(users),
                on_start=AlertKind.START in kinds,
                on_end=AlertKind.END in kinds,
                on_change=AlertKind.CHANGE in kinds,
                created_at=now,
                updated_at=now,
            )
        return _record(row)

    def all(self) -> list[TargetRecord]:
        """Every target, by name."""
        query = AlertTarget.select().order_by(peewee.fn.lower(AlertTarget.name))
        return [_record(row) for row in query]

    def get(self, name: str) -> TargetRecord:
        """The target called `name` (case-insensitive); NotFoundError otherwise."""
        return _record(self._row(name))

    def _row(self, name: str) -> AlertTarget:
        wanted = name.strip().lower()
        row = AlertTarget.get_or_none(peewee.fn.lower(AlertTarget.name) == wanted)
        if row is None:
            known = ", ".join(t.name for t in self.all()) or "none yet (kickwatch target add URL)"
            raise NotFoundError(f"no target named {name.strip()[:64]!r}; targets: {known}")
        return row

    def url(self, name: str) -> str:
        """The target's URL in clear, to send with (needs the master key)."""
        row = self._row(name)
        return self.secrets.decrypt(str(row.url_token), f"the URL of target {row.name!r}")

    def remove(self, name: str) -> TargetRecord:
        """Delete a target and its outbox rows; returns what was removed."""
        self.database.require_writable()
        with self.database.handle.atomic():
            row = self._row(name)
            record = _record(row)
            row.delete_instance()  # ON DELETE CASCADE removes its deliveries
        return record

    def with_urls(self) -> list[tuple[TargetRecord, str]]:
        """Every target with its URL in clear, for the dispatcher."""
        return [
            (_record(row), self.secrets.decrypt(str(row.url_token), f"target {row.name!r}"))
            for row in AlertTarget.select().order_by(AlertTarget.id)
        ]


class Outbox:
    """The `alert_delivery` rows: queue, mark, count and prune."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def enqueue(self, entries: Sequence[tuple[int, int, AlertMessage]]) -> list[Delivery]:
        """Queue (target id, change id, message) entries; returns the rows made now (an entry
        whose row exists already, in whatever state, is left alone). The change id is of the
        `stream_change` row for a change alert, of the `status_event` row otherwise; a change
        alert that announces several `stream_change` rows is queued once for all of them."""
        if not entries:
            return []
        now = self.clock.now()
        made: list[Delivery] = []
        with self.database.handle.atomic():
            known = {int(row.id) for row in AlertTarget.select(AlertTarget.id)}
            for target_id, change_id, message in entries:
                if target_id not in known:
                    continue  # removed meanwhile
                if message.kind is AlertKind.CHANGE:
                    column = AlertDelivery.stream_change_id
                    ids = {change_id, *message.change_ids}
                else:
                    column = AlertDelivery.status_event_id
                    ids = {change_id}
                exists = (
                    AlertDelivery.select(AlertDelivery.id)
                    .where((AlertDelivery.target == target_id) & column.in_(sorted(ids)))
                    .exists()
                )
                if exists:
                    continue
                row = AlertDelivery.create(
                    target=target_id,
                    **{column.name: change_id},
                    state=PENDING,
                    attempts=0,
                    message=message.as_json(),
                    created_at=now,
                    updated_at=now,
                )
                made.append(_delivery(row))
        return made

    def pending(self, target_id: int, limit: int) -> list[Delivery]:
        """The oldest `limit` pending rows of one target, oldest first."""
        query = (
            AlertDelivery.select()
            .where((AlertDelivery.target == target_id) & (AlertDelivery.state == PENDING))
            .order_by(AlertDelivery.id)
            .limit(limit)
        )
        return [_delivery(row) for row in query]

    def claim(self, delivery_id: int, owner: str, until: datetime) -> bool:
        """Take a pending row to send it, unless another process holds it; False when the row
        is no longer pending or is held."""
        now = self.clock.now()
        free = (
            AlertDelivery.claimed_until.is_null()
            | (AlertDelivery.claimed_until < now)
            | (AlertDelivery.claimed_by == owner)
        )
        taken = (
            AlertDelivery.update(claimed_by=owner, claimed_until=until)
            .where((AlertDelivery.id == delivery_id) & (AlertDelivery.state == PENDING) & free)
            .execute()
        )
        return int(taken) == 1

    def mark_sent(self, delivery_id: int) -> None:
        """The target accepted the message."""
        now = self.clock.now()
        AlertDelivery.update(
            state=SENT,
            attempts=AlertDelivery.attempts + 1,
            sent_at=now,
            updated_at=now,
            last_error=None,
            claimed_by=None,
            claimed_until=None,
        ).where((AlertDelivery.id == delivery_id) & (AlertDelivery.state == PENDING)).execute()

    def mark_failed_attempt(self, delivery_id: int, error: str, give_up: bool) -> None:
        """One more attempt failed; with `give_up` the row is `failed` and never tried again."""
        AlertDelivery.update(
            state=FAILED if give_up else PENDING,
            attempts=AlertDelivery.attempts + 1,
            last_error=error[:500],
            updated_at=self.clock.now(),
            claimed_by=None,
            claimed_until=None,
        ).where((AlertDelivery.id == delivery_id) & (AlertDelivery.state == PENDING)).execute()

    def summary(self) -> dict[int, OutboxSummary]:
        """Counts by state and the latest error, per target id."""
        counts: dict[int, dict[str, int]] = {}
        query = AlertDelivery.select(
            AlertDelivery.target, AlertDelivery.state, peewee.fn.COUNT(AlertDelivery.id)
        ).group_by(AlertDelivery.target, AlertDelivery.state)
        rows: list[tuple[int, str, int]] = list(query.tuples())  # type: ignore[arg-type]
        for target_id, state, count in rows:
            counts.setdefault(int(target_id), {})[str(state)] = int(count)
        errors: dict[int, str] = {}
        failing = (
            AlertDelivery.select(AlertDelivery.target, AlertDelivery.last_error)
            .where(AlertDelivery.last_error.is_null(False) & (AlertDelivery.state != SENT))
            .order_by(AlertDelivery.updated_at)
        )
        latest: list[tuple[int, str]] = list(failing.tuples())  # type: ignore[arg-type]
        for target_id, error in latest:
            errors[int(target_id)] = str(error)
        return {
            target_id: OutboxSummary(
                pending=by_state.get(PENDING, 0),
                sent=by_state.get(SENT, 0),
                failed=by_state.get(FAILED, 0),
                last_error=errors.get(target_id),
            )
            for target_id, by_state in counts.items()
        }

    def prune(self, keep_days: int) -> int:
        """Drop rows whose change is no longer in the history (a status_event or stream_change
        pruned or rebuilt away), and finished rows older than `keep_days`; returns how many."""
        self.database.require_writable()
        cutoff = self.clock.now() - timedelta(days=keep_days)
        with self.database.handle.atomic():
            gone_event = AlertDelivery.status_event_id.is_null(False) & ~peewee.fn.EXISTS(
                StatusEvent.select(StatusEvent.id).where(
                    StatusEvent.id == AlertDelivery.status_event_id
                )
            )
            gone_change = AlertDelivery.stream_change_id.is_null(False) & ~peewee.fn.EXISTS(
                StreamChangeRow.select(StreamChangeRow.id).where(
                    StreamChangeRow.id == AlertDelivery.stream_change_id
                )
            )
            removed = int(AlertDelivery.delete().where(gone_event | gone_change).execute())
            old = AlertDelivery.delete().where(
                (AlertDelivery.state != PENDING) & (AlertDelivery.updated_at < cutoff)
            )
            removed += int(old.execute())
        return removed
