"""The chaos script: a seeded random generator decides every change and every fault.

Each step makes a few monitored channels go live or offline on the fake Kick and sends their
frames (some twice, some again much later, some on the `channel_N` alias, in shuffled order, some
with odd titles or non-finite numbers), mixes in noise frames, and now and then breaks something:
drops the sockets, restarts the Pusher server, goes silent (a blackout with no pongs), sends a
Pusher error code, answers reconciliation with 429s, or locks the SQLite database from another
connection. A channel changes again only once kickwatch has printed its previous change, so each
change of the truth can be observed (by a push or by the next reconciliation), and starts again
only after kickwatch's broadcast tolerance; a quick start and end together are sent only on a
healthy connection and confirmed with a ping/pong barrier.

The same seed makes the same decisions; timing on a busy machine can still differ.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.chaos import frames
from tests.chaos.runner import KickwatchRun
from tests.chaos.world import Broadcast, Watched, World
from tests.fakekick import FakeKick
from tests.fakekick.faulty_pusher import FaultyPusherServer

OFFICIAL_LIVESTREAMS = "/public/v1/users/livestreams"
PING = '{"event":"pusher:ping","data":{}}'
MIN_CHANGE_INTERVAL = 1.5  # seconds between two changes of one channel
RESTART_GAP = timedelta(seconds=12)  # kickwatch's broadcast tolerance is 10 s


@dataclass(frozen=True)
class Scale:
    """How hard and how long: CI's short run, or the long one."""

    seconds: float
    step: float = 0.05  # pacing of the script
    fault_every: float = 1.2  # mean seconds between faults
    blackout: tuple[float, float] = (1.0, 3.0)
    restart_down: tuple[float, float] = (0.2, 1.5)
    db_lock: tuple[float, float] = (2.0, 6.0)
    storm: tuple[int, int] = (3, 20)  # 429 answers in a row


@dataclass
class Figures:
    """What the script did."""

    seed: int
    frames: int = 0  # change frames sent, duplicates included
    duplicate_frames: int = 0  # a change frame sent again (at once, later, or on the alias)
    odd_payloads: int = 0  # real changes with odd titles or non-finite numbers
    noise_frames: int = 0  # malformed or hostile frames that must change nothing
    bursts: int = 0
    faults: Counter[str] = field(default_factory=Counter)


