"""The real `kickwatch run --json` in a subprocess, and a kickwatch home filled with streamers.

`KickwatchRun` reads stdout (JSON lines) and stderr in threads as they come, so a chatty process
never blocks on a full pipe, and gives the change lines (one per recorded change: the
notification a user gets) and the outage messages. `seed_home` stores the streamers and the
settings a run needs straight into the database, which is much faster than `kickwatch add` for
hundreds of streamers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kickwatch.context import open_context
from tests.cli.helpers import Cli, kickwatch_command, make_cli
from tests.fakekick import CLIENT_ID, CLIENT_SECRET, FakeChannel, FakeKick

CHANGE_TYPES = ("stream_start", "stream_end")


class KickwatchRun:
    """`kickwatch [--db URL] run --json` (or another command printing JSON lines, `argv`) in a
    subprocess, its output collected line by line."""

    def __init__(self, cli: Cli, db_url: str | None = None, argv: list[str] | None = None) -> None:
        db = ["--db", db_url] if db_url else []
        self.process = subprocess.Popen(
            argv or [*kickwatch_command(), *db, "run", "--json"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
        )
        self.lines: list[dict[str, Any]] = []
        self.stderr_lines: list[str] = []
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = {"text": line.rstrip("\n")}
            if not isinstance(parsed, dict):
                parsed = {"text": line.rstrip("\n")}
            with self._lock:
                self.lines.append(parsed)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self.stderr_lines.append(line.rstrip("\n"))

    # --- what it printed ---------------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        """Every stdout line so far (a copy)."""
        with self._lock:
            return list(self.lines)

    def changes(self) -> list[dict[str, Any]]:
        """The change lines (stream start/end) so far, in the order printed."""
        return [line for line in self.snapshot() if line.get("event_type") in CHANGE_TYPES]

    def messages(self, event: str) -> list[str]:
        """The messages of `{"event": event, "message": ...}` lines (e.g. DatabaseUnavailable)."""
        return [str(line.get("message")) for line in self.snapshot() if line.get("event") == event]

    def states(self) -> list[str]:
        """The connection states printed so far."""
        return [
            str(line["state"])
            for line in self.snapshot()
            if line.get("event") == "connection_state"
        ]

    @property
    def stderr(self) -> str:
        with self._lock:
            return "\n".join(self.stderr_lines)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    # --- ending it ---------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait for the exit, collect the rest of the output; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._join()
        return code

    def kill9(self) -> None:
        """SIGKILL: the process gets no chance to flush anything."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._join()

    def close(self) -> None:
        """Make sure the process is gone (for `finally` blocks)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._join()

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def home_cli(kick: FakeKick, home: Path, **extra: str) -> Cli:
    """A `Cli` for a private home pointing at the fake Kick."""
    return make_cli(home, **kick.env(), **extra)


def seed_home(
    cli: Cli,
    channels: Iterable[FakeChannel],
    *,
    db_url: str | None = None,
    reconcile_interval: int | None = None,
) -> None:
    """Store `channels` as monitored streamers and the fake's app credentials in the database
    that `kickwatch run` will open (the home's default file unless `db_url`).

    The secret goes through `kickwatch config set`, so it is encrypted with the master key the
    command itself finds; the rest is written directly."""
    db = ["--db", db_url] if db_url else []
    for key, value in (("auth.client_id", CLIENT_ID), ("auth.client_secret", CLIENT_SECRET)):
        done = cli(*db, "config", "set", key, value)
        assert done.returncode == 0, done.stdout + done.stderr
    ctx = open_context(db_url, environ=cli.env)
    try:
        if reconcile_interval is not None:
            ctx.settings.set("monitoring.reconcile_interval", str(reconcile_interval))
        for channel in channels:
            ctx.repository.add_streamer(
                channel.slug,
                channel.user_id,
                display_name=channel.display_name,
                kick_channel_id=channel.channel_id,
                slug=channel.slug,
            )
    finally:
        ctx.close()
