"""The SQL of the batch write, the conversion of its values, and the buffer of its inserts.

The hot path of `kickwatch.store.batch` runs on these instead of peewee's query builder, which
costs more than the database itself for a single-row statement. A batch reads what it needs in
a few set-wise queries when it begins (`kickwatch.store.known`), buffers its inserts into one
`executemany` (`EventRows`), and writes the streamers it changed with one more. Values are
converted as the models' own fields convert them, so the stored text is the same either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

import peewee

from kickwatch.domain.records import StatusEventRecord
from kickwatch.domain.text import storable_json, storable_text
from kickwatch.store.models import StatusEvent, Streamer, UtcDateTimeField

INSERT_COLUMNS = (
    "streamer",
    "event_type",
    "previous_status",
    "new_status",
    "kick_event_id",
    "event_timestamp",
    "received_timestamp",
    "processed_timestamp",
    "event_data",
    "livestream_id",
    "broadcast_started_at",
    "synthetic",
)
INSERT_FIELDS = {name: StatusEvent._meta.fields[name] for name in INSERT_COLUMNS}
# The streamer's state that a batch changes; nothing a person edits (names, preferences).
UPDATE_COLUMNS = (
    "status",
    "last_seen_online",
    "last_status_update",
    "current_broadcast_started_at",
    "current_livestream_id",
    "current_title",
    "current_category",
    "current_viewers",
    "updated_at",
)
UPDATE_FIELDS = {name: Streamer._meta.fields[name] for name in UPDATE_COLUMNS}
# The columns of a streamer a batch loads: every field of its record.
STREAMER_COLUMNS = (
    "id",
    "kick_user_id",
    "username",
    "display_name",
    "status",
    "is_active",
    "created_at",
    "updated_at",
    "kick_channel_id",
    "slug",
    "profile_picture_url",
    "last_seen_online",
    "last_status_update",
    "current_broadcast_started_at",
    "current_livestream_id",
    "current_title",
    "current_category",
    "current_viewers",
    "notify_on_start",
    "notify_on_end",
    "is_favorite",
    "is_muted",
)
# What a batch needs of a stored event to recognise a broadcast it already holds.
EVENT_COLUMNS = (
    "id",
    "streamer_id",
    "event_type",
    "synthetic",
    "livestream_id",
    "broadcast_started_at",
    "event_timestamp",
)
_LEGACY_TIMESTAMP = UtcDateTimeField()
# peewee's translation of driver errors into its own (IntegrityError, OperationalError, ...),
# for the statements run on a bare cursor.
DRIVER_ERRORS: Any = peewee.__exception_wrapper__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Statements:
    """The batch's SQL for one engine; `{ids}`-style sets are passed as one parameter."""

    dialect: str
    insert_event: str
    update_streamer: str
    same_broadcast: str
    delete_event: str
    streamers: str  # the batch's streamers by id, locked on PostgreSQL
    known_keys: str  # which of a set of kick_event_ids are stored
    candidates: str  # events that may name a broadcast the batch will look for

    def id_set(self, values: list[Any]) -> Any:
        """A set of values as one parameter: a JSON array for SQLite, a list for psycopg."""
        return json.dumps(values) if self.dialect == "sqlite" else values


def statements_for(dialect: str) -> Statements:
    """The statements of one engine, prepared once per batch (the drivers cache them)."""
    sqlite = dialect == "sqlite"
    mark = "?" if sqlite else "%s"
    columns = ", ".join(INSERT_FIELDS[name].column_name for name in INSERT_COLUMNS)
    marks = ", ".join(mark for _ in INSERT_COLUMNS)
    insert = f"INSERT INTO status_event ({columns}) VALUES ({marks})"
    if not sqlite:
        insert += " RETURNING id"
    sets = ", ".join(f"{UPDATE_FIELDS[name].column_name} = {mark}" for name in UPDATE_COLUMNS)
    event_columns = ", ".join(f"e.{name}" for name in EVENT_COLUMNS)
    same_broadcast = (
        "SELECT id, synthetic, livestream_id, broadcast_started_at, event_timestamp"
        f" FROM status_event WHERE streamer_id = {mark} AND event_type = {mark}"
        f" AND (livestream_id = {mark} OR broadcast_started_at BETWEEN {mark} AND {mark})"
        # The timeline's order, on both engines (PostgreSQL would return rows as they lie).
        " ORDER BY event_timestamp, id"
    )
    if sqlite:
        in_set = "IN (SELECT value FROM json_each(?))"
        # One row per streamer: [id, [livestream ids], lowest start, highest start].
        candidates = (
            f"SELECT {event_columns} FROM json_each(?) AS w"
            " JOIN status_event AS e ON e.streamer_id = json_extract(w.value, '$[0]')"
            " WHERE e.livestream_id IN (SELECT value FROM json_each(w.value, '$[1]'))"
            " OR e.broadcast_started_at BETWEEN json_extract(w.value, '$[2]')"
            " AND json_extract(w.value, '$[3]')"
        )
    else:
        in_set = "= ANY(%s)"
        candidates = (
            f"SELECT {event_columns} FROM jsonb_array_elements(%s::jsonb) AS w(v)"
            " JOIN status_event AS e ON e.streamer_id = (w.v->>0)::bigint"
            " WHERE e.livestream_id IN (SELECT jsonb_array_elements_text(w.v->1))"
            " OR e.broadcast_started_at BETWEEN (w.v->>2)::timestamp AND (w.v->>3)::timestamp"
        )
    lock = "" if sqlite else " FOR UPDATE"
    return Statements(
        dialect=dialect,
        insert_event=insert,
        update_streamer=f"UPDATE streamer SET {sets} WHERE id = {mark}",
        same_broadcast=same_broadcast,
        delete_event=f"DELETE FROM status_event WHERE id = {mark}",
        # Locked in id order, so that two writers of the same streamers cannot deadlock.
        streamers=f"SELECT {', '.join(STREAMER_COLUMNS)} FROM streamer WHERE id {in_set}"
        f" ORDER BY id{lock}",
        known_keys=f"SELECT kick_event_id FROM status_event WHERE kick_event_id {in_set}",
        candidates=candidates,
    )


