"""The fake Kick in a process of its own, driven over a pipe, for the monitor benchmarks.

In a thread of the benchmark process the fake would share the interpreter lock with the monitor
it feeds: sending 100,000 frames would be charged to the monitor. Here it runs in a child
process (`tests.fakekick.FakeKick` in a thread of the child), made with `spawn`, so nothing of
the parent's threads is copied. The child builds the frames itself and sends them back to back
on command, and answers with the `time.monotonic()` at which the first one left; CLOCK_MONOTONIC
is one clock for every process of the machine, so the parent can subtract it from its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Channel:
    """A channel of the fake, as a monitored streamer is added from it."""

    slug: str
    user_id: int
    channel_id: int
    display_name: str


def frame(channel_id: int, livestream_id: int, start: bool) -> tuple[str, str]:
    """A channel frame as Kick sends it. Starts carry a `created_at` ahead of the clock: the
    store clamps it to the receive time, so back-to-back broadcasts of one streamer stay in
    order (a real broadcast lasts longer than the second-precision timestamps Kick sends)."""
    name = f"channel.{channel_id}"
    if start:
        ahead = datetime.now(UTC) + timedelta(hours=1)  # clock-ok: Kick's own clock
        data: dict[str, Any] = {
            "livestream": {
                "id": livestream_id,
                "channel_id": channel_id,
                "session_title": "bench",
                "created_at": ahead.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        }
        event = "App\\Events\\StreamerIsLive"
    else:
        data = {"livestream": {"id": livestream_id, "channel": {"id": channel_id}}}
        event = "App\\Events\\StopStreamBroadcast"
    return name, json.dumps({"event": event, "channel": name, "data": json.dumps(data)})


def burst_frames(
    channel_ids: list[int], count: int, first_livestream: int
) -> list[tuple[str, str]]:
    """`count` frames, start and stop in turn for each channel, one round after the other."""
    frames = []
    for index in range(count):
        channel = channel_ids[index % len(channel_ids)]
        turn = index // len(channel_ids)
        livestream = first_livestream + (turn // 2) * 100_000 + index % len(channel_ids)
        frames.append(frame(channel, livestream, turn % 2 == 0))
    return frames


class RemoteKick:
    """The parent's handle on the child: its URLs (`env()`), its channels, and commands."""

    def __init__(self, channels: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_end, channels), name="fake-kick", daemon=True
        )
        self._process.start()
        child_end.close()
        ready = self._call(None, timeout=120)
        self._env: dict[str, str] = ready["env"]
        self.channels = [Channel(*c) for c in ready["channels"]]

    def env(self) -> dict[str, str]:
        """The `KICKWATCH_*_URL` variables that point kickwatch at the fake."""
        return dict(self._env)

    def subscriptions(self) -> int:
        """Channel subscriptions on the fake's open connections."""
        return int(self._call(("subscriptions",)))

    def prepare(self, count: int, first_livestream: int) -> None:
        """Build a burst of `count` frames (`burst_frames`) to send on `fire`."""
        self._call(("prepare", count, first_livestream))

    def fire(self) -> None:
        """Start sending the prepared frames; `sent()` says when the first one left."""
        self._pipe.send(("fire",))

    def send(self, frames: list[tuple[int, int, bool]]) -> None:
        """Send frames (channel index, livestream id, start?) back to back; `sent()` says when
        the first one left."""
        self._pipe.send(("send", frames))

    def sent(self, timeout: float = 120) -> float:
        """The `time.monotonic()` at which the last command's first frame left the child."""
        return float(self._receive(timeout))

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the child may be gone already
            self._pipe.send(("stop",))
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._pipe.close()

    def _call(self, command: tuple[Any, ...] | None, timeout: float = 120) -> Any:
        if command is not None:
            self._pipe.send(command)
        return self._receive(timeout)

    def _receive(self, timeout: float) -> Any:
        if not self._pipe.poll(timeout):
            raise TimeoutError("the fake Kick process did not answer")
        answer = self._pipe.recv()
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _serve(pipe: Connection, channels: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fakekick import FakeKick

    kick = FakeKick().start_in_thread()
    try:
        made = [kick.add_channel(f"streamer{i:05d}") for i in range(channels)]
        pipe.send(
            {
                "env": kick.env(),
                "channels": [(c.slug, c.user_id, c.channel_id, c.display_name) for c in made],
            }
        )
        ids = [c.channel_id for c in made]
        prepared: list[tuple[str, str]] = []
        while True:
            command = pipe.recv()
            if command[0] == "stop":
                return
            try:
                if command[0] == "subscriptions":
                    pipe.send(sum(len(c.subscriptions) for c in kick.pusher.open_connections))
                elif command[0] == "prepare":
                    prepared = burst_frames(ids, command[1], command[2])
                    pipe.send(len(prepared))
                elif command[0] == "fire":
                    pipe.send(_send(kick, prepared))
                elif command[0] == "send":
                    built = [
                        frame(ids[i], livestream, start) for i, livestream, start in command[1]
                    ]
                    pipe.send(_send(kick, built))
            except Exception as exc:  # reported to the parent, which raises it
                pipe.send(exc)
    finally:
        kick.stop_thread()


def _send(kick: Any, frames: list[tuple[str, str]]) -> float:
    """Send frames from the fake's own loop, back to back; when the first one left."""

    async def run() -> float:
        first = 0.0
        subscribers: dict[str, list[Any]] = {}
        for index, (name, text) in enumerate(frames):
            targets = subscribers.get(name)
            if targets is None:
                targets = subscribers[name] = kick.pusher.subscribers(name)
            for conn in targets:
                if index == 0:
                    first = time.monotonic()
                await conn.ws.send(text)
        return first

    loop = kick._thread_loop
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=600)
