"""Pusher client benchmark (not a test): kickwatch's client side by side with the floor (a bare
`websockets` + `json` client, and the same with `orjson`), `pysher` and `pusher-js`, each client
in a process of its own, in one run.

- receive: the events/s a client keeps up with and its own CPU per event, for 20,000
  StreamerIsLive events on 1 and on 1,000 channels, and the events it lost; from the frame
  blaster (the client is the limit: a reader that parses nothing gets the same frames many times
  faster, measured as "raw read") and through soketi's HTTP API (the server is part of it);
- subscribe: from the start to the last of 10,000 subscriptions confirmed by soketi;
- reconnect: 1,000 channels, soketi stopped (as it stops itself: `pusher:error` 4200) for 5 s
  and started on the same port; from the moment it answers again to every channel confirmed, and
  the connections opened in the cycle, counted by a proxy in front of it;
- idle: CPU % and RSS of each client with 1,000 channels over 10 s.

`measure(repeats, quick, smoke)` returns `report.Measure`s; `benchmarks/run.py` prints and saves
them. `smoke` is the short version CI runs: kickwatch and the floor against the blaster only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks.pusher import frames, processes
from benchmarks.pusher.processes import BenchmarkError, Blaster, RestartableBlaster, Soketi
from benchmarks.pusher.proxy import CountingProxy
from benchmarks.pusher.wire import raw_rate
from benchmarks.report import Measure

ALL_SUBJECTS = ("kickwatch", "floor", "floor (orjson)", "pysher", "pusher-js")
_PROCESS_SUBJECT = {"floor (orjson)": "floor-orjson"}
WIRE = "raw read (no parsing)"  # the blaster's delivery ceiling


@dataclass(frozen=True)
class Plan:
    """How much each scenario does."""

    repeats: int
    subjects: tuple[str, ...] = ALL_SUBJECTS
    events: int = 20_000
    receive_channels: tuple[int, ...] = (1, 1000)
    receive_servers: tuple[str, ...] = ("blaster", "soketi")
    subscribe_channels: int = 10_000
    subscribe_server: str = "soketi"
    reconnect_channels: int = 1000
    outage: float = 5.0
    reconnect_server: str = "soketi"
    idle_channels: int = 1000
    idle_seconds: float = 10.0
    publishers: int = 8
    wire: bool = True  # also the blaster's delivery rate to a reader that parses nothing
    strict: bool = False  # a failed run stops the benchmark instead of being noted


def plan_for(repeats: int, quick: bool, smoke: bool) -> Plan:
    if smoke:
        return Plan(
            repeats=1,
            subjects=("kickwatch", "floor"),
            events=300,
            receive_channels=(1,),
            receive_servers=("blaster",),
            subscribe_channels=100,
            subscribe_server="blaster",
            reconnect_channels=100,
            outage=1.0,
            reconnect_server="blaster",
            idle_channels=0,
            wire=False,
            strict=True,
        )
    # orjson is in the `bench` extra; without it the floor is measured with json alone.
    subjects = tuple(
        s for s in ALL_SUBJECTS if s != "floor (orjson)" or importlib.util.find_spec("orjson")
    )
    if quick:
        return Plan(
            repeats=repeats,
            subjects=subjects,
            events=5000,
            subscribe_channels=2000,
            outage=2.0,
            idle_seconds=3.0,
        )
    return Plan(repeats=repeats, subjects=subjects)


class Collector:
    """Values per (group, name, subject), in the order first seen, and why runs failed."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self._values: dict[tuple[str, str, str], list[float]] = {}
        self._meta: dict[tuple[str, str, str], tuple[str, bool]] = {}
        self._notes: dict[tuple[str, str, str], list[str]] = {}
        self._extra: dict[tuple[str, str, str], dict[str, list[float]]] = {}

    def add(
        self, group: str, name: str, subject: str, value: float, unit: str, higher: bool = False
    ) -> None:
        key = (group, name, subject)
        self._values.setdefault(key, []).append(value)
        self._meta[key] = (unit, higher)

    def extra(self, group: str, name: str, subject: str, key: str, value: float) -> None:
        """A side figure of a measure; its median over the runs goes into the JSON."""
        self._extra.setdefault((group, name, subject), {}).setdefault(key, []).append(value)

    def note(self, group: str, name: str, subject: str, text: str) -> None:
        notes = self._notes.setdefault((group, name, subject), [])
        if text not in notes:
            notes.append(text)

    @contextlib.contextmanager
    def run(self, what: str, keys: list[tuple[str, str, str, str, bool]]) -> Iterator[None]:
        """One run; if it fails (and not strict), its measures get a note and no value."""
        try:
            yield
        except BenchmarkError as exc:
            if self.strict:
                raise
            print(f"{what} failed: {exc}", file=sys.stderr, flush=True)
            for group, name, subject, unit, higher in keys:
                self._meta.setdefault((group, name, subject), (unit, higher))
                self._values.setdefault((group, name, subject), [])
                self.note(group, name, subject, f"a run failed: {str(exc).splitlines()[0]}")

    def measures(self) -> list[Measure]:
        return [
            Measure(
                group,
                name,
                subject,
                tuple(values),
                self._meta[(group, name, subject)][0],
                self._meta[(group, name, subject)][1],
                note="; ".join(self._notes.get((group, name, subject), [])),
                extra={
                    key: statistics.median(runs)
                    for key, runs in self._extra.get((group, name, subject), {}).items()
                },
            )
            for (group, name, subject), values in self._values.items()
        ]


