"""What a hostile or careless Kick may send, end to end through the real socket and the writer:
text no database can store, numbers JSON should not have, frames of almost a megabyte. Each
costs at most itself; the change is recorded once, with a bounded row, and the next one too."""

from __future__ import annotations

import json

import pytest

from kickwatch.domain.status import EventType
from kickwatch.kick.protocol import STREAMER_IS_LIVE
from kickwatch.monitor import events as ev
from tests.fakekick import FakeKick, wait_for
from tests.monitor.conftest import MakeMonitor


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_url(request: pytest.FixtureRequest) -> str | None:
    """None: the harness's SQLite file; else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


def is_live_frame(channel_id: int, livestream_id: int, **livestream: object) -> str:
    """A StreamerIsLive frame with `livestream` fields on top of Kick's usual ones."""
    data = {
        "livestream": {
            "id": livestream_id,
            "channel_id": channel_id,
            "created_at": "2026-03-01T12:00:00.000000Z",
            **livestream,
        }
    }
    # `json.dumps` writes NaN as the bare word, as a careless server would.
    return json.dumps(
        {"event": STREAMER_IS_LIVE, "channel": f"channel.{channel_id}", "data": json.dumps(data)}
    )


async def test_unstorable_text_and_non_finite_numbers_cost_nothing_and_rows_stay_small(
    fake_kick: FakeKick, make_monitor: MakeMonitor, engine_url: str | None
) -> None:
    alpha, beta = fake_kick.add_channel("alpha"), fake_kick.add_channel("beta")
    harness = make_monitor(engine_url)
    harness.add(alpha)
    harness.add(beta)
    await harness.start()

    frame = is_live_frame(
        alpha.channel_id,
        9001,
        session_title="live \ud800 now\x00!" + "x" * 2_000,
        viewer_count=float("nan"),
        category={"name": "Just \udfff Chatting"},
        padding="p" * 800_000,  # an 800 KB frame, within the parsing limit
    )
    fake_kick.pusher.send_raw(frame, channel=f"channel.{alpha.channel_id}")
    await wait_for(lambda: harness.started("alpha"), what="alpha's start stored")
    fake_kick.go_live("beta")
    await wait_for(lambda: harness.started("beta"), what="the next change stored too")

    assert harness.bus.of(ev.DatabaseUnavailable) == []
    assert harness.ctx.repository.quarantined_changes() == []
    (row,) = harness.rows(EventType.STREAM_START, "alpha")
    stored = json.dumps(row.event_data)
    assert len(stored) < 2_000, "the row keeps the parsed fields, not the frame"
    assert "\\ud800" not in stored and "\\u0000" not in stored
    assert row.event_data["livestream_id"] == "9001"
    assert row.event_data["title"].startswith("live \ufffd now!")
    assert "viewers" not in row.event_data  # NaN is no viewer count
    record = harness.ctx.repository.get_by_username("alpha")
    assert record is not None and record.current_title is not None
    assert "\x00" not in record.current_title and len(record.current_title) <= 300
