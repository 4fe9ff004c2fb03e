"""The fake Kick: a real Pusher WebSocket server and real HTTP servers on 127.0.0.1, sharing one
`FakeKickState`, with a control API that tests use to make streamers go live or offline and to
break things on purpose.

Use it on the test's event loop (`async with FakeKick() as kick`) or in a background thread with
its own loop (`FakeKick().start_in_thread()` ... `stop_thread()`) when the code under test runs
in a subprocess. `env()` gives the `KICKWATCH_*_URL` variables that point kickwatch at it.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from types import TracebackType

from kickwatch.kick.endpoints import Endpoints
from tests.fakekick.http_server import FakeHttpControl, FakeHttpServers, RecordedRequest
from tests.fakekick.pusher_server import APP_KEY, FakePusherServer
from tests.fakekick.state import FakeChannel, FakeKickState, FakeLivestream
from tests.fakekick.waiting import wait_for, wait_for_sync

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-do-not-print"

__all__ = [
    "APP_KEY",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "FakeChannel",
    "FakeHttpControl",
    "FakeKick",
    "FakeKickState",
    "FakeLivestream",
    "FakePusherServer",
    "RecordedRequest",
    "wait_for",
    "wait_for_sync",
]


class FakeKick:
    """Kick on loopback: `pusher` (WebSocket), `http` (token, official, unofficial), `state`."""

    def __init__(
        self,
        state: FakeKickState | None = None,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        activity_timeout: int = 120,
    ) -> None:
        self.state = state or FakeKickState()
        self.pusher = FakePusherServer(activity_timeout=activity_timeout)
        self.control = FakeHttpControl(self.state, client_id=client_id, client_secret=client_secret)
        self.http = FakeHttpServers(self.control)
        self.client_id = client_id
        self.client_secret = client_secret
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeKick:
        """Start every server on the running loop (HTTP servers in their own threads)."""
        self.http.start()
        await self.pusher.start()
        return self

    async def stop(self) -> None:
        """Stop every server."""
        await self.pusher.stop()
        await asyncio.to_thread(self.http.stop)

    async def __aenter__(self) -> FakeKick:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start_in_thread(self) -> FakeKick:
        """Run the fake in a background thread with its own event loop; returns when ready."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._thread_loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-kick", daemon=True)
        self._thread.start()
        ready.wait(timeout=30)
        if failure:
            raise failure[0]
        return self

    def stop_thread(self) -> None:
        """Stop the fake started by `start_in_thread` and join its thread."""
        if self._thread is None or self._thread_loop is None:
            return
        self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
        self._thread.join(timeout=30)
        self._thread = None
        self._thread_loop = None

    # --- where it is -------------------------------------------------------------------

    @property
    def pusher_url(self) -> str:
        """The Pusher WebSocket URL (with Kick's app key)."""
        return self.pusher.url()

    @property
    def api_url(self) -> str:
        """Base of the official API."""
        return self.http.url("api")

    @property
    def auth_url(self) -> str:
        """Base of the token service."""
        return self.http.url("auth")

    @property
    def web_url(self) -> str:
        """Base of kick.com (the unofficial API)."""
        return self.http.url("web")

    def endpoints(self) -> Endpoints:
        """`Endpoints` pointing at this fake."""
        return Endpoints(self.pusher_url, self.api_url, self.auth_url, self.web_url)

    def env(self) -> dict[str, str]:
        """The `KICKWATCH_*_URL` variables pointing at this fake, for subprocesses."""
        return {
            "KICKWATCH_PUSHER_URL": self.pusher_url,
            "KICKWATCH_API_URL": self.api_url,
            "KICKWATCH_AUTH_URL": self.auth_url,
            "KICKWATCH_WEB_URL": self.web_url,
        }

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every HTTP request the fake answered (a copy)."""
        with self.control.lock:
            return list(self.control.requests)

    # --- the world ---------------------------------------------------------------------

    def add_channel(
        self,
        slug: str,
        *,
        channel_id: int | None = None,
        user_id: int | None = None,
        display_name: str | None = None,
    ) -> FakeChannel:
        """Create a Kick channel (ids allocated unless given)."""
        return self.state.add_channel(
            slug, channel_id=channel_id, user_id=user_id, display_name=display_name
        )

    def go_live(
        self,
        slug: str,
        push: bool = True,
        *,
        title: str | None = None,
        started_at: datetime | None = None,
        names: tuple[str, ...] = ("channel.{id}", "channel_{id}"),
    ) -> FakeLivestream:
        """Start a broadcast: polls see it, and StreamerIsLive is pushed on each of `names`."""
        with self.state.lock:
            live = self.state.start_stream(slug, started_at=started_at)
            if title is not None:
                live.title = title
            channel = self.state.channels[slug.lower()]
        if push:
            self.pusher.push_streamer_is_live(
                channel.channel_id,
                live.id,
                created_at=live.started_at,
                title=live.title,
                names=names,
            )
        return live

    def go_offline(
        self,
        slug: str,
        push: bool = True,
        *,
        names: tuple[str, ...] = ("channel.{id}", "channel_{id}"),
    ) -> FakeLivestream | None:
        """End the broadcast: polls see it, and StopStreamBroadcast is pushed on `names`."""
        with self.state.lock:
            ended = self.state.end_stream(slug)
            channel = self.state.channels[slug.lower()]
        if push and ended is not None:
            self.pusher.push_stop_stream(channel.channel_id, ended.id, names=names)
        return ended
