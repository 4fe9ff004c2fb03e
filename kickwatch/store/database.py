"""Opening the database (SQLite file or PostgreSQL URL) and bringing its schema up to date.

SQLite is the embedded default: WAL journal, foreign keys on, a busy timeout, and a file only
its owner can read (0600). PostgreSQL is chosen with a `postgresql://` URL. Either way the
schema is migrated by ordered steps; a SQLite file is copied aside before it is migrated.

A file kickwatch did not make is never changed: before anything is written (not even the WAL
journal mode, which rewrites the header) an existing file is read as it is, and one that is not
SQLite, or is another program's SQLite database (tables but no kickwatch `schema_version`), is
refused. A file or folder that cannot be written is opened read-only for the commands that only
read (no migration then); the others are told in one sentence that the database is read-only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlparse

import peewee
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

from kickwatch.domain.errors import ConfigurationError, DatabaseUnavailableError
from kickwatch.paths import make_private_dirs
from kickwatch.store.failures import DatabaseReplacedError, FailureKind, classify
from kickwatch.store.models import MODELS, database_proxy
from kickwatch.store.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
SQLITE_HEADER = b"SQLite format 3\x00"
_SQLITE_CANTOPEN = 14
# The columns of kickwatch's own version table (another program may have a schema_version too).
_VERSION_COLUMNS = {"version", "description", "applied_at"}


class ForeignDatabaseError(ConfigurationError):
    """The file at the database path is not a kickwatch database; it was left unchanged."""


class DatabaseReadOnlyError(DatabaseUnavailableError):
    """The database cannot be written (read-only file system, file or folder permissions)."""


@dataclass
class Database:
    """An open database: the peewee handle, its engine and where it lives."""

    handle: peewee.Database
    dialect: str  # "sqlite" or "postgresql"
    url: str
    path: Path | None = None
    identity: tuple[int, int] | None = None  # SQLite: (device, inode) of the file opened
    read_only: str | None = None  # why it was opened read-only; None when it can be written

    def require_writable(self) -> None:
        """Raise DatabaseReadOnlyError when this database was opened read-only."""
        if self.read_only is not None:
            raise DatabaseReadOnlyError(read_only_message(self.path, self.read_only))

    def check_file(self) -> None:
        """Raise DatabaseReplacedError when the SQLite file was deleted or replaced since it was
        opened: a commit into an unlinked file would be lost for every later process."""
        if self.path is None or self.identity is None:
            return
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise DatabaseReplacedError(
                f"the database file {self.path} was deleted while kickwatch was running"
            ) from None
        if (stat.st_dev, stat.st_ino) != self.identity:
            raise DatabaseReplacedError(
                f"the database file {self.path} was replaced while kickwatch was running"
            )

    def display_url(self) -> str:
        """The URL with any password masked, for output and logs."""
        return mask_url(self.url)

    def schema_version(self) -> int:
        """The version recorded in the database (0 when never migrated)."""
        return current_version(self.handle)

    def guarded(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)`; after a connection error, this thread's connection is dropped
        so that its next call opens a new one (peewee never reconnects by itself, and a
        PostgreSQL restart would otherwise leave the thread's connection broken for good)."""
        try:
            return function(*args)
        except (peewee.OperationalError, peewee.InterfaceError):
            self.drop_connection()
            raise

    def drop_connection(self) -> None:
        """Close the calling thread's connection, if it has one; a broken connection that
        fails to close is only logged (a new one is opened anyway)."""
        try:
            if not self.handle.is_closed():
                self.handle.close()
        except Exception:
            log.debug("closing a broken connection failed", exc_info=True)

    def close(self) -> None:
        """Close this thread's connection (and, on PostgreSQL, the pool's idle ones and those
        of threads that have ended)."""
        if not self.handle.is_closed():
            self.handle.close()
        if isinstance(self.handle, BoundedPostgresqlDatabase):
            self.handle.close_orphans()
            self.handle.close_idle()

    def release(self) -> None:
        """Hand this thread's connection back to the pool (PostgreSQL) for another thread to
        use; the next query on this thread takes one again. Nothing on SQLite."""
        if isinstance(self.handle, BoundedPostgresqlDatabase) and not self.handle.is_closed():
            self.handle.close()


