"""The real `kickwatch run` and `kickwatch doctor --connection` in a subprocess against the fake
Kick: JSON lines, a clean stop on SIGINT/SIGTERM with writes flushed, exit 1 on a fatal code."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import Cli, kickwatch_command, make_cli
from tests.fakekick import FakeKick, wait_for_sync

HISTORY_FIELDS = {
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


class RunningMonitor:
    """`kickwatch run --json` in a subprocess, its stdout parsed line by line as it comes."""

    def __init__(self, cli: Cli, *args: str) -> None:
        self.process = subprocess.Popen(
            [*kickwatch_command(), "run", *args],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.lines.append(json.loads(line))
            except ValueError:  # without --json: lines for people
                self.lines.append({"text": line.rstrip("\n")})

    def changes(self, streamer: str, event_type: str) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines
            if line.get("streamer") == streamer and line.get("event_type") == event_type
        ]

    def states(self) -> list[str]:
        return [line["state"] for line in self.lines if line.get("event") == "connection_state"]

    def finish(self, timeout: float) -> tuple[int, str]:
        """Wait for the exit; the exit code and stderr."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def cli(fake_kick_thread: FakeKick, tmp_path: Path) -> Cli:
    return make_cli(tmp_path / "home", **fake_kick_thread.env())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_run_json_prints_changes_and_stops_cleanly_with_writes_flushed(
    fake_kick_thread: FakeKick, cli: Cli, signum: signal.Signals
) -> None:
    kick = fake_kick_thread
    alpha = kick.add_channel("alpha")
    beta = kick.add_channel("beta")
    assert cli("add", "alpha", "beta").returncode == 0
    run = RunningMonitor(cli, "--json")
    try:
        wait_for_sync(
            lambda: (
                "connected" in run.states()
                and kick.pusher.subscribers(f"channel.{alpha.channel_id}")
                and kick.pusher.subscribers(f"channel.{beta.channel_id}")
            ),
            10,
            what="kickwatch run connected",
        )
        # The start-up check has seen both offline (else a start would leave "unknown").
        wait_for_sync(
            lambda: {s["status"] for s in json.loads(cli("list", "--json").stdout)} == {"offline"},
            10,
            what="the start-up check stored",
        )
        kick.go_live("alpha")
        wait_for_sync(lambda: run.changes("alpha", "stream_start"), what="the start line")
        kick.go_offline("alpha")
        wait_for_sync(lambda: run.changes("alpha", "stream_end"), what="the end line")
        for line in run.changes("alpha", "stream_start") + run.changes("alpha", "stream_end"):
            assert set(line) == HISTORY_FIELDS
        [start] = run.changes("alpha", "stream_start")
        assert (start["previous_status"], start["new_status"]) == ("offline", "online")
        assert start["event_data"]["source"] == "pusher"

        # A change pushed just before the signal: a pong to a later ping proves it was read.
        [connection] = kick.pusher.open_connections
        pongs = connection.pongs
        kick.go_live("beta")
        kick.pusher.ping_clients()
        wait_for_sync(lambda: connection.pongs > pongs, what="the pong after the push")
        asked = time.monotonic()
        run.process.send_signal(signum)
        code, stderr = run.finish(timeout=5)
        took = time.monotonic() - asked
    finally:
        run.kill()

    assert code == 0, stderr
    assert took < 2.0, f"stopping took {took:.2f} s"
    assert "Traceback" not in stderr
    assert run.states()[0] == "connecting" and run.states()[-1] == "closed"
    history = json.loads(cli("history", "beta", "--json").stdout)
    assert [event["event_type"] for event in history] == ["stream_start"]


