"""The truth of a chaos or crash test and its comparison with what kickwatch stored and printed.

`World` knows every broadcast the fake Kick ran for each monitored channel. `read_store` reads a
kickwatch database (a SQLite file or a PostgreSQL URL) with plain SQL, not with kickwatch's own
code. `compare` lists every way the database and the printed change lines differ from the truth:
a wrong final status, a broadcast start or end missing or recorded twice, a row for no
broadcast, a change line printed twice or for nothing stored.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakekick import FakeChannel


@dataclass
class Broadcast:
    """One broadcast of the truth. `certain`: the client was given the chance to see it (a
    start and end sent together during a fault may have reached nobody)."""

    livestream_id: int
    started_at: datetime
    ended: bool = False
    certain: bool = True


@dataclass
class Watched:
    """A monitored channel and its broadcasts, oldest first."""

    channel: FakeChannel
    broadcasts: list[Broadcast] = field(default_factory=list)

    @property
    def username(self) -> str:
        return self.channel.slug

    @property
    def live(self) -> bool:
        return bool(self.broadcasts) and not self.broadcasts[-1].ended

    @property
    def changes(self) -> int:
        """Changes of the truth: one per start, one per end."""
        return sum(1 + int(b.ended) for b in self.broadcasts)


@dataclass(frozen=True)
class StoredEvent:
    """A start or end row of `status_event`."""

    id: int
    username: str
    event_type: str
    new_status: str
    broadcast_started_at: datetime | None
    livestream_id: str | None
    synthetic: bool


@dataclass
class Stored:
    """What a kickwatch database holds: each streamer's status and its start/end rows."""

    status: dict[str, str]
    events: list[StoredEvent]
    quarantined: int
    integrity: str = "ok"


class World:
    """The truth: every watched channel by username."""

    def __init__(self, channels: Iterable[FakeChannel]) -> None:
        self.watched = {c.slug: Watched(c) for c in channels}

    def __getitem__(self, username: str) -> Watched:
        return self.watched[username]

    @property
    def changes(self) -> int:
        return sum(w.changes for w in self.watched.values())

    @property
    def uncertain(self) -> int:
        return sum(1 for w in self.watched.values() for b in w.broadcasts if not b.certain)


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


_STATUS_SQL = "SELECT username, status FROM streamer"
_EVENTS_SQL = (
    "SELECT e.id, s.username, e.event_type, e.new_status, e.broadcast_started_at,"
    " e.livestream_id, e.synthetic FROM status_event e JOIN streamer s ON s.id = e.streamer_id"
    " WHERE e.event_type IN ('stream_start', 'stream_end') ORDER BY e.id"
)


def read_store(url: str) -> Stored:
    """Read a kickwatch database (a SQLite path or a `postgresql://` URL)."""
    if url.startswith(("postgresql://", "postgres://")):
        return _read_postgres(url)
    connection = sqlite3.connect(f"file:{url}?mode=ro", uri=True, timeout=30)
    try:
        [integrity] = connection.execute("PRAGMA integrity_check").fetchone()
        status = dict(connection.execute(_STATUS_SQL).fetchall())
        events = [_event(row) for row in connection.execute(_EVENTS_SQL).fetchall()]
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        quarantined = (
            connection.execute("SELECT count(*) FROM quarantined_change").fetchone()[0]
            if "quarantined_change" in tables
            else 0
        )
    finally:
        connection.close()
    return Stored(status, events, quarantined, str(integrity))


def _read_postgres(url: str) -> Stored:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        status = dict(connection.execute(_STATUS_SQL).fetchall())
        events = [_event(row) for row in connection.execute(_EVENTS_SQL).fetchall()]
        exists = connection.execute("SELECT to_regclass('quarantined_change')").fetchone()
        quarantined = 0
        if exists is not None and exists[0] is not None:
            quarantined = connection.execute("SELECT count(*) FROM quarantined_change").fetchone()[
                0
            ]
    return Stored(status, events, int(quarantined))


def _event(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(
        id=int(row[0]),
        username=str(row[1]),
        event_type=str(row[2]),
        new_status=str(row[3]),
        broadcast_started_at=_instant(row[4]),
        livestream_id=None if row[5] is None else str(row[5]),
        synthetic=bool(row[6]),
    )


def compare(world: World, stored: Stored, lines: list[dict[str, Any]] | None) -> list[str]:
    """Every difference between the truth and the database (and the printed change lines, when
    given: one line per stored change, none twice, none for a change not stored)."""
    problems: list[str] = []
    rows_by_user: dict[str, list[StoredEvent]] = {}
    for event in stored.events:
        rows_by_user.setdefault(event.username, []).append(event)
    for username, watched in sorted(world.watched.items()):
        want = "online" if watched.live else "offline"
        if stored.status.get(username) != want:
            problems.append(f"{username}: status {stored.status.get(username)!r}, truth {want!r}")
        problems.extend(_broadcast_problems(watched, rows_by_user.pop(username, [])))
    for username, rows in sorted(rows_by_user.items()):
        problems.append(f"{username}: {len(rows)} rows for a streamer that is not watched")
    if lines is not None:
        problems.extend(_line_problems(stored, lines))
    return problems


def _broadcast_problems(watched: Watched, rows: list[StoredEvent]) -> list[str]:
    problems: list[str] = []
    user = watched.username
    for kind in ("stream_start", "stream_end"):
        found = Counter(r.broadcast_started_at for r in rows if r.event_type == kind)
        for broadcast in watched.broadcasts:
            if kind == "stream_end" and not broadcast.ended:
                continue
            key = broadcast.started_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
            count = found.pop(key, 0)
            what = f"{user}: {kind} of the broadcast started {key.isoformat()}"
            if count > 1:
                problems.append(f"{what} recorded {count} times")
            elif count == 0 and broadcast.certain:
                problems.append(f"{what} missing")
        for key, count in sorted(found.items(), key=lambda kv: str(kv[0])):
            ids = [r.id for r in rows if r.event_type == kind and r.broadcast_started_at == key]
            problems.append(f"{user}: {count} {kind} rows {ids} for no broadcast of the truth")
    return problems


def _line_problems(stored: Stored, lines: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    printed = Counter(line.get("id") for line in lines)
    for row_id, count in sorted(printed.items(), key=lambda kv: str(kv[0])):
        if count > 1:
            problems.append(f"change {row_id} printed (notified) {count} times")
    stored_ids = {e.id for e in stored.events}
    not_stored = sorted(str(i) for i in set(printed) - stored_ids)
    if not_stored:
        problems.append(f"changes printed but not stored: {', '.join(not_stored)}")
    not_printed = sorted(stored_ids - set(printed))
    if not_printed:
        problems.append(f"changes stored but never printed: {not_printed}")
    return problems
