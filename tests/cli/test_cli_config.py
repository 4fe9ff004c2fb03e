"""Every setting does what it says, on the real `kickwatch config` command.

Start at login writes and removes the XDG autostart entry (in a temporary XDG_CONFIG_HOME); the
database is not a setting and the URL in force is shown with its source; a setting that a running
kickwatch reads only at start says a restart is needed; an endpoint overridden by an environment
variable shows the value in force and the variable; the hint for an unknown key names a command
that exists.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from kickwatch.resources import DESKTOP_FILE
from tests.cli.helpers import Cli, make_cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return make_cli(
        tmp_path / "home", XDG_CONFIG_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "user")
    )


def error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kickwatch: error: "), result.stderr
    return lines[0]


def row(listing: str, key: str) -> list[str]:
    [line] = [line for line in listing.splitlines() if line.startswith(key + " ")]
    return line.split()


def test_start_at_login_writes_and_removes_the_autostart_entry(cli: Cli, tmp_path: Path) -> None:
    entry = tmp_path / "xdg" / "autostart" / DESKTOP_FILE
    assert row(cli("config", "list").stdout, "system.start_at_login")[1] == "false"
    result = cli("config", "set", "system.start_at_login", "true")
    assert result.returncode == 0, result.stderr
    assert entry.is_file()
    assert "Exec=" in entry.read_text() and "X-GNOME-Autostart-enabled=true" in entry.read_text()
    assert f"XDG autostart entry {entry} written" in result.stdout
    assert cli("config", "get", "system.start_at_login").stdout.strip() == "true"
    assert row(cli("config", "list").stdout, "system.start_at_login")[1:3] == ["true", "login"]
    result = cli("config", "set", "system.start_at_login", "false")
    assert result.returncode == 0 and f"{entry} removed" in result.stdout
    assert not entry.exists()
    cli("config", "set", "system.start_at_login", "on")
    assert entry.is_file()
    result = cli("config", "unset", "system.start_at_login")
    assert result.returncode == 0 and "removed" in result.stdout
    assert not entry.exists()
    assert cli("config", "get", "system.start_at_login").stdout.strip() == "false"


def test_start_at_login_reports_the_entry_not_a_stale_value(cli: Cli, tmp_path: Path) -> None:
    cli("config", "set", "system.start_at_login", "true")
    (tmp_path / "xdg" / "autostart" / DESKTOP_FILE).unlink()  # removed by the desktop's panel
    assert cli("config", "get", "system.start_at_login").stdout.strip() == "false"


def test_start_at_login_that_cannot_be_written_is_one_line_and_stores_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "xdg").write_text("a file where the config folder should be")
    line = error_line(cli("config", "set", "system.start_at_login", "true"), 1)
    assert "Cannot write" in line and DESKTOP_FILE in line
    with sqlite3.connect(cli.home / "kickwatch.db") as connection:
        stored = connection.execute("SELECT key FROM configuration").fetchall()
    connection.close()
    assert stored == []


def test_database_url_is_not_a_setting_and_the_url_in_force_is_shown(
    cli: Cli, tmp_path: Path
) -> None:
    listing = cli("config", "list")
    assert "database.url" not in listing.stdout
    default = cli.home / "kickwatch.db"
    assert f"database in use: {default} (the default;" in listing.stdout
    for verb in (("set", "database.url", "/tmp/x.db"), ("get", "database.url")):
        line = error_line(cli("config", *verb), 2)
        assert "database.url is not a setting" in line
        assert "--db" in line and "KICKWATCH_DB" in line and str(default) in line
    other = tmp_path / "other.db"
    cli.env["KICKWATCH_DB"] = str(other)
    assert f"database in use: {other} (from KICKWATCH_DB;" in cli("config", "list").stdout
    third = tmp_path / "third.db"
    assert (
        f"database in use: {third} (from --db;" in cli("--db", str(third), "config", "list").stdout
    )


def test_config_help_says_where_the_database_comes_from_and_when_a_restart_is_needed(
    cli: Cli,
) -> None:
    text = " ".join(cli("config", "--help").stdout.split())
    assert "the database itself is not a setting" in text
    assert "--db option, else the KICKWATCH_DB environment variable, else the default" in text
    assert "after a restart" in text
    assert "system.start_at_login writes (or removes) the login entry" in text


@pytest.mark.parametrize(
    ("key", "value", "note"),
    [
        ("monitoring.reconcile_interval", "60", "`kickwatch run` already running"),
        ("monitoring.api_url", "https://proxy.example", "`kickwatch run` already running"),
        ("database.retention_days", "30", "`kickwatch run` already running"),
        ("auth.client_id", "01ABC", "`kickwatch run` already running"),
        ("system.quiet_hours_enabled", "true", "a tray app already running"),
    ],
)
def test_a_setting_read_at_start_says_a_restart_is_needed(
    cli: Cli, key: str, value: str, note: str
) -> None:
    result = cli("config", "set", key, value)
    assert result.returncode == 0, result.stderr
    assert note in result.stdout and "after a restart" in result.stdout
    unset = cli("config", "unset", key)
    assert unset.returncode == 0 and "after a restart" in unset.stdout


def test_a_setting_used_at_once_says_nothing_about_a_restart(cli: Cli) -> None:
    result = cli("config", "set", "system.player_command", "mpv {url}")
    assert result.returncode == 0 and result.stdout.strip() == "system.player_command = mpv {url}"


def test_an_endpoint_set_by_the_environment_shows_the_value_in_force(cli: Cli) -> None:
    cli.env["KICKWATCH_API_URL"] = "http://127.0.0.1:9/api"
    result = cli("config", "set", "monitoring.api_url", "https://proxy.example")
    assert "KICKWATCH_API_URL is set and wins: http://127.0.0.1:9/api stays in use" in result.stdout
    listing = cli("config", "list").stdout
    assert row(listing, "monitoring.api_url")[1:4] == [
        "http://127.0.0.1:9/api",
        "env",
        "KICKWATCH_API_URL",
    ]
    assert row(listing, "monitoring.web_url")[1] == "default"


def test_an_unknown_key_names_a_command_that_exists(cli: Cli) -> None:
    line = error_line(cli("config", "set", "system.colour", "red"), 2)
    assert "see `kickwatch config list`" in line and "--all" not in line
    assert cli("config", "list").returncode == 0
