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
from kickwatch.store.secrets import SecretBox, load_master_key
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

    def close(self) -> None:
        """Close the database connection."""
        self.database.close()


def database_url(paths: Paths, environ: Mapping[str, str], override: str | None) -> str:
    """`--db` when given, else `KICKWATCH_DB`, else the default SQLite file."""
    if override:
        return override
    return paths.database_url(environ)


def open_context(
    db_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    keyring_module: object = None,
) -> Context:
    """Open the database named by `--db`/`KICKWATCH_DB` (or the default) and wire the core."""
    env = dict(os.environ if environ is None else environ)
    paths = Paths.from_env(env)
    url = database_url(paths, env, db_url)
    database = open_database(url)
    clock = clock or SystemClock()
    secrets = SecretBox(lambda: load_master_key(paths.key_file, env, keyring_module))
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
    )
