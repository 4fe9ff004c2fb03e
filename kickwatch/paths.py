"""Where kickwatch keeps its files: one `KICKWATCH_HOME` folder, or the platform's own places.

With `KICKWATCH_HOME` set, the database, configuration (key file) and logs all live under it;
otherwise platformdirs chooses the user data, config and log directories of the platform.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "kickwatch"


@dataclass(frozen=True, slots=True)
class Paths:
    """The directories kickwatch uses; created on demand with private permissions."""

    data_dir: Path
    config_dir: Path
    log_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Paths:
        """Paths from `KICKWATCH_HOME` when set, else from platformdirs."""
        env = os.environ if environ is None else environ
        home = env.get("KICKWATCH_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(data_dir=root, config_dir=root, log_dir=root / "logs")
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @property
    def database_file(self) -> Path:
        """The default SQLite database."""
        return self.data_dir / "kickwatch.db"

    @property
    def key_file(self) -> Path:
        """The master-key file used when neither the keyring nor the environment has one."""
        return self.config_dir / "master.key"

    def ensure(self, directory: Path) -> Path:
        """Create `directory` (mode 0700) if missing and return it."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return directory

    def database_url(self, environ: Mapping[str, str] | None = None) -> str:
        """`KICKWATCH_DB` when set, else the default SQLite file."""
        env = os.environ if environ is None else environ
        return env.get("KICKWATCH_DB") or str(self.database_file)