def per_connection() -> int:
    """Channels per connection kickwatch uses unless configured otherwise."""
    from kickwatch.store.settings import SPEC_BY_KEY

    return int(SPEC_BY_KEY["monitoring.max_channels_per_connection"].default)


def _client(subject: str, scenario: str, url: str, channels: int, **kw: Any) -> processes.Child:
    return processes.client(
        _PROCESS_SUBJECT.get(subject, subject),
        scenario,
        url,
        channels,
        per_connection=per_connection(),
        **kw,
    )


def _channels(count: int) -> str:
    return "1 channel" if count == 1 else f"{count:,} channels"


def receive(
    plan: Plan, out: Collector, server: Blaster | Soketi, kind: str, subject: str, channels: int
) -> None:
    where = f"{_channels(channels)}, {kind}"
    rate, cpu, lost = f"events/s, {where}", f"CPU µs/event, {where}", f"events lost, {where}"
    keys = [("receive", rate, subject, "ev/s", True), ("receive", cpu, subject, "µs/ev", False)]
    keys.append(("receive", lost, subject, "events", False))
    with out.run(f"receive {where} {subject}", keys):
        if isinstance(server, Blaster):
            server.wait_idle()
        with _client(subject, "receive", server.url, channels, events=plan.events) as client:
            client.expect("subscribed", 120)
            client.expect("ready", 10)
            if isinstance(server, Blaster):
                sent = server.blast(plan.events)
                if subject == "kickwatch":
                    out.note("receive", rate, subject, f"{sent['connections']} connections")
            else:
                published = processes.publish(server, channels, plan.events, plan.publishers)
                if published["failed_batches"]:
                    raise BenchmarkError(f"{published['failed_batches']} batches not published")
            result = client.expect("received", 300)
        received = int(result["received"])
        span = result["last"] - result["first"]
        if received < 2 or span <= 0:
            raise BenchmarkError(f"{subject} received {received} events")
        out.add("receive", rate, subject, (received - 1) / span, "ev/s", True)
        # Near 100 %: the client was the limit; well under it: it waited (for the server, or
        # for a CPU the machine's other work was using).
        out.extra("receive", rate, subject, "client CPU busy %", result["cpu"] / span * 100)
        out.add("receive", cpu, subject, result["cpu"] / (received - 1) * 1e6, "µs/ev")
        out.add("receive", lost, subject, plan.events - received, "events")


def wire(plan: Plan, out: Collector, blaster: Blaster, channels: int) -> None:
    name = f"events/s, {_channels(channels)}, blaster"
    with out.run("raw read", [("receive", name, WIRE, "ev/s", True)]):
        out.add("receive", name, WIRE, raw_rate(blaster, channels, plan.events), "ev/s", True)


def subscribe(
    plan: Plan, out: Collector, server: Blaster | Soketi, kind: str, subject: str
) -> None:
    name = f"{_channels(plan.subscribe_channels)} confirmed, {kind}"
    with out.run(f"subscribe {subject}", [("subscribe", name, subject, "s", False)]):
        if isinstance(server, Blaster):
            server.wait_idle()
        with _client(subject, "subscribe", server.url, plan.subscribe_channels) as client:
            seconds = client.expect("subscribed", 120)["seconds"]
        out.add("subscribe", name, subject, seconds, "s")