def test_run_exits_1_with_the_reason_when_kick_refuses_the_app_key(
    fake_kick_thread: FakeKick, cli: Cli
) -> None:
    cli.env["KICKWATCH_PUSHER_URL"] = fake_kick_thread.pusher.url(app_key="rotatedkey000000")
    run = RunningMonitor(cli)
    try:
        code, stderr = run.finish(timeout=10)
    finally:
        run.kill()
    assert code == 1
    assert "kickwatch: error: Kick rejected the Pusher app key (4001)" in stderr
    assert any(line.get("text", "").startswith("connection: stopped") for line in run.lines)
    assert "Traceback" not in stderr


def test_doctor_connection_is_recorded_in_the_history(fake_kick_thread: FakeKick, cli: Cli) -> None:
    doctor = cli("doctor", "--connection")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "kick         ok" in doctor.stdout
    assert fake_kick_thread.control.requests_to("/api/v2/channels/kick", "web")

    history = json.loads(cli("history", "--type", "connection_test", "--json").stdout)
    assert len(history) == 1
    assert history[0]["event_type"] == "connection_test"
    assert history[0]["event_data"]["ok"] is True
    assert "kick.com reachable" in history[0]["event_data"]["detail"]


def test_run_stops_with_a_clear_message_when_its_database_file_is_deleted(
    fake_kick_thread: FakeKick, cli: Cli
) -> None:
    kick = fake_kick_thread
    alpha = kick.add_channel("alpha")
    assert cli("add", "alpha").returncode == 0
    run = RunningMonitor(cli, "--json")
    try:
        wait_for_sync(
            lambda: (
                "connected" in run.states()
                and kick.pusher.subscribers(f"channel.{alpha.channel_id}")
            ),
            10,
            what="kickwatch run connected",
        )
        for path in cli.home.glob("kickwatch.db*"):  # rm kickwatch.db*
            path.unlink()
        kick.go_live("alpha")
        code, stderr = run.finish(timeout=10)
    finally:
        run.kill()
    assert code == 1
    assert run.changes("alpha", "stream_start") == []  # never reported as stored
    errors = [line for line in stderr.splitlines() if line.startswith("kickwatch: error:")]
    assert len(errors) == 1, stderr
    assert "was deleted while kickwatch was running" in errors[0]
    # The push, and what a reconciliation still in flight may have queued with it.
    assert re.search(r"\b\d+ changes? (was|were) not stored", errors[0]), errors[0]
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_two_run_processes_on_one_sqlite_file_share_it_without_false_outages(
    fake_kick_thread: FakeKick, cli: Cli
) -> None:
    kick = fake_kick_thread
    names = [f"s{i:02d}" for i in range(30)]
    channels = [kick.add_channel(name) for name in names]
    assert cli("add", *names).returncode == 0
    runs = [RunningMonitor(cli, "--json"), RunningMonitor(cli, "--json")]
    try:
        wait_for_sync(
            lambda: all(
                len(kick.pusher.subscribers(f"channel.{c.channel_id}")) == 2 for c in channels
            ),
            15,
            what="both monitors subscribed",
        )
        for name in names:
            kick.go_live(name)
        for name in names:
            kick.go_offline(name)

        def announced(event_type: str) -> int:
            return sum(len(run.changes(n, event_type)) for run in runs for n in names)

        wait_for_sync(
            lambda: announced("stream_start") >= 30 and announced("stream_end") >= 30,
            20,
            what="every change announced",
        )
        # A CLI reading beside two writers.
        assert cli("list").returncode == 0
        for run in runs:
            run.process.send_signal(signal.SIGTERM)
        results = [run.finish(timeout=10) for run in runs]
    finally:
        for run in runs:
            run.kill()
    for code, stderr in results:
        assert code == 0, stderr
        assert "unavailable" not in stderr and "Traceback" not in stderr
    for run in runs:
        assert not [line for line in run.lines if "unavailable" in json.dumps(line)]
    # Each change stored once and announced by exactly one of the two.
    assert announced("stream_start") == 30 and announced("stream_end") == 30
    history = json.loads(cli("history", "--json").stdout)
    assert sorted(e["event_type"] for e in history) == ["stream_end"] * 30 + ["stream_start"] * 30
