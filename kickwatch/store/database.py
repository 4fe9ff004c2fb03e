"""Opening the database (SQLite file or PostgreSQL URL) and bringing its schema up to date.

SQLite is the embedded default: WAL journal, foreign keys on, a busy timeout, and a file only
its owner can read (0600). PostgreSQL is chosen with a `postgresql://` URL. Either way the
schema is migrated by ordered steps; a SQLite file is copied aside before it is migrated.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee

from kickwatch.domain.errors import ConfigurationError, DatabaseUnavailableError
from kickwatch.paths import make_private_dirs
from kickwatch.store.failures import DatabaseReplacedError
from kickwatch.store.models import MODELS, database_proxy
from kickwatch.store.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


@dataclass
class Database:
    """An open database: the peewee handle, its engine and where it lives."""

    handle: peewee.Database
    dialect: str  # "sqlite" or "postgresql"
    url: str
    path: Path | None = None
    identity: tuple[int, int] | None = None  # SQLite: (device, inode) of the file opened

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

    def close(self) -> None:
        """Close this thread's connection."""
        if not self.handle.is_closed():
            self.handle.close()


def mask_url(url: str) -> str:
    """Replace the password of a database URL with `***`."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url


def open_database(url: str, *, migrate: bool = True, bind: bool = True) -> Database:
    """Open `url` (a path, `sqlite:///path` or `postgresql://...`) and migrate it.

    Raises DatabaseUnavailableError when it cannot be reached, ConfigurationError for a URL
    kickwatch does not understand.
    """
    db = _connect(url)
    if bind:
        database_proxy.initialize(db.handle)
    if migrate:
        apply_migrations(db)
    return db


def _connect(url: str) -> Database:
    if url.startswith(("postgresql://", "postgres://")):
        return _connect_postgres(url)
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
    return _connect_sqlite(path, url)


def _connect_sqlite(path: Path, url: str) -> Database:
    make_private_dirs(path.parent)
    if not path.exists():
        # SQLite gives -wal and -shm the mode of the database file: 0600 for ours. A file the
        # user made keeps the mode the user gave it.
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    handle = peewee.SqliteDatabase(
        str(path),
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": BUSY_TIMEOUT_MS,
            "synchronous": "normal",
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
    try:
        handle.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise DatabaseUnavailableError(f"cannot open database {path}: {exc}") from exc
    stat = os.stat(path)
    return Database(
        handle=handle, dialect="sqlite", url=url, path=path, identity=(stat.st_dev, stat.st_ino)
    )


def _connect_postgres(url: str) -> Database:
    parsed = urlparse(url)
    handle = peewee.PostgresqlDatabase(
        parsed.path.lstrip("/") or "kickwatch",
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname or "localhost",
        port=parsed.port or 5432,
        prefer_psycopg3=True,
        connect_timeout=5,
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


def apply_migrations(db: Database) -> int:
    """Apply every pending migration in order, each in its own transaction; returns the version."""
    handle = db.handle
    with handle.atomic():
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
            for statement in migration.statements(db.dialect):
                if db.dialect == "postgresql":
                    statement = statement.replace("%", "%%")  # psycopg's placeholder escape
                handle.execute_sql(statement)
            handle.execute_sql(
                "INSERT INTO schema_version (version, description) VALUES (%s, %s)"
                if db.dialect == "postgresql"
                else "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                (migration.version, migration.description),
            )
        log.info("applied migration %d: %s", migration.version, migration.description)
    return SCHEMA_VERSION


__all__ = ["MODELS", "Database", "apply_migrations", "mask_url", "open_database"]
