"""The fake Kick itself: thread mode (for subprocess tests), env(), and state shared by servers."""

from __future__ import annotations

import json

import httpx
from websockets.sync.client import connect

from tests.fakekick import FakeKick, wait_for_sync


def test_thread_mode_serves_http_and_pushes_from_another_thread(
    fake_kick_thread: FakeKick,
) -> None:
    kick = fake_kick_thread
    env = kick.env()
    assert set(env) == {
        "KICKWATCH_PUSHER_URL",
        "KICKWATCH_API_URL",
        "KICKWATCH_AUTH_URL",
        "KICKWATCH_WEB_URL",
    }
    assert env["KICKWATCH_PUSHER_URL"].startswith("ws://127.0.0.1:")
    channel = kick.add_channel("alpha", channel_id=668, user_id=7)
    with connect(kick.pusher_url) as ws:
        established = json.loads(ws.recv(timeout=5))
        assert established["event"] == "pusher:connection_established"
        assert json.loads(established["data"])["activity_timeout"] == 120
        ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": "channel.668"}}))
        assert json.loads(ws.recv(timeout=5))["event"] == "pusher_internal:subscription_succeeded"
        wait_for_sync(lambda: kick.pusher.subscribers("channel.668"))
        live = kick.go_live("alpha", title="from the test thread")
        frame = json.loads(ws.recv(timeout=5))
    assert frame["event"] == "App\\Events\\StreamerIsLive"
    assert frame["channel"] == "channel.668"
    data = json.loads(frame["data"])  # a JSON string, like Kick
    assert data["livestream"] == {
        "id": live.id,
        "channel_id": channel.channel_id,
        "session_title": "from the test thread",
        "source": None,
        "created_at": live.started_at.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
    }
    body = httpx.get(f"{kick.web_url}/api/v2/channels/alpha", timeout=5).json()
    assert body["id"] == 668 and body["livestream"]["id"] == live.id
    kick.go_offline("alpha")
    assert (
        httpx.get(f"{kick.web_url}/api/v2/channels/alpha", timeout=5).json()["livestream"] is None
    )


def test_each_role_has_its_own_server(fake_kick_thread: FakeKick) -> None:
    kick = fake_kick_thread
    assert len({kick.api_url, kick.auth_url, kick.web_url}) == 3
    assert httpx.get(f"{kick.api_url}/api/v2/channels/alpha", timeout=5).status_code == 404
    token = httpx.post(
        f"{kick.auth_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": kick.client_id,
            "client_secret": kick.client_secret,
        },
        timeout=5,
    )
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    missing = httpx.get(f"{kick.web_url}/api/v2/channels/nobody", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"message": "No query results for model [App\\Models\\Channel]."}
    assert [r.path for r in kick.requests][-1] == "/api/v2/channels/nobody"


async def test_async_fixture_stops_cleanly(fake_kick: FakeKick) -> None:
    fake_kick.add_channel("beta")
    fake_kick.go_live("beta")  # no subscriber: nothing to deliver, nothing breaks
    await fake_kick.pusher.drain()
    assert fake_kick.state.channels["beta"].live is not None