def mask_url(url: str) -> str:
    """Replace the password of a database URL with `***`."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url


def read_only_message(path: Path | None, reason: str) -> str:
    """The sentence for a write refused because the database is read-only."""
    where = f"the database {path}" if path is not None else "the database"
    return f"{where} is read-only ({reason}); nothing was changed"


def open_database(
    url: str,
    *,
    migrate: bool = True,
    bind: bool = True,
    read_only_ok: bool = False,
    max_connections: int | None = None,
) -> Database:
    """Open `url` (a path, `sqlite:///path` or `postgresql://...`) and migrate it.

    A SQLite file that cannot be written raises DatabaseReadOnlyError, unless `read_only_ok`:
    then it is opened read-only (`Database.read_only` says why) and not migrated, and an
    outdated schema raises DatabaseReadOnlyError. Raises ForeignDatabaseError for a file that is
    not a kickwatch database, DatabaseUnavailableError when it cannot be reached,
    ConfigurationError for a URL kickwatch does not understand. On PostgreSQL the process
    keeps at most `max_connections` connections (default `pool_size()`).
    """
    db = _connect(url, read_only_ok, max_connections)
    try:
        if db.read_only is not None:
            _check_read_only_version(db)
        elif migrate:
            apply_migrations(db)
    except BaseException:
        db.close()
        raise
    if bind:
        database_proxy.initialize(db.handle)
    return db


def _check_read_only_version(db: Database) -> None:
    version = current_version(db.handle)
    if version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"the database has schema version {version}, newer than this kickwatch "
            f"({SCHEMA_VERSION}): upgrade kickwatch"
        )
    if version == 0:
        raise DatabaseReadOnlyError(
            f"the database {db.path} is empty and read-only ({db.read_only}): kickwatch cannot "
            "set it up"
        )
    if version < SCHEMA_VERSION:
        raise DatabaseReadOnlyError(
            f"the database {db.path} needs an upgrade from schema version {version} to "
            f"{SCHEMA_VERSION}, but it is read-only ({db.read_only}); nothing was changed"
        )


def _connect(url: str, read_only_ok: bool = False, max_connections: int | None = None) -> Database:
    if url.startswith(("postgresql://", "postgres://")):
        return _connect_postgres(url, max_connections)
    if url.startswith("sqlite://"):
        path_text = unquote(urlparse(url).path)
        if url.startswith("sqlite:////"):
            path_text = "/" + path_text.lstrip("/")
        path = Path(path_text)
    elif "://" in url:
        raise ConfigurationError(
            f"unsupported database URL {mask_url(url)!r}: use a file path or postgresql://..."
        )
    else:
        path = Path(url).expanduser()
    return _connect_sqlite(path, url, read_only_ok)


def _connect_sqlite(path: Path, url: str, read_only_ok: bool = False) -> Database:
    if path.is_dir():
        raise DatabaseUnavailableError(f"{path} is a folder, not a database file")
    if path.exists():
        _refuse_foreign_file(path)
        reason = _unwritable_reason(path)
        if reason is not None:
            if not read_only_ok:
                raise DatabaseReadOnlyError(read_only_message(path, reason))
            return _connect_sqlite_read_only(path, url, reason)
    else:
        _create_file(path)
    handle = peewee.SqliteDatabase(
        str(path),
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": BUSY_TIMEOUT_MS,
            # FULL: a commit survives a power cut (NORMAL in WAL mode may lose the last ones);
            # the writer batches, so its cost is per batch (measured in the README).
            "synchronous": "full",
            "cache_size": -32000,
            "temp_store": "memory",
        },
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
        # Take the write lock when a transaction begins: a deferred transaction that reads and
        # then writes fails at once (SQLITE_BUSY) when another process committed meanwhile,
        # instead of waiting its turn.
        lock_type="IMMEDIATE",
    )
    _connect_waiting(handle, path)
    stat = os.stat(path)
    return Database(
        handle=handle, dialect="sqlite", url=url, path=path, identity=(stat.st_dev, stat.st_ino)
    )


def _connect_waiting(handle: peewee.SqliteDatabase, path: Path) -> None:
    """Connect, waiting up to BUSY_TIMEOUT_MS while another connection holds the lock: the
    switch of a new file to WAL can fail at once, without SQLite's busy wait, while another
    process opens the same file."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            handle.connect(reuse_if_open=True)
            return
        except peewee.OperationalError as exc:
            if classify(exc).kind is not FailureKind.BUSY or time.monotonic() >= deadline:
                raise DatabaseUnavailableError(f"cannot open database {path}: {exc}") from exc
        time.sleep(0.02)


