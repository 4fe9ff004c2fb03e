"""Bad input and failed lookups on the real `kickwatch add`: one clear line, nothing changed.

Ids must fit a BIGINT, display names are at most 100 characters (typed ones are refused, Kick's
are cut), bad input is echoed back shortened, adding a streamer that is already monitored exits 0
whether it was looked up or given by id (an id that clashes is exit 2), and a failed lookup
names the way around it (`--user-id`/`--channel-id`). The fake Kick answers the lookups.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kickwatch.domain.validation import MAX_DISPLAY_NAME
from tests.cli.helpers import Cli, make_cli
from tests.fakekick import FakeKick

BIGINT_MAX = 2**63 - 1


@pytest.fixture(scope="module")
def kick() -> Iterator[FakeKick]:
    fake = FakeKick().start_in_thread()
    fake.state.add_channel("alice", channel_id=501, user_id=51, display_name="Alice")
    fake.state.add_channel("longname", channel_id=502, user_id=52, display_name="L" * 10_000)
    try:
        yield fake
    finally:
        fake.stop_thread()


@pytest.fixture
def cli(tmp_path: Path, kick: FakeKick) -> Cli:
    return make_cli(tmp_path / "home", **kick.env())


def one_error_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("kickwatch: error")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def usernames(cli: Cli) -> list[str]:
    return [r["username"] for r in json.loads(cli("list", "--json").stdout)]


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--user-id", "99999999999999999999", f"kick_user_id: must be at most {BIGINT_MAX}"),
        ("--user-id", str(BIGINT_MAX + 1), "kick_user_id: must be at most"),
        ("--channel-id", "99999999999999999999", "kick_channel_id: must be at most"),
        ("--user-id", "0", "kick_user_id: must be a positive integer, not 0"),
        ("--user-id", "twelve", "kick_user_id: must be a positive integer, not 'twelve'"),
    ],
)
def test_an_id_that_does_not_fit_is_bad_input(
    cli: Cli, option: str, value: str, fragment: str
) -> None:
    args = ["add", "x", option, value] + (["--user-id", "5"] if option != "--user-id" else [])
    one_error_line(cli(*args), 2, fragment)
    assert usernames(cli) == []


def test_the_largest_bigint_is_accepted(cli: Cli) -> None:
    result = cli("add", "x", "--user-id", str(BIGINT_MAX), "--channel-id", str(BIGINT_MAX))
    assert result.returncode == 0, result.stderr
    [row] = json.loads(cli("list", "--json").stdout)
    assert (row["kick_user_id"], row["kick_channel_id"]) == (BIGINT_MAX, BIGINT_MAX)


def test_bad_input_is_echoed_back_shortened(cli: Cli) -> None:
    huge_number = "9" * 5000
    line = one_error_line(cli("add", "x", "--user-id", huge_number), 2, "(5000 characters)")
    assert len(line) < 300
    long_name = "a" * 10_000
    line = one_error_line(cli("add", long_name, "--user-id", "1"), 2, "(10000 characters)")
    assert "is not a Kick username" in line and len(line) < 300
    line = one_error_line(cli("config", "get", "system." + "x" * 5000), 2, "characters)")
    assert len(line) < 300
    line = one_error_line(cli("history", "--since", "y" * 5000), 2, "not an ISO 8601")
    assert len(line) < 300


def test_a_typed_display_name_is_at_most_100_characters(cli: Cli) -> None:
    one_error_line(
        cli("add", "x", "--user-id", "1", "--display-name", "D" * 10_000),
        2,
        f"display_name: must be at most {MAX_DISPLAY_NAME} characters, not 10000",
    )
    assert usernames(cli) == []
    name = "D" * MAX_DISPLAY_NAME
    assert cli("add", "x", "--user-id", "1", "--display-name", name).returncode == 0
    assert json.loads(cli("list", "--json").stdout)[0]["display_name"] == name


def test_a_display_name_from_kick_is_cut_to_100_characters(cli: Cli) -> None:
    result = cli("add", "longname")
    assert result.returncode == 0, result.stderr
    [row] = json.loads(cli("list", "--json").stdout)
    assert len(row["display_name"]) == MAX_DISPLAY_NAME and row["display_name"].endswith("…")
    assert len(result.stdout) < 300


def test_adding_a_monitored_streamer_again_exits_0_looked_up_or_by_id(cli: Cli) -> None:
    assert cli("add", "alice").returncode == 0
    again = cli("add", "alice")
    assert again.returncode == 0 and "already monitored; nothing changed" in again.stdout
    by_id = cli("add", "alice", "--user-id", "51", "--channel-id", "501")
    assert by_id.returncode == 0 and "already monitored; nothing changed" in by_id.stdout
    assert cli("add", "alice", "--user-id", "51").returncode == 0
    assert cli("add", "bob", "--user-id", "7").returncode == 0
    assert cli("add", "bob", "--user-id", "7").returncode == 0
    assert cli("add", "bob").returncode == 0  # known by name: no lookup needed
    assert usernames(cli) == ["alice", "bob"]


def test_an_id_that_clashes_with_a_stored_streamer_is_bad_input(cli: Cli) -> None:
    cli("add", "alice", "--user-id", "51")
    one_error_line(
        cli("add", "alice", "--user-id", "52"),
        2,
        "alice is already monitored with Kick user id 51",
        "nothing changed",
    )
    one_error_line(cli("add", "carol", "--user-id", "51"), 2, "already monitored")
    [row] = json.loads(cli("list", "--json").stdout)
    assert (row["username"], row["kick_user_id"]) == ("alice", 51)


def test_add_help_says_what_a_repeated_add_does(cli: Cli) -> None:
    text = " ".join(cli("add", "--help").stdout.split())
    assert "already monitored is reported and left unchanged (exit 0)" in text
    assert "use it when the lookup fails" in text


def test_a_failed_lookup_suggests_adding_by_id(cli: Cli) -> None:
    result = cli("add", "ghost", "alice")
    assert result.returncode == 1
    line = one_error_line(result, 1, "ghost:", "kickwatch add ghost --user-id ID [--channel-id ID]")
    assert "alice" not in line
    assert usernames(cli) == ["alice"]  # the other name was added
