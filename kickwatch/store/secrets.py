"""The master key that encrypts secret settings, and the Fernet box that uses it.

The key is looked up lazily, in this order: the OS keyring (service `kickwatch`), the
`KICKWATCH_MASTER_KEY` environment variable, then a key file with mode 0600 in the config
directory (created on first use, with a warning printed that once, because a file next to the
database protects less than a keyring; `kickwatch doctor` says so every time). Only the keyring
backends that really store secrets are trusted. `locate_master_key` tells where the key is or
would be without creating anything, for `kickwatch doctor`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from kickwatch.domain.errors import ConfigurationError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "kickwatch"
KEYRING_USERNAME = "master-key"
ENV_MASTER_KEY = "KICKWATCH_MASTER_KEY"
# Backends that would keep the key in plain text (keyrings.alt) or not at all.
_UNTRUSTED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class KeySource(StrEnum):
    """Where the master key came from."""

    KEYRING = "keyring"
    ENVIRONMENT = "environment"
    KEY_FILE = "key file"


@dataclass(frozen=True, slots=True)
class MasterKey:
    """The key and how it was found, for `kickwatch doctor` and the settings dialog."""

    key: bytes
    source: KeySource
    detail: str


@dataclass(frozen=True, slots=True)
class KeyLocation:
    """Where the master key is kept, or would be made, found without creating anything."""

    source: KeySource
    detail: str
    exists: bool


def _fernet_key(text: str) -> bytes:
    """A Fernet key from the environment: used as is if valid, else derived from a passphrase."""
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _trusted_backend(keyring_module: Any) -> Any | None:
    """The keyring backend when it really stores secrets, else None."""
    backend = keyring_module.get_keyring()
    module = type(backend).__module__
    if module.startswith(_UNTRUSTED_MODULES):
        return None
    if module.startswith("keyring.backends.chainer") and not getattr(backend, "backends", []):
        return None
    return backend


def _from_keyring(keyring_module: Any) -> MasterKey | None:
    try:
        backend = _trusted_backend(keyring_module)
        if backend is None:
            return None
        stored = keyring_module.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        if stored is None:
            stored = Fernet.generate_key().decode()
            keyring_module.set_password(KEYRING_SERVICE, KEYRING_USERNAME, stored)
        return MasterKey(stored.encode(), KeySource.KEYRING, type(backend).__name__)
    except Exception as exc:  # any keyring failure means: use the next source
        log.debug("keyring unavailable: %s", exc)
        return None


def _from_file(path: Path) -> MasterKey:
    try:
        if path.exists():
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(path, 0o600)
            return MasterKey(path.read_bytes().strip(), KeySource.KEY_FILE, str(path))
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Fernet.generate_key()
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
    except OSError as exc:
        raise ConfigurationError(
            f"no OS keyring available and the key file {path} cannot be "
            f"{'read' if path.exists() else 'created'} ({exc.strerror or exc}): "
            f"set {ENV_MASTER_KEY} or install a keyring"
        ) from exc
    # Said once, when the file is made; `kickwatch doctor` says it every time.
    log.warning(
        "no OS keyring available: the master key is kept in %s (mode 0600); "
        "set %s or install a keyring to avoid a key file",
        path,
        ENV_MASTER_KEY,
    )
    return MasterKey(key, KeySource.KEY_FILE, str(path))


def _keyring(keyring_module: Any) -> Any:
    if keyring_module is not None:
        return keyring_module
    try:
        import keyring
    except Exception:  # pragma: no cover - keyring is a dependency
        return None
    return keyring


def load_master_key(
    key_file: Path,
    environ: Mapping[str, str] | None = None,
    keyring_module: Any = None,
) -> MasterKey:
    """Find the master key: keyring, then environment, then key file (made when missing)."""
    env = os.environ if environ is None else environ
    keyring_module = _keyring(keyring_module)
    if keyring_module is not None:
        found = _from_keyring(keyring_module)
        if found is not None:
            return found
    if env.get(ENV_MASTER_KEY):
        return MasterKey(_fernet_key(env[ENV_MASTER_KEY]), KeySource.ENVIRONMENT, ENV_MASTER_KEY)
    return _from_file(key_file)


def locate_master_key(
    key_file: Path,
    environ: Mapping[str, str] | None = None,
    keyring_module: Any = None,
) -> KeyLocation:
    """Where `load_master_key` would find the key, in the same order, creating nothing."""
    env = os.environ if environ is None else environ
    keyring_module = _keyring(keyring_module)
    if keyring_module is not None:
        try:
            backend = _trusted_backend(keyring_module)
            if backend is not None:
                stored = keyring_module.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
                return KeyLocation(KeySource.KEYRING, type(backend).__name__, stored is not None)
        except Exception as exc:  # any keyring failure means: the next source is used
            log.debug("keyring unavailable: %s", exc)
    if env.get(ENV_MASTER_KEY):
        return KeyLocation(KeySource.ENVIRONMENT, ENV_MASTER_KEY, True)
    return KeyLocation(KeySource.KEY_FILE, str(key_file), key_file.exists())


class SecretBox:
    """Encrypts and decrypts secret values; the key is loaded only when first needed.

    `locator` (optional) tells where the key is without loading or creating it.
    """

    def __init__(self, loader: Any, locator: Any = None) -> None:
        self._loader = loader
        self._locator = locator
        self._master: MasterKey | None = None

    def location(self) -> KeyLocation:
        """Where the key is kept (or would be made), without creating a key anywhere."""
        if self._master is not None or self._locator is None:
            master = self.master
            return KeyLocation(master.source, master.detail, True)
        location: KeyLocation = self._locator()
        return location

    @property
    def master(self) -> MasterKey:
        """The master key (loading it on first use)."""
        if self._master is None:
            self._master = self._loader()
        return self._master

    def _fernet(self) -> Fernet:
        try:
            return Fernet(self.master.key)
        except ValueError as exc:
            raise ConfigurationError(
                f"the master key from the {self.master.source} is not a valid key"
            ) from exc

    def encrypt(self, value: str) -> str:
        """A Fernet token for `value`."""
        return self._fernet().encrypt(value.encode()).decode()

    def decrypt(self, token: str, key_name: str) -> str:
        """The value of a token; a clear error when the key changed."""
        try:
            return self._fernet().decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigurationError(
                f"{key_name} cannot be decrypted with the master key from the "
                f"{self.master.source}: the key changed; set the value again"
            ) from None


def mask(value: str | None) -> str:
    """How a secret is shown: never its content."""
    return "" if not value else "********"
