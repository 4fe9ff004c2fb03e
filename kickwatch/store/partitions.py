"""Monthly partitions of `status_event` on PostgreSQL: the migration, and their upkeep.

A monitor of thousands of streamers writes millions of history rows a year, and retention would
delete them row by row. On PostgreSQL `status_event` is partitioned by month of
`event_timestamp` (`status_event_yYYYYmMM`, plus a default partition for anything outside the
months that exist), so retention drops whole expired months and deletes only inside the
boundary month. A partitioned table can only carry a UNIQUE key that contains the partition
column, and two copies of one Kick event may carry different (clamped) timestamps, so
`kick_event_id` uniqueness moves to a small unpartitioned key table, `status_event_key`, kept by
a trigger in the same transaction as the row and pruned by retention: a duplicate is refused
under the same constraint name as before, whatever month either copy falls in.

The migration rebuilds the table generically (columns, defaults and CHECKs by `LIKE`, then the
indexes and triggers the old table had, read from the catalog), so steps that came before it
keep what they added. Foreign keys from other tables into `status_event` cannot survive (the
primary key becomes `(id, event_timestamp)`); such tables are cleaned by the key trigger's
delete instead. SQLite is not partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import peewee

MONTHS_AHEAD = 3  # partitions kept ready beyond the current month
PARENT = "status_event"
DEFAULT_PARTITION = "status_event_default"
KEY_TABLE = "status_event_key"

_KEY_FUNCTION = """CREATE FUNCTION trg_status_event_key() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM status_event_key WHERE event_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kick_event_id IS NOT NULL THEN
        INSERT INTO status_event_key (kick_event_id, event_id, event_timestamp)
        VALUES (NEW.kick_event_id, NEW.id, NEW.event_timestamp);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql"""

# Creates the partition for the month starting at `month_start` unless it exists; rows of that
# month already in the default partition are moved into it first (attaching a partition fails
# while the default holds rows of its range), and their keys written again.
_ENSURE_FUNCTION = """CREATE FUNCTION kickwatch_ensure_partition(month_start date)
RETURNS boolean AS $$
DECLARE
    lower_bound timestamp := date_trunc('month', month_start)::timestamp;
    upper_bound timestamp := (date_trunc('month', month_start) + interval '1 month')::timestamp;
    name text := 'status_event_y' || to_char(lower_bound, 'YYYY') || 'm'
        || to_char(lower_bound, 'MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE status_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   name);
    IF to_regclass('status_event_default') IS NOT NULL THEN
        EXECUTE format('ALTER TABLE status_event_default DISABLE TRIGGER USER');
        EXECUTE format(
            'WITH moved AS (DELETE FROM status_event_default WHERE event_timestamp >= %L'
            ' AND event_timestamp < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
            lower_bound, upper_bound, name);
        EXECUTE format('ALTER TABLE status_event_default ENABLE TRIGGER USER');
    END IF;
    EXECUTE format('ALTER TABLE status_event ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, lower_bound, upper_bound);
    RETURN true;
END $$ LANGUAGE plpgsql"""

_CONVERT = """DO $$
DECLARE
    index_defs text[];
    trigger_defs text[];
    definition text;
    month date;
    last_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date
        + (interval '1 month' * %(ahead)d);
BEGIN
    SELECT array_agg(pg_get_indexdef(i.indexrelid)) INTO index_defs
      FROM pg_index i
     WHERE i.indrelid = 'status_event'::regclass AND NOT i.indisprimary
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
    SELECT array_agg(pg_get_triggerdef(t.oid)) INTO trigger_defs
      FROM pg_trigger t
     WHERE t.tgrelid = 'status_event'::regclass AND NOT t.tgisinternal;
    FOR definition IN
        SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname)
          FROM pg_constraint c
         WHERE c.confrelid = 'status_event'::regclass AND c.contype = 'f'
    LOOP
        EXECUTE definition;
    END LOOP;

    ALTER TABLE status_event RENAME TO status_event_unpartitioned;
    ALTER SEQUENCE status_event_id_seq OWNED BY NONE;
    CREATE TABLE status_event (
        LIKE status_event_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
        CONSTRAINT pk_status_event PRIMARY KEY (id, event_timestamp),
        CONSTRAINT fk_status_event_streamer FOREIGN KEY (streamer_id)
            REFERENCES streamer (id) ON DELETE CASCADE
    ) PARTITION BY RANGE (event_timestamp);
    ALTER SEQUENCE status_event_id_seq OWNED BY status_event.id;
    CREATE TABLE status_event_default PARTITION OF status_event DEFAULT;

    -- A partition for every month that has rows, and for this month and the next ones.
    FOR month IN
        SELECT DISTINCT date_trunc('month', event_timestamp)::date
          FROM status_event_unpartitioned
        UNION
        SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
                               last_month, interval '1 month')::date
    LOOP
        PERFORM kickwatch_ensure_partition(month);
    END LOOP;

    CREATE TRIGGER trg_status_event_key
        AFTER INSERT OR UPDATE OF kick_event_id, event_timestamp OR DELETE ON status_event
        FOR EACH ROW EXECUTE FUNCTION trg_status_event_key();
    INSERT INTO status_event SELECT * FROM status_event_unpartitioned;
    DROP TABLE status_event_unpartitioned;
    -- The key keeps the name of the UNIQUE constraint it replaces, so errors read the same.
    ALTER TABLE status_event_key
        RENAME CONSTRAINT pk_status_event_key TO uq_status_event_kick_event_id;

    IF index_defs IS NOT NULL THEN
        FOREACH definition IN ARRAY index_defs LOOP
            EXECUTE replace(definition, ' ON public.status_event_unpartitioned ',
                            ' ON public.status_event ');
        END LOOP;
    END IF;
    CREATE INDEX idx_status_event_kick_event_id ON status_event (kick_event_id);
    IF trigger_defs IS NOT NULL THEN
        FOREACH definition IN ARRAY trigger_defs LOOP
            EXECUTE replace(definition, ' ON public.status_event_unpartitioned ',
                            ' ON public.status_event ');
        END LOOP;
    END IF;
