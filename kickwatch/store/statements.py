"""The SQL of the batch write, the conversion of its values, and the buffer of its inserts.

The hot path of `kickwatch.store.batch` runs on these instead of peewee's query builder, which
costs more than the database itself for a single-row statement. A batch reads what it needs in
a few set-wise queries when it begins (`kickwatch.store.known`), buffers its inserts
(`EventRows`) and writes them together, and saves the streamers it changed together too: on
SQLite by statements of up to `SQLITE_INSERT_ROWS` rows each (one step, and one release of the
interpreter lock, per statement rather than per row; a large batch's inserts by a thread of its
own, `EventRows`), on PostgreSQL by one pipelined `executemany` each. Values are converted as
the models' own fields convert them, so the stored text is the same either way.
"""

from __future__ import annotations

import functools
import itertools
import json
import json.encoder as json_encoder
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

import peewee

from kickwatch.domain.records import StatusEventRecord
from kickwatch.domain.text import storable_json
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
    known_key: str  # whether one kick_event_id is stored
    candidates: str  # events that may name a broadcast the batch will look for

    def id_set(self, values: list[Any]) -> Any:
        """A set of values as one parameter: a JSON array for SQLite, a list for psycopg."""
        return json.dumps(values) if self.dialect == "sqlite" else values


def holding_nul(values: Iterable[str], encoded: str) -> list[str]:
    """The `values` that SQLite would not find in `encoded`, the JSON text they were passed in:
    `json_each` (3.40) ends a string at an escaped NUL, so text holding one is looked for by
    itself. The JSON text is searched first, so a set without one costs a single scan."""
    if "\\u0000" not in encoded:
        return []
    return [value for value in values if "\x00" in value]


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
    # One streamer's stored events of one type that may hold a broadcast (`Broadcast.same_as`),
    # in the timeline's order (PostgreSQL would return rows as they lie): those with its
    # livestream id, those without an id that started near it, and, for a broadcast without
    # an id, any that started near it. Parameters: `same_broadcast_params`. Searches of
    # idx_status_event_streamer_broadcast but for the last select, as for `candidates`.
    one = (
        "SELECT id, synthetic, livestream_id, broadcast_started_at, event_timestamp"
        f" FROM status_event WHERE streamer_id = {mark} AND event_type = {mark}"
    )
    same_broadcast = (
        f"SELECT * FROM ({one} AND livestream_id = {mark}"
        f" UNION {one} AND livestream_id IS NULL AND broadcast_started_at BETWEEN {mark} AND {mark}"
        f" UNION {one} AND CAST({mark} AS TEXT) IS NULL"
        f" AND broadcast_started_at BETWEEN {mark} AND {mark})"
        # Ordered outside the union: ordered inside, SQLite would read each select in the
        # timeline's order (every event of the streamer) to merge them.
        " AS found ORDER BY event_timestamp, id"
    )
    # The stored events that may name a broadcast the batch looks for, per streamer: those
    # with one of its livestream ids, those without an id whose start lies in a range, and
    # (for a broadcast without an id) any whose start lies in a range (`known.Wanted.rows`).
    # Three selects joined by UNION, so that the first two are searches of
    # idx_status_event_streamer_broadcast and a streamer's whole history is read only for the
    # third, which a broadcast with an id never needs: as one query with OR, every event of
    # every streamer of the batch was read, and a batch cost more the longer the history.
    by_id = "e.livestream_id = ids.livestream" if sqlite else "e.livestream_id = ANY(w.livestreams)"
    in_range = (
        f" SELECT {event_columns} FROM w JOIN status_event AS e ON e.streamer_id = w.streamer"
        " AND e.livestream_id IS NULL AND e.broadcast_started_at BETWEEN w.bare_low AND w.bare_high"
        " WHERE w.bare_low IS NOT NULL"
        f" UNION SELECT {event_columns} FROM w JOIN status_event AS e"
        " ON e.streamer_id = w.streamer AND e.broadcast_started_at BETWEEN w.low AND w.high"
        " WHERE w.low IS NOT NULL"
    )
    if sqlite:
        # One JSON row per streamer: [id, [livestream ids], lowest and highest start of any
        # event, lowest and highest start of an event without an id]; read once (materialized).
        candidates = (
            "WITH w AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS streamer,"
            " json_extract(value, '$[2]') AS low, json_extract(value, '$[3]') AS high,"
            " json_extract(value, '$[4]') AS bare_low, json_extract(value, '$[5]') AS bare_high"
            " FROM json_each(?1)),"
            " ids AS MATERIALIZED (SELECT json_extract(w.value, '$[0]') AS streamer,"
            " i.value AS livestream FROM json_each(?1) AS w, json_each(w.value, '$[1]') AS i)"
            f" SELECT {event_columns} FROM ids JOIN status_event AS e"
            f" ON e.streamer_id = ids.streamer AND {by_id} UNION{in_range}"
        )
    else:
        candidates = (
            "WITH w AS (SELECT (v->>0)::bigint AS streamer,"
            " ARRAY(SELECT jsonb_array_elements_text(v->1)) AS livestreams,"
            " (v->>2)::timestamp AS low, (v->>3)::timestamp AS high,"
            " (v->>4)::timestamp AS bare_low, (v->>5)::timestamp AS bare_high"
            " FROM jsonb_array_elements(%s::jsonb) AS v)"
            f" SELECT {event_columns} FROM w JOIN status_event AS e"
            f" ON e.streamer_id = w.streamer AND {by_id} UNION{in_range}"
        )
    lock = "" if sqlite else " FOR UPDATE"
    # On PostgreSQL the sets are joined, not compared with: psycopg prepares a statement run
    # five times, PostgreSQL may then plan it once for any array, and such a plan can scan the
    # table comparing each row with every element (`= ANY($1)` is hashed only for an array the
    # plan knows): a 100,000-frame burst's key lookup took 11-18 s a batch that way.
    in_json = "IN (SELECT value FROM json_each(?))"
    ids_in = in_json if sqlite else "IN (SELECT unnest(%s::bigint[]))"
    keys_in = in_json if sqlite else "IN (SELECT unnest(%s::text[]))"
    return Statements(
        dialect=dialect,
        insert_event=insert,
        update_streamer=f"UPDATE streamer SET {sets} WHERE id = {mark}",
        same_broadcast=same_broadcast,
        delete_event=f"DELETE FROM status_event WHERE id = {mark}",
        # Locked in id order, so that two writers of the same streamers cannot deadlock.
        streamers=f"SELECT {', '.join(STREAMER_COLUMNS)} FROM streamer WHERE id {ids_in}"
        f" ORDER BY id{lock}",
        known_keys=f"SELECT kick_event_id FROM status_event WHERE kick_event_id {keys_in}",
        known_key=f"SELECT kick_event_id FROM status_event WHERE kick_event_id = {mark}",
        candidates=candidates,
    )