def _create_file(path: Path) -> None:
    """Create a new, empty database file (0600) and any missing folders (0700)."""
    try:
        make_private_dirs(path.parent)
        # SQLite gives -wal and -shm the mode of the database file: 0600 for ours. A file the
        # user made keeps the mode the user gave it.
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as exc:
        reason = _unwritable_reason(path.parent) if path.parent.exists() else None
        raise DatabaseUnavailableError(
            f"cannot create the database {path}: {reason or exc.strerror or exc}"
        ) from exc


def _unwritable_reason(path: Path) -> str | None:
    """Why `path` (a database file, or the folder of one) cannot be written; None if it can.

    SQLite writes its journal beside the file, so the folder must be writable as well.
    """
    folder = path if path.is_dir() else path.parent
    for target in (path, folder) if path != folder else (folder,):
        if os.access(target, os.W_OK):
            continue
        try:
            on_read_only_fs = bool(os.statvfs(target).f_flag & os.ST_RDONLY)
        except OSError:
            on_read_only_fs = False
        if on_read_only_fs:
            return "it is on a read-only file system"
        return f"this user may not write {'the folder ' if target == folder else ''}{target}"
    return None


def _sqlite_uri(path: Path, mode: str) -> str:
    """A `file:` URI for `path` with `mode` (`mode=ro` or `immutable=1`)."""
    return f"file:{quote(str(path.resolve()))}?{mode}"


def _wal_exists(path: Path) -> bool:
    """Whether a -wal file is beside `path`: a WAL database is open somewhere (or was not
    closed cleanly), and its -shm is there too."""
    return path.with_name(path.name + "-wal").exists()


def _in_wal_mode(path: Path) -> bool:
    """Whether the header of SQLite file `path` says WAL journal mode (file format 2)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(18)
            return handle.read(2) == b"\x02\x02"
    except OSError:
        return False


def _read_only_modes(path: Path) -> list[str]:
    """URI modes that read `path` without creating or changing any file, best first.

    `mode=ro` reads with SQLite's locks, but on a WAL database it leaves -wal and -shm files
    beside it unless they are there already: without them the file is complete and is read as
    the immutable file it is. `mode=ro` also fails (cannot open) when -shm cannot be made on a
    read-only file system; immutable reads then. A rollback-journal file is read `mode=ro`.
    """
    if not _in_wal_mode(path):
        return ["mode=ro"]
    return ["mode=ro", "immutable=1"] if _wal_exists(path) else ["immutable=1"]


def _refuse_foreign_file(path: Path) -> None:
    """Raise ForeignDatabaseError unless `path` is empty or a kickwatch (or empty) SQLite file.

    Only reads: the header, then the table names through a read-only connection.
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseUnavailableError(
            f"cannot read the database {path}: {exc.strerror or exc}"
        ) from exc
    if not header:
        return  # an empty file: SQLite makes a new database of it
    if header != SQLITE_HEADER:
        raise ForeignDatabaseError(
            f"{path} is not a kickwatch database (not an SQLite file); kickwatch left it "
            "unchanged: choose another file with --db or KICKWATCH_DB"
        )
    try:
        tables = _table_columns(path)
    except sqlite3.DatabaseError as exc:
        raise ForeignDatabaseError(
            f"{path} cannot be read as an SQLite database ({exc}); kickwatch left it unchanged"
        ) from exc
    if not tables or set(tables.get("schema_version", ())) >= _VERSION_COLUMNS:
        return
    raise ForeignDatabaseError(
        f"{path} is another program's SQLite database (it has tables but no kickwatch "
        "schema_version); kickwatch left it unchanged: choose another file with --db or "
        "KICKWATCH_DB"
    )


