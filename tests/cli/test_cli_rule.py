"""`kickwatch rule show|set|clear` through the real command."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from kickwatch.domain.rules import DetailsSeen
from kickwatch.domain.status import EventType
from kickwatch.store import Repository, StatusChange, open_database
from kickwatch.store.rules import RuleStore
from tests.cli.helpers import Cli, make_cli
from tests.clock import ManualClock
from tests.rules.sounds import write_wav


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    made = make_cli(tmp_path / "home")
    added = made("add", "alpha", "--user-id", "1", "--channel-id", "101")
    assert added.returncode == 0, added.stderr
    return made


def error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("kickwatch: error")]
    assert len(lines) == 1, result.stderr
    return str(lines[0])


def test_set_then_show_keeps_every_option(cli: Cli, tmp_path: Path) -> None:
    bell = write_wav(tmp_path / "sounds" / "bell.wav")
    result = cli(
        "rule",
        "set",
        "Alpha",
        "--keywords",
        " Elden Ring, speedrun ,elden ring",
        "--categories",
        "Chess",
        "--title-changes",
        "--sound",
        str(bell),
        "--open",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("alpha: title has 'Elden Ring' or 'speedrun'")
    shown = cli("rule", "show", "alpha", "--json")
    assert json.loads(shown.stdout) == {
        "keywords": ["Elden Ring", "speedrun"],
        "categories": ["Chess"],
        "title_changes": True,
        "sound": str(bell.resolve()),
        "open_on_live": True,
    }
    table = cli("rule", "show").stdout.splitlines()
    assert table[0].split() == ["STREAMER", "KEYWORDS", "CATEGORIES", "CHANGES", "SOUND", "OPEN"]
    assert table[1].startswith("alpha") and "Elden Ring, speedrun" in table[1]
    assert table[1].rstrip().endswith("yes")


def test_options_left_out_keep_their_value_and_switches_turn_off(cli: Cli, tmp_path: Path) -> None:
    bell = write_wav(tmp_path / "bell.wav")
    cli("rule", "set", "alpha", "--keywords", "ranked", "--sound", str(bell), "--open")
    result = cli("rule", "set", "alpha", "--no-open", "--no-sound", "--title-changes")
    assert result.returncode == 0, result.stderr
    assert json.loads(cli("rule", "show", "alpha", "--json").stdout) == {
        "keywords": ["ranked"],
        "categories": [],
        "title_changes": True,
        "sound": None,
        "open_on_live": False,
    }


def test_a_rule_emptied_by_set_is_removed(cli: Cli) -> None:
    cli("rule", "set", "alpha", "--keywords", "ranked")
    result = cli("rule", "set", "alpha", "--keywords", "")
    assert result.stdout.strip() == "alpha: the rule asks for nothing now and was removed"
    assert cli("rule", "show").stdout.strip() == "no rules: every stream is announced as usual"


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "missing.wav", "does not exist"),
        (lambda d: d, "is not a file"),
        (lambda d: (d / "notes.wav").write_text("not a sound") and d / "notes.wav", "not a sound"),
    ],
    ids=["missing", "folder", "text-named-wav"],
)
def test_a_sound_that_cannot_be_played_is_refused_and_nothing_is_stored(
    cli: Cli,
    tmp_path: Path,
    make,
    fragment: str,  # type: ignore[no-untyped-def]
) -> None:
    path = make(tmp_path)
    result = cli("rule", "set", "alpha", "--sound", str(path), "--open")
    assert result.returncode == 2
    line = error_line(result)
    assert line.startswith("kickwatch: error: sound: ") and fragment in line
    assert "has no rule" in cli("rule", "show", "alpha").stdout


def test_clear_removes_the_rule_once(cli: Cli) -> None:
    cli("rule", "set", "alpha", "--open")
    assert cli("rule", "clear", "alpha").stdout.strip() == "alpha: rule removed"
    again = cli("rule", "clear", "alpha")
    assert again.returncode == 0
    assert again.stdout.strip() == "alpha had no rule; nothing changed"


def test_bad_input_is_one_clear_line(cli: Cli) -> None:
    unknown = cli("rule", "set", "ghost", "--open")
    assert unknown.returncode == 2
    assert "no streamer named ghost is monitored" in error_line(unknown)
    nothing = cli("rule", "set", "alpha")
    assert nothing.returncode == 2 and "nothing to change" in error_line(nothing)
    too_many = cli("rule", "set", "alpha", "--keywords", ",".join(f"k{i}" for i in range(30)))
    assert too_many.returncode == 2 and "keywords: at most 20" in error_line(too_many)
    no_action = cli("rule")
    assert no_action.returncode == 2 and "Traceback" not in no_action.stderr


def seed_change(cli: Cli) -> None:
    """alpha goes live titled "Warm-up", then renames the stream "Ranked" (stored directly)."""
    database = open_database(str(cli.home / "kickwatch.db"))
    clock = ManualClock()
    repo = Repository(database, clock)
    alpha = repo.get_by_username("alpha")
    assert alpha is not None
    began = clock.now() - timedelta(minutes=30)
    repo.apply_changes(
        [
            StatusChange(
                alpha.id, EventType.STREAM_START, began, began, "101:9:start", "9", title="Warm-up"
            )
        ]
    )
    RuleStore(database, clock).record_details(
        [DetailsSeen(alpha.id, clock.now(), "pusher", title="Ranked", livestream_id="9")]
    )
    database.close()


def test_history_lists_title_changes_apart_from_status_changes(cli: Cli) -> None:
    seed_change(cli)
    table = cli("history", "--changes").stdout.splitlines()
    assert table[0].split() == ["TIME", "(UTC)", "STREAMER", "CHANGE", "FROM", "TO"]
    assert table[1].split()[2:] == ["alpha", "title", "change", "Warm-up", "Ranked"]
    [change] = json.loads(cli("history", "--changes", "--json").stdout)
    assert (change["change_type"], change["previous_value"], change["new_value"]) == (
        "title",
        "Warm-up",
        "Ranked",
    )
    csv_lines = cli("history", "--changes", "--csv", "alpha").stdout.splitlines()
    assert csv_lines[0].startswith("id,streamer,streamer_id,change_type,previous_value,new_value")
    assert len(csv_lines) == 2
    statuses = json.loads(cli("history", "--json").stdout)
    assert [e["event_type"] for e in statuses] == ["stream_start"]  # the change is not one
    mixed = cli("history", "--changes", "--type", "stream_start")
    assert mixed.returncode == 2 and "--changes: cannot be combined" in error_line(mixed)
