"""The Advanced tab tells the truth: the endpoint each connection really uses and where it comes
from (an environment variable, the setting, or Kick's default), the database in use and where
its URL comes from, and that these settings take effect when kickwatch restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit

from kickwatch.context import Context, open_context
from kickwatch.kick.endpoints import DEFAULT_AUTH_URL, DEFAULT_WEB_URL
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.ui.settings.dialog import SettingsDialog
from tests.ui.fakes import FakeAutostart, FakeMonitor

PROXY = "http://127.0.0.1:9/kick-api"


class NoKeyring:
    """A keyring module stand-in that has no backend (the environment key is used)."""

    def get_keyring(self) -> Any:
        raise RuntimeError("no keyring in tests")


@pytest.fixture
def env_ctx(tmp_path: Path) -> Iterator[Context]:
    """A store whose environment overrides the official API's address and names the database."""
    context = open_context(
        None,
        environ={
            "KICKWATCH_HOME": str(tmp_path),
            "KICKWATCH_MASTER_KEY": "test-key",
            "KICKWATCH_DB": str(tmp_path / "chosen.db"),
            "KICKWATCH_API_URL": PROXY,
        },
        keyring_module=NoKeyring(),
    )
    context.settings.set("monitoring.web_url", "https://mirror.example")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def dialog(env_ctx: Context, qloop: Any, qtbot: Any) -> Iterator[SettingsDialog]:
    tasks = Supervisor()
    window = SettingsDialog(env_ctx, FakeMonitor(env_ctx), FakeAutostart(), tasks.spawn, None, UTC)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.loaded):
        pass
    yield window
    task = asyncio.ensure_future(tasks.cancel_all())
    qtbot.waitUntil(task.done, timeout=5000)


def in_force(dialog: SettingsDialog, key: str) -> str:
    label = dialog.advanced.findChild(QLabel, f"{key}.in_force")
    assert label is not None, key
    return str(label.text())


def test_each_endpoint_shows_the_value_in_force_and_its_source(dialog: SettingsDialog) -> None:
    assert in_force(dialog, "monitoring.api_url") == (
        f"In use: {PROXY} (from the environment variable KICKWATCH_API_URL, "
        "which wins over this setting)"
    )
    assert in_force(dialog, "monitoring.web_url") == (
        "In use: https://mirror.example (from this setting)"
    )
    assert in_force(dialog, "monitoring.auth_url") == f"In use: {DEFAULT_AUTH_URL} (Kick's default)"
    auth = dialog.advanced.findChild(QLineEdit, "monitoring.auth_url")
    assert auth is not None and auth.placeholderText() == f"default: {DEFAULT_AUTH_URL}"


def test_the_value_in_force_follows_what_is_typed(dialog: SettingsDialog) -> None:
    web = dialog.advanced.findChild(QLineEdit, "monitoring.web_url")
    api = dialog.advanced.findChild(QLineEdit, "monitoring.api_url")
    assert web is not None and api is not None
    web.setText("")
    assert in_force(dialog, "monitoring.web_url") == f"In use: {DEFAULT_WEB_URL} (Kick's default)"
    api.setText("https://typed.example")
    assert "KICKWATCH_API_URL" in in_force(dialog, "monitoring.api_url")  # still wins


def test_the_database_in_use_says_where_it_comes_from_and_is_not_a_setting(
    env_ctx: Context, dialog: SettingsDialog, tmp_path: Path
) -> None:
    label = dialog.advanced.findChild(QLabel, "database_in_use")
    assert label is not None
    assert f"{tmp_path / 'chosen.db'} (from the KICKWATCH_DB environment variable)" in label.text()
    assert "--db" in label.text()
    assert dialog.advanced.findChild(QLineEdit, "database.url") is None
    assert "database.url" not in dialog.advanced.fields


def test_settings_read_at_start_say_a_restart_is_needed(dialog: SettingsDialog) -> None:
    note = dialog.advanced.findChild(QLabel, "advanced_restart_note")
    assert note is not None and "Takes effect when kickwatch restarts" in note.text()
    for key in ("database.retention_days", "monitoring.reconcile_interval", "monitoring.api_url"):
        assert "restarts" in dialog.advanced.fields[key].widget.toolTip(), key
    account = dialog.account.findChild(QLabel, "account_restart_note")
    assert account is not None and "when kickwatch restarts" in account.text()
