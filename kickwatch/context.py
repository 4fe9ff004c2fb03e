"""The composition root of the core: opens the database and wires store, secrets and settings.

The command line, the headless runner and the GUI each build one `Context` and pass its parts
down; nothing below asks for a global.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from kickwatch.domain.clock import Clock, SystemClock
from kickwatch.paths import Paths
from kickwatch.store.config import ConfigStore
from kickwatch.store.database import Database, open_database
from kickwatch.store.repository import Repository
from kickwatch.store.secrets import SecretBox, load_master_key, locate_master_key
from kickwatch.store.settings import Settings


@dataclass
class Context:
    """Everything the core needs, opened once per process."""

    paths: Paths
    database: Database
    repository: Repository
    config: ConfigStore
    settings: Settings
    secrets: SecretBox
    clock: Clock
    environ: Mapping[str, str] = field(default_factory=dict)
    database_source: str = "default"  # where the database URL came from: --db, KICKWATCH_DB

    def close(self) -> None:
        """Close the database connection."""
        self.database.close()


def database_url(paths: Paths, environ: Mapping[str, str], override: str | None) -> str:
    """`--db` when given, else `KICKWATCH_DB`, else the default SQLite file."""
    return database_url_and_source(paths, environ, override)[0]


def database_url_and_source(
    paths: Paths, environ: Mapping[str, str], override: str | None
) -> tuple[str, str]:
    """The database URL in force and where it comes from (`--db`, `KICKWATCH_DB`, `default`).

    It is never a setting: settings are stored in the database it chooses.
    """
    if override:
        return override, "--db"
    if environ.get("KICKWATCH_DB"):
        return environ["KICKWATCH_DB"], "KICKWATCH_DB"
    return str(paths.database_file), "default"


def open_context(
    db_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    keyring_module: object = None,
    read_only_ok: bool = False,
) -> Context:
    """Open the database named by `--db`/`KICKWATCH_DB` (or the default) and wire the core.

    With `read_only_ok` a database that cannot be written is opened for reading only
    (`context.database.read_only` says why); otherwise that is a DatabaseReadOnlyError.
    """
    env = dict(os.environ if environ is None else environ)
    paths = Paths.from_env(env)
    url, source = database_url_and_source(paths, env, db_url)
    database = open_database(url, read_only_ok=read_only_ok)
    clock = clock or SystemClock()
    secrets = SecretBox(
        lambda: load_master_key(paths.key_file, env, keyring_module),
        lambda: locate_master_key(paths.key_file, env, keyring_module),
    )
    config = ConfigStore(database, secrets, clock)
    return Context(
        paths=paths,
        database=database,
        repository=Repository(database, clock),
        config=config,
        settings=Settings(config),
        secrets=secrets,
        clock=clock,
        environ=env,
        database_source=source,
    )
