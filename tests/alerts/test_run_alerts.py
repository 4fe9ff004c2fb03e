"""The real `kickwatch run` against the fake Kick, alerting a real receiver on 127.0.0.1: a go-live
arrives once, a receiver that is down is reported as failing in the JSON lines, and after a
restart what was waiting is sent and what was sent is not sent again; a live title change that a
streamer's rule asks for reaches the targets whose events include it, once."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.alerts.receiver import Receiver
from tests.cli.helpers import Cli, make_cli
from tests.fakekick import FakeChannel, FakeKick, wait_for_sync
from tests.fakekick.fixtures import fake_kick_thread
from tests.monitor.test_headless import RunningMonitor
from tests.monitor.test_stream_changes import push_update

__all__ = ["fake_kick_thread"]


@pytest.fixture
def cli(fake_kick_thread: FakeKick, tmp_path: Path) -> Cli:
    return make_cli(tmp_path / "home", **fake_kick_thread.env())


def started(cli: Cli, kick: FakeKick, channels: list[FakeChannel]) -> RunningMonitor:
    run = RunningMonitor(cli, "--json")
    wait_for_sync(
        lambda: (
            "connected" in run.states()
            and all(kick.pusher.subscribers(f"channel.{c.channel_id}") for c in channels)
        ),
        15,
        what="kickwatch run connected",
    )
    wait_for_sync(
        lambda: all(s["status"] != "unknown" for s in json.loads(cli("list", "--json").stdout)),
        15,
        what="the start-up check stored",
    )
    return run


def stop(run: RunningMonitor) -> str:
    run.process.send_signal(signal.SIGTERM)
    code, stderr = run.finish(timeout=10)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    return stderr


def test_run_alerts_a_target_once_across_an_outage_and_a_restart(
    fake_kick_thread: FakeKick, cli: Cli, receiver: Receiver
) -> None:
    kick = fake_kick_thread
    names = ["alpha", "beta", "gamma"]
    channels = [kick.add_channel(name) for name in names]
    assert cli("add", *names).returncode == 0
    assert cli("target", "add", receiver.url(), "--name", "hook").returncode == 0

    run = started(cli, kick, channels)
    try:
        kick.go_live("alpha")
        wait_for_sync(lambda: receiver.posts, 15, what="alpha's alert at the receiver")
        receiver.down()
        kick.go_live("beta")
        wait_for_sync(
            lambda: any(
                line.get("event") == "alert_target" and line.get("state") == "failing"
                for line in run.lines
            ),
            15,
            what="the target reported failing",
        )
        stderr = stop(run)
    finally:
        run.kill()
    [failing] = [line for line in run.lines if line.get("event") == "alert_target"]
    assert failing["target"] == "hook" and failing["waiting"] == 1
    assert failing["url"] == f"json://127.0.0.1:{receiver.port}/****/****"
    assert "s3cr3t-t0ken" not in json.dumps(run.lines) + stderr
    receiver.up()

    again = started(cli, kick, channels)
    try:
        wait_for_sync(lambda: len(receiver.posts) >= 2, 15, what="beta's alert after the restart")
        kick.go_live("gamma")
        wait_for_sync(lambda: len(receiver.posts) >= 3, 15, what="gamma's alert")
        stop(again)
    finally:
        again.kill()
    assert receiver.titles() == ["alpha is live", "beta is live", "gamma is live"]
    listing = json.loads(cli("target", "list", "--json").stdout)
    assert [(t["pending"], t["sent"], t["failed"]) for t in listing] == [(0, 3, 0)]


def test_run_sends_a_title_change_once_to_the_targets_whose_events_ask_for_it(
    fake_kick_thread: FakeKick, cli: Cli, receiver: Receiver
) -> None:
    kick = fake_kick_thread
    channels = [kick.add_channel(name) for name in ("alpha", "beta")]
    assert cli("add", "alpha", "beta").returncode == 0
    assert cli("rule", "set", "alpha", "--title-changes").returncode == 0
    assert cli("target", "add", receiver.url("all"), "--name", "all").returncode == 0
    lives = cli("target", "add", receiver.url("lives"), "--name", "lives", "--events", "start,end")
    assert lives.returncode == 0, lives.stderr

    run = started(cli, kick, channels)
    try:
        live = kick.go_live("alpha", title="Warm-up")
        wait_for_sync(lambda: len(receiver.posts) == 2, 15, what="alpha's go-live at both")
        live.title = "Ranked grind"
        push_update(kick, channels[0], live)  # LivestreamUpdated, twice on both channel names
        wait_for_sync(lambda: len(receiver.posts) == 3, 15, what="the title change")
        stop(run)
    finally:
        run.kill()

    again = started(cli, kick, channels)  # its start-up poll sees the same title: no news
    try:
        kick.go_live("beta")
        wait_for_sync(lambda: len(receiver.posts) == 5, 15, what="beta's go-live at both")
        stop(again)
    finally:
        again.kill()
    sent = list(zip(receiver.paths, receiver.titles(), receiver.messages(), strict=True))
    assert [(path, title) for path, title, _ in sent if path == "/lives"] == [
        ("/lives", "alpha is live"),
        ("/lives", "beta is live"),
    ]
    assert [(title, message) for path, title, message in sent if path == "/all"] == [
        ("alpha is live", "Warm-up\nhttps://kick.com/alpha"),
        ("alpha changed the stream title", "Title: Warm-up → Ranked grind\nhttps://kick.com/alpha"),
        ("beta is live", "Fake stream\nhttps://kick.com/beta"),  # a push names no category
    ]
    listing = json.loads(cli("target", "list", "--json").stdout)
    assert [(t["name"], t["events"], t["sent"]) for t in listing] == [
        ("all", ["start", "end", "change"], 3),
        ("lives", ["start", "end"], 2),
    ]
