"""Why a write failed: an outage that will pass, or a change that can never be written.

The writer must tell the two apart. An outage (the database is locked or busy, the disk is full,
the connection to PostgreSQL is lost) holds every change and retries; a change that breaks a
rule or cannot be encoded is set aside, so that it costs itself and never the changes after it.
The decision is made from the driver's error class and the engine's error codes (SQLite result
codes, PostgreSQL SQLSTATE), never from message text, and walks the whole exception chain: a
failed rollback after a full disk is a full disk, not "cannot rollback".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import peewee

from kickwatch.domain.errors import DatabaseUnavailableError, KickwatchError, ValidationError


class FailureKind(StrEnum):
    """What the writer does about a failed write."""

    BUSY = "busy"  # another writer holds the lock: wait, quietly at first
    OUTAGE = "outage"  # the database cannot be written now: hold everything, retry, report
    PERMANENT = "permanent"  # this change can never be written: set it aside
    FATAL = "fatal"  # the database is gone or replaced: stop writing


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified write failure and a sentence for a person."""

    kind: FailureKind
    reason: str


class DatabaseReplacedError(KickwatchError):
    """The database file was deleted or replaced while kickwatch had it open."""


# SQLite primary result codes (https://sqlite.org/rescode.html).
_SQLITE_BUSY = {5: "the database is locked by another program", 6: "a table is locked"}
_SQLITE_OUTAGE = {
    7: "out of memory",
    8: "the database is read-only",
    10: "a disk I/O error",
    11: "the database file is damaged",
    13: "the disk is full",
    14: "the database file cannot be opened",
    15: "the database lock protocol failed",
    26: "the file is not a database",
}
_SQLITE_PERMANENT = {
    18: "a value is too big",
    19: "a constraint refused the change",
    20: "a value has the wrong type",
    25: "a value is out of range",
}
# PostgreSQL SQLSTATE classes and codes.
_PG_BUSY = {"55P03": "a row or table is locked by another session"}
_PG_OUTAGE_CLASSES = {
    "08": "the connection to PostgreSQL was lost",
    "40": "a concurrent transaction conflicted",
    "53": "PostgreSQL is out of resources",
    "57": "PostgreSQL is shutting down or restarting",
    "58": "PostgreSQL had a system error",
    "XX": "PostgreSQL had an internal error",
}
_PG_OUTAGE_CODES = {"53100": "the disk is full", "53200": "PostgreSQL is out of memory"}
_PG_PERMANENT_CLASSES = {
    "22": "a value cannot be stored",
    "23": "a constraint refused the change",
}


def classify(exc: BaseException) -> Failure:
    """The kind of a write failure, from the first error in its chain that names one."""
    found: Failure | None = None
    for error in _chain(exc):
        failure = _classify_one(error)
        if failure is None:
            continue
        # An outage anywhere in the chain wins: a rollback that fails after a full disk
        # reports a generic error on top of the real one.
        if failure.kind in (FailureKind.FATAL, FailureKind.OUTAGE, FailureKind.BUSY):
            return failure
        found = found or failure
    if found is not None:
        return found
    if isinstance(exc, peewee.OperationalError | peewee.InterfaceError):
        return Failure(FailureKind.OUTAGE, f"the database is unavailable ({_first_line(exc)})")
    # An error nobody classified is about this change, not the database: set it aside.
    return Failure(FailureKind.PERMANENT, f"{type(exc).__name__}: {_first_line(exc)}")


def _classify_one(error: BaseException) -> Failure | None:
    if isinstance(error, DatabaseReplacedError):
        return Failure(FailureKind.FATAL, str(error))
    if isinstance(error, DatabaseUnavailableError):
        return Failure(FailureKind.OUTAGE, str(error))
    if isinstance(error, ValidationError):
        return Failure(FailureKind.PERMANENT, str(error))
    if isinstance(error, sqlite3.Error):
        return _classify_sqlite(error)
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        return _classify_sqlstate(sqlstate, error)
    module = type(error).__module__
    if module.startswith("psycopg"):
        # Client-side psycopg errors carry no SQLSTATE: a lost connection is an outage, a
        # value it cannot send (NUL in text) is about the change.
        name = type(error).__name__
        if name in ("OperationalError", "InterfaceError"):
            return Failure(FailureKind.OUTAGE, "the connection to PostgreSQL was lost")
        return Failure(FailureKind.PERMANENT, f"a value cannot be stored: {_first_line(error)}")
    if isinstance(error, UnicodeError | OverflowError):
        return Failure(FailureKind.PERMANENT, f"a value cannot be stored: {_first_line(error)}")
    return None


def _classify_sqlite(error: sqlite3.Error) -> Failure | None:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        if isinstance(error, sqlite3.InterfaceError | sqlite3.DataError):
            return Failure(FailureKind.PERMANENT, f"a value cannot be stored: {_first_line(error)}")
        if isinstance(error, sqlite3.ProgrammingError):
            return Failure(FailureKind.OUTAGE, f"the database is closed ({_first_line(error)})")
        return None
    primary = code & 0xFF
    if primary in _SQLITE_BUSY:
        return Failure(FailureKind.BUSY, _SQLITE_BUSY[primary])
    if primary in _SQLITE_OUTAGE:
        return Failure(FailureKind.OUTAGE, _SQLITE_OUTAGE[primary])
    if primary in _SQLITE_PERMANENT:
        return Failure(FailureKind.PERMANENT, f"{_SQLITE_PERMANENT[primary]}: {_first_line(error)}")
    return None


def _classify_sqlstate(sqlstate: str, error: BaseException) -> Failure:
    if sqlstate in _PG_BUSY:
        return Failure(FailureKind.BUSY, _PG_BUSY[sqlstate])
    if sqlstate in _PG_OUTAGE_CODES:
        return Failure(FailureKind.OUTAGE, _PG_OUTAGE_CODES[sqlstate])
    klass = sqlstate[:2]
    if klass in _PG_OUTAGE_CLASSES:
        return Failure(FailureKind.OUTAGE, _PG_OUTAGE_CLASSES[klass])
    if klass in _PG_PERMANENT_CLASSES:
        return Failure(
            FailureKind.PERMANENT, f"{_PG_PERMANENT_CLASSES[klass]}: {_first_line(error)}"
        )
    # Schema or permission problems (42, 28, ...) will not pass by retrying one change, and
    # setting every change aside would be worse: hold them and say why.
    return Failure(FailureKind.OUTAGE, f"PostgreSQL refused the write: {_first_line(error)}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the driver error peewee wrapped, and every cause and context, once each."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        orig = getattr(error, "orig", None)
        pending.extend(
            [orig if isinstance(orig, BaseException) else None, error.__cause__, error.__context__]
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