class ChaosScript:
    """Drives the fake Kick and checks, step by step, that `kickwatch run` is still alive."""

    def __init__(
        self,
        kick: FakeKick,
        run: KickwatchRun,
        world: World,
        db_path: Path,
        scale: Scale,
        seed: int,
    ) -> None:
        assert isinstance(kick.pusher, FaultyPusherServer)
        self.kick = kick
        self.pusher: FaultyPusherServer = kick.pusher
        self.run = run
        self.world = world
        self.db_path = db_path
        self.scale = scale
        self.rng = random.Random(seed)
        self.figures = Figures(seed)
        self._printed: Counter[str] = Counter()
        self._next_change: dict[str, float] = {}  # monotonic time of the next change allowed
        self._seen_lines = 0
        self._replay: list[frames.Frame] = []
        self._lock_thread: threading.Thread | None = None
        self._lock_release = threading.Event()
        self._pace = threading.Event()  # never set: a wait on it paces the script
        self._lock_errors: list[BaseException] = []

    # --- the loop ------------------------------------------------------------------------

    def play(self) -> None:
        """Run the script for `scale.seconds`, then end every fault."""
        deadline = time.monotonic() + self.scale.seconds
        next_fault = time.monotonic() + self.rng.expovariate(1 / self.scale.fault_every)
        while time.monotonic() < deadline:
            if not self.run.alive:
                raise AssertionError(f"kickwatch run exited early:\n{self.run.stderr[-3000:]}")
            self.step()
            if time.monotonic() >= next_fault:
                self.fault()
                next_fault = time.monotonic() + self.rng.expovariate(1 / self.scale.fault_every)
            # Pacing the script (changes per second), not waiting for anything to happen.
            self._pace.wait(self.scale.step)
        self.calm()

    def calm(self) -> None:
        """End every fault; the sockets are dropped once so each reconnect reconciles."""
        self.pusher.end_blackout()
        with self.kick.control.lock:
            self.kick.control.faults.clear()
        self._release_db_lock()
        self.pusher.refuse_connections(0)
        self.pusher.drop_all(4200)

    # --- changes -------------------------------------------------------------------------

    def step(self) -> None:
        self._count_printed()
        settled = [w for w in self.world.watched.values() if self._ready(w)]
        batch: list[frames.Frame] = []
        for watched in self.rng.sample(settled, min(len(settled), self.rng.randint(1, 5))):
            batch.extend(self._change(watched))
        if self._replay and self.rng.random() < 0.15:
            batch.append(self.rng.choice(self._replay))  # an old frame, much later
            self.figures.duplicate_frames += 1
        if self.rng.random() < 0.5:
            self.rng.shuffle(batch)
        for frame in batch:
            self._send(frame)
        if self.rng.random() < 0.08:
            self._send(self._noise(), change=False)
        if settled and self.rng.random() < 0.03:
            self._burst(self.rng.choice(settled))

    def all_printed(self) -> bool:
        """Whether kickwatch printed as many changes of each channel as the truth has."""
        self._count_printed()
        return all(self._settled(w) for w in self.world.watched.values())

    def unprinted(self) -> list[str]:
        """Channels with fewer changes printed than the truth has: `name printed/expected`."""
        self._count_printed()
        return [
            f"{w.username} {self._printed[w.username]}/{w.changes}"
            for w in self.world.watched.values()
            if not self._settled(w)
        ]

    def _count_printed(self) -> None:
        lines = self.run.snapshot()
        for line in lines[self._seen_lines :]:
            if line.get("event_type") in ("stream_start", "stream_end"):
                self._printed[str(line.get("streamer"))] += 1
        self._seen_lines = len(lines)

    def _settled(self, watched: Watched) -> bool:
        return self._printed[watched.username] >= watched.changes

    def _ready(self, watched: Watched) -> bool:
        """Settled, its last change a moment back, and, when offline, its last start more than
        the broadcast tolerance back: across sources a broadcast is known by its start time
        within a few seconds (spec/kick-protocol.md), so two starts of one channel closer than
        that are one broadcast to any client."""
        if not self._settled(watched):
            return False
        if time.monotonic() < self._next_change.get(watched.username, 0.0):
            return False
        if watched.live or not watched.broadcasts:
            return True
        now = datetime.now(UTC)  # clock-ok: Kick's start times are wall-clock times
        return now - watched.broadcasts[-1].started_at > RESTART_GAP

    def _changed(self, watched: Watched) -> None:
        self._next_change[watched.username] = time.monotonic() + MIN_CHANGE_INTERVAL

    @staticmethod
    def _started_at() -> datetime:
        """Now in whole seconds, as Kick sends it."""
        return datetime.now(UTC).replace(microsecond=0)  # clock-ok: Kick's created_at

    def _change(self, watched: Watched) -> list[frames.Frame]:
        channel = watched.channel
        self._changed(watched)
        if watched.live:
            ended = self.kick.go_offline(channel.slug, push=False)
            assert ended is not None
            watched.broadcasts[-1].ended = True
            sent = [frames.end_frame(channel.channel_id, ended.id)]
            alias = frames.end_frame(channel.channel_id, ended.id, alias=True)
        else:
            odd = self.rng.random() < 0.15
            title = self.rng.choice(frames.ODD_TITLES) if odd else f"stream {channel.slug}"
            odd_numbers = odd and self.rng.random() < 0.5
            live = self.kick.go_live(
                channel.slug, push=False, title=title, started_at=self._started_at()
            )
            watched.broadcasts.append(Broadcast(live.id, live.started_at))
            self.figures.odd_payloads += int(odd)
            args = (channel.channel_id, live.id, live.started_at)
            sent = [frames.start_frame(*args, title=title, odd_numbers=odd_numbers)]
            alias = frames.start_frame(*args, title=title, odd_numbers=odd_numbers, alias=True)
        if self.rng.random() < 0.3:
            sent.append(alias)
            self.figures.duplicate_frames += 1
        if self.rng.random() < 0.15:
            sent.append(sent[0])
            self.figures.duplicate_frames += 1
        self._replay.append(sent[0])
        if len(self._replay) > 400:
            self._replay.pop(self.rng.randrange(len(self._replay)))
        return sent

    def _burst(self, watched: Watched) -> None:
        """A start and its end at once (a stream that ended within a second)."""
        channel = watched.channel
        carrier = f"channel.{channel.channel_id}"
        connections = self.pusher.subscribers(carrier)
        if watched.live or len(connections) != 1 or self.pusher.silent or self.pusher.down:
            return
        [connection] = connections
        self._changed(watched)
        pongs = connection.pongs
        live = self.kick.go_live(
            channel.slug, push=False, title="short", started_at=self._started_at()
        )
        self.kick.go_offline(channel.slug, push=False)
        broadcast = Broadcast(live.id, live.started_at, ended=True, certain=False)
        watched.broadcasts.append(broadcast)
        self.figures.bursts += 1
        self._send(frames.start_frame(channel.channel_id, live.id, live.started_at, title="short"))
        self._send(frames.end_frame(channel.channel_id, live.id))
        self.pusher.send_on_channel(carrier, PING)
        # The client answers pings in order, after the frames before them: a pong proves that
        # both frames were read. Without one (the socket died meanwhile) nobody may ever learn
        # of this broadcast, so it is not required, only never recorded twice.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and connection.open:
            if connection.pongs > pongs:
                broadcast.certain = True
                return
            self._pace.wait(0.005)  # polling the pong count

    def _send(self, frame: frames.Frame, *, change: bool = True) -> None:
        self.figures.frames += int(change)
        self.pusher.send_on_channel(frame.carrier, frame.payload, as_text=frame.as_text)

    def _noise(self, kinds: tuple[str, ...] = frames.NOISE_KINDS) -> frames.Frame:
        self.figures.noise_frames += 1
        watched = self.rng.choice(list(self.world.watched.values()))
        carrier = f"channel.{watched.channel.channel_id}"
        return frames.noise_frame(self.rng.choice(kinds), carrier, self.rng)

    # --- faults --------------------------------------------------------------------------

    def fault(self) -> None:
        kind = self.rng.choice(
            [
                "drop",
                "restart",
                "blackout",
                "error_4100",
                "error_4200",
                "error_4201",
                "error_4301",
                "refuse_4200",
                "storm_429",
                "storm_429",
                "db_lock",
                "socket_killer",
            ]
        )
        self.figures.faults[kind] += 1
        scale = self.scale
        if kind == "drop":
            self.pusher.drop_all()
        elif kind == "restart":
            self.pusher.restart(self.rng.uniform(*scale.restart_down))
        elif kind == "blackout":
            self.pusher.blackout(self.rng.uniform(*scale.blackout))
        elif kind.startswith("error_"):
            code = int(kind.removeprefix("error_"))
            # 4301 (a client event refused) does not close the connection; the others do.
            self.pusher.send_error(code, f"chaos {code}", close=code != 4301)
        elif kind == "refuse_4200":
            self.pusher.refuse_connections(self.rng.uniform(0.5, 2.0), 4200)
            self.pusher.drop_all(4200)
        elif kind == "storm_429":
            count = self.rng.randint(*scale.storm)
            self.kick.control.fail(OFFICIAL_LIVESTREAMS, 429, count=count, retry_after="1")
            self.kick.control.fail("/public/v1/", 429, count=count // 2, retry_after="0")
        elif kind == "db_lock":
            self._lock_db(self.rng.uniform(*scale.db_lock))
        elif kind == "socket_killer":
            self._send(self._noise(frames.CONNECTION_KILLERS), change=False)

    def _lock_db(self, seconds: float) -> None:
        """Hold `BEGIN EXCLUSIVE` on the database from another connection for `seconds`."""
        if self._lock_thread is not None and self._lock_thread.is_alive():
            return
        self._lock_release.clear()

        def hold() -> None:
            try:
                holder = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
                try:
                    holder.execute("BEGIN EXCLUSIVE")
                    self._lock_release.wait(seconds)  # how long the other program holds it
                    holder.execute("ROLLBACK")
                finally:
                    holder.close()
            except BaseException as exc:
                self._lock_errors.append(exc)

        self._lock_thread = threading.Thread(target=hold, name="chaos-db-lock", daemon=True)
        self._lock_thread.start()

    def _release_db_lock(self) -> None:
        self._lock_release.set()
        if self._lock_thread is not None:
            self._lock_thread.join(timeout=40)
            assert not self._lock_thread.is_alive(), "the database lock was never taken"
        self._lock_release.clear()
        if self._lock_errors:
            raise self._lock_errors[0]
