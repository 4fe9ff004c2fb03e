"""The processes a Pusher benchmark runs: clients, the frame blaster, soketi and its publisher.

A `Child` is a process that speaks JSON lines on stdout (read by a thread into a queue) and
takes commands on stdin; closing stdin ends it. `Soketi` starts and stops the real Pusher server
on a fixed port, so that a restart comes back where the clients expect it. `/proc` gives any
process's CPU time and memory, so a client's figures are its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any, Self

from benchmarks.pusher import frames

ROOT = frames.ROOT
NODE_DIR = ROOT / "benchmarks" / "node"
SOKETI = NODE_DIR / "node_modules" / "@soketi" / "soketi" / "bin" / "server.js"
PYTHON_SUBJECTS = ("kickwatch", "floor", "floor-orjson", "pysher")


class BenchmarkError(RuntimeError):
    """A benchmark process did not do what it should; the message says which and why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time of a process, all its threads, to the nanosecond (the scheduler's own count;
    /proc/PID/stat counts in 10 ms ticks, too coarse for an idle client)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory line of /proc/PID/status (VmRSS, VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise BenchmarkError(f"/proc/{pid}/status has no {field}")


class Child:
    """A process that reports in JSON lines."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        self.started = time.monotonic()
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            with contextlib.suppress(ValueError):
                self._lines.put(json.loads(line))
        self._lines.put(None)

    def expect(self, key: str, timeout: float) -> dict[str, Any]:
        """The next message that has `key`; fails on an error message, an exit or a timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise BenchmarkError(
                    f"{self.name}: no {key!r} within {timeout:g} s{self.log_tail()}"
                ) from None
            if message is None:
                raise BenchmarkError(f"{self.name} exited before {key!r}{self.log_tail()}")
            if "error" in message:
                raise BenchmarkError(f"{self.name}: {message['error']}{self.log_tail()}")
            if key in message:
                return message

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def log_tail(self) -> str:
        self._log.seek(0)
        tail = self._log.read()[-2000:].strip()
        return f"\n--- {self.name} said:\n{tail}" if tail else ""

    def close(self, timeout: float = 5.0) -> None:
        """Close stdin (the process ends itself), then kill it if it does not."""
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def client(
    subject: str,
    scenario: str,
    url: str,
    channels: int,
    *,
    events: int = 0,
    per_connection: int = 100,
    timeout: float = 120.0,
) -> Child:
    """A client process of `subject` (a Python one, or pusher-js under Node)."""
    args = [
        f"--scenario={scenario}",
        f"--url={url}",
        f"--channels={channels}",
        f"--events={events}",
        f"--timeout={timeout}",
    ]
    if subject == "pusher-js":
        argv = ["node", str(NODE_DIR / "client.js"), *args]
    elif subject in PYTHON_SUBJECTS:
        argv = [sys.executable, "-m", "benchmarks.pusher.client", f"--subject={subject}", *args]
        argv.append(f"--per-connection={per_connection}")
    else:
        raise BenchmarkError(f"unknown subject {subject!r}")
    return Child(subject, argv)


class Blaster(Child):
    """The frame blaster (`blaster.py`) in its own process."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(
            "blaster", [sys.executable, "-m", "benchmarks.pusher.blaster", f"--port={port}"]
        )
        self.port = int(self.expect("listening", 10)["listening"])

    @property
    def url(self) -> str:
        return frames.pusher_url(self.port)

    def blast(self, events: int) -> dict[str, Any]:
        self.send({"cmd": "blast", "events": events})
        return self.expect("blasted", 60)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no client connection is open (the last client's sockets are gone)."""
        deadline = time.monotonic() + timeout
        while True:
            self.send({"cmd": "status"})
            if self.expect("connections", 10)["connections"] == 0:
                return
            if time.monotonic() > deadline:
                raise BenchmarkError(f"the blaster still has clients after {timeout:g} s")
            time.sleep(0.02)

    def stop(self) -> float:
        """Close every connection like a Pusher server that shuts down, and exit; returns the
        monotonic time it exited."""
        self.send({"cmd": "stop"})
        self.process.wait(timeout=10)
        self.close()
        return time.monotonic()


class RestartableBlaster:
    """A blaster that can be stopped and started again on the same port, like `Soketi`."""

    def __init__(self) -> None:
        self.blaster: Blaster | None = Blaster()
        self.port = self.blaster.port

    @property
    def url(self) -> str:
        return frames.pusher_url(self.port)

    def start(self) -> float:
        """Start it again; returns the monotonic time it listened."""
        self.blaster = Blaster(self.port)
        return time.monotonic()

    def stop(self) -> float:
        blaster, self.blaster = self.blaster, None
        return blaster.stop() if blaster is not None else time.monotonic()

    def close(self) -> None:
        if self.blaster is not None:
            self.blaster.close()
            self.blaster = None


class Soketi:
    """soketi on a fixed port; `stop` ends it as it ends itself (4200 to every client)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.metrics_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    @property
    def url(self) -> str:
        return frames.pusher_url(self.port)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> float:
        """Start it and wait until it answers; returns the monotonic time it did."""
        env = {
            **os.environ,
            "SOKETI_PORT": str(self.port),
            "SOKETI_HOST": "127.0.0.1",
            "SOKETI_METRICS_SERVER_PORT": str(self.metrics_port),
            "SOKETI_DEFAULT_APP_ID": frames.APP_ID,
            "SOKETI_DEFAULT_APP_KEY": frames.APP_KEY,
            "SOKETI_DEFAULT_APP_SECRET": frames.APP_SECRET,
            "SOKETI_SHUTDOWN_GRACE_PERIOD": "0",
            "SOKETI_EVENT_MAX_BATCH_SIZE": "100",
            "SOKETI_DEBUG": "0",
        }
        self.process = subprocess.Popen(
            ["node", str(SOKETI), "start"],
            cwd=NODE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise BenchmarkError(f"soketi exited with {self.process.returncode}{self.tail()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.api}/ready", timeout=1) as response,
            ):
                if response.status == 200:
                    return time.monotonic()
            if time.monotonic() > deadline:
                raise BenchmarkError(f"soketi did not start within {timeout:g} s{self.tail()}")
            time.sleep(0.005)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def channel_count(self) -> int:
        """Occupied channels, from soketi's HTTP API (a signed GET)."""
        path = f"/apps/{frames.APP_ID}/channels"
        stamp = int(time.time())
        query = f"auth_key={frames.APP_KEY}&auth_timestamp={stamp}&auth_version=1.0"
        signature = hmac.new(
            frames.APP_SECRET.encode(), f"GET\n{path}\n{query}".encode(), hashlib.sha256
        ).hexdigest()
        url = f"{self.api}{path}?{query}&auth_signature={signature}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return len(json.load(response)["channels"])

    def stop(self, timeout: float = 10.0) -> float:
        """SIGTERM, then wait for the exit; returns the monotonic time it exited."""
        if self.process is None or self.process.poll() is not None:
            return time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic()

    def tail(self) -> str:
        self._log.seek(0)
        text = self._log.read()[-2000:].decode(errors="replace").strip()
        return f"\n--- soketi said:\n{text}" if text else ""

    def close(self) -> None:
        self.stop()
        self._log.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def publish(soketi: Soketi, channels: int, events: int, publishers: int) -> dict[str, Any]:
    """Publish `events` StreamerIsLive events through soketi's HTTP API (batches of 100, from
    `publishers` concurrent keep-alive connections, by `node/publish.js`)."""
    argv = [
        "node",
        str(NODE_DIR / "publish.js"),
        f"--api={soketi.api}",
        f"--app-id={frames.APP_ID}",
        f"--key={frames.APP_KEY}",
        f"--secret={frames.APP_SECRET}",
        f"--channels={channels}",
        f"--events={events}",
        f"--publishers={publishers}",
    ]
    with Child("publisher", argv) as publisher:
        return publisher.expect("published", 120)
