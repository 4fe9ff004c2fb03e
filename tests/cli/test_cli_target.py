"""`kickwatch target add|list|test|remove` in a subprocess: Apprise checks the URL, the URL is
stored encrypted and shown masked everywhere, a test alert reaches a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.receiver import Receiver
from tests.cli.helpers import Cli, make_cli

TOKEN = "t0ken-9f8e7d6c"
PASSWORD = "pw-5a4b3c"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.down()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return make_cli(tmp_path / "home")


def said(*results: object) -> str:
    return "".join(getattr(r, "stdout", "") + getattr(r, "stderr", "") for r in results)


def test_add_list_test_and_remove_a_target_with_its_url_masked_throughout(
    cli: Cli, receiver: Receiver
) -> None:
    url = f"json://user:{PASSWORD}@127.0.0.1:{receiver.port}/hook/{TOKEN}"
    masked = f"json://****@127.0.0.1:{receiver.port}/****/****"
    add = cli(
        "target", "add", url, "--name", "hook", "--streamers", "Alpha,beta", "--events", "start"
    )
    assert add.returncode == 0, add.stderr
    assert add.stdout.splitlines()[0] == f"added target hook: {masked} (alpha, beta; start)"
    assert "not monitored (yet): alpha, beta" in add.stdout

    listing = cli("target", "list")
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()
    assert header.split() == [
        "NAME",
        "URL",
        "STREAMERS",
        "EVENTS",
        "PENDING",
        "SENT",
        "FAILED",
        "LAST",
        "ERROR",
    ]
    assert row.split()[:2] == ["hook", masked]
    as_json = cli("target", "list", "--json")
    assert json.loads(as_json.stdout) == [
        {
            "name": "hook",
            "url": masked,
            "streamers": ["alpha", "beta"],
            "events": ["start"],
            "pending": 0,
            "sent": 0,
            "failed": 0,
            "last_error": None,
        }
    ]

    test = cli("target", "test", "HOOK")
    assert test.returncode == 0, test.stderr
    assert test.stdout.strip() == f"sent a test alert to hook ({masked})"
    assert receiver.titles() == ["kickwatch test alert"]
    assert receiver.paths == [f"/hook/{TOKEN}"]

    doctor = cli("doctor")
    assert f"target       ok    hook {masked}: 0 sent" in doctor.stdout

    remove = cli("target", "remove", "hook")
    assert remove.returncode == 0, remove.stderr
    assert remove.stdout.strip() == f"removed target hook ({masked})"
    empty = cli("target", "list")
    assert empty.stdout.strip() == "no targets yet: kickwatch target add URL"

    shown = said(add, listing, as_json, test, doctor, remove, empty)
    stored = b"".join(p.read_bytes() for p in cli.home.glob("kickwatch.db*"))
    for secret in (url, TOKEN, PASSWORD):
        assert secret not in shown
        assert secret.encode() not in stored


def test_a_test_alert_the_receiver_refuses_is_exit_1_with_the_reason_masked(
    cli: Cli, receiver: Receiver
) -> None:
    url = receiver.url(f"hook/{TOKEN}")
    assert cli("target", "add", url).returncode == 0
    receiver.down()
    test = cli("target", "test", "json-127.0.0.1")
    assert test.returncode == 1
    assert test.stderr.startswith("kickwatch: error: target json-127.0.0.1 (json://127.0.0.1:")
    assert "Connection error" in test.stderr
    assert TOKEN not in said(test) and "Traceback" not in test.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nosuch://host/" + TOKEN],
            "kickwatch: error: target URL: unknown scheme nosuch:// (Apprise knows no such service",
        ),
        (
            ["discord://" + TOKEN],
            "kickwatch: error: target URL: discord://**** is not a valid discord:// URL",
        ),
        (["ntfy://topic", "--events", "live"], "kickwatch: error: events: live given;"),
        (["ntfy://topic", "--events", ","], "kickwatch: error: events: nothing given; use start"),
        (["ntfy://topic", "--name", "no spaces"], "kickwatch: error: name: 'no spaces' is not"),
        (["ntfy://topic", "--streamers", "a b"], "kickwatch: error: "),
    ],
)
def test_bad_input_is_refused_with_exit_2_and_one_masked_line(
    cli: Cli, args: list[str], message: str
) -> None:
    result = cli("target", "add", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert TOKEN not in result.stderr
    assert json.loads(cli("target", "list", "--json").stdout) == []


def test_the_url_may_come_from_standard_input_and_names_stay_unique(cli: Cli) -> None:
    first = cli("target", "add", "-", input=f"ntfy://{TOKEN}\n")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(
        "added target ntfy: ntfy://**** (every streamer; start,end,change)"
    )
    second = cli("target", "add", f"ntfys://ntfy.sh/{TOKEN}")
    assert second.stdout.startswith("added target ntfys-ntfy.sh: ntfys://ntfy.sh/****")
    taken = cli("target", "add", "ntfy://other", "--name", "NTFY")
    assert taken.returncode == 2
    assert taken.stderr.strip() == "kickwatch: error: a target named 'NTFY' exists already"
    missing = cli("target", "remove", "nope")
    assert missing.returncode == 2
    assert "no target named 'nope'; targets: ntfy, ntfys-ntfy.sh" in missing.stderr
    assert TOKEN not in said(first, second, taken, missing)


def test_a_target_may_take_change_alerts_only_and_lists_them(cli: Cli) -> None:
    add = cli("target", "add", f"ntfy://{TOKEN}", "--name", "changes", "--events", "Change")
    assert add.returncode == 0, add.stderr
    assert add.stdout.startswith("added target changes: ntfy://**** (every streamer; change)")
    default = cli("target", "add", f"ntfy://{TOKEN}-2", "--name", "every")
    assert default.stdout.startswith("added target every: ntfy://**** (every streamer; start,end,")
    listing = cli("target", "list")
    rows = {line.split()[0]: line.split()[3] for line in listing.stdout.splitlines()[1:]}
    assert rows == {"changes": "change", "every": "start,end,change"}
    listed = json.loads(cli("target", "list", "--json").stdout)
    assert [(t["name"], t["events"]) for t in listed] == [
        ("changes", ["change"]),
        ("every", ["start", "end", "change"]),
    ]
    helped = " ".join(cli("target", "add", "-h").stdout.split())
    assert "start (went live), end (went offline), change (a live stream's new title" in helped
