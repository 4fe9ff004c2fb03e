"""A target URL holds tokens: it never appears in clear in the database file, the log or the
messages kickwatch shows, whether sending works or fails."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kickwatch.alerts import apprise_io
from kickwatch.alerts.targets import Outbox, TargetStore
from kickwatch.domain.errors import KickwatchError
from kickwatch.domain.status import EventType
from tests.alerts.helpers import Alerts, open_store, wait_until
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock

USER, PASSWORD, TOKEN = "hookuser", "pa55w0rd-zq", "s3cr3t-t0ken-xy"


def secrets_of(url: str) -> list[str]:
    return [url, url.split("://", 1)[1], USER, PASSWORD, TOKEN]


def database_bytes(db_path: Path) -> bytes:
    return b"".join(path.read_bytes() for path in db_path.parent.glob(db_path.name + "*"))


async def test_the_url_is_never_in_clear_in_the_database_or_the_log(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # Apprise's own debug lines name the URL it posts to
    clock = ManualClock()
    db_path = tmp_path / "kickwatch.db"
    url = f"json://{USER}:{PASSWORD}@127.0.0.1:{receiver.port}/hook/{TOKEN}"
    ctx = open_store(db_path, clock)
    try:
        record = TargetStore(ctx.database, ctx.secrets, clock).add(url, name="hook")
    finally:
        ctx.close()
    assert record.url_masked == f"json://****@127.0.0.1:{receiver.port}/****/****"

    async with Alerts(open_store(db_path, clock), clock) as alerts:
        await alerts.record("alpha", EventType.STREAM_START)
        await wait_until(lambda: receiver.posts, what="the alert sent")
        receiver.down()
        await alerts.record("beta", EventType.STREAM_START)
        await wait_until(lambda: alerts.failures() >= 1, what="a refused attempt")
        summary = await alerts.db(Outbox(alerts.ctx.database, clock).summary)

    assert receiver.paths == [f"/hook/{TOKEN}"]  # it was really used
    assert any("127.0.0.1" in line for line in caplog.messages)  # Apprise did log the target
    [state] = summary.values()
    assert state.pending == 1 and state.last_error
    shown = [caplog.text, state.last_error, *(h.describe() for h in alerts.health)]
    stored = database_bytes(db_path)
    for secret in secrets_of(url):
        assert secret.encode() not in stored
        for text in shown:
            assert secret not in text


@pytest.mark.parametrize(
    "url",
    [
        f"discord://{TOKEN}",  # a token too short for Discord: refused by Apprise
        f"nosuchservice://{USER}:{PASSWORD}@example.org/{TOKEN}",
        f"{USER}:{PASSWORD}/{TOKEN}",  # not a URL at all
    ],
)
def test_a_refused_url_is_masked_in_the_error_and_the_log(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(KickwatchError) as refused:
        apprise_io.check_url(url)
    for secret in (TOKEN, PASSWORD, USER):
        assert secret not in str(refused.value)
        assert secret not in caplog.text


def test_the_url_is_decrypted_only_with_the_master_key(tmp_path: Path) -> None:
    clock = ManualClock()
    ctx = open_store(tmp_path / "kickwatch.db", clock)
    try:
        store = TargetStore(ctx.database, ctx.secrets, clock)
        url = f"ntfy://{TOKEN}"
        store.add(url, name="phone")
        assert store.url("PHONE") == url
        assert [t.url_masked for t in store.all()] == ["ntfy://****"]
    finally:
        ctx.close()
