"""The tables of leasing: `worker` (who is running) and `streamer_lease` (who watches whom).

Several `kickwatch run` workers on one PostgreSQL database announce themselves in `worker` with
a heartbeat, and each active streamer has one `streamer_lease` row naming the worker that
watches it until `expires_at` (no worker: free to claim). Deleting a streamer deletes its lease;
forgetting a dead worker frees its leases (`ON DELETE SET NULL`). The tables exist on both
engines so that one schema serves both, but only PostgreSQL uses them: on SQLite one process
watches every streamer. The logic lives in `kickwatch.store.leases`.
"""

from __future__ import annotations

import peewee

from kickwatch.store.models import BaseModel, Streamer, UtcDateTimeField


class Worker(BaseModel):
    """A running `kickwatch run` worker, alive while `expires_at` is ahead of the clock."""

    id = peewee.TextField(primary_key=True)  # host:pid:random
    started_at = UtcDateTimeField()
    heartbeat_at = UtcDateTimeField()
    expires_at = UtcDateTimeField()

    class Meta:
        table_name = "worker"


class StreamerLease(BaseModel):
    """Which worker watches a streamer, until when (`worker` None: nobody does)."""

    streamer = peewee.ForeignKeyField(
        Streamer, primary_key=True, column_name="streamer_id", on_delete="CASCADE"
    )
    worker = peewee.ForeignKeyField(
        Worker, null=True, column_name="worker_id", on_delete="SET NULL"
    )
    expires_at = UtcDateTimeField()
    renewed_at = UtcDateTimeField()

    class Meta:
        table_name = "streamer_lease"


def lease_tables(dialect: str) -> list[str]:
    """Migration 7: the `worker` and `streamer_lease` tables (the same on both engines)."""
    del dialect  # plain types both engines accept
    return [
        """CREATE TABLE worker (
            id TEXT NOT NULL CONSTRAINT pk_worker PRIMARY KEY
                CONSTRAINT chk_worker_id CHECK (length(trim(id)) > 0),
            started_at TIMESTAMP NOT NULL,
            heartbeat_at TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL,
            CONSTRAINT chk_worker_times CHECK (heartbeat_at >= started_at
                AND expires_at >= heartbeat_at)
        )""",
        """CREATE TABLE streamer_lease (
            streamer_id BIGINT NOT NULL CONSTRAINT pk_streamer_lease PRIMARY KEY
                CONSTRAINT fk_streamer_lease_streamer REFERENCES streamer (id) ON DELETE CASCADE,
            worker_id TEXT CONSTRAINT fk_streamer_lease_worker
                REFERENCES worker (id) ON DELETE SET NULL,
            expires_at TIMESTAMP NOT NULL,
            renewed_at TIMESTAMP NOT NULL,
            CONSTRAINT chk_lease_times CHECK (expires_at >= renewed_at)
        )""",
        "CREATE INDEX idx_streamer_lease_worker ON streamer_lease (worker_id)",
    ]
