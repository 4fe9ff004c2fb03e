"""Kick's REST side misbehaving during reconciliation (429 with Retry-After, 403 from
Cloudflare), and `kickwatch add` resolving names against the fake Kick."""

from __future__ import annotations

import json
from pathlib import Path

from kickwatch.kick.errors import BLOCKED_MESSAGE
from kickwatch.kick.rest import KickApi
from kickwatch.monitor import events as ev
from kickwatch.monitor.lookup import endpoints_for
from tests.cli.helpers import make_cli
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor
from tests.monitor.helpers import RecordingSleep

LIVESTREAMS = "/public/v1/users/livestreams"


async def test_a_429_during_reconciliation_waits_as_long_as_retry_after_says(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    harness = make_monitor()
    harness.add(fake_kick.add_channel("alpha"))
    sleep = RecordingSleep(cap=0.01)
    harness.monitor.api = KickApi(
        harness.http,
        endpoints_for(harness.ctx),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        clock=harness.ctx.clock,
        sleep=sleep,
    )
    await harness.start()

    fake_kick.control.clear_log()
    fake_kick.control.fail(LIVESTREAMS, 429, retry_after="7")
    fake_kick.go_live("alpha", push=False)
    await harness.monitor.reconcile_now()

    assert sleep.delays == [7.0]
    assert [r.status for r in fake_kick.control.requests_to(LIVESTREAMS)] == [429, 200]
    assert len(harness.started("alpha")) == 1
    assert not harness.bus.of(ev.ErrorOccurred)


async def test_a_403_from_kick_com_is_reported_once_in_words_and_not_hammered(
    fake_kick: FakeKick, make_monitor: MakeMonitor
) -> None:
    fake_kick.control.unofficial_block = "cloudflare"
    harness = make_monitor(credentials=False)
    for name in ("alpha", "beta", "gamma"):
        harness.add(fake_kick.add_channel(name))
    await harness.start(connected=False)
    await wait_for(lambda: harness.bus.of(ev.ErrorOccurred), what="the blocked error")
    await harness.monitor.reconcile_now()

    errors = harness.bus.of(ev.ErrorOccurred)
    assert [e.message for e in errors] == [BLOCKED_MESSAGE]
    assert "Kick blocked this lookup" in errors[0].message and not errors[0].fatal
    assert not harness.bus.of(ev.ReconcileCompleted)

    fake_kick.control.unofficial_block = None  # Cloudflare lets us through again
    fake_kick.go_live("beta", push=False)
    await harness.monitor.reconcile_now()
    assert len(harness.started("beta")) == 1


def test_kickwatch_add_resolves_every_detail_and_reports_failures_in_words(
    fake_kick_thread: FakeKick, tmp_path: Path
) -> None:
    kick = fake_kick_thread
    alpha = kick.add_channel("alpha", display_name="AlphaCase")
    cli = make_cli(tmp_path / "home", **kick.env())

    added = cli("add", "https://kick.com/Alpha")
    assert added.returncode == 0, added.stderr
    assert f"Kick user id {alpha.user_id}, channel {alpha.channel_id}" in added.stdout
    [record] = json.loads(cli("list", "--json").stdout)
    assert record["kick_user_id"] == alpha.user_id
    assert record["kick_channel_id"] == alpha.channel_id
    assert record["display_name"] == "AlphaCase"
    assert record["slug"] == "alpha" and record["username"] == "alpha"
    assert record["profile_picture_url"] == alpha.profile_pic

    again = cli("add", "alpha")
    assert again.returncode == 0
    assert "alpha is already monitored; nothing changed" in again.stdout
    assert json.loads(cli("list", "--json").stdout) == [record]

    unknown = cli("add", "nosuchname")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "no Kick channel named nosuchname" in unknown.stderr

    kick.add_channel("beta")
    kick.control.unofficial_block = "policy"
    blocked = cli("add", "beta")
    assert blocked.returncode == 1 and "Traceback" not in blocked.stderr
    assert "Kick blocked this lookup (HTTP 403)" in blocked.stderr
    assert [r["username"] for r in json.loads(cli("list", "--json").stdout)] == ["alpha"]
