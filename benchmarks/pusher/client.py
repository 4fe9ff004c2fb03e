"""The Python Pusher clients a benchmark measures, one per process: kickwatch's `PusherPool`, the
floor (a bare `websockets` client decoding with `json` or `orjson`) and `pysher`.

Each subscribes `--channels` channels on `--url`, then plays one scenario, reporting in JSON lines
on stdout (times are `time.monotonic()`, the same clock in every process on the machine):

- every scenario first prints `{"subscribed": N, "seconds": S}`, S from the start to the last
  confirmation, then `{"ready": true}`;
- `receive`: counts `--events` StreamerIsLive events (each decoded down to its livestream), then
  prints the count, the first and last arrival and the process CPU seconds from the first; it
  stops early when no event came for `--quiet` seconds (the rest were lost);
- `reconnect`: waits for the subscriptions to drop and all to be confirmed again, then prints
  `{"resubscribed": T}`;
- `idle` and `subscribe`: nothing more.

The process exits after its last line or when stdin closes. `node/client.js` is the same for
pusher-js.

    python -m benchmarks.pusher.client --subject kickwatch --url ws://... --channels 1000 \\
        --scenario receive --events 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.pusher.frames import STREAMER_IS_LIVE, channel_ids, channel_name

SUBJECTS = ("kickwatch", "floor", "floor-orjson", "pysher")
SCENARIOS = ("receive", "subscribe", "reconnect", "idle")
FLOOR_RETRY = 0.1  # the floor reconnects every 100 ms, without back-off


def cpu_seconds() -> float:
    """CPU time of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Failed(Exception):
    """The scenario could not finish (a timeout, or stdin closed first)."""


def say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Runner:
    """What every subject reports to: confirmed-channel counts and received events."""

    def __init__(self, loop: asyncio.AbstractEventLoop, channels: int, events: int) -> None:
        self.loop = loop
        self.channels = channels
        self.expected = events
        self.received = 0
        self.first = self.last = 0.0
        self.first_cpu = 0.0
        self.all_confirmed = asyncio.Event()
        self.resubscribed = asyncio.Event()
        self.all_received = asyncio.Event()
        self.confirmed_at = 0.0
        self.resubscribed_at = 0.0
        self._dropped = False

    def confirmed(self, count: int) -> None:
        """The subject's number of confirmed channels now (call on the loop's thread)."""
        if count >= self.channels:
            now = time.monotonic()
            if not self.all_confirmed.is_set():
                self.confirmed_at = now
                self.all_confirmed.set()
            elif self._dropped and not self.resubscribed.is_set():
                self.resubscribed_at = now
                self.resubscribed.set()
        elif self.all_confirmed.is_set():
            self._dropped = True

    def confirmed_from_thread(self, count: int) -> None:
        self.loop.call_soon_threadsafe(self.confirmed, count)

    def event(self) -> None:
        """One event received and decoded (on any thread; one thread at a time)."""
        now = time.monotonic()
        self.received += 1
        if self.received == 1:
            self.first = now
            self.first_cpu = cpu_seconds()
        self.last = now
        if self.received == self.expected:
            if threading.current_thread() is threading.main_thread():
                self.all_received.set()
            else:
                self.loop.call_soon_threadsafe(self.all_received.set)


async def kickwatch_client(runner: Runner, url: str, ids: list[int], per_connection: int) -> Any:
    """kickwatch's own client, through its public API only."""
    from kickwatch.kick.pusher import PusherOptions
    from kickwatch.kick.pusher_pool import PusherPool

    def check(*_: object) -> None:
        runner.confirmed(len(pool.subscribed_channels))

    pool = PusherPool(
        url,
        on_event=lambda _event: runner.event(),
        on_state=check,
        on_connected=check,
        max_channels_per_connection=per_connection,
        options=PusherOptions(),
    )
    pool.set_channels(ids)
    await pool.start()

    async def poll() -> None:  # the pool says nothing per confirmation; look now and then
        while True:
            check()
            await asyncio.sleep(0.01)

    poller = asyncio.get_running_loop().create_task(poll())

    async def stop() -> None:
        poller.cancel()
        await pool.stop()

    return poller, stop