def reconnect(
    plan: Plan, out: Collector, server: RestartableBlaster | Soketi, kind: str, subject: str
) -> None:
    where = f"{_channels(plan.reconnect_channels)}, {kind} down {plan.outage:g} s"
    back, attempts = f"resubscribed after ready, {where}", f"connections opened, {where}"
    per = f"connections opened per connection, {where}"
    keys = [
        ("reconnect", back, subject, "s", False),
        ("reconnect", attempts, subject, "connections", False),
    ]
    keys.append(("reconnect", per, subject, "connections", False))
    with out.run(f"reconnect {subject}", keys), CountingProxy(server.port) as proxy:
        url = frames.pusher_url(proxy.port)
        with _client(subject, "reconnect", url, plan.reconnect_channels, timeout=90) as client:
            client.expect("subscribed", 120)
            client.expect("ready", 10)
            before, connections = proxy.counts()
            server.stop()
            try:
                time.sleep(plan.outage)
            finally:
                ready = server.start()  # the next subject needs it, whatever happens
            resubscribed = client.expect("resubscribed", 90)["resubscribed"]
            opened = proxy.counts()[0] - before
        out.add("reconnect", back, subject, max(0.0, resubscribed - ready), "s")
        out.add("reconnect", attempts, subject, opened, "connections")
        out.add("reconnect", per, subject, opened / max(1, connections), "connections")


def idle(plan: Plan, out: Collector, server: Soketi) -> None:
    cpu_name = f"CPU %, {_channels(plan.idle_channels)}, {plan.idle_seconds:g} s"
    rss_name = f"RSS, {_channels(plan.idle_channels)}"
    clients: dict[str, processes.Child] = {}
    try:
        for subject in plan.subjects:
            keys = [
                ("idle", cpu_name, subject, "%", False),
                ("idle", rss_name, subject, "MB", False),
            ]
            with out.run(f"idle {subject}", keys):
                client = _client(subject, "idle", server.url, plan.idle_channels)
                clients[subject] = client
                client.expect("ready", 120)
        time.sleep(1.0)  # let start-up work (first reconnect checks, garbage) finish
        before = {s: processes.cpu_seconds(c.pid) for s, c in clients.items()}
        time.sleep(plan.idle_seconds)
        for subject, client in clients.items():
            used = processes.cpu_seconds(client.pid) - before[subject]
            out.add("idle", cpu_name, subject, used / plan.idle_seconds * 100, "%")
            out.add("idle", rss_name, subject, processes.memory_mb(client.pid), "MB")
    finally:
        for client in clients.values():
            client.close()


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def measure(
    repeats: int, quick: bool, smoke: bool = False, log: Callable[[str], None] | None = None
) -> list[Measure]:
    """Every Pusher measure of the plan, runs of different subjects interleaved; `log` gets a
    line per run (stderr by default)."""
    log = log or progress
    plan = plan_for(repeats, quick, smoke)
    out = Collector(plan.strict)
    needs_soketi = "soketi" in (*plan.receive_servers, plan.subscribe_server, plan.reconnect_server)
    with contextlib.ExitStack() as stack:
        blaster = stack.enter_context(Blaster())
        soketi = stack.enter_context(Soketi()) if needs_soketi or plan.idle_channels else None
        servers: dict[str, Any] = {"blaster": blaster, "soketi": soketi}
        for run in range(1, plan.repeats + 1):
            log(f"pusher: run {run} of {plan.repeats}")
            for kind in plan.receive_servers:
                for channels in plan.receive_channels:
                    for subject in plan.subjects:
                        receive(plan, out, servers[kind], kind, subject, channels)
                    if kind == "blaster" and plan.wire:
                        wire(plan, out, blaster, channels)
            for subject in plan.subjects:
                subscribe(plan, out, servers[plan.subscribe_server], plan.subscribe_server, subject)
            for subject in plan.subjects:
                if plan.reconnect_server == "blaster":
                    restartable = RestartableBlaster()
                    try:
                        reconnect(plan, out, restartable, "blaster", subject)
                    finally:
                        restartable.close()
                else:
                    assert soketi is not None
                    reconnect(plan, out, soketi, "soketi", subject)
            if plan.idle_channels and soketi is not None:
                idle(plan, out, soketi)
    return out.measures()
