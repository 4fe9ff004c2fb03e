"""Noticing that another process changed the set of streamers (the CLI while the app runs).

A cheap fingerprint of the streamer table (count, ids, active flags, channel ids, creation) is
compared every poll. On SQLite, `PRAGMA data_version` on the watcher's own connection tells
first, without touching the table, whether any other connection committed at all.
"""

from __future__ import annotations

import peewee

from kickwatch.store.database import Database

_FINGERPRINT = (
    "SELECT COUNT(*), COALESCE(SUM(id), 0),"
    " COALESCE(SUM(CASE WHEN is_active THEN id ELSE 0 END), 0),"
    " COALESCE(SUM(COALESCE(kick_channel_id, 0) % 1000003), 0), MAX(created_at),"
    " COALESCE(SUM(CASE WHEN notify_on_start THEN 1 ELSE 0 END"
    " + CASE WHEN notify_on_end THEN 2 ELSE 0 END + CASE WHEN is_muted THEN 4 ELSE 0 END"
    " + CASE WHEN is_favorite THEN 8 ELSE 0 END), 0)"
    " FROM streamer"
)


class StreamerSetWatcher:
    """Tells whether the streamer set changed since the last call (run it in a worker thread)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._data_version: int | None = None
        self._fingerprint: tuple[object, ...] | None = None

    def changed(self) -> bool:
        """True when the streamer table differs from the previous call's view."""
        handle = self._database.handle
        if isinstance(handle, peewee.SqliteDatabase):
            version = handle.execute_sql("PRAGMA data_version").fetchone()[0]
            if version == self._data_version and self._fingerprint is not None:
                return False
            self._data_version = version
        sql = (
            _FINGERPRINT.replace("%", "%%")
            if self._database.dialect == "postgresql"
            else _FINGERPRINT
        )
        fingerprint = tuple(handle.execute_sql(sql).fetchone())
        previous, self._fingerprint = self._fingerprint, fingerprint
        return previous is not None and previous != fingerprint
