"""Configuration: keys, categories, secrets encrypted at rest, key sources, typed settings."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

from kickwatch.domain.errors import ConfigurationError, NotFoundError, ValidationError
from kickwatch.store import open_database
from kickwatch.store.config import ConfigStore
from kickwatch.store.models import Configuration
from kickwatch.store.secrets import KeySource, SecretBox, load_master_key, locate_master_key
from kickwatch.store.settings import SPECS, Applies, Settings
from tests.clock import ManualClock
from tests.store.fixtures import Store

SECRET = "s3cr3t-Value-that-must-not-leak"


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in that keeps passwords in a dict."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    """A keyring whose daemon is locked or gone."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("the collection is locked")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def config_store(
    store: Store, tmp_path: Path, environ: dict[str, str] | None = None
) -> ConfigStore:
    env = {"KICKWATCH_MASTER_KEY": "test-master-key"} if environ is None else environ
    box = SecretBox(lambda: load_master_key(tmp_path / "master.key", env, _NoKeyring()))
    return ConfigStore(store.database, box, store.clock)


class _NoKeyring:
    """The keyring module of a headless machine: no backend works."""

    @staticmethod
    def get_keyring() -> object:
        from keyring.backends import fail

        return fail.Keyring()


def test_plain_values_round_trip_with_category_and_author(store: Store, tmp_path: Path) -> None:
    config = config_store(store, tmp_path)
    entry = config.set("monitoring.reconcile_interval", "60", updated_by="cli", description="poll")
    assert (entry.category, entry.is_encrypted, entry.updated_by) == ("monitoring", False, "cli")
    assert entry.updated_at == store.clock.now()
    assert config.get("monitoring.reconcile_interval") == "60"
    config.unset("monitoring.reconcile_interval")
    assert config.get("monitoring.reconcile_interval") is None
    with pytest.raises(NotFoundError):
        config.unset("monitoring.reconcile_interval")


