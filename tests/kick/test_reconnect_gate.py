"""The reconnect gate alone, with plain objects for connections: who may connect when, and what
a fatal refusal, a cancelled wait or a reset does to those that wait."""

from __future__ import annotations

import asyncio
import random

import pytest

from kickwatch.kick.backoff import Backoff
from kickwatch.kick.protocol import CloseAction
from kickwatch.kick.reconnect import GateClosed, ReconnectGate, ServerState
from tests.fakekick import wait_for
from tests.kick.helpers import FakeClock, RecordingSleep


def make_gate(clock: FakeClock, sleep: RecordingSleep) -> ReconnectGate:
    return ReconnectGate(
        backoff=Backoff(initial=1.0, maximum=60.0, rng=random.Random(1)),
        clock=clock,
        sleep=sleep,
        recent_cap=0.75,
        recent_window=60.0,
        min_backoff=1.0,
    )


@pytest.fixture
def gate(clock: FakeClock, sleep: RecordingSleep) -> ReconnectGate:
    return make_gate(clock, sleep)


def turn(gate: ReconnectGate, who: str) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(gate.wait_turn(who), name=f"turn-{who}")


async def test_one_probes_while_the_others_wait_and_all_go_when_it_gets_through(
    gate: ReconnectGate, sleep: RecordingSleep
) -> None:
    first, second, third = turn(gate, "a"), turn(gate, "b"), turn(gate, "c")
    await first  # the state is unknown: "a" probes at once
    await wait_for(lambda: gate.waiting == 2)
    assert not second.done() and not third.done()
    gate.reached("a")
    await asyncio.gather(second, third)
    assert gate.state is ServerState.UP and sleep.delays == []
    await gate.wait_turn("d")  # while it is up, anyone goes at once


async def test_failed_probes_pass_round_robin_with_a_growing_back_off(
    gate: ReconnectGate, sleep: RecordingSleep
) -> None:
    await turn(gate, "a")
    waiting = [turn(gate, "b"), turn(gate, "c")]
    await wait_for(lambda: gate.waiting == 2)
    probers = ["a"]
    for _ in range(4):
        gate.failed(probers[-1], CloseAction.DEFAULT)
        done, _ = await asyncio.wait(waiting, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        (nxt,) = done
        who = nxt.get_name().removeprefix("turn-")
        probers.append(who)
        waiting.remove(nxt)
        waiting.append(turn(gate, probers[-2]))  # the one that failed queues again
    assert probers == ["a", "b", "c", "a", "b"]
    # Never seen healthy: 2 s, 4 s, 8 s, 16 s (the first step was the break's own), jittered.
    assert [int(d // 2 ** (i + 1)) for i, d in enumerate(sleep.delays)] == [1, 1, 1, 1]
    for task in waiting:
        task.cancel()


async def test_a_fatal_refusal_stops_those_that_wait_and_those_that_come_later(
    gate: ReconnectGate,
) -> None:
    await turn(gate, "a")
    waiting = turn(gate, "b")
    await wait_for(lambda: gate.waiting == 1)
    gate.failed("a", CloseAction.FATAL, "Kick rejected the Pusher app key (4001)")
    with pytest.raises(GateClosed, match="4001"):
        await waiting
    with pytest.raises(GateClosed, match="4001"):
        await gate.wait_turn("c")
    gate.reset()  # a fresh start (the pool started again)
    await gate.wait_turn("c")


async def test_a_prober_that_stops_hands_its_turn_to_the_next(
    gate: ReconnectGate, clock: FakeClock
) -> None:
    await turn(gate, "a")
    waiting = turn(gate, "b")
    await wait_for(lambda: gate.waiting == 1)
    gate.left("a")  # stopped mid-attempt
    await waiting  # "b" probes now
    gate.failed("b", CloseAction.BACKOFF)  # 4100: at least a second
    assert gate.next_probe_at is not None and gate.next_probe_at - clock.monotonic() >= 1.0


async def test_a_server_healthy_lately_caps_every_wait(
    gate: ReconnectGate, clock: FakeClock, sleep: RecordingSleep
) -> None:
    await gate.wait_turn("a")
    gate.reached("a")
    gate.worked("a")  # its subscriptions were confirmed
    assert gate.cap() == 0.75
    gate.ended("a", healthy=False)
    for _ in range(6):
        await gate.wait_turn("a")
        gate.failed("a", CloseAction.DEFAULT)
    await gate.wait_turn("a")
    assert sleep.delays and all(0.5 <= d <= 0.75 for d in sleep.delays)
    clock.advance(61)  # a minute later it is no longer "lately"
    assert gate.cap() is None