# -- values -------------------------------------------------------------------------------


def read_timestamp(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (as `UtcDateTimeField` reads it)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return _LEGACY_TIMESTAMP.python_value(value)  # type: ignore[no-any-return]
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def timestamp_writer(dialect: str) -> Callable[[datetime | None], Any]:
    """`UtcDateTimeField.db_value` for one engine: naive UTC, as text on SQLite."""
    if dialect == "sqlite":

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is UTC:
                # `...+00:00` cut off: the same text as the naive value's, without a copy.
                return value.isoformat(" ", "microseconds")[:26]
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return value.isoformat(" ", "microseconds")

        return to_text

    def to_naive(value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    return to_naive


_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def json_text(value: Any) -> str:
    """`JsonField.db_value`: strict JSON of what every database accepts, the same text.

    A flat object of text, integers, booleans and nulls whose text is storable already (what
    the monitor records) is written out directly, as `json.dumps` writes it; anything else goes
    through `storable_json` and the encoder.
    """
    if type(value) is dict:
        texts: list[str] = []
        parts: list[str] = []
        for key, item in value.items():
            if type(key) is not str:
                break
            kind = type(item)
            if kind is str:
                texts.append(item)
                encoded = _quote(item)
            elif kind is int:
                encoded = int.__repr__(item)
            elif kind is bool:
                encoded = "true" if item else "false"
            elif item is None:
                encoded = "null"
            else:
                break
            texts.append(key)
            parts.append(f"{_quote(key)}:{encoded}")
        else:
            joined = "\n".join(texts)
            if storable_text(joined) is joined:
                return "{" + ",".join(parts) + "}"
    return _JSON.encode(storable_json(value))


# -- inserts ------------------------------------------------------------------------------


class StoredEvent:
    """What a batch knows of one event row: enough to recognise its broadcast and order it."""

    __slots__ = (
        "event_timestamp",
        "event_type",
        "id",
        "livestream_id",
        "started_at",
        "synthetic",
    )

    def __init__(
        self,
        id: int | None,
        event_type: str,
        synthetic: bool,
        livestream_id: str | None,
        started_at: datetime | None,
        event_timestamp: datetime,
    ) -> None:
        self.id = id  # None until the buffered insert is written
        self.event_type = event_type
        self.synthetic = synthetic
        self.livestream_id = livestream_id
        self.started_at = started_at
        self.event_timestamp = event_timestamp


class Inserted:
    """A row this batch wrote (or will write when its buffer is flushed) and its values."""

    __slots__ = ("fields", "stored")

    def __init__(self, stored: StoredEvent, fields: tuple[Any, ...]) -> None:
        self.stored = stored
        self.fields = fields  # `StatusEventRecord`'s fields after the id

    @property
    def id(self) -> int:
        assert self.stored.id is not None, "read before the insert buffer was flushed"
        return self.stored.id

    def record(self) -> StatusEventRecord:
        """The committed row as a record, without reading it back."""
        return StatusEventRecord(self.id, *self.fields)


class EventRows:
    """Inserts of one batch, buffered and written with one `executemany`.

    Ids are handed out in the order the rows were added, as one insert after the other would:
    the timeline breaks ties by id. Anything that reads `status_event` must `flush` first.
    """

    def __init__(self, handle: peewee.Database, sql: Statements) -> None:
        self._handle = handle
        self._sql = sql
        self._params: list[tuple[Any, ...]] = []
        self._rows: list[StoredEvent] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, params: tuple[Any, ...], stored: StoredEvent) -> None:
        """Queue one insert; `stored.id` is set when it is written."""
        self._params.append(params)
        self._rows.append(stored)

    def flush(self) -> None:
        """Write every queued row."""
        if not self._rows:
            return
        params, rows = self._params, self._rows
        self._params, self._rows = [], []
        ids: Sequence[int]
        with DRIVER_ERRORS:
            cursor = self._handle.cursor()
            if self._sql.dialect == "sqlite":
                cursor.executemany(self._sql.insert_event, params)
                # The write lock is held and ids are AUTOINCREMENT: the rows got the ids just
                # below the last one, in order.
                last = int(cursor.execute("SELECT last_insert_rowid()").fetchone()[0])
                ids = range(last - len(rows) + 1, last + 1)
            else:
                cursor.executemany(self._sql.insert_event, params, returning=True)
                returned = [int(cursor.fetchone()[0])]
                while cursor.nextset():
                    returned.append(int(cursor.fetchone()[0]))
                ids = returned
        for stored, new_id in zip(rows, ids, strict=True):
            stored.id = new_id