def same_broadcast_params(
    streamer_id: int, event_type: str, livestream_id: str | None, low: Any, high: Any
) -> list[Any]:
    """The parameters of `Statements.same_broadcast`: the broadcast's livestream id and the
    range its start may lie in (None, None when it has no start)."""
    key = [streamer_id, event_type]
    return [*key, livestream_id, *key, low, high, *key, livestream_id, low, high]


# -- values -------------------------------------------------------------------------------


def read_timestamp(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (as `UtcDateTimeField` reads it)."""
    if value is None:
        return None
    if type(value) is str and len(value) >= 19:  # YYYY-MM-DD HH:MM:SS[.ffffff]
        try:
            # SQLite's text is naive UTC: parsed as UTC at once (`replace` costs more).
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            pass
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return datetime.combine(value, value.timetz(), UTC)
        return value.astimezone(UTC)
    return _LEGACY_TIMESTAMP.python_value(value)  # type: ignore[no-any-return]


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
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return datetime.combine(value, value.time())  # `time()` carries no tzinfo

    return to_naive


def memoized(write: Callable[[datetime | None], Any]) -> Callable[[datetime | None], Any]:
    """`write` remembering what it wrote: one batch writes the same instants many times."""
    memo: dict[datetime, Any] = {}

    def remembered(value: datetime | None) -> Any:
        if value is None:
            return None
        found = memo.get(value)
        if found is None:
            found = memo[value] = write(value)
        return found

    return remembered


_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _unencodable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


# The standard library's C encoder with `JsonField`'s settings, made once (`json.dumps` makes
# one per call); None where the C accelerator is missing.
_MAKE_ENCODER: Any = getattr(json_encoder, "c_make_encoder", None)  # not in the type stubs
_C_ENCODER: Any = (
    None
    if _MAKE_ENCODER is None
    else _MAKE_ENCODER(None, _unencodable, _quote, None, ":", ",", False, False, False)
)
_NESTED = (dict, list, tuple)
# In ASCII JSON text, what `storable_json` would have changed: an escaped control character
# (\u0000-\u001f, \b, \f), DEL (\u007f) or a surrogate (\ud800-\udfff, lone or paired: both
# take the slow way). A literal backslash before b, f or u00 matches too: the slow way as well.
_MAYBE_UNSTORABLE = re.compile(r"\\u00[01]|\\u007[fF]|\\[bf]|\\u[dD][89a-fA-F]")


def json_text(value: Any) -> str:
    """`JsonField.db_value`: strict JSON of what every database accepts, the same text.

    A flat object with text keys is encoded by the C encoder at once and kept when its text
    shows nothing `storable_json` would change (what the monitor records); anything else goes
    through `storable_json` first.
    """
    if type(value) is dict and _C_ENCODER is not None:
        for key, item in value.items():
            if type(key) is not str or isinstance(item, _NESTED):
                break
        else:
            try:
                text = "".join(_C_ENCODER(value, 0))
            except (TypeError, ValueError):  # not JSON, or NaN/Infinity
                pass
            else:
                if _MAYBE_UNSTORABLE.search(text) is None:
                    return text
    return _JSON.encode(storable_json(value))


# -- inserts ------------------------------------------------------------------------------


class StoredEvent:
    """What a batch knows of one event row: enough to recognise its broadcast."""

    __slots__ = ("event_type", "id", "livestream_id", "started_at", "synthetic")

    def __init__(
        self,
        id: int | None,
        event_type: str,
        synthetic: bool,
        livestream_id: str | None,
        started_at: datetime | None,
    ) -> None:
        self.id = id  # None until the buffered insert is written
        self.event_type = event_type
        self.synthetic = synthetic
        self.livestream_id = livestream_id
        self.started_at = started_at


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


# Rows per INSERT on SQLite: one statement of many rows is bound at once and steps once (one
# release of the interpreter lock, not one per row); 500 rows of 12 values stay far below
# SQLite's limit of 32,766 parameters.
SQLITE_INSERT_ROWS = 500
# Rows per INSERT that a batch hands to its `_ChunkWriter`: as many as stay below SQLite's
# default limit of 32,766 parameters, since each hand-over costs both threads a wait for the
# interpreter lock.
SQLITE_HANDED_ROWS = 2_500


@functools.lru_cache(maxsize=8)
def _insert_rows(statement: str, rows: int) -> str:
    """`statement` (an INSERT of one row) inserting `rows` rows."""
    head, values = statement.split(" VALUES ")
    return f"{head} VALUES {', '.join([values] * rows)}"


class EventRows:
    """Inserts of one batch, buffered and written together: on SQLite by INSERTs of up to
    `SQLITE_INSERT_ROWS` rows each, on PostgreSQL by one pipelined `executemany`.

    On SQLite, every `SQLITE_HANDED_ROWS` rows are handed as one INSERT to a thread of the
    batch's own (`_ChunkWriter`), on the batch's connection and in its transaction, as soon as
    they are buffered: SQLite steps it without the interpreter lock while the batch works out
    the next rows, so a large batch keeps two cores busy. A batch of fewer rows (every change
    that finds the writer idle) never starts the thread.

    Ids are handed out in the order the rows were added, as one insert after the other would:
    the timeline breaks ties by id. Anything that reads `status_event` must `flush` first; the
    batch runs no statement of its own while the thread may be running one. Whoever made the
    buffer `close`s it when the transaction ends, written or not.
    """

    def __init__(self, handle: peewee.Database, sql: Statements) -> None:
        self._handle = handle
        self._sql = sql
        self._sqlite = sql.dialect == "sqlite"
        self._params: list[tuple[Any, ...]] = []
        self._rows: list[StoredEvent] = []
        self._handed: _ChunkWriter | None = None

    def add(self, params: tuple[Any, ...], stored: StoredEvent) -> None:
        """Queue one insert; `stored.id` is set when it is written."""
        self._params.append(params)
        self._rows.append(stored)
        if self._sqlite and len(self._rows) >= SQLITE_HANDED_ROWS:
            if self._handed is None:
                self._handed = _ChunkWriter(self._handle.connection(), self._sql.insert_event)
            self._handed.put(self._params, self._rows)
            self._params, self._rows = [], []

    def flush(self) -> None:
        """Write every queued row: when it returns, every row added has its id."""
        params, rows = self._params, self._rows
        self._params, self._rows = [], []
        with DRIVER_ERRORS:
            if self._handed is not None:
                handed, self._handed = self._handed, None
                error = handed.finish()
                if error is not None:
                    raise error
            if not rows:
                return
            cursor = self._handle.cursor()
            if self._sqlite:
                _insert_sqlite(cursor, self._sql.insert_event, params, rows, SQLITE_INSERT_ROWS)
            else:
                cursor.executemany(self._sql.insert_event, params, returning=True)
                returned = [int(cursor.fetchone()[0])]
                while cursor.nextset():
                    returned.append(int(cursor.fetchone()[0]))
                for stored, new_id in zip(rows, returned, strict=True):
                    stored.id = new_id

    def close(self) -> None:
        """Drop what is queued and let an INSERT still running end: the transaction is
        ending (committed after a `flush`, or rolled back)."""
        self._params, self._rows = [], []
        if self._handed is not None:
            handed, self._handed = self._handed, None
            handed.finish(discard=True)


def _insert_sqlite(
    cursor: Any, insert: str, params: list[tuple[Any, ...]], rows: list[StoredEvent], size: int
) -> None:
    """Insert `rows` (their `params`) by statements of up to `size` rows, and set their ids."""
    for start in range(0, len(params), size):
        chunk = params[start : start + size]
        statement = _insert_rows(insert, len(chunk))
        cursor.execute(statement, list(itertools.chain.from_iterable(chunk)))
        # The write lock is held and ids are AUTOINCREMENT: the rows of one statement got
        # the ids up to the last one, in the order of its VALUES.
        last = int(cursor.lastrowid)
        first = last - len(chunk) + 1
        for offset, stored in enumerate(rows[start : start + size]):
            stored.id = first + offset


_Chunk = tuple[list[tuple[Any, ...]], list[StoredEvent]]


class _ChunkWriter:
    """A thread that runs one batch's handed INSERTs in order, on the batch's connection.

    After an error it runs none of the rest, and `finish` returns the error for the batch to
    raise (its transaction then rolls back). The thread ends with `finish`.
    """

    def __init__(self, connection: sqlite3.Connection, insert: str) -> None:
        self._connection = connection
        self._insert = insert
        self._chunks: queue.SimpleQueue[_Chunk | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._discard = False
        self._thread = threading.Thread(target=self._run, name="kickwatch-db-insert", daemon=True)
        self._thread.start()

    def put(self, params: list[tuple[Any, ...]], rows: list[StoredEvent]) -> None:
        """Queue one INSERT of `rows`."""
        self._chunks.put((params, rows))

    def finish(self, *, discard: bool = False) -> BaseException | None:
        """Wait until every queued INSERT has run, or with `discard` only the one running;
        the error that stopped the thread, if one did."""
        self._discard = discard
        self._chunks.put(None)
        self._thread.join()
        return self._error

    def _run(self) -> None:
        cursor = self._connection.cursor()
        try:
            while (chunk := self._chunks.get()) is not None:
                if self._error is not None or self._discard:
                    continue
                try:
                    _insert_sqlite(cursor, self._insert, *chunk, SQLITE_HANDED_ROWS)
                except BaseException as error:  # raised again on the batch's thread
                    self._error = error
        finally:
            cursor.close()


def _update_rows(rows: int) -> str:
    """An UPDATE of `rows` streamers from one VALUES list (SQLite 3.33+: UPDATE ... FROM)."""
    sets = ", ".join(
        f"{UPDATE_FIELDS[n].column_name} = v.column{i + 1}" for i, n in enumerate(UPDATE_COLUMNS)
    )
    row = "(" + ", ".join("?" for _ in range(len(UPDATE_COLUMNS) + 1)) + ")"
    return (
        f"UPDATE streamer SET {sets} FROM (VALUES {', '.join([row] * rows)}) AS v"
        f" WHERE streamer.id = v.column{len(UPDATE_COLUMNS) + 1}"
    )


_update_chunk = functools.lru_cache(maxsize=8)(_update_rows)
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)


def update_streamers(handle: peewee.Database, sql: Statements, rows: list[list[Any]]) -> None:
    """Save streamers: each row is `UPDATE_COLUMNS`' values, then the id. On SQLite by
    UPDATEs of up to `SQLITE_INSERT_ROWS` streamers each (one step, not one per streamer),
    on PostgreSQL by one pipelined `executemany`."""
    if not rows:
        return
    with DRIVER_ERRORS:
        cursor = handle.cursor()
        if sql.dialect != "sqlite" or not _UPDATE_FROM:
            cursor.executemany(sql.update_streamer, rows)
            return
        for start in range(0, len(rows), SQLITE_INSERT_ROWS):
            chunk = rows[start : start + SQLITE_INSERT_ROWS]
            cursor.execute(_update_chunk(len(chunk)), list(itertools.chain.from_iterable(chunk)))