@pytest.mark.parametrize(
    "key", ["auth.client_secret", "auth.refresh_token", "system.proxy_password"]
)
def test_sensitive_keys_are_always_encrypted_and_masked(
    store: Store, tmp_path: Path, key: str
) -> None:
    config = config_store(store, tmp_path)
    entry = config.set(key, SECRET)
    assert entry.is_encrypted and entry.value == "********"
    row = Configuration.get(Configuration.key == key)
    assert row.is_encrypted and SECRET not in row.value
    assert config.get(key) == SECRET
    assert [e.value for e in config.entries()] == ["********"]
    assert [e.value for e in config.entries(reveal=True)] == [SECRET]


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("network.proxy", "category"),
        ("Auth.x", "key"),
        ("auth", "key"),
        ("auth.a-b", "key"),
        ("", "key"),
    ],
)
def test_malformed_keys_and_unknown_categories_are_refused(
    store: Store, tmp_path: Path, key: str, field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        config_store(store, tmp_path).set(key, "1")
    assert error.value.field == field


def test_no_secret_appears_in_the_database_files(tmp_path: Path) -> None:
    path = tmp_path / "db" / "k.db"
    database = open_database(str(path))
    clock = ManualClock()
    box = SecretBox(lambda: load_master_key(tmp_path / "master.key", {}, _NoKeyring()))
    config = ConfigStore(database, box, clock)
    config.set("auth.client_secret", SECRET)
    config.set("auth.client_id", "visible-client-id")
    database.close()
    blobs = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert b"visible-client-id" in blobs  # the check can see plain values
    assert SECRET.encode() not in blobs


def test_master_key_comes_from_the_keyring_first(
    memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    first = load_master_key(tmp_path / "master.key", {"KICKWATCH_MASTER_KEY": "env"}, keyring)
    again = load_master_key(tmp_path / "master.key", {}, keyring)
    assert first.source is KeySource.KEYRING and again.key == first.key
    assert ("kickwatch", "master-key") in memory_keyring.passwords
    assert not (tmp_path / "master.key").exists()


def test_a_failing_keyring_falls_back_to_the_environment(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        found = load_master_key(tmp_path / "master.key", {"KICKWATCH_MASTER_KEY": "pass"}, keyring)
    finally:
        keyring.set_keyring(previous)
    assert found.source is KeySource.ENVIRONMENT


def test_without_keyring_or_environment_a_private_key_file_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "conf" / "master.key"
    with caplog.at_level(logging.WARNING):
        found = load_master_key(key_file, {}, _NoKeyring())
    assert found.source is KeySource.KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "no OS keyring" in caplog.text
    assert found.key.decode() not in caplog.text
    assert load_master_key(key_file, {}, _NoKeyring()).key == found.key


def test_a_changed_master_key_gives_a_clear_error(store: Store, tmp_path: Path) -> None:
    config_store(store, tmp_path, {"KICKWATCH_MASTER_KEY": "one"}).set("auth.client_secret", SECRET)
    other = config_store(store, tmp_path, {"KICKWATCH_MASTER_KEY": "two"})
    with pytest.raises(ConfigurationError, match="cannot be decrypted") as error:
        other.get("auth.client_secret")
    assert SECRET not in str(error.value)


def test_settings_give_defaults_and_typed_values(store: Store, tmp_path: Path) -> None:
    settings = Settings(config_store(store, tmp_path))
    assert settings.get("database.retention_days") == 90
    assert settings.get("system.sounds") is True
    assert settings.set("database.retention_days", " 30 ") == 30
    assert settings.get("database.retention_days") == 30
    assert settings.set("system.quiet_hours_start", "7:05") == "07:05"


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("database.retention_days", "-1", "positive integer"),
        ("database.retention_days", "ten", "integer"),
        ("monitoring.reconcile_interval", "1", "at least 10"),
        ("system.sounds", "maybe", "true or false"),
        ("system.quiet_hours_start", "25:00", "HH:MM"),
        ("monitoring.pusher_url", "http://x", "ws or wss"),
        ("system.player_command", "mpv", "{url}"),
        ("system.nonexistent", "1", "not a kickwatch setting"),
    ],
)
def test_settings_validation_names_the_key_and_the_rule(
    store: Store, tmp_path: Path, key: str, value: str, rule: str
) -> None:
    settings = Settings(config_store(store, tmp_path))
    with pytest.raises(ValidationError, match=rule) as error:
        settings.set(key, value)
    assert key in str(error.value)


def test_set_many_saves_nothing_when_one_value_is_bad(store: Store, tmp_path: Path) -> None:
    settings = Settings(config_store(store, tmp_path))
    with pytest.raises(ValidationError):
        settings.set_many({"database.retention_days": "30", "system.sounds": "loud"})
    assert settings.get("database.retention_days") == 90
    settings.set_many({"database.retention_days": "30", "system.sounds": "off"})
    assert (settings.get("database.retention_days"), settings.get("system.sounds")) == (30, False)


def test_the_key_file_warning_is_given_once_when_the_file_is_made(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "conf" / "master.key"
    with caplog.at_level(logging.WARNING):
        made = load_master_key(key_file, {}, _NoKeyring())
    assert caplog.text.count("no OS keyring") == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = load_master_key(key_file, {}, _NoKeyring())
    assert again.key == made.key and again.source is KeySource.KEY_FILE
    assert caplog.text == ""


def test_locating_the_key_creates_nothing(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    key_file = tmp_path / "conf" / "master.key"
    nowhere = locate_master_key(key_file, {}, _NoKeyring())
    assert (nowhere.source, nowhere.detail, nowhere.exists) == (
        KeySource.KEY_FILE,
        str(key_file),
        False,
    )
    assert not key_file.parent.exists()
    env = locate_master_key(key_file, {"KICKWATCH_MASTER_KEY": "k"}, _NoKeyring())
    assert (env.source, env.exists) == (KeySource.ENVIRONMENT, True)
    ring = locate_master_key(key_file, {}, keyring)
    assert (ring.source, ring.exists) == (KeySource.KEYRING, False)
    assert memory_keyring.passwords == {}  # nothing stored by looking
    load_master_key(key_file, {}, keyring)
    assert locate_master_key(key_file, {}, keyring).exists


def test_a_key_file_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "conf").write_text("a file where the folder should be")
    with pytest.raises(ConfigurationError, match=r"cannot be created .*KICKWATCH_MASTER_KEY"):
        load_master_key(tmp_path / "conf" / "master.key", {}, _NoKeyring())


def test_the_secret_box_tells_where_the_key_is_without_making_one(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    box = SecretBox(
        lambda: load_master_key(key_file, {}, _NoKeyring()),
        lambda: locate_master_key(key_file, {}, _NoKeyring()),
    )
    assert not box.location().exists and not key_file.exists()
    box.encrypt("x")
    assert box.location().exists and key_file.exists()


def test_database_url_is_retired_with_a_reason(store: Store, tmp_path: Path) -> None:
    settings = Settings(config_store(store, tmp_path))
    with pytest.raises(ValidationError, match="--db or the KICKWATCH_DB"):
        settings.set("database.url", "/tmp/x.db")
    assert "database.url" not in {spec.key for spec in SPECS}


def test_every_setting_says_when_a_running_kickwatch_sees_a_change() -> None:
    applies = {spec.key: spec.applies for spec in SPECS}
    for key, when in applies.items():
        if key.startswith(("monitoring.", "auth.")) or key == "database.retention_days":
            assert when is Applies.AT_START, key
    assert applies["system.quiet_hours_enabled"] is Applies.BY_TRAY_APP
    assert applies["system.start_at_login"] is Applies.AT_USE
    assert applies["system.player_command"] is Applies.AT_USE