END $$"""


def partition_status_event(dialect: str) -> list[str]:
    """The migration: `status_event` partitioned by month on PostgreSQL (nothing on SQLite)."""
    if dialect != "postgresql":
        return []
    return [
        f"""CREATE TABLE {KEY_TABLE} (
            kick_event_id TEXT NOT NULL CONSTRAINT pk_status_event_key PRIMARY KEY,
            event_id BIGINT NOT NULL,
            event_timestamp TIMESTAMP NOT NULL
        )""",
        f"CREATE INDEX idx_status_event_key_event_id ON {KEY_TABLE} (event_id)",
        f"CREATE INDEX idx_status_event_key_timestamp ON {KEY_TABLE} (event_timestamp)",
        _KEY_FUNCTION,
        _ENSURE_FUNCTION,
        _CONVERT % {"ahead": MONTHS_AHEAD},
    ]


@dataclass(frozen=True, slots=True)
class Partition:
    """One monthly partition and the range it holds (`upper` excluded); None bounds: default."""

    name: str
    lower: datetime | None
    upper: datetime | None
    rows: int | None  # None unless counted (a count reads the whole partition)


def is_partitioned(handle: peewee.Database) -> bool:
    """Whether `status_event` is a partitioned table (PostgreSQL after the migration)."""
    row = handle.execute_sql(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('status_event')"
    ).fetchone()
    return row is not None and row[0] == "p"


def partitions(handle: peewee.Database, count_rows: bool = False) -> list[Partition]:
    """The partitions of `status_event`, oldest first, the default one last; with their row
    counts when `count_rows`."""
    rows = handle.execute_sql(
        """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'status_event'::regclass"""
    ).fetchall()
    found: list[Partition] = []
    for name, bound in rows:
        count = None
        if count_rows:
            count = int(handle.execute_sql(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        lower = upper = None
        if bound != "DEFAULT":
            # FOR VALUES FROM ('2026-11-01 00:00:00') TO ('2026-12-01 00:00:00')
            parts = bound.split("'")
            lower, upper = datetime.fromisoformat(parts[1]), datetime.fromisoformat(parts[3])
        found.append(Partition(name, lower, upper, count))
    found.sort(key=lambda p: (p.lower is None, p.lower or datetime.min))
    return found


def ensure_ahead(handle: peewee.Database, now: datetime, months: int = MONTHS_AHEAD) -> int:
    """Create the partitions from `now`'s month to `months` ahead that are missing; returns
    how many were created. Call inside a transaction."""
    now = _naive_utc(now)
    created = 0
    year, month = now.year, now.month
    for _ in range(months + 1):
        row = handle.execute_sql(
            "SELECT kickwatch_ensure_partition(%s::date)", (f"{year:04d}-{month:02d}-01",)
        ).fetchone()
        created += bool(row[0])
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return created


def drop_expired(handle: peewee.Database, cutoff: datetime) -> int:
    """Retention on a partitioned table: drop every month that ends at or before `cutoff`,
    delete rows older than it from the boundary month and the default partition, and prune
    the key table; returns the number of events removed. Call inside a transaction."""
    cutoff = _naive_utc(cutoff)
    removed = 0
    for part in partitions(handle):
        if part.upper is not None and part.upper <= cutoff:
            rows = handle.execute_sql(f'SELECT count(*) FROM "{part.name}"').fetchone()[0]
            handle.execute_sql(f'ALTER TABLE status_event DETACH PARTITION "{part.name}"')
            handle.execute_sql(f'DROP TABLE "{part.name}"')
            removed += int(rows)
    handle.execute_sql(f"DELETE FROM {KEY_TABLE} WHERE event_timestamp < %s", (cutoff,))
    cursor = handle.execute_sql("DELETE FROM status_event WHERE event_timestamp < %s", (cutoff,))
    return removed + int(cursor.rowcount)


def _naive_utc(moment: datetime) -> datetime:
    """`moment` as the naive UTC timestamp the columns hold."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
