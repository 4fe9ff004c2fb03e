"""Where kickwatch keeps its files: one `KICKWATCH_HOME` folder, or the platform's own places.

With `KICKWATCH_HOME` set, the database, configuration (key file) and logs all live under it;
otherwise platformdirs chooses the user data, config and log directories of the platform.
Everything kickwatch creates is private to the user: folders 0700, files 0600. The entry point
sets a umask of 0o077 (`private_umask`) so that files made by libraries (SQLite's -wal and -shm,
exports) are private too, and the helpers here give explicit modes for when kickwatch runs
inside another process. Modes of files and folders that already exist are left alone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import platformdirs

APP_NAME = "kickwatch"
PRIVATE_UMASK = 0o077
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_umask() -> int:
    """Make every file and folder this process creates private; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def make_private_dirs(directory: Path) -> Path:
    """Create `directory` and each missing parent with mode 0700; existing ones are untouched."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        # One made meanwhile by another process is not ours to change.
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR_MODE)
    return directory


def open_private(path: Path, *, append: bool = True) -> TextIO:
    """Open a text file for writing (appending or truncating), created 0600 when it is new."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags, PRIVATE_FILE_MODE)
    return open(descriptor, "a" if append else "w", encoding="utf-8")


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (a temporary file renamed over it), mode 0600;
    missing folders are made 0700. Raises OSError."""
    make_private_dirs(path.parent)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, PRIVATE_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
        """Create `directory` and missing parents (mode 0700) and return it."""
        return make_private_dirs(directory)

    def database_url(self, environ: Mapping[str, str] | None = None) -> str:
        """`KICKWATCH_DB` when set, else the default SQLite file."""
        env = os.environ if environ is None else environ
        return env.get("KICKWATCH_DB") or str(self.database_file)