async def floor_client(runner: Runner, url: str, ids: list[int], use_orjson: bool) -> Any:
    """A bare `websockets` client: one connection, every subscribe sent at once, each frame
    decoded once and its `data` once more; reconnects every FLOOR_RETRY seconds."""
    from websockets.asyncio.client import connect

    if use_orjson:
        import orjson

        loads: Callable[[Any], Any] = orjson.loads
    else:
        loads = json.loads
    decode = not use_orjson  # orjson reads the frame's bytes; json reads text
    names = [channel_name(i) for i in ids]
    subscribes = [
        json.dumps({"event": "pusher:subscribe", "data": {"auth": "", "channel": n}}) for n in names
    ]
    pong = json.dumps({"event": "pusher:pong", "data": {}})

    async def session() -> None:
        confirmed: set[str] = set()
        async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
            while True:
                frame = loads(await ws.recv(decode=decode))
                event = frame.get("event")
                if event == STREAMER_IS_LIVE:
                    livestream = loads(frame["data"])["livestream"]
                    if livestream["channel_id"] and livestream["id"]:
                        runner.event()
                elif event == "pusher_internal:subscription_succeeded":
                    confirmed.add(frame["channel"])
                    runner.confirmed(len(confirmed))
                elif event == "pusher:connection_established":
                    for text in subscribes:
                        await ws.send(text)
                elif event == "pusher:ping":
                    await ws.send(pong)

    async def run() -> None:
        while True:
            with contextlib.suppress(Exception):  # refused, reset, closed, a failed handshake
                await session()
            runner.confirmed(0)
            await asyncio.sleep(FLOOR_RETRY)

    task = asyncio.get_running_loop().create_task(run())

    async def stop() -> None:
        task.cancel()

    return task, stop


async def pysher_client(runner: Runner, url: str, ids: list[int]) -> Any:
    """pysher (websocket-client in a thread), as its README uses it, resubscribing itself."""
    import pysher

    parts = urlsplit(url)
    key = parts.path.rsplit("/", 1)[-1]
    pusher = pysher.Pusher(
        key,
        custom_host=parts.hostname or "127.0.0.1",
        port=parts.port or 80,
        secure=False,
        auto_sub=True,
        log_level=logging.WARNING,
    )
    confirmed: set[str] = set()
    lock = threading.Lock()

    def on_live(data: str) -> None:
        livestream = json.loads(data)["livestream"]
        if livestream["channel_id"] and livestream["id"]:
            runner.event()

    def on_confirmed(_data: object, name: str) -> None:
        with lock:
            confirmed.add(name)
            count = len(confirmed)
        runner.confirmed_from_thread(count)

    def on_established(_data: object) -> None:
        with lock:
            confirmed.clear()
        runner.confirmed_from_thread(0)
        if pusher.channels:
            return  # a reconnect: pysher resubscribes by itself (auto_sub)
        for channel_id in ids:
            channel = pusher.subscribe(channel_name(channel_id))
            channel.bind(STREAMER_IS_LIVE, on_live)
            channel.bind("pusher_internal:subscription_succeeded", on_confirmed, channel.name)

    pusher.connection.bind("pusher:connection_established", on_established)
    pusher.connect()

    async def stop() -> None:
        pusher.connection.disconnect(timeout=1)

    return None, stop


async def play(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    runner = Runner(loop, args.channels, args.events)
    ids = channel_ids(args.channels)
    stdin_closed = asyncio.Event()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)

    async def watch_stdin() -> None:
        while await commands.readline():
            pass
        stdin_closed.set()

    watcher = loop.create_task(watch_stdin())
    started = time.monotonic()
    if args.subject == "kickwatch":
        poller, stop = await kickwatch_client(runner, args.url, ids, args.per_connection)
    elif args.subject in ("floor", "floor-orjson"):
        _task, stop = await floor_client(runner, args.url, ids, args.subject == "floor-orjson")
        poller = None
    else:
        _none, stop = await pysher_client(runner, args.url, ids)
        poller = None
    try:
        await _until(runner.all_confirmed, stdin_closed, args.timeout)
        say({"subscribed": args.channels, "seconds": runner.confirmed_at - started})
        if args.scenario in ("receive", "idle") and poller is not None:
            poller.cancel()  # nothing but the client runs while measured
        say({"ready": True})
        if args.scenario == "receive":
            await _receive(runner, args.quiet, args.timeout)
            say(
                {
                    "received": runner.received,
                    "first": runner.first,
                    "last": runner.last,
                    "cpu": cpu_seconds() - runner.first_cpu,
                }
            )
        elif args.scenario == "reconnect":
            await _until(runner.resubscribed, stdin_closed, args.timeout)
            say({"resubscribed": runner.resubscribed_at})
        elif args.scenario == "idle":
            await stdin_closed.wait()
    finally:
        watcher.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stop(), 3)


async def _until(event: asyncio.Event, closed: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(closed.wait())}
    _done, pending = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if not event.is_set():
        raise Failed("stdin closed" if closed.is_set() else f"timed out after {timeout} s")


async def _receive(runner: Runner, quiet: float, timeout: float) -> None:  # noqa: ASYNC109
    """Until every event came, or none came for `quiet` seconds, or `timeout` passed."""
    deadline = time.monotonic() + timeout
    while not runner.all_received.is_set():
        now = time.monotonic()
        if now > deadline or (runner.received and now - runner.last > quiet):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner.all_received.wait(), 0.25)


def main() -> int:
    parser = argparse.ArgumentParser(description="A Pusher client under measurement")
    parser.add_argument("--subject", choices=SUBJECTS, required=True)
    parser.add_argument("--scenario", choices=SCENARIOS, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--quiet", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--per-connection", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    try:
        asyncio.run(play(args))
    except Failed as exc:
        say({"error": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