def _table_columns(path: Path) -> dict[str, list[str]]:
    """The user tables of a SQLite file and their columns, read without changing anything."""
    modes = _read_only_modes(path)
    error: sqlite3.DatabaseError | None = None
    while modes:
        mode = modes.pop(0)
        try:
            return _read_table_columns(path, mode)
        except sqlite3.DatabaseError as exc:
            error = exc
            if mode == "immutable=1" and not modes and _wal_exists(path):
                # A writer opened it meanwhile and may be checkpointing into the file: read
                # again through its -wal and -shm, with locks.
                modes.append("mode=ro")
            elif getattr(exc, "sqlite_errorcode", 0) & 0xFF != _SQLITE_CANTOPEN:
                break
    assert error is not None
    raise error


def _read_table_columns(path: Path, mode: str) -> dict[str, list[str]]:
    connection = sqlite3.connect(_sqlite_uri(path, mode), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            )
        ]
        return {
            name: [row[1] for row in connection.execute(f"PRAGMA table_info({_ident(name)})")]
            for name in names
        }
    finally:
        connection.close()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect_sqlite_read_only(path: Path, url: str, reason: str) -> Database:
    """Open a kickwatch SQLite file that cannot be written, for reading only."""
    last: Exception | None = None
    for mode in _read_only_modes(path):
        handle = peewee.SqliteDatabase(
            _sqlite_uri(path, mode),
            uri=True,
            pragmas={"query_only": 1, "busy_timeout": BUSY_TIMEOUT_MS},
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        try:
            handle.connect(reuse_if_open=True)
            handle.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
        except peewee.OperationalError as exc:
            last = exc
            with contextlib.suppress(Exception):
                handle.close()
            continue
        stat = os.stat(path)
        log.info("opened %s read-only: %s", path, reason)
        return Database(
            handle=handle,
            dialect="sqlite",
            url=url,
            path=path,
            identity=(stat.st_dev, stat.st_ino),
            read_only=reason,
        )
    raise DatabaseUnavailableError(f"cannot open database {path} read-only: {last}") from last


def pool_size() -> int:
    """The most connections one process keeps to PostgreSQL.

    peewee gives each thread its own connection until the thread closes it, so the bound is
    the threads that may use the database at once: the default executor's (which the tray app
    runs blocking work on) and the main, reader, writer and lease threads of a monitor.
    """
    return min(32, (os.cpu_count() or 1) + 4) + 4


POOL_WAIT_SECONDS = 10


class BoundedPostgresqlDatabase(PooledPostgresqlDatabase):  # type: ignore[misc]
    """PostgreSQL through a bounded pool: a thread's connection goes back to the pool when the
    thread closes it, and is handed to the next thread instead of a new one. A thread that finds
    every connection in use waits up to `POOL_WAIT_SECONDS`, then gets an OperationalError (to
    the writer, an outage to wait out, like any lost connection)."""

    def __init__(self, database: str, **kwargs: Any) -> None:
        super().__init__(database, **kwargs)
        self._owners: dict[int, threading.Thread] = {}  # checked-out connection -> its thread

    def connect(self, reuse_if_open: bool = False) -> bool:
        try:
            return bool(super().connect(reuse_if_open))
        except MaxConnectionsExceeded as exc:
            raise peewee.OperationalError(
                f"all {self._max_connections} database connections of this process are in use"
            ) from exc

    def _connect(self) -> Any:
        with self._pool_lock:
            try:
                connection = super()._connect()
            except MaxConnectionsExceeded:
                if not self.close_orphans():
                    raise
                connection = super()._connect()
            self._owners[self.conn_key(connection)] = threading.current_thread()
            return connection

    def close_orphans(self) -> int:
        """Close the connections of threads that ended without handing them back (they never
        can now); returns how many. Without this they would hold places in the pool for good."""
        with self._pool_lock:
            orphans = [
                key
                for key, thread in self._owners.items()
                if key in self._in_use and not thread.is_alive()
            ]
            for key in orphans:
                self._close_raw(self._in_use.pop(key).connection)
            self._owners = {k: t for k, t in self._owners.items() if k in self._in_use}
            if orphans:
                self._pool_available.notify_all()
            return len(orphans)


def _connect_postgres(url: str, max_connections: int | None = None) -> Database:
    parsed = urlparse(url)
    handle = BoundedPostgresqlDatabase(
        parsed.path.lstrip("/") or "kickwatch",
        max_connections=max_connections or pool_size(),
        timeout=POOL_WAIT_SECONDS,
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname or "localhost",
        port=parsed.port or 5432,
        prefer_psycopg3=True,
        connect_timeout=5,
        # Names this process's connections in pg_stat_activity (connections per worker).
        application_name=f"kickwatch:{os.getpid()}",
    )
    try:
        handle.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if parsed.password:
            reason = reason.replace(parsed.password, "***")
        raise DatabaseUnavailableError(f"cannot connect to {mask_url(url)}: {reason}") from exc
    except peewee.ImproperlyConfigured as exc:
        raise ConfigurationError(
            "PostgreSQL needs the psycopg driver: pip install 'kickwatch[postgres]'"
        ) from exc
    return Database(handle=handle, dialect="postgresql", url=url)


def current_version(handle: peewee.Database) -> int:
    """The applied schema version, 0 for an empty database."""
    if not handle.table_exists("schema_version"):
        return 0
    row = handle.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


# The key of the PostgreSQL advisory lock that serialises migrations ("kickwatch" in ASCII).
MIGRATION_LOCK = 0x6B69636B7761
_PG_LOCK = "SELECT pg_advisory_xact_lock(%s)"


def apply_migrations(db: Database) -> int:
    """Apply every pending migration in order, each in its own transaction; returns the version.

    Safe when several processes start at once on one database: each step runs under a lock
    (PostgreSQL: a transaction-scoped advisory lock; SQLite: the write lock an immediate
    transaction takes) and re-reads the version under it, so a step another process applied
    meanwhile is skipped.
    """
    handle = db.handle
    with handle.atomic():
        _lock_migrations(db)
        handle.execute_sql(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL,"
            " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
    version = current_version(handle)
    if version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"the database has schema version {version}, newer than this kickwatch "
            f"({SCHEMA_VERSION}): upgrade kickwatch"
        )
    pending = [m for m in MIGRATIONS if m.version > version]
    if pending and version > 0 and db.path is not None:
        backup = db.path.with_name(f"{db.path.name}.v{version}.bak")
        handle.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy2(db.path, backup)
        os.chmod(backup, 0o600)
        log.info("copied %s to %s before migrating", db.path, backup)
    for migration in pending:
        with handle.atomic():
            _lock_migrations(db)
            if current_version(handle) >= migration.version:
                continue  # another process applied it while this one waited
            for statement in migration.statements(db.dialect):
                if db.dialect == "postgresql":
                    statement = statement.replace("%", "%%")  # psycopg's placeholder escape
                handle.execute_sql(statement)
            if migration.then is not None:
                migration.then(handle, db.dialect)
            handle.execute_sql(
                "INSERT INTO schema_version (version, description) VALUES (%s, %s)"
                if db.dialect == "postgresql"
                else "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                (migration.version, migration.description),
            )
        log.info("applied migration %d: %s", migration.version, migration.description)
    return SCHEMA_VERSION


def _lock_migrations(db: Database) -> None:
    """Inside a transaction: wait until no other process is migrating this database."""
    if db.dialect == "postgresql":
        db.handle.execute_sql(_PG_LOCK, (MIGRATION_LOCK,))
    # SQLite: the transaction began IMMEDIATE (see `_connect_sqlite`) and holds the write lock.


__all__ = [
    "MODELS",
    "Database",
    "DatabaseReadOnlyError",
    "ForeignDatabaseError",
    "apply_migrations",
    "mask_url",
    "open_database",
]
