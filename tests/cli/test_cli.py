"""The real `kickwatch` command: streamers, history, configuration, doctor, and bad input."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kickwatch.domain.status import EventType
from kickwatch.store import Repository, StatusChange, open_database
from kickwatch.store.schema import SCHEMA_VERSION
from tests.cli.helpers import Cli, make_cli
from tests.clock import ManualClock

SECRET = "cli-s3cret-never-printed"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return make_cli(tmp_path / "home")


def assert_clean_error(result, code: int, *fragments: str) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("kickwatch: error")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return str(lines[0])


# The history tests run at a fixed instant in the past, so they mean the same at any hour.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def seed_events(cli: Cli) -> None:
    """Record a broadcast of alpha (8 and 9 March, 09:00 UTC) and a start of beta (10 March,
    08:00 UTC) through the repository, on a clock stopped at `NOW`."""
    database = open_database(str(cli.home / "kickwatch.db"))
    repo = Repository(database, ManualClock(NOW))
    alpha = repo.get_by_username("alpha")
    beta = repo.get_by_username("beta")
    assert alpha is not None and beta is not None
    repo.apply_changes(
        [
            StatusChange(
                alpha.id, EventType.STREAM_START, NOW, NOW - timedelta(days=2), "1:1:start", "1"
            ),
            StatusChange(
                alpha.id, EventType.STREAM_END, NOW, NOW - timedelta(days=1), "1:1:end", "1"
            ),
            StatusChange(
                beta.id, EventType.STREAM_START, NOW, NOW - timedelta(hours=1), "2:7:start", "7"
            ),
        ]
    )
    database.close()


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("kickwatch 0.")


def test_add_list_enable_disable(cli: Cli) -> None:
    assert (
        cli(
            "add",
            "https://kick.com/Alpha",
            "--user-id",
            "11",
            "--channel-id",
            "111",
            "--display-name",
            "Alpha",
        ).returncode
        == 0
    )
    assert cli("add", "beta", "--user-id", "22").returncode == 0
    assert cli("disable", "beta").returncode == 0
    rows = json.loads(cli("list", "--json").stdout)
    assert [
        (r["username"], r["kick_user_id"], r["kick_channel_id"], r["is_active"], r["status"])
        for r in rows
    ] == [("alpha", 11, 111, True, "unknown"), ("beta", 22, None, False, "unknown")]
    assert {
        "id",
        "display_name",
        "last_seen_online",
        "last_status_update",
        "created_at",
        "updated_at",
    } <= set(rows[0])
    assert rows[0]["created_at"].endswith("Z")
    assert cli("enable", "beta").returncode == 0
    assert "beta" in cli("list").stdout


def test_adding_an_existing_streamer_says_so_and_changes_nothing(cli: Cli) -> None:
    cli("add", "alpha", "--user-id", "11")
    result = cli("add", "ALPHA", "--user-id", "12")
    assert_clean_error(result, 2, "already monitored")
    assert [r["kick_user_id"] for r in json.loads(cli("list", "--json").stdout)] == [11]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("add", "", "--user-id", "1"), 2, "username: must not be empty"),
        (("add", "bad name", "--user-id", "1"), 2, "username"),
        (("add", "ok", "--user-id", "-4"), 2, "kick_user_id"),
        (("remove", "ghost", "--yes"), 2, "no streamer named ghost"),
        (("enable", "ghost"), 2, "no streamer named ghost"),
        (("history", "--since", "yesterday"), 2, "not an ISO 8601"),
        (("history", "--until", "2026-13-45"), 2, "not an ISO 8601"),
        (("history", "--limit", "-1"), 2, "--limit"),
        (("history", "--type", "stream_paused"), 2, "invalid choice"),
        (("config", "get", "nonsense"), 2, "category.name"),
        (("config", "set", "network.proxy", "x"), 2, "'network' is not one of"),
        (("config", "set", "system.colour", "red"), 2, "not a kickwatch setting"),
        (("config", "set", "database.retention_days", "-5"), 2, "positive integer"),
        (("config", "set", "database.retention_days", "0"), 2, "positive integer"),
        (("config", "unset", "system.sounds"), 2, "is not set"),
        (("--db", "mysql://x/y", "list"), 1, "unsupported database URL"),
        (("--db", "postgresql://nobody:pw@127.0.0.1:1/none", "list"), 1, "cannot connect"),
    ],
)
def test_bad_input_gets_one_clear_line_and_the_right_exit_code(
    cli: Cli, args: tuple[str, ...], code: int, fragment: str
) -> None:
    assert_clean_error(cli(*args), code, fragment)


def test_database_password_is_masked_in_errors(cli: Cli) -> None:
    result = cli("--db", "postgresql://u:topsecretpw@127.0.0.1:1/db", "list")
    assert "topsecretpw" not in result.stderr + result.stdout
    assert "***" in result.stderr


def test_remove_needs_confirmation_and_cascades(cli: Cli) -> None:
    cli("add", "alpha", "--user-id", "1")
    cli("add", "beta", "--user-id", "2")
    seed_events(cli)
    assert_clean_error(cli("remove", "alpha"), 2, "--yes")
    result = cli("remove", "alpha", "--yes")
    assert result.returncode == 0 and "2 events" in result.stdout
    events = json.loads(cli("history", "--json").stdout)
    assert [e["streamer"] for e in events] == ["beta"]


def test_history_filters_and_formats(cli: Cli) -> None:
    cli("add", "alpha", "--user-id", "1")
    cli("add", "beta", "--user-id", "2")
    seed_events(cli)
    events = json.loads(cli("history", "--json").stdout)
    assert [(e["streamer"], e["event_type"]) for e in events] == [
        ("beta", "stream_start"),
        ("alpha", "stream_end"),
        ("alpha", "stream_start"),
    ]
    assert set(events[0]) == {
        "id",
        "streamer",
        "streamer_id",
        "event_type",
        "previous_status",
        "new_status",
        "kick_event_id",
        "event_timestamp",
        "received_timestamp",
        "processed_timestamp",
        "inferred",
        "event_data",
    }
    assert events[0]["event_timestamp"].endswith("Z")
    only_alpha = json.loads(cli("history", "alpha", "--json").stdout)
    assert {e["streamer"] for e in only_alpha} == {"alpha"}
    recent = json.loads(cli("history", "--since", "2026-03-10T06:00:00Z", "--json").stdout)
    assert [e["kick_event_id"] for e in recent] == ["2:7:start"]
    old = json.loads(cli("history", "--until", "2026-03-09T08:59Z", "--json").stdout)
    assert [e["kick_event_id"] for e in old] == ["1:1:start"]
    ends = json.loads(cli("history", "--type", "stream_end", "--json").stdout)
    assert [e["kick_event_id"] for e in ends] == ["1:1:end"]
    assert len(json.loads(cli("history", "--limit", "1", "--json").stdout)) == 1
    rows = list(csv.DictReader(io.StringIO(cli("history", "--csv").stdout)))
    assert [r["kick_event_id"] for r in rows] == ["2:7:start", "1:1:end", "1:1:start"]
    assert rows[0]["streamer"] == "beta"
    table = cli("history").stdout
    assert "unknown → online" in table and "online → offline" in table


@pytest.mark.parametrize(
    ("zone", "args", "expected"),
    [
        # In UTC, 9 March holds alpha's end; the 8th holds alpha's start, to its last second.
        ("UTC", ("--since", "2026-03-09", "--until", "2026-03-09"), ["1:1:end"]),
        ("UTC", ("--until", "2026-03-08"), ["1:1:start"]),
        ("UTC", ("--since", "2026-03-10"), ["2:7:start"]),
        # In Honolulu (UTC-10) the 9th runs from 10:00 UTC on the 9th to 09:59 UTC on the
        # 10th: beta's start (08:00 UTC on the 10th) is in it, alpha's end (09:00 on the 9th) not.
        (
            "Pacific/Honolulu",
            ("--since", "2026-03-09", "--until", "2026-03-09"),
            ["2:7:start"],
        ),
        ("Pacific/Honolulu", ("--since", "2026-03-10"), []),
    ],
)
def test_history_date_without_time_means_the_whole_local_day(
    tmp_path: Path, zone: str, args: tuple[str, ...], expected: list[str]
) -> None:
    cli = make_cli(tmp_path / "home", TZ=zone)
    cli("add", "alpha", "--user-id", "1")
    cli("add", "beta", "--user-id", "2")
    seed_events(cli)
    result = cli("history", *args, "--json")
    assert result.returncode == 0, result.stderr
    assert [e["kick_event_id"] for e in json.loads(result.stdout)] == expected


def test_history_help_explains_every_option(cli: Cli) -> None:
    text = cli("history", "--help").stdout
    assert "local time zone" in text
    assert "default: 50" in text
    for words in (
        "from the start of that local day",
        "to the end of that local day",
        "only events of this type",
        "only this streamer",
        "JSON output",
        "CSV output",
    ):
        assert words in " ".join(text.split()), words


def test_secrets_are_masked_everywhere_and_encrypted_at_rest(cli: Cli) -> None:
    result = cli("-v", "config", "set", "auth.client_secret", SECRET)
    assert result.returncode == 0
    assert SECRET not in result.stdout + result.stderr
    listing = cli("config", "list")
    assert SECRET not in listing.stdout and "********" in listing.stdout
    assert cli("config", "get", "auth.client_secret").stdout.strip() == "********"
    assert cli("config", "get", "auth.client_secret", "--reveal").stdout.strip() == SECRET
    blobs = b"".join(p.read_bytes() for p in cli.home.iterdir() if p.is_file())
    assert SECRET.encode() not in blobs
    assert cli("config", "unset", "auth.client_secret").returncode == 0
    assert cli("config", "get", "auth.client_secret").stdout.strip() == ""


def test_config_set_get_unset_typed_values(cli: Cli) -> None:
    assert cli("config", "get", "database.retention_days").stdout.strip() == "90"
    assert cli("config", "set", "database.retention_days", "30").returncode == 0
    assert cli("config", "get", "database.retention_days").stdout.strip() == "30"
    assert "30" in cli("config", "list").stdout
    assert cli("config", "unset", "database.retention_days").returncode == 0
    assert cli("config", "get", "database.retention_days").stdout.strip() == "90"


def test_doctor_reports_database_schema_key_source_and_paths(cli: Cli) -> None:
    result = cli("doctor")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"schema       ok    version {SCHEMA_VERSION} (current)" in out
    assert "KICKWATCH_MASTER_KEY" in out
    assert str(cli.home) in out


def test_doctor_without_keyring_or_environment_uses_a_key_file(tmp_path: Path) -> None:
    cli = make_cli(tmp_path / "home")
    cli.env.pop("KICKWATCH_MASTER_KEY")
    result = cli("doctor")
    assert result.returncode == 0
    assert "a key file" in result.stdout and "will be made" in result.stdout
    assert not (cli.home / "master.key").exists()  # doctor only looks
    assert cli("config", "set", "auth.client_secret", SECRET).returncode == 0
    assert (cli.home / "master.key").stat().st_mode & 0o777 == 0o600
    assert "master key   warn  key file" in cli("doctor").stdout


def test_kickwatch_db_environment_selects_the_database(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.db"
    cli = make_cli(tmp_path / "home", KICKWATCH_DB=str(other))
    assert cli("add", "alpha", "--user-id", "1").returncode == 0
    assert other.exists()
    assert not (cli.home / "kickwatch.db").exists()


def test_a_locked_database_gets_a_clear_message_and_loses_nothing(cli: Cli) -> None:
    cli("add", "alpha", "--user-id", "1")
    holder = sqlite3.connect(cli.home / "kickwatch.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli("add", "beta", "--user-id", "2")
    finally:
        holder.rollback()
        holder.close()
    line = assert_clean_error(result, 1, "locked by another program", "kickwatch gave up after")
    assert "tried for" not in line  # what was measured, not a promise of 5 s
    assert cli("add", "beta", "--user-id", "2").returncode == 0
    assert [r["username"] for r in json.loads(cli("list", "--json").stdout)] == ["alpha", "beta"]


@pytest.mark.postgres
def test_the_command_line_works_on_postgresql(cli: Cli, pg_url: str) -> None:
    assert cli("--db", pg_url, "add", "alpha", "--user-id", "1").returncode == 0
    cli.env["KICKWATCH_DB"] = pg_url
    assert [r["username"] for r in json.loads(cli("list", "--json").stdout)] == ["alpha"]
    doctor = cli("doctor")
    assert "postgresql" in doctor.stdout and doctor.returncode == 0


def test_new_streamers_take_the_offline_alert_default(cli: Cli) -> None:
    cli("add", "alpha", "--user-id", "1")
    assert cli("config", "set", "system.notify_on_end", "true").returncode == 0
    cli("add", "beta", "--user-id", "2")
    rows = json.loads(cli("list", "--json").stdout)
    assert [(r["username"], r["notify_on_end"]) for r in rows] == [("alpha", False), ("beta", True)]


def test_quarantine_lists_changes_that_could_not_be_stored(cli: Cli) -> None:
    cli("add", "alpha", "--user-id", "1")
    assert "no changes were set aside" in cli("quarantine").stdout
    assert "quarantine   ok" in cli("doctor").stdout
    database = open_database(str(cli.home / "kickwatch.db"))
    repo = Repository(database, ManualClock(NOW))
    alpha = repo.get_by_username("alpha")
    assert alpha is not None
    change = StatusChange(
        alpha.id, EventType.STREAM_START, NOW, NOW, "1:9:start", "9", title="bad \ud800 title"
    )
    repo.quarantine(change, "a value cannot be stored: surrogates not allowed")
    database.close()
    table = cli("quarantine")
    assert table.returncode == 0, table.stderr
    assert "surrogates not allowed" in table.stdout and "stream_start" in table.stdout
    (row,) = json.loads(cli("quarantine", "--json").stdout)
    assert row["streamer_id"] == alpha.id
    assert row["change"]["kick_event_id"] == "1:9:start"
    assert row["change"]["title"] == "bad \ufffd title"  # kept, made storable
    assert "quarantine   warn  1 changes" in cli("doctor").stdout


def test_inferred_rows_are_marked_in_every_view_and_can_be_left_out(cli: Cli) -> None:
    cli("add", "alpha", "--user-id", "1")
    database = open_database(str(cli.home / "kickwatch.db"))
    repo = Repository(database, ManualClock(NOW))
    alpha = repo.get_by_username("alpha")
    assert alpha is not None
    repo.apply_changes(
        [StatusChange(alpha.id, EventType.STREAM_START, NOW, NOW - timedelta(hours=3), "a", "1")]
    )
    # A start of another broadcast while still online: the end of the first was never seen.
    repo.apply_changes(
        [StatusChange(alpha.id, EventType.STREAM_START, NOW, NOW - timedelta(hours=1), "b", "2")]
    )
    database.close()
    events = json.loads(cli("history", "--json").stdout)
    assert [(e["event_type"], e["inferred"]) for e in events] == [
        ("stream_start", False),
        ("stream_end", True),
        ("stream_start", False),
    ]
    rows = list(csv.DictReader(io.StringIO(cli("history", "--csv").stdout)))
    assert [r["inferred"] for r in rows] == ["False", "True", "False"]
    table = cli("history").stdout
    assert "stream_end (inferred)" in table
    assert table.count("(inferred)") == 1
    real = json.loads(cli("history", "--no-inferred", "--json").stdout)
    assert [e["kick_event_id"] for e in real] == ["b", "a"]
